"""The Monitor page's worst moments: the frames with the most faces without a mask, each a picture of its own.

A table shows one scene many times over: the frames of a pan, a live stream showing its clip forth and back,
a file copied under a second name (the demo footage has two: market/clip2 and clip3 are north-gate/clip0
and clip1, byte for byte). So a frame is left out where its faces lie where a worse one's do, as they are or
moved all alike (the camera turned), or where, in a live stream, its people (their track ids) are mostly a worse one's.
A frame left out as a worse one's picture counts as shown: its footage's frames within MOMENT_S of it are
left out too (the next frames of a copied file are the next frames of what it copies, panned on).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lrfp.core import labels

MOMENT_S = 10.0  # the worst moments of one file lie at least this far apart in its video
SAME_FACE_IOU = 0.5  # a face overlapping another this much (IoU) is the same face seen again
# faces a frame must share with another, moved all alike, to be that frame's scene seen from elsewhere (and
# more than half of either's); with fewer faces a frame is the same picture only with every face in place
SHARED_FACES = 3
BOX = ["x0", "y0", "x1", "y1"]


def worst_moments(frames: pd.DataFrame, n: int = 6, apart_s: float = MOMENT_S) -> pd.DataFrame:
    """The frames with the most faces without a mask (then the lowest compliance), each at least APART_S
    seconds of video from a worse one of the same footage and no picture of a worse one's scene (see the
    module's note): the list is of distinct moments, not of one scene's frames."""
    unmasked = labels.unmasked(frames)
    ok = frames[(frames["status"] == "ok") & (unmasked > 0)].copy()
    ok["unmasked"] = unmasked
    ok = ok.sort_values(["unmasked", "compliance"], ascending=[False, True], kind="stable")
    faces = ok.get("face_rows")  # (a table without it: the moments are told apart by time only)
    kept: dict[str, list[float]] = {}  # each footage's moments shown
    rows: list = []
    for index, source, offset in zip(ok.index, ok["source"], ok["offset_s"]):
        if any(abs(offset - other) < apart_s for other in kept.get(source, [])):
            continue
        shown = faces is not None and any(_same_moment(ok, faces, index, other) for other in rows)
        kept.setdefault(source, []).append(offset)  # a moment shown, here or as another's picture
        if shown:
            continue
        rows.append(index)
        if len(rows) == n:
            break
    return ok.loc[rows]


def _same_moment(ok: pd.DataFrame, faces: pd.Series, index, other) -> bool:
    """Whether row INDEX shows the scene of row OTHER, a worse one kept (by its faces, or by its people where
    both are of one stream)."""
    same_stream = ok.at[index, "source"] == ok.at[other, "source"]
    return same_scene(faces[index], faces[other]) or (same_stream and same_people(faces[index], faces[other]))


def same_people(a, b) -> bool:
    """Whether most people of either frame of one stream (face_rows cells whose faces carry the track ids a
    live run gives them) are in the other: the same people seen again, however the camera has turned."""
    ids_a, ids_b = _tracks(a), _tracks(b)
    return bool(ids_a and ids_b) and 2 * len(ids_a & ids_b) > min(len(ids_a), len(ids_b))


def _tracks(cell) -> set[int]:
    """The track ids of a face_rows cell's faces (none where the table kept none: -1, missing or empty)."""
    if cell is None:
        return set()
    found = (f.get("track") for f in cell)
    return {int(t) for t in found if isinstance(t, int | float | np.integer) and not pd.isna(t) and t >= 0}


def same_picture(a, b, overlap: float = SAME_FACE_IOU) -> bool:
    """Whether two frames' faces (face_rows cells) are as many, and each face of either has one of the
    other with its label whose box overlaps it by OVERLAP (IoU) or more: the same scene, seen again."""
    if a is None or b is None or len(a) == 0 or len(a) != len(b):
        return False
    alike = _alike(_boxes(a), _boxes(b), a, b, overlap)
    return bool(alike.any(axis=1).all() and alike.any(axis=0).all())


def same_scene(a, b, overlap: float = SAME_FACE_IOU) -> bool:
    """same_picture, or SHARED_FACES faces or more, and more than half of either frame's, that lie where the
    other's do once moved all by one step (the camera panned or turned), each with its label."""
    if same_picture(a, b, overlap):
        return True
    if a is None or b is None or min(len(a), len(b)) < SHARED_FACES:
        return False
    boxes_a, boxes_b = _boxes(a), _boxes(b)
    needed = max(SHARED_FACES, len(a) // 2 + 1, len(b) // 2 + 1)
    if min(len(a), len(b)) < needed:
        return False
    label_a, label_b = np.array([f["label"] for f in a]), np.array([f["label"] for f in b])
    for i, j in zip(*np.nonzero(label_a[:, None] == label_b[None, :])):  # each pair of faces alike: one step
        step = np.tile(boxes_b[j, :2] - boxes_a[i, :2], 2)
        if _alike(boxes_a + step, boxes_b, a, b, overlap).any(axis=1).sum() >= needed:
            return True
    return False


def _boxes(cell) -> np.ndarray:
    return np.array([[f[k] for k in BOX] for f in cell], dtype=float)


def _alike(boxes_a: np.ndarray, boxes_b: np.ndarray, a, b, overlap: float) -> np.ndarray:
    """(faces of a, faces of b): whether the two boxes overlap by OVERLAP or more, with the same label."""
    low = np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    high = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    inter = np.clip(high - low, 0, None).prod(axis=2)
    area_a, area_b = (boxes_a[:, 2:] - boxes_a[:, :2]).prod(axis=1), (boxes_b[:, 2:] - boxes_b[:, :2]).prod(axis=1)
    iou = inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
    same_label = np.array([f["label"] for f in a])[:, None] == np.array([f["label"] for f in b])[None, :]
    return (iou >= overlap) & same_label
