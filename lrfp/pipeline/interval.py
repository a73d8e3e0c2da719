"""Detect every k-th frame, follow the faces between: one camera's frames analysed for a fraction of the cost.

A camera's frames change little from one to the next, and the detector's pyramid is most of a frame's cost
(about 110 ms of CPU for a 640x480 frame, against a few ms for the face check and classifier of its faces;
benchmarks/detect_every.py). IntervalAnalyzer runs the detector on frames 0, k, 2k, ... only. Between them
each face is carried: its box moved on at the speed it moved between its last two detections, its label
kept. On a detection frame each box found is matched to the face carried nearest to it (IoU); a matched face
keeps its face-check verdict and label unless its size changed by CHANGED or more, or it was last judged
REFRESH frames ago or more, and only the new and changed faces go to the face check and the classifier.

With k = 1 it is lrfp.pipeline.scene.analyze, unchanged: every frame detected, every face judged.

It is the frames -> results seam of a frame loop: `analyzer(frames)` takes the next frames of its camera,
in order, and gives one SceneResult each (state is kept between calls). CameraGroup does the same for the
cameras of one worker, staggering their detection frames so that each step detects on about 1/k of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PIL import Image

from lrfp.pipeline.detect import FaceBox, FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import FaceResult, SceneResult, analyze, strongest
from lrfp.pipeline.upload_limits import MAX_FACES

DETECT_EVERY = 1  # files (`lrfp monitor`): every frame detected, as before the option
# live streams: the measured default (benchmarks/detect_every.py, docs/monitoring.md)
LIVE_DETECT_EVERY = 3
MATCH_IOU = 0.3  # a box found continues the face carried to where it overlaps it by this much, or more
CHANGED = 1.25  # a face whose size grew or shrank by this factor since it was judged is judged again
REFRESH = 30  # ... and one judged this many frames ago or more (a mask put on, a face turned)


def check_every(every: int) -> int:
    """EVERY as a count of frames (1: every frame); ValueError otherwise."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"detect every {every!r} frames: give a whole number of 1 or more")
    return every


@dataclass
class Track:
    """A face followed between detections: its last box found, its speed and its verdict."""

    box: FaceBox
    seen: int  # the frame it was last found in
    label: str
    probability: float | None
    rejected: bool  # the face check found no face in it: carried, neither counted nor judged again
    judged_size: int
    judged_at: int
    speed: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # pixels a frame of x0, y0, x1, y1

    def at(self, frame: int, width: int, height: int) -> FaceBox:
        """Where the face is expected at FRAME, kept inside the frame."""
        steps = frame - self.seen
        x0, y0, x1, y1 = (edge + v * steps for edge, v in zip(_edges(self.box), self.speed))
        x0, x1 = max(0, min(round(x0), width - 1)), max(1, min(round(x1), width))
        y0, y1 = max(0, min(round(y0), height - 1)), max(1, min(round(y1), height))
        return FaceBox(x0, y0, max(x1, x0 + 1), max(y1, y0 + 1), self.box.score)

    def stale(self, box: FaceBox, frame: int) -> bool:
        """Whether the face, now boxed BOX, must be judged again."""
        ratio = max(box.size, 1) / max(self.judged_size, 1)
        return ratio >= CHANGED or ratio <= 1 / CHANGED or frame - self.judged_at >= REFRESH


def _edges(box: FaceBox) -> tuple[int, int, int, int]:
    return box.x0, box.y0, box.x1, box.y1


