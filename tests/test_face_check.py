"""The face check: a detector's box that holds no face is dropped before it is counted or drawn, counted
apart; the shipped check rejects a typeset page's boxes and keeps real faces; its file is checked."""

from __future__ import annotations

import logging
import random
import shutil

import pytest
import torch
from helpers import SHARED_FMD
from PIL import Image, ImageDraw, ImageFont, ImageStat

from lrfp.core import paths
from lrfp.experiments.facecheck import noface_sides
from lrfp.experiments.facecheck_crops import Writer, random_squares
from lrfp.experiments.facecheck_marks import PhotoSizes, is_marked, looked_at, marked_faces
from lrfp.models.checkpoint import CheckpointError
from lrfp.pipeline import inference
from lrfp.pipeline.detect import FaceBox, FaceDetector, Search, inside
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import REJECTED_COLOR, analyze, annotate
from lrfp.pipeline.video import process

SCENE = paths.DEMO_DIR / "scenes" / "images" / "maksssksksss389.jpg"
MASKED_FACE = (112, 100, 198, 215)  # the man in front with his mask, boxed with a detector's margin
GREY = (128, 128, 128)
RED = (220, 20, 20)
FACE_BOX, RED_BOX = FaceBox(20, 20, 80, 80, 0.9), FaceBox(150, 40, 230, 120, 0.9)
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
    "ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore."
)


class RedIsNoFace:
    """A face check stand-in: a crop that is mostly red holds no face."""

    classes = ["face", "not_face"]

    def probabilities(self, images):
        red = [float(ImageStat.Stat(im).mean[0] > 200) for im in images]
        return torch.tensor([[1 - r, r] for r in red])


class TwoBoxes:
    """A detector stand-in: a box on a face-like grey patch, a box on a red patch."""

    def search(self, image):
        return Search(image, budget_mp=0.0, boxes=[FACE_BOX, RED_BOX])


def scene_with_red_patch() -> Image.Image:
    image = Image.new("RGB", (300, 200), GREY)
    ImageDraw.Draw(image).rectangle((RED_BOX.x0, RED_BOX.y0, RED_BOX.x1 - 1, RED_BOX.y1 - 1), fill=RED)
    return image


@pytest.fixture(scope="module")
def classifier():
    return Classifier("prod-mobilenet_v2", backend="torch")


