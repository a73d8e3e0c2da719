"""Face boxes in frame pixels and the one merge of overlapping boxes that every detection ends with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
# and a box that two or more kept, more confident faces together cover STRADDLE or more of (of its area): a
# coarse look's box between two neighbours, half of each (a crowd at 32 MP: a box on one face's left half and
# its neighbour's right half). No labelled face of the 853 photos is covered more than 0.36 by the others.
STRADDLE = 0.6
# and a box in the column of a more confident kept face (their centres across within COLUMN of the wider's width),
# the two within PART_OF of each other in size and overlapping by COLUMN_SHARE or more of the smaller's area: a
# face's lower half (the mask and chin, or the chin and collar) boxed again under its upper half, by the same look
# or another, in photos enlarged to a phone's 4032 px. No two labelled faces of the train and val photos stand so
# (of their 159 overlapping pairs, the closest share 0.21 at 0.30 of the width apart; one face labelled twice
# aside). Chosen on the val photos' phone view (boxes on no labelled face 42 -> 40, every face kept; the other
# views and the pasted faces unchanged): docs/detection.md
COLUMN = 0.25
COLUMN_SHARE = 0.2
# A look of the pyramid boxes the pieces of a face far over its band (an ear, the neck under the chin, the
# hair at the edge of a face pasted on a wall) as faces, beside the whole face that a coarser look found: a box
# PART_OF times smaller than a face of a coarser look, more than half inside that face grown by PIECE_MARGIN
# of its size on each side, is a piece when a coarser look that saw the whole frame, at which it would measure
# SEEN_AT times the bottom of its detector's band up to the band's top, found nothing on it, nor any other look:
# a real face that big stands out to the coarser look too (its detector finds over 90 % of faces there).
# Chosen on the val photos' pasted faces at 2048 and 3000 px (boxes per face 1.38 / 1.75 -> 1.19 / 1.00; a
# margin of a quarter: 1.19 / 1.19; SEEN_AT 1.5: 1.06 / 1.00), every second train photo's too, and the 61
# photos holding a face within half its size of one twice as big, at 4032 px: no labelled face lost at SEEN_AT 2
# (4 at 1.5). docs/detection.md
PIECE_MARGIN = 0.5
SEEN_AT = 2.0
IOU_MATCH_LOOKS = 0.3  # another look's box on it (the scene benchmark's match of a box to a labelled face)


@dataclass(frozen=True)
class FaceBox:
    """A face's box in frame pixels, the detector's score, and the scale of the pyramid's look that found it (the
    searched frame's px to the detector's: under 1 a reduced look; None where unknown). Records keep the look;
    boxes compare without it."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float
    look: float | None = field(default=None, compare=False)

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
    kept &= ~_straddling([b for b, k in zip(faces, kept) if k], faces)
    faces = [b for b, k in zip(faces, kept) if k]
    return [b for b, stacked in zip(faces, _stacked(faces)) if not stacked]


def _stacked(faces: list[FaceBox]) -> npt.NDArray[np.bool_]:
    """Which of `faces` lie in the column of a more confident one kept (see COLUMN), most confident first."""
    out = np.zeros(len(faces), bool)
    if len(faces) < 2:
        return out
    coords = _corners(faces)
    scores = np.array([b.score for b in faces], np.float64)
    sizes = np.array([b.size for b in faces], np.float64)
    widths, centres = coords[:, 2] - coords[:, 0], (coords[:, 0] + coords[:, 2]) / 2
    areas = np.maximum(1.0, widths * (coords[:, 3] - coords[:, 1]))

    def in_column(rows: slice) -> npt.NDArray[np.bool_]:  # [b, o]: b in the column of o, o more confident
        near = np.abs(centres[rows, None] - centres[None, :]) <= COLUMN * np.maximum(
            widths[rows, None], widths[None, :]
        )
        overlap = _intersections(coords[rows], coords) >= COLUMN_SHARE * np.minimum(areas[rows, None], areas[None, :])
        alike = np.maximum(sizes[rows, None], sizes[None, :]) <= PART_OF * np.minimum(sizes[rows, None], sizes[None, :])
        stacked: npt.NDArray[np.bool_] = near & overlap & alike & (scores[None, :] > scores[rows, None])
        return stacked

    stacked = _pairs(in_column, len(faces))
    for b in np.argsort(-scores, kind="stable").tolist():  # the more confident are decided first
        out[b] = (stacked[b] & ~out).any()
    return out


