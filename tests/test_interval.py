"""Detect every k-th frame, follow the faces between (lrfp.pipeline.interval), with a detector and a classifier
that note what they are asked: which frames are detected, which faces are judged."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lrfp.pipeline.detect import FaceBox, Search
from lrfp.pipeline.inference import Prediction
from lrfp.pipeline.interval import CameraGroup, IntervalAnalyzer, check_every, live_every
from lrfp.pipeline.scene import analyze


def frame(n: int) -> Image.Image:
    """Frame N of a camera: its number is the red of its first pixel."""
    return Image.new("RGB", (320, 240), (n, 0, 0))


class Detector:
    """Faces of 20 px moving 3 px a frame to the right; a second face from frame SECOND_FROM on."""

    def __init__(self, second_from: int = 10**6, grow_at: int = 10**6):
        self.frames: list[int] = []
        self.second_from, self.grow_at = second_from, grow_at

    def search(self, image: Image.Image) -> Search:
        n = image.getpixel((0, 0))[0]
        self.frames.append(n)
        side = 30 if n >= self.grow_at else 20
        search = Search(image, 1.0)
        search.boxes = [FaceBox(10 + 3 * n, 50, 10 + 3 * n + side, 50 + side, 0.9)]
        if n >= self.second_from:
            search.boxes.append(FaceBox(200, 100, 224, 124, 0.8))
        return search


class Classifier:
    """Each face 'with_mask', at a probability that tells the calls apart; notes how many faces each call got."""

    def __init__(self):
        self.checked: list[int] = []
        self.judged: list[int] = []

    def not_faces(self, crops):
        self.checked.append(len(crops))
        return [False] * len(crops)

    def predict(self, crops):
        self.judged.append(len(crops))
        return [Prediction("with_mask", 0.5 + len(self.judged) / 100, {}) for _ in crops]


def test_the_detector_runs_on_every_kth_frame_only():
    detector = Detector()
    analyzer = IntervalAnalyzer(Classifier(), detector, every=3)
    results = analyzer([frame(n) for n in range(7)])
    assert detector.frames == [0, 3, 6]
    assert len(results) == 7 and all(len(r.faces) == 1 for r in results)
    # between detections the face is carried at the speed it moved between the last two (3 px a frame)
    assert [r.faces[0].box.x0 for r in results] == [10, 10, 10, 19, 22, 25, 28]
    assert [r.detect_ms > 0 for r in results] == [True, False, False, True, False, False, True]


def test_between_detections_a_face_is_followed_where_it_goes():
    """A camera panning unevenly over a textured scene: the face is found again frame by frame, not moved at a
    guessed speed."""
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (240, 640, 3), dtype=np.uint8)
    pan = [0, 0, 1, 6, 12, 14, 14]  # pixels the view has moved at each frame: still, then fast, then still
    frames = [Image.fromarray(scene[:, p : p + 320]) for p in pan]
    calls = iter([[FaceBox(150, 100, 180, 130, 0.9)], [FaceBox(150 - pan[6], 100, 180 - pan[6], 130, 0.9)]])

    class Panned:
        def search(self, image):
            search = Search(image, 1.0)
            search.boxes = next(calls)
            return search

    results = IntervalAnalyzer(Classifier(), Panned(), every=6)(frames)
    assert [r.faces[0].box.x0 for r in results] == [150 - p for p in pan]


def test_a_followed_face_keeps_its_label_without_the_classifier():
    classifier = Classifier()
    results = IntervalAnalyzer(classifier, Detector(second_from=4), every=2)([frame(n) for n in range(8)])
    # frame 0 judges the face; frame 2 finds it again (matched, same size): nothing judged; frame 4 judges the
    # new face only; frame 6 nothing
    assert classifier.judged == [1, 1] and classifier.checked == [1, 1]
    assert {r.faces[0].probability for r in results} == {0.51}
    assert [f.probability for f in results[7].faces] == [0.51, 0.52]


def test_a_face_whose_size_changed_is_judged_again():
    classifier = Classifier()
    IntervalAnalyzer(classifier, Detector(grow_at=4), every=2)([frame(n) for n in range(6)])
    assert classifier.judged == [1, 1]  # frame 0, then frame 4 where it grew from 20 to 30 px


def test_every_frame_is_the_analysis_of_today():
    detector, classifier = Detector(second_from=2), Classifier()
    got = IntervalAnalyzer(classifier, detector, every=1)([frame(n) for n in range(4)])
    expected = [analyze(frame(n), Classifier(), Detector(second_from=2), "scene") for n in range(4)]
    assert detector.frames == [0, 1, 2, 3]
    assert [[(f.box, f.label) for f in r.faces] for r in got] == [[(f.box, f.label) for f in r.faces] for r in expected]


def test_a_group_staggers_its_cameras_detection_frames():
    detector = Detector()
    group = CameraGroup(Classifier(), detector, every=3)
    calls = []
    for n in range(7):
        before = len(detector.frames)
        group({camera: frame(n) for camera in ("a", "b", "c")})
        calls.append(len(detector.frames) - before)
    assert calls == [3, 1, 1, 1, 1, 1, 1]  # each camera's first frame, then one camera a step


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_a_bad_interval_is_refused(bad):
    with pytest.raises(ValueError, match="whole number of 1 or more"):
        check_every(bad)


def test_a_live_stream_detects_twice_a_second_unless_told(tmp_path):
    from lrfp.scale.live import LiveRun

    assert [live_every(rate) for rate in (1, 2, 4, 10, 25)] == [1, 1, 2, 5, 12]
    stream = ["gate=http://127.0.0.1:9/cam.mjpg"]  # no stream is opened here
    assert LiveRun(stream, tmp_path, None, None, rate=10).analyzers.every == 5
    assert LiveRun(stream, tmp_path, None, None, rate=10, detect_every=1).analyzers.every == 1