def test_a_rejected_box_is_neither_counted_nor_drawn(classifier, monkeypatch):
    monkeypatch.setattr(classifier, "face_check", RedIsNoFace())
    image = scene_with_red_patch()
    result = analyze(image, classifier, TwoBoxes(), "scene")
    assert [f.box for f in result.faces] == [FACE_BOX] and result.rejected == [RED_BOX]
    assert result.counts()["faces"] == 1
    drawn = annotate(image, result)
    inside_red = (RED_BOX.x0, (RED_BOX.y0 + RED_BOX.y1) // 2)  # on the red box's outline, were it drawn
    assert drawn.getpixel(inside_red) == RED and drawn.getpixel((FACE_BOX.x0, FACE_BOX.y0)) != GREY
    assert annotate(image, result, rejected=True).getpixel(inside_red) == REJECTED_COLOR  # --keep-rejected


def test_the_scene_csv_counts_the_rejected_boxes(classifier, monkeypatch, tmp_path):
    monkeypatch.setattr(classifier, "face_check", RedIsNoFace())
    photo = tmp_path / "patch.png"
    scene_with_red_patch().save(photo)
    _, csv_path, rows = process(photo, tmp_path / "out.png", classifier, TwoBoxes())  # type: ignore[arg-type]
    assert rows[0]["rejected"] == 1 and rows[0]["faces"] == 1
    assert "rejected" in csv_path.read_text().splitlines()[0].split(",")


def typeset_page(long_side: int = 4032) -> Image.Image:
    """A page of Latin text, typeset by Pillow, at a phone photo's size."""
    width, height = round(long_side / 1.414), long_side
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=long_side // 60)
    words, lines, line = LOREM.split() * 40, [], ""
    for word in words:
        if draw.textlength(f"{line} {word}", font=font) > width * 0.8:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    y = height // 12
    for text in lines:
        draw.text((width // 10, y), text, fill="black", font=font)
        y += long_side // 45
        if y > height * 0.9:
            break
    return page


def test_the_default_pipeline_leaves_no_box_on_a_typeset_page(classifier):
    """The detector trained with negatives (docs/detection.md) and the face check: no box on a page of text
    at a phone photo's size (the detector before it put 22 there, the check rejected 10)."""
    result = analyze(typeset_page(), classifier, FaceDetector(), "scene")
    assert result.faces == [] and result.rejected == []


@pytest.mark.detector
@pytest.mark.data
@pytest.mark.skipif(not SHARED_FMD.is_dir(), reason="needs real photos from ../shared/data/fmd853")
@pytest.mark.xfail(strict=True, reason="the check retrained on today's detector did not ship (weights/checks/face.md)")
def test_a_region_of_a_photo_with_no_face_gets_no_box():
    """A region of a train photo away from every face (the no-face set's val picture photo-region-007, cut
    by `lrfp data noface` from this photo): today's detector puts one box on it that the first face check,
    trained on an older detector's boxes, kept (not a face at 0.17). The goal: no box there."""
    region = Image.open(SHARED_FMD / "images" / "maksssksksss158.png").convert("RGB").crop((161, 116, 299, 246))
    result = analyze(region, Classifier("model3"), FaceDetector(), "scene")
    assert result.faces == [], [f.box for f in result.faces]


@pytest.mark.parametrize("box", [(100, 100, 220, 220), (300, 400, 420, 520)])
def test_auto_takes_a_small_picture_of_text_for_no_face(classifier, box):
    """ "auto" took any image of at most 128 px for one face crop and labelled it: a small picture of a page,
    a sign or a jacket got "with mask"; the face check now asks first, and the detector finds nothing there."""
    result = analyze(typeset_page(1200).crop(box), classifier, FaceDetector(), "auto")
    assert result.mode == "scene" and result.faces == []


def test_auto_still_takes_a_small_face_crop_for_one_face(classifier):
    crop = Image.open(paths.DEMO_DIR / "fmd853-lr" / "with_mask" / "maksssksksss0_001.png")
    result = analyze(crop, classifier, FaceDetector(), "auto")
    assert result.mode == "face" and [f.label for f in result.faces] == ["with_mask"]


def test_auto_asks_the_face_check_once_of_a_small_face_crop(classifier, monkeypatch):
    """ "auto" asked the face check whether a small image holds a face, then took it for one face crop and asked
    again of the same image: once now, with the same answer on the face as "face" mode gives."""
    crop = Image.open(paths.DEMO_DIR / "fmd853-lr" / "with_mask" / "maksssksksss0_001.png")
    asked, check = [], classifier.not_face_probabilities
    monkeypatch.setattr(classifier, "not_face_probabilities", lambda images: asked.append(len(images)) or check(images))
    result = analyze(crop, classifier, FaceDetector(), "auto")
    assert result.mode == "face" and asked == [1]
    assert result.faces == analyze(crop, classifier, None, "face").faces  # the same face, label and scores


@pytest.mark.parametrize("size", [24, 64, 160, 600])
def test_the_shipped_check_keeps_a_real_face_at_any_size(classifier, size):
    face = Image.open(SCENE).convert("RGB").crop(MASKED_FACE)
    face = face.resize((size, round(size * face.height / face.width)), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (face.width * 3, face.height * 2), GREY)
    canvas.paste(face, (face.width, face.height // 2))
    box = (face.width, face.height // 2, 2 * face.width, face.height // 2 + face.height)
    assert classifier.not_faces([face, canvas.crop(box)]) == [False, False]


def test_a_pasted_face_is_found_and_kept(classifier):
    face = Image.open(SCENE).convert("RGB").crop(MASKED_FACE)
    canvas = Image.new("RGB", (800, 600), GREY)
    canvas.paste(face, (350, 240))
    result = analyze(canvas, classifier, FaceDetector(), "scene")
    assert len(result.faces) == 1 and result.rejected == []


def test_a_file_that_is_not_the_face_check_is_refused(tmp_path, monkeypatch):
    (tmp_path / "checks").mkdir()
    shutil.copy(paths.WEIGHTS_DIR / "checks" / "visibility.pt", tmp_path / "checks" / "face.pt")
    monkeypatch.setattr(paths, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(inference, "_checks", {})
    with pytest.raises(
        CheckpointError, match=r"face\.pt: not the face check \(its classes are \['hidden', 'visible'\]"
    ):
        inference.face_check(backend="torch")


def test_a_missing_face_check_is_said_and_every_box_is_kept(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(paths, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(inference, "_checks", {})
    with caplog.at_level(logging.WARNING):
        assert inference.face_check() is None
    assert "face.pt is missing" in caplog.text


def test_the_data_sets_random_squares_touch_no_face():
    image = Image.new("RGB", (400, 300), GREY)
    faces = [(50, 50, 150, 150), (200, 100, 260, 170)]
    squares = random_squares(image, faces, random.Random(0), count=20)
    assert len(squares) == 20
    assert all(inside(s, f) == 0 and s[2] - s[0] >= 8 for s in squares for f in faces)


def test_a_box_marked_a_face_by_hand_is_moved_out_whichever_detector_gave_it(tmp_path):
    """Marks are kept in photo pixels: a later detector's box on the marked face, a little off and in
    another view, is still moved out (the builder matched the exact box, so a new detector's boxes on faces
    nobody labelled were taught as not faces)."""
    (tmp_path / "images").mkdir()
    Image.new("RGB", (200, 100), GREY).save(tmp_path / "images" / "a.png")
    writer = Writer(tmp_path / "out")
    crop = Image.new("RGB", (20, 20), GREY)
    for box in ((0, 0, 40, 40), (62, 58, 102, 98)):  # in the enlarged-2 view
        writer.add(crop, "not_face", "train", "images/a.png", "box-enlarged-2", box)
    sizes = PhotoSizes(tmp_path / "images")
    marks = {"a.png": [[30, 30, 50, 50]]}  # the mark, in photo pixels
    assert writer.move_aside(lambda entry: is_marked(entry, marks, sizes)) == 1
    assert [e["box"] for e in writer.splits["train"]] == [[0, 0, 40, 40]]
    (moved,) = writer.aside
    assert moved["marked"] == "face" and (tmp_path / "out" / moved["path"]).is_file()
    assert len(list((tmp_path / "out" / "not_face").iterdir())) == 1


def test_a_mark_made_in_the_phone_view_is_brought_back_to_photo_pixels(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (400, 300), GREY).save(tmp_path / "images" / "b.png")
    marks_file = tmp_path / "marked.json"
    marks_file.write_text('{"faces": [{"photo": "b.png", "view": "phone", "box": [1008, 1008, 1512, 1512]}]}')
    assert marked_faces(marks_file, PhotoSizes(tmp_path / "images")) == {"b.png": [[100.0, 100.0, 150.0, 150.0]]}


def test_the_mined_boxes_looked_at_split_into_non_faces_and_kept_out(tmp_path):
    (tmp_path / "negatives").mkdir()
    rows = [
        "crop,origin,source,view,detector,x0,y0,x1,y1,score,label,split,looks_like_face",
        "c/1.png,train-photo,p.png,1x,d,1,2,11,12,0.6,,train,",
        "c/2.png,train-photo,p.png,1x,d,5,5,25,25,0.6,,train,",
        "c/3.png,train-photo,q.png,1x,d,0,0,9,9,0.6,,train,",
        "c/4.png,noface,page-000,own,d,0,0,9,9,0.6,,train,",
    ]
    (tmp_path / "negatives" / "negatives.csv").write_text("\n".join(rows) + "\n")
    looked = tmp_path / "looked.csv"
    looked.write_text("crop,looks_like_face\nc/1.png,no\nc/2.png,yes\nc/3.png,unsure\nc/4.png,no\n")
    not_faces, faces = looked_at(tmp_path, looked)
    assert not_faces == {"p.png": [[1.0, 2.0, 11.0, 12.0]]}
    assert faces == {"p.png": [[5.0, 5.0, 25.0, 25.0]], "q.png": [[0.0, 0.0, 9.0, 9.0]]}


def test_a_small_region_of_a_photo_is_mined_at_three_sizes_and_a_big_picture_at_two_or_one():
    """The detector's false boxes left are on photo regions enlarged to 4032 px and on screens: those kinds'
    train pictures are mined at their own size, halfway and at 4032 px (the builder mined every 3rd picture
    at 4032 px only)."""
    region = noface_sides(150, enlarged=True)
    assert [view for view, _ in region] == ["own", "mid", "phone"]
    assert region[1][1] == pytest.approx((4032 / 150) ** 0.5) and region[2][1] == pytest.approx(4032 / 150)
    assert [view for view, _ in noface_sides(3000, enlarged=True)] == ["own", "phone"]
    assert noface_sides(3000, enlarged=False) == (("own", 1.0),)


def sky(side: int = 256) -> Image.Image:
    """A clear sky: blue, lighter towards the horizon, no face anywhere."""
    image = Image.new("RGB", (side, side))
    draw = ImageDraw.Draw(image)
    for y in range(side):
        t = y / side
        draw.line((0, y, side, y), fill=(int(70 + 120 * t), int(130 + 90 * t), 235))
    return image


def test_an_image_taken_as_one_face_crop_says_when_the_face_check_finds_no_face(classifier):
    """'one face crop' answers as asked, but a sky or a page of text read '1 face, with mask, 100 % masked'
    with nothing to say it held no face: the page now says the check's doubt; a real face crop gets none."""
    from lrfp.app.result_text import doubt_note

    for picture in (sky(), typeset_page(512)):
        result = analyze(picture, classifier, None, "face")
        assert len(result.faces) == 1 and result.faces[0].face_score is not None
        note = doubt_note(result)
        assert note is not None and "finds no face" in note
    face = Image.open(SCENE).convert("RGB").crop(MASKED_FACE)
    assert doubt_note(analyze(face, classifier, None, "face")) is None
