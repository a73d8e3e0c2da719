"""Detect every k-th frame, follow the faces between: one camera's frames analysed for a fraction of the cost.

A camera's frames change little from one to the next, and the detector's pyramid is most of a frame's cost
(about 110 ms of CPU for a 640x480 frame, against a few ms for the face check and classifier of its faces;
benchmarks/detect_every.py). IntervalAnalyzer runs the detector on frames 0, k, 2k, ... only. Between them
each face is followed from frame to frame (follow(): the patch around it found again in the next frame by
OpenCV's normalised correlation, a fraction of a millisecond a face; where it is not found, the face moves at
the speed of its last two detections), its label kept. On a detection frame each box found is matched to the
face followed there (IoU); a matched face
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

import numpy as np
from PIL import Image

from lrfp.pipeline.detect import FaceBox, FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import FaceResult, SceneResult, analyze, strongest
from lrfp.pipeline.upload_limits import MAX_FACES

DETECT_EVERY = 1  # files (`lrfp monitor`): every frame detected, as before the option
# live streams: the detector this many times a second of frames analysed (at --rate 10, every 5th frame: a
# quarter of every frame's CPU, compliance within 0.6 points of it on 24 640x480 pans of fmd853 photos and 2 on the
# 6 demo pans; benchmarks/detect_every.py, benchmarks/frame_costs.py)
LIVE_DETECTIONS_PER_S = 2
MATCH_IOU = 0.3  # a box found continues the face carried to where it overlaps it by this much, or more
CHANGED = 1.25  # a face whose size grew or shrank by this factor since it was judged is judged again
REFRESH = 10  # ... and one judged this many frames ago or more (a mask put on, a face turned)
# Between two frames a face is followed by the patch of its box widened by CONTEXT of its size on each side,
# looked for up to REACH face sizes (MIN_REACH px at least) away; where no place correlates MIN_MATCH or more
# with it, it moves at the speed of its last two detections
CONTEXT, REACH, MIN_REACH, MIN_MATCH = 0.5, 1.0, 8, 0.5


def live_every(rate: float) -> int:
    """The default K of a live stream analysed RATE frames a second: LIVE_DETECTIONS_PER_S detections a second."""
    return max(1, round(rate / LIVE_DETECTIONS_PER_S))


def check_every(every: int) -> int:
    """EVERY as a count of frames (1: every frame); ValueError otherwise."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"detect every {every!r} frames: give a whole number of 1 or more")
    return every


@dataclass
class Track:
    """A face followed between detections: where it is now, its last step and its verdict."""

    box: FaceBox
    found: FaceBox  # its box at the last detection
    label: str
    probability: float | None
    rejected: bool  # the face check found no face in it: carried, neither counted nor judged again
    judged_size: int
    judged_at: int  # the frame it was judged at; -1: to be judged
    speed: tuple[float, float] = (0.0, 0.0)  # pixels a frame between its last two detections

    def moved(self, step: tuple[int, int] | None, width: int, height: int) -> bool:
        """The face moved by STEP (None: not found, so at its speed), its box cut to the frame; False once
        less than half of it is left in view (it is leaving: not carried on)."""
        b = self.box
        dx, dy = step if step is not None else (round(self.speed[0]), round(self.speed[1]))
        x0, y0, x1, y1 = b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy
        cut = FaceBox(max(0, x0), max(0, y0), min(width, x1), min(height, y1), b.score)
        if 2 * (cut.x1 - cut.x0) < x1 - x0 or 2 * (cut.y1 - cut.y0) < y1 - y0:
            return False
        self.box = cut
        return True

    def stale(self, box: FaceBox, frame: int) -> bool:
        """Whether the face, now boxed BOX, must be judged again."""
        ratio = max(box.size, 1) / max(self.judged_size, 1)
        return ratio >= CHANGED or ratio <= 1 / CHANGED or frame - self.judged_at >= REFRESH


def follow(before: np.ndarray, after: np.ndarray, box: FaceBox) -> tuple[int, int] | None:
    """How far BOX's patch of the grey frame BEFORE (the face and some of what surrounds it) moved in AFTER,
    as (dx, dy) in pixels; None where no place matches it well enough (a plain patch, the face gone)."""
    import cv2

    h, w = before.shape
    pad = max(2, round(CONTEXT * box.size))
    px0, py0, px1, py1 = max(0, box.x0 - pad), max(0, box.y0 - pad), min(w, box.x1 + pad), min(h, box.y1 + pad)
    patch = before[py0:py1, px0:px1]
    reach = max(MIN_REACH, round(REACH * box.size))
    sx0, sy0 = max(0, px0 - reach), max(0, py0 - reach)
    window = after[sy0 : min(h, py1 + reach), sx0 : min(w, px1 + reach)]
    if patch.size == 0 or patch.std() < 1 or window.shape[0] < patch.shape[0] or window.shape[1] < patch.shape[1]:
        return None
    _, best, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(window, patch, cv2.TM_CCOEFF_NORMED))
    return (sx0 + x - px0, sy0 + y - py0) if best >= MIN_MATCH else None


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
        self.found_at = 0  # the last detection frame
        self.grey: np.ndarray | None = None  # the frame before, in grey: faces are followed from it

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
        grey = np.asarray(image.convert("L"))
        if self.grey is not None:  # each face followed from the frame before to this one
            self.tracks = [t for t in self.tracks if t.moved(follow(self.grey, grey, t.box), *image.size)]
        result = self._detected(image) if self.due() else self._carried()
        self.grey, self.frame = grey, self.frame + 1
        return result

    def _carried(self) -> SceneResult:
        result = SceneResult("scene")
        for track in self.tracks:
            if track.rejected:
                result.rejected.append(track.box)
            else:
                result.faces.append(FaceResult(track.box, track.label, track.probability))
        return result

    def _detected(self, image: Image.Image) -> SceneResult:
        t0 = time.perf_counter()
        search = self.detector.search(image)
        found = strongest(search.boxes, MAX_FACES)
        detect_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        pairs = match([t.box for t in self.tracks], found)
        since = self.frame - self.found_at
        self.tracks = [
            self._found(box, self.tracks[pairs[i]] if i in pairs else None, since) for i, box in enumerate(found)
        ]
        self.found_at = self.frame
        self._judge(image, [t for t in self.tracks if t.judged_at == -1])
        result = self._carried()
        result.unanalysed, result.detect_mp, result.detect_ms = (
            len(search.boxes) - len(found),
            search.spent_mp,
            detect_ms,
        )
        result.classify_ms = (time.perf_counter() - t0) * 1000 if found else 0.0
        return result

    def _found(self, box: FaceBox, old: Track | None, since: int) -> Track:
        """BOX's track: OLD there (found SINCE frames ago), its verdict kept unless stale (judged_at -1: to be
        judged), or a new one."""
        if old is None:
            return Track(box, box, "", None, False, box.size, -1)
        # where following failed, the face moves at the speed of its last two detections
        speed = ((box.x0 - old.found.x0) / since, (box.y0 - old.found.y0) / since)
        if old.stale(box, self.frame):
            return Track(box, box, "", None, False, box.size, -1, speed)
        return Track(box, box, old.label, old.probability, old.rejected, old.judged_size, old.judged_at, speed)

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