def iou(a: FaceBox, b: FaceBox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    if w <= 0 or h <= 0:
        return 0.0
    union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - w * h
    return w * h / union


def match(carried: list[FaceBox], found: list[FaceBox]) -> dict[int, int]:
    """Found box -> carried face, pairs of the highest IoU first (at least MATCH_IOU), each used once."""
    pairs = sorted(
        ((iou(c, f), fi, ci) for ci, c in enumerate(carried) for fi, f in enumerate(found)), key=lambda p: -p[0]
    )
    out: dict[int, int] = {}
    used: set[int] = set()
    for overlap, fi, ci in pairs:
        if overlap < MATCH_IOU:
            break
        if fi not in out and ci not in used:
            out[fi] = ci
            used.add(ci)
    return out


class IntervalAnalyzer:
    """One camera's frames, in order: the detector on every EVERY-th frame, faces carried between."""

    def __init__(self, classifier: Classifier, detector: FaceDetector, every: int = DETECT_EVERY, phase: int = 0):
        self.classifier, self.detector, self.every = classifier, detector, check_every(every)
        self.frame = 0  # frames seen
        self.phase = phase % self.every  # detection at frames 0 and (frame + PHASE) % EVERY == 0 (CameraGroup)
        self.tracks: list[Track] = []

    def __call__(self, frames: Iterable[Image.Image]) -> list[SceneResult]:
        return [self.next(image) for image in frames]

    def due(self) -> bool:
        """Whether the next frame is a detection frame."""
        return self.frame == 0 or (self.frame + self.phase) % self.every == 0

    def next(self, image: Image.Image) -> SceneResult:
        """The next frame's result."""
        if self.every == 1:  # exactly the every-frame analysis
            return analyze(image, self.classifier, self.detector, "scene")
        image = image if image.mode == "RGB" else image.convert("RGB")
        result = self._detected(image) if self.due() else self._carried(image)
        self.frame += 1
        return result

    def _carried(self, image: Image.Image) -> SceneResult:
        result = SceneResult("scene")
        for track in self.tracks:
            box = track.at(self.frame, *image.size)
            if track.rejected:
                result.rejected.append(box)
            else:
                result.faces.append(FaceResult(box, track.label, track.probability))
        return result

    def _detected(self, image: Image.Image) -> SceneResult:
        result = SceneResult("scene")
        t0 = time.perf_counter()
        search = self.detector.search(image)
        found, result.detect_mp = strongest(search.boxes, MAX_FACES), search.spent_mp
        result.unanalysed = len(search.boxes) - len(found)
        result.detect_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        carried = [t.at(self.frame, *image.size) for t in self.tracks]
        pairs = match(carried, found)
        tracks = [self._follow(box, self.tracks[pairs[i]] if i in pairs else None) for i, box in enumerate(found)]
        self._judge(image, [t for t in tracks if t.judged_at == -1])
        self.tracks = tracks
        for track in tracks:
            if track.rejected:
                result.rejected.append(track.box)
            else:
                result.faces.append(FaceResult(track.box, track.label, track.probability))
        result.classify_ms = (time.perf_counter() - t0) * 1000 if found else 0.0
        return result

    def _follow(self, box: FaceBox, old: Track | None) -> Track:
        """BOX's track: OLD moved there (its verdict kept unless stale), or a new one; judged_at -1: to judge."""
        if old is None or old.stale(box, self.frame):
            fresh = Track(box, self.frame, "", None, False, box.size, -1)
            if old is not None:
                fresh.speed = _speed(old, box, self.frame)
            return fresh
        return Track(
            box, self.frame, old.label, old.probability, old.rejected, old.judged_size, old.judged_at,
            _speed(old, box, self.frame),
        )  # fmt: skip

    def _judge(self, image: Image.Image, tracks: list[Track]) -> None:
        """The face check, then the classifier, on TRACKS' faces (the new and changed ones), in one batch each."""
        crops = [image.crop(_edges(t.box)) for t in tracks]
        no_face = self.classifier.not_faces(crops) if crops else []
        kept = [(t, c) for t, c, no in zip(tracks, crops, no_face) if not no]
        predictions = self.classifier.predict([c for _, c in kept]) if kept else []
        for track, no in zip(tracks, no_face):
            track.rejected, track.judged_at = no, self.frame
        for (track, _), prediction in zip(kept, predictions):
            track.label, track.probability = prediction.label, prediction.probability


def _speed(old: Track, box: FaceBox, frame: int) -> tuple[float, float, float, float]:
    steps = max(1, frame - old.seen)
    return tuple((new - was) / steps for new, was in zip(_edges(box), _edges(old.box)))  # type: ignore[return-value]


class CameraGroup:
    """The cameras of one worker: `group({camera: frame})` -> {camera: result}, each camera on its own
    IntervalAnalyzer, their detection frames staggered (camera n detects at its first frame, then at its frames
    k - n, 2k - n, ...), so each step detects on about 1/k of them."""

    def __init__(self, classifier: Classifier, detector: FaceDetector, every: int = DETECT_EVERY):
        self.classifier, self.detector, self.every = classifier, detector, check_every(every)
        self.cameras: dict[str, IntervalAnalyzer] = {}

    def analyzer(self, camera: str) -> IntervalAnalyzer:
        if camera not in self.cameras:
            phase = len(self.cameras) % self.every
            self.cameras[camera] = IntervalAnalyzer(self.classifier, self.detector, self.every, phase)
        return self.cameras[camera]

    def __call__(self, frames: Mapping[str, Image.Image]) -> dict[str, SceneResult]:
        return {camera: self.analyzer(camera).next(image) for camera, image in frames.items()}
