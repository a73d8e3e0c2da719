"""Detect every k-th frame, follow the faces between (lrfp.pipeline.interval), with a detector and a classifier
that note what they are asked: which frames are detected, which faces are judged."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lrfp.core.errors import ConfigError
from lrfp.pipeline.detect import FaceBox, Search
from lrfp.pipeline.frames import Frame, FrameStream, scene_analysis
from lrfp.pipeline.inference import Prediction
from lrfp.pipeline.interval import CameraGroup, IntervalAnalyzer, continued
from lrfp.scale.defaults import DETECT_EVERY, live_every
from lrfp.scale.settings import Settings


def frame(n: int) -> Image.Image:
    """Frame N of a camera: its number is the red of its first pixel."""
    return Image.new("RGB", (320, 240), (n, 0, 0))


def analysed(analyzer: IntervalAnalyzer, images):
    return [analyzer.next(image) for image in images]


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

    def not_face_probabilities(self, crops):
        self.checked.append(len(crops))
        return [0.25] * len(crops)

    def predict(self, crops):
        self.judged.append(len(crops))
        return [Prediction("with_mask", 0.5 + len(self.judged) / 100, {}) for _ in crops]


def test_the_detector_runs_on_every_kth_frame_only():
    detector = Detector()
    analyzer = IntervalAnalyzer(Classifier(), detector, every=3)
    results = analysed(analyzer, [frame(n) for n in range(7)])
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

    results = analysed(IntervalAnalyzer(Classifier(), Panned(), every=6), frames)
    assert [r.faces[0].box.x0 for r in results] == [150 - p for p in pan]


def test_a_followed_face_keeps_its_label_without_the_classifier():
    classifier = Classifier()
    results = analysed(IntervalAnalyzer(classifier, Detector(second_from=4), every=2), [frame(n) for n in range(8)])
    # the classifier runs on the detection frames only (0, 2, 4, 6), on every face found there; the frame after
    # each shows the faces with that detection's verdict
    assert classifier.judged == [1, 1, 2, 2] and classifier.checked == [1, 1, 2, 2]
    assert [[f.probability for f in r.faces] for r in results] == [
        [0.51],
        [0.51],
        [0.52],
        [0.52],
        [0.53, 0.53],
        [0.53, 0.53],
        [0.54, 0.54],
        [0.54, 0.54],
    ]


class Masked(Classifier):
    """A face 'with_mask' in frames 0-3 and 'without_mask' from frame 4 on (a mask taken off), read from its
    crop (frame n's pixels are (n, 0, 0)), at a probability that tells the frames apart."""

    def predict(self, crops):
        self.judged.append(len(crops))
        shade = [crop.getpixel((0, 0))[0] for crop in crops]
        return [Prediction("with_mask" if n < 4 else "without_mask", 0.6 + n / 100, {}) for n in shade]


def test_a_detection_frame_is_the_every_frame_analysis_of_it_and_the_frames_after_carry_its_verdict():
    """A face found again at the same size keeps no verdict of an earlier detection (on the demo pans, faces
    kept the label of their first crop for 10 frames and compliance moved by up to 1.6 points at k = 5)."""
    frames = [Frame(n, n / 10, frame(n), camera="gate") for n in range(8)]
    every_frame = scene_analysis(Masked(), Detector(second_from=4))(frames)
    carried = CameraGroup(Masked(), Detector(second_from=4), every=2)(frames)
    for n in (0, 2, 4, 6):  # the detection frames: the every-frame analysis's rows, scores and all
        assert carried[n].rows() == every_frame[n].rows()
    assert [d.label for d in carried] == [["with_mask"]] * 4 + [["without_mask", "without_mask"]] * 4
    assert [d.probability[0] for d in carried] == pytest.approx([0.6, 0.6, 0.62, 0.62, 0.64, 0.64, 0.66, 0.66])


def test_a_followed_face_keeps_the_scores_of_its_last_detection_and_judgement():
    frames = [Frame(n, n / 10, frame(n), camera="gate") for n in range(5)]
    found = CameraGroup(Classifier(), Detector(second_from=3), every=3)(frames)
    assert [list(d.score) for d in found] == [[0.9]] * 3 + [[0.9, 0.8]] * 2  # the detector's, carried
    assert {s for d in found for s in d.face_score} == {0.75}  # 1 - the face check's 0.25 not-a-face


def test_every_frame_is_the_analysis_of_main_exactly():
    """--detect-every 1 (the files' default) is scene_analysis, every frame detected and judged alike."""
    frames = [Frame(n, n / 10, frame(n), camera="gate") for n in range(4)]
    detector = Detector(second_from=2)
    assert Settings(model="m").detect_every == DETECT_EVERY == 1
    got = Settings(model="m").analyser(Classifier(), detector)(frames)
    expected = scene_analysis(Classifier(), Detector(second_from=2))(frames)
    assert detector.frames == [0, 1, 2, 3]
    by_hand = CameraGroup(Classifier(), Detector(second_from=2), every=1)(frames)
    for found in (got, by_hand):
        assert [d.rows() for d in found] == [d.rows() for d in expected]
        assert [(d.unanalysed, d.rejected.tolist()) for d in found] == [(0, [])] * 4


def test_a_group_staggers_its_cameras_detection_frames_in_a_stream_of_batches():
    detector = Detector()
    stream = FrameStream(Settings(model="m", detect_every=3).analyser(Classifier(), detector), batch=3)
    calls = []
    for n in range(7):
        before = len(detector.frames)
        for camera in ("a", "b", "c"):
            stream.push(Frame(n, n / 10, frame(n), camera=camera))
        calls.append(len(detector.frames) - before)
    assert calls == [3, 1, 1, 1, 1, 1, 1]  # each camera's first frame, then one camera a step
    assert stream.counts.analysed == 21


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_a_bad_interval_is_refused_once_by_the_settings(bad):
    with pytest.raises(ConfigError, match="--detect-every .*whole number of frames, 1 or more"):
        Settings(model="m", detect_every=bad)


def test_a_live_stream_detects_twice_a_second_unless_told(tmp_path, monkeypatch):
    from lrfp.cli import scene
    from lrfp.cli.main import main

    assert [live_every(rate) for rate in (1, 2, 4, 10, 25)] == [1, 1, 2, 5, 12]
    seen = []
    monkeypatch.setattr(scene, "cmd_live", lambda args, settings, engine: seen.append(settings.detect_every) or 0)
    stream = ["--live", "gate=http://127.0.0.1:9/cam.mjpg", "--out", str(tmp_path)]  # no stream is opened here
    for extra in ([], ["--rate", "2"], ["--detect-every", "3"]):
        assert main(["monitor", *stream, *extra]) == 0
    assert seen == [5, 1, 3]


def test_a_live_run_analyses_each_pass_over_its_streams_as_one_batch(tmp_path):
    from lrfp.scale.live import LiveRun
    from lrfp.scale.settings import LiveSettings

    live = LiveSettings.parse(["a=http://127.0.0.1:9/a.mjpg", "b=http://127.0.0.1:9/b.mjpg"])  # none opened
    assert LiveRun(live, tmp_path, None).stream.batch == 2


def test_a_found_box_continues_the_face_the_scoring_would_pair_it_with():
    """One pairing of found boxes with faces (lrfp.data.voc.match), here and where found faces are scored: the
    highest IoU first, each used once, and equal IoUs to the later face (the tracker's own took the earlier)."""
    twins = [FaceBox(10, 10, 30, 30, 0.9), FaceBox(10, 10, 30, 30, 0.8)]  # two faces carried to one place
    assert continued(twins, [FaceBox(12, 10, 32, 30, 0.9)]) == {0: 1}
    carried = [FaceBox(0, 0, 20, 20, 0.9), FaceBox(100, 0, 120, 20, 0.9)]
    found = [FaceBox(101, 0, 121, 20, 0.9), FaceBox(60, 60, 80, 80, 0.9), FaceBox(2, 0, 22, 20, 0.9)]
    assert continued(carried, found) == {0: 1, 2: 0}  # the box far from both continues none
    assert continued(carried, [FaceBox(12, 0, 32, 20, 0.9)]) == {}  # IoU 0.25: under MATCH_IOU
