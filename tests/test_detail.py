"""A picture enlarged far beyond its detail (a small region of a photo resized to a phone photo's 4032 px) is
searched at the size its detail holds: the finer looks saw blurred hands, folds and patterns there and boxed
them as faces. Real faces enlarged as much keep their box; photos enlarged as the views enlarge them (up to
10 times) are searched as before."""

from __future__ import annotations

import pytest
from PIL import Image

from lrfp.core import paths
from lrfp.pipeline.detail import ENLARGED_FROM, enlargement
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze
from lrfp.scale.settings import Settings

SCENES = paths.DEMO_DIR / "scenes" / "images"
MASKED_FACE = ("maksssksksss389.jpg", (112, 100, 198, 215))  # the man in front with his mask
# regions of the demo photos clear of every labelled face (by half a face's size), as `lrfp data noface` cuts
# them: before, at 4032 px, they got 19 boxes (a patterned tie), 6 and 4
NO_FACE_REGIONS = [
    ("maksssksksss389.jpg", (265, 194, 352, 296)),
    ("maksssksksss477.jpg", (168, 186, 259, 267)),
    ("maksssksksss723.jpg", (22, 23, 107, 122)),
]
PHONE_SIDE = 4032


def region(name: str, box: tuple[int, int, int, int]) -> Image.Image:
    return Image.open(SCENES / name).convert("RGB").crop(box)


def enlarged(image: Image.Image, side: int = PHONE_SIDE) -> Image.Image:
    k = side / max(image.size)
    return image.resize((round(image.width * k), round(image.height * k)), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def classifier():
    return Classifier("prod-mobilenet_v2", backend="torch")


def test_the_enlargement_is_measured_from_the_sharpest_edges():
    photo = Image.open(SCENES / "maksssksksss389.jpg").convert("RGB")
    assert enlargement(photo) == 1
    assert enlargement(enlarged(photo, photo.width * 4)) == 4
    assert enlargement(enlarged(photo)) < ENLARGED_FROM  # the phone view: 10 times, searched as before
    assert enlargement(enlarged(region(*NO_FACE_REGIONS[0]))) >= ENLARGED_FROM  # 40 times


def test_a_small_or_flat_picture_is_not_measured_as_enlarged():
    assert enlargement(Image.new("RGB", (40, 30), "white")) == 1
    assert enlargement(Image.new("RGB", (2000, 1500), (90, 120, 200))) == 1


@pytest.mark.detector
@pytest.mark.parametrize("name, box", NO_FACE_REGIONS)
def test_a_region_of_a_photo_with_no_face_enlarged_to_a_phone_photo_gets_no_box(classifier, name, box):
    result = analyze(enlarged(region(name, box)), classifier, FaceDetector(), "scene")
    assert result.faces == [], [f.box for f in result.faces]


@pytest.mark.detector
def test_a_face_enlarged_to_a_phone_photo_keeps_its_one_box(classifier):
    detector = FaceDetector()
    frame = enlarged(region(*MASKED_FACE))
    assert detector.search(frame).reduced_by > 1
    result = analyze(frame, classifier, detector, "scene")
    assert [f.label for f in result.faces] == ["with_mask"]
    box = result.faces[0].box
    assert (box.x1 - box.x0) * (box.y1 - box.y0) > 0.3 * frame.width * frame.height  # the face, not a piece


def test_the_monitor_searches_its_frames_as_before():
    """A camera's frames are at their own resolution: the monitor skips the measure (its cost every frame)."""
    assert FaceDetector().at_detail and not Settings("prod-mobilenet_v2", backend="torch").load()[1].at_detail
