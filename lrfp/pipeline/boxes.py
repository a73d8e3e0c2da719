"""Face boxes in frame pixels and the one merge of overlapping boxes that every detection ends with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NMS_IOU = 0.4
# One face, several boxes: the looks of the pyramid each box a face in their band, and a look where the face
# nears the top of its band often boxes a part of it (its upper half, the mask, the eyes) as confidently as a
# coarser look boxes the whole. Boxes overlapping by NMS_IOU, or one lying SAME_FACE or more inside the other
# (of the smaller's area), are one face: no two labelled faces of the train photos lie more than 0.38 inside
# each other (but two pairs that label one face twice). The face keeps its most confident box, unless a box of
# the group WHOLE_OF times its area or more scores within SCORE_TIE of it, or one PART_OF times its size
# whatever its score: the whole face rather than the piece a finer look scored as high (twins, the same face
# from two tiles, differ by less).
SAME_FACE = 0.6
SCORE_TIE = 0.1
WHOLE_OF = 1.25
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
# and, beside a face of BIG_FACE px or more (one that fills a phone photo: the finer looks see only its pieces),
# any box PART_OF times smaller lying more than BIG_FACE_CONTAINED inside it grown by EDGE_MARGIN (an ear, the
# neck and collar under the chin, the edge of a cap). Chosen on the pasted faces of the val photos (boxes per
# face at 1024 / 2048 / 3000 px 1.06 / 1.69 / 2.25 -> 1.00 / 1.38 / 1.75, every labelled neighbour kept);
# labelled neighbours stand 0-0.4 inside a face grown so (4 of the train photos' 3,510 pairs of faces twice
# apart in size lie more than half inside; pasted at 3000 px, every sixth train photo lost 4 of 12 neighbours'
# boxes: docs/detection.md)
BIG_FACE = 512
BIG_FACE_CONTAINED = 0.5


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


def merge(boxes: list[FaceBox], iou: float = NMS_IOU, contained: float = CONTAINED) -> list[FaceBox]:
    """One box per group of boxes of one face (_one_per_face), then drop the parts of kept faces (see CONTAINED).

    Both steps compare every pair at once, PAIR_ROWS boxes against all at a time: a 4K frame's pyramid gives
    hundreds of boxes, and pair by pair in Python the merge took a quarter of its detection time."""
    faces = sorted(_one_per_face(boxes, iou), key=lambda b: -(b.x1 - b.x0) * (b.y1 - b.y0))  # biggest first
    if not faces:
        return []
    coords, grown = _corners(faces), _corners([_grown(o, EDGE_MARGIN) for o in faces])
    scores = np.array([b.score for b in faces], np.float64)
    sizes = np.array([b.size for b in faces], np.float64)

    def parts(rows: slice) -> npt.NDArray[np.bool_]:  # [b, o]: b is a part of o, were o kept
        share, share_of_grown = _inside(coords[rows], coords), _inside(coords[rows], grown)
        score, size = scores[rows, None], sizes[rows, None]
        return (
            (share > contained) & (scores[None, :] >= score)
            | (share > PART_CONTAINED) & (sizes[None, :] >= PART_OF * size)
            | (sizes[None, :] >= EDGE_PART_OF * size) & (share_of_grown > PART_CONTAINED)
            | (sizes[None, :] >= BIG_FACE) & (sizes[None, :] >= PART_OF * size) & (share_of_grown > BIG_FACE_CONTAINED)
        )

    part = _pairs(parts, len(faces))
    kept = np.zeros(len(faces), bool)
    for b in range(len(faces)):  # a box is dropped by kept faces only, so in order
        kept[b] = not (part[b] & kept).any()
    return [b for b, k in zip(faces, kept) if k]


def _one_per_face(boxes: list[FaceBox], iou: float) -> list[FaceBox]:
    """Greedy, most confident first: each box left takes every box left that overlaps it by `iou` or more
    (IoU) or that lies SAME_FACE inside it or holds it so; the group keeps its best box, or the biggest box
    of the group that is the whole of which the best is a part (see SAME_FACE)."""
    if not boxes:
        return []
    coords = _corners(boxes)
    raw_area = (coords[:, 2] - coords[:, 0]) * (coords[:, 3] - coords[:, 1])
    area = np.maximum(raw_area, 1.0)

    def same_face(rows: slice) -> npt.NDArray[np.bool_]:
        inter = _intersections(coords[rows], coords)
        with np.errstate(divide="ignore", invalid="ignore"):  # two empty boxes: no overlap
            overlap = np.nan_to_num(inter / (raw_area[rows, None] + raw_area[None, :] - inter), nan=0.0)  # IoU
        # intersection over the smaller box's area, from IoU (inter = iou * union, union = a + b - inter), as the
        # merge has always reckoned it: the same boxes merge to the last bit
        inter = overlap * (area[rows, None] + area[None, :]) / (1 + overlap)
        same: npt.NDArray[np.bool_] = (overlap >= iou) | (
            inter / np.minimum(area[rows, None], area[None, :]) >= SAME_FACE
        )
        return same

    same = _pairs(same_face, len(boxes))
    scores = np.array([b.score for b in boxes], np.float64)
    sizes = np.array([b.size for b in boxes], np.float64)
    left = np.ones(len(boxes), bool)
    kept = []
    for i in np.argsort(-scores, kind="stable").tolist():
        if not left[i]:
            continue
        group = same[i] & left
        group[i] = True
        left &= ~group
        whole = group & (
            (scores >= scores[i] - SCORE_TIE) & (area >= WHOLE_OF * area[i]) | (sizes >= PART_OF * sizes[i])
        )
        kept.append(boxes[int(np.where(whole, area, -1.0).argmax())] if whole.any() else boxes[i])
    return kept


# boxes compared with all the others at once: a crowd's thousands of boxes need a few MB at a time
PAIR_ROWS = 256


def _pairs(rows_of: Callable[[slice], npt.NDArray[np.bool_]], n: int) -> npt.NDArray[np.bool_]:
    """The (n, n) matrix of a relation between boxes, made PAIR_ROWS rows at a time by rows_of(rows)."""
    return np.concatenate([rows_of(slice(r, r + PAIR_ROWS)) for r in range(0, n, PAIR_ROWS)])


def _corners(boxes: Sequence[FaceBox]) -> npt.NDArray[np.float64]:
    """(N, 4) corners x0, y0, x1, y1."""
    return np.array([(b.x0, b.y0, b.x1, b.y1) for b in boxes], np.float64).reshape(-1, 4)


def _intersections(b: npt.NDArray[np.float64], o: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """[i, j]: the area of box b[i] inside box o[j]."""
    wide = np.clip(np.minimum(b[:, None, 2:], o[None, :, 2:]) - np.maximum(b[:, None, :2], o[None, :, :2]), 0, None)
    area: npt.NDArray[np.float64] = wide[..., 0] * wide[..., 1]
    return area


def _inside(b: npt.NDArray[np.float64], o: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """inside() of every pair: [i, j] the share of box b[i]'s area inside box o[j]."""
    return _intersections(b, o) / np.maximum(1.0, (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[:, None]


def _grown(o: FaceBox, margin: float) -> FaceBox:
    """o with `margin` of its size added on every side."""
    dx, dy = round((o.x1 - o.x0) * margin), round((o.y1 - o.y0) * margin)
    return FaceBox(o.x0 - dx, o.y0 - dy, o.x1 + dx, o.y1 + dy, o.score)


# a box as FaceBox or as its corners (x0, y0, x1, y1, and anything after them)
Box = FaceBox | Sequence[float]


def inside(b: Box, o: Box) -> float:
    """The share of box b's area inside box o (FaceBoxes or (x0, y0, x1, y1) tuples)."""
    bx0, by0, bx1, by1 = _coords(b)
    ox0, oy0, ox1, oy1 = _coords(o)
    area = max(1, (bx1 - bx0) * (by1 - by0))
    return max(0, min(bx1, ox1) - max(bx0, ox0)) * max(0, min(by1, oy1) - max(by0, oy0)) / area


def _coords(box: Box) -> tuple[float, float, float, float]:
    return (box.x0, box.y0, box.x1, box.y1) if isinstance(box, FaceBox) else (box[0], box[1], box[2], box[3])