def _straddling(kept: list[FaceBox], faces: list[FaceBox]) -> npt.NDArray[np.bool_]:
    """Which of `faces` two or more of the `kept` faces, each more confident, together cover STRADDLE or more of."""
    out = np.zeros(len(faces), bool)
    if len(kept) < 3:
        return out
    coords, kept_coords = _corners(faces), _corners(kept)
    overlapping = _pairs(lambda rows: _intersections(coords[rows], kept_coords) > 0, len(faces))
    kept_scores = np.array([o.score for o in kept], np.float64)
    for b, face in enumerate(faces):
        over = overlapping[b] & (kept_scores > face.score)
        if over.sum() >= 2:
            out[b] = _covered(coords[b], kept_coords[over]) >= STRADDLE
    return out


def _covered(box: npt.NDArray[np.float64], others: npt.NDArray[np.float64]) -> float:
    """The share of `box` (x0, y0, x1, y1) that the union of `others` (N, 4) covers: on the grid their edges
    cut it into, each cell in or out."""
    clipped = np.clip(others, box[[0, 1, 0, 1]], box[[2, 3, 2, 3]])
    xs, ys = np.unique(clipped[:, [0, 2]]), np.unique(clipped[:, [1, 3]])
    cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
    inside_x = (clipped[:, None, 0] <= cx) & (cx <= clipped[:, None, 2])  # (N, cells along x)
    inside_y = (clipped[:, None, 1] <= cy) & (cy <= clipped[:, None, 3])
    cell_in = (inside_y[:, :, None] & inside_x[:, None, :]).any(0)  # (cells along y, cells along x)
    area = np.outer(np.diff(ys), np.diff(xs))
    return float((area * cell_in).sum() / max(1.0, (box[2] - box[0]) * (box[3] - box[1])))


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


@dataclass(frozen=True)
class LookBoxes:
    """The boxes one look of the pyramid found: its scale, its detector's band (detector px) and whether it
    looked at the whole frame."""

    scale: float
    band: tuple[int, int]
    whole: bool
    boxes: list[FaceBox]


def drop_unseen_pieces(faces: list[FaceBox], looks: Sequence[LookBoxes]) -> list[FaceBox]:
    """`faces` (merged from the looks' boxes) less the pieces of bigger faces that no coarser look saw (see
    PIECE_MARGIN); a box of no look is kept."""
    look_of = {id(b): i for i, look in enumerate(looks) for b in look.boxes}
    if len(faces) < 2 or len(looks) < 2:
        return faces
    scale_of = np.array([looks[look_of[id(b)]].scale if id(b) in look_of else np.inf for b in faces])
    coords, grown = _corners(faces), _corners([_grown(o, PIECE_MARGIN) for o in faces])
    sizes = np.array([b.size for b in faces], np.float64)

    def beside_bigger(rows: slice) -> npt.NDArray[np.bool_]:  # [b, o]: b beside a coarser look's face o
        return (
            (scale_of[None, :] < scale_of[rows, None])
            & (sizes[None, :] >= PART_OF * sizes[rows, None])
            & (_inside(coords[rows], grown) > 0.5)
        )

    near = np.concatenate([beside_bigger(slice(r, r + PAIR_ROWS)).any(1) for r in range(0, len(faces), PAIR_ROWS)])
    found = [(look.scale, b) for look in looks for b in look.boxes]
    all_coords, all_scales = _corners([b for _, b in found]), np.array([s for s, _ in found])
    kept = []
    for b, face in enumerate(faces):
        if not near[b]:
            kept.append(face)
            continue
        seen_by = [
            look.scale
            for look in looks
            if look.whole
            and look.scale < scale_of[b]
            and SEEN_AT * look.band[0] <= sizes[b] * look.scale <= look.band[1]
        ]
        others = all_scales != scale_of[b]
        if not seen_by or (_ious(coords[b], all_coords[others]) >= IOU_MATCH_LOOKS).any():
            kept.append(face)
    return kept


def _ious(box: npt.NDArray[np.float64], others: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """IoU of one box (x0, y0, x1, y1) with each of `others` (N, 4)."""
    inter = _intersections(box[None, :], others)[0]
    area = (box[2] - box[0]) * (box[3] - box[1])
    union = area + (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1]) - inter
    ious: npt.NDArray[np.float64] = inter / np.maximum(union, 1.0)
    return ious


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
