"""Detect every k-th frame, follow the faces between: one camera's frames analysed for a fraction of the cost.

A camera's frames change little from one to the next, and the detector's pyramid is most of a frame's cost
(about 110 ms of CPU for a 640x480 frame, against a few ms for the face check and classifier of its faces;
benchmarks/detect_every.py). IntervalAnalyzer runs the detector on frames 0, k, 2k, ... only, and analyses
each such frame as the every-frame analysis does: every face found goes to the face check and the classifier,
so a detection frame's result is the every-frame analysis's, to the score. Between detections each face is
followed from frame to frame (follow(): the patch around it found again in the next frame by OpenCV's
normalised correlation, a fraction of a millisecond a face; where it is not found, the face moves at the
speed of its last two detections) with the verdict and scores of its last detection. Each box found is
matched to the face followed there (IoU) only to learn that speed.

Why every face is judged again at each detection, not the new and changed ones only: a face kept the label
of its first crop (often one cut by the frame's edge, or a small one) for up to 10 frames, and compliance
over faces moved by up to 1.6 points from the every-frame analysis's on the demo pans at k = 5
(benchmarks/detect_every_phases.py: within 0.94 now, at each choice of detection frames), and judging
them all costs 1.3 ms more CPU a frame at k = 5 (32.0 against 30.7 ms there).

With k = 1 it is lrfp.pipeline.frames.scene_analysis, unchanged: every frame detected, every face judged.

CameraGroup is the analysis (lrfp.pipeline.frames.Analyze) that FrameStream calls with a batch of frames:
each frame goes to its camera's IntervalAnalyzer (state kept between calls), the cameras' detection frames
staggered so that each step detects on about 1/k of them. k is Settings.detect_every (lrfp.scale.settings:
its defaults and its check, once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from lrfp.data.voc import match
from lrfp.pipeline.detect import FaceBox, FaceDetector
from lrfp.pipeline.detections import Detections
from lrfp.pipeline.frames import Frame, image_of
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import FaceResult, SceneResult, analyze

MATCH_IOU = 0.3  # a box found continues the face carried to where it overlaps it by this much, or more
# Between two frames a face is followed by the patch of its box widened by CONTEXT of its size on each side,
# looked for up to REACH face sizes (MIN_REACH px at least) away; where no place correlates MIN_MATCH or more
# with it, it moves at the speed of its last two detections
CONTEXT, REACH, MIN_REACH, MIN_MATCH = 0.5, 1.0, 8, 0.5


@dataclass
class Track:
    """A face followed between detections: where it is now, its last step and its verdict."""

    box: FaceBox
    found: FaceBox  # its box at the last detection
    label: str
    probability: float | None
    rejected: bool  # the face check found no face in it at the last detection: carried, not counted
    face_score: float | None  # the face check's probability of a face at the last detection (None: not looked)
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


def continued(carried: list[FaceBox], found: list[FaceBox]) -> dict[int, int]:
    """Found box -> the carried face it continues: the pairing of lrfp.data.voc.match (highest IoU first, at
    least MATCH_IOU, each used once; equal IoUs go to the later face and box), which scores found faces."""
    pairs = match([(b.x0, b.y0, b.x1, b.y1) for b in carried], [(b.x0, b.y0, b.x1, b.y1) for b in found], MATCH_IOU)
    return {fi: ci for ci, fi in pairs.items()}


class IntervalAnalyzer:
    """One camera's frames, in order: the detector on every EVERY-th frame, faces carried between."""

    def __init__(self, classifier: Classifier, detector: FaceDetector, every: int, phase: int = 0):
        self.classifier, self.detector, self.every = classifier, detector, every  # every >= 1: Settings checks it
        self.frame = 0  # frames seen
        self.phase = phase % self.every  # detection at frames 0 and (frame + PHASE) % EVERY == 0 (CameraGroup)
        self.tracks: list[Track] = []
        self.found_at = 0  # the last detection frame
        self.grey: np.ndarray | None = None  # the frame before, in grey: faces are followed from it

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
                result.faces.append(FaceResult(track.box, track.label, track.probability, track.face_score))
        return result

    def _detected(self, image: Image.Image) -> SceneResult:
        """The every-frame analysis of this frame (its faces found, checked and judged), each face then
        continuing the track it overlaps."""
        result = analyze(image, self.classifier, self.detector, "scene")
        seen: list[FaceResult | FaceBox] = [*result.faces, *result.rejected]
        pairs = continued([t.box for t in self.tracks], [f.box if isinstance(f, FaceResult) else f for f in seen])
        since = self.frame - self.found_at
        self.tracks = [
            self._found(face, self.tracks[pairs[i]] if i in pairs else None, since) for i, face in enumerate(seen)
        ]
        self.found_at = self.frame
        return result

    def _found(self, face: FaceResult | FaceBox, old: Track | None, since: int) -> Track:
        """The track of FACE (a face judged, or a box the face check rejected) found now, continuing OLD (found
        SINCE frames ago) where it overlaps one."""
        box = face.box if isinstance(face, FaceResult) else face
        speed = (0.0, 0.0) if old is None else ((box.x0 - old.found.x0) / since, (box.y0 - old.found.y0) / since)
        if isinstance(face, FaceResult):
            return Track(box, box, face.label, face.probability, False, face.face_score, speed)
        return Track(box, box, "", None, True, None, speed)


class CameraGroup:
    """The analysis of a worker's cameras (lrfp.pipeline.frames.Analyze): a batch of frames, each with its camera,
    -> one Detections each, every camera on its own IntervalAnalyzer, their detection frames staggered (camera n
    detects at its first frame, then at its frames k - n, 2k - n, ...), so each step detects on about 1/k."""

    def __init__(self, classifier: Classifier, detector: FaceDetector, every: int):
        self.classifier, self.detector, self.every = classifier, detector, every
        self.cameras: dict[str, IntervalAnalyzer] = {}

    def analyzer(self, camera: str) -> IntervalAnalyzer:
        if camera not in self.cameras:
            phase = len(self.cameras) % self.every
            self.cameras[camera] = IntervalAnalyzer(self.classifier, self.detector, self.every, phase)
        return self.cameras[camera]

    def __call__(self, frames: list[Frame]) -> list[Detections]:
        return [Detections.from_scene(self.analyzer(f.camera).next(image_of(f))) for f in frames]
