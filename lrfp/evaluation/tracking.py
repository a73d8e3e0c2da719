"""How well faces are followed: the people tracker's tracks scored against hand-marked ones.

Hand-marked tracks (demo/tracks/CAMERA/clipN.csv) are MOT boxes, `frame,id,x,y,w,h`, one line per face
and frame (lines starting with # are comments). The scores are the usual ones, computed by the
`trackers` library's TrackEval-compatible metrics (Apache 2.0): IDF1 (the share of faces given the right
person, each hand-marked person matched to one tracked person over the whole clip), ID switches and
MOTA (CLEAR), a tracked box matching a marked one at IoU 0.5 or more. Only the people the tracker
counts (seen in MIN_FRAMES frames or more) are scored, as only they are written; a person's first
sighting, given to it only when the library names its track a frame later, is not.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lrfp.pipeline.detections import FaceRow
from lrfp.pipeline.people import PeopleTracker

Box = tuple[int, int, int, int]  # x0, y0, x1, y1
Frames = dict[int, list[tuple[int, Box]]]  # frame -> (person id, box) of each face in it
MATCH_IOU = 0.5  # the MOT benchmarks' threshold


def read_marks(path: Path | str) -> Frames:
    """A hand-marked MOT file (frame, id, x, y, w, h) as frame -> [(id, box)]."""
    marks: Frames = {}
    with open(path, newline="") as f:
        for n, row in enumerate(csv.reader(f), 1):
            if not row or row[0].lstrip().startswith("#"):
                continue
            try:
                frame, ident, x, y, w, h = (int(float(v)) for v in row[:6])
            except ValueError as error:
                raise ValueError(f"{path}: line {n}: frame,id,x,y,w,h as numbers ({error})") from None
            marks.setdefault(frame, []).append((ident, (x, y, x + w, y + h)))
    return marks


def follow(
    frames: Iterable[tuple[int, float, list[FaceRow]]], tracker: PeopleTracker | None = None
) -> tuple[Frames, int]:
    """The counted people's boxes frame by frame, and how many people were counted, for frames of
    (frame, offset in seconds, faces) followed by TRACKER (a new PeopleTracker without it). Only the
    tracker's public answers are used (each face's id from see, the people's rows from finished), so an
    older PeopleTracker can be scored the same way."""
    tracker = tracker or PeopleTracker()
    seen: Frames = {}
    for frame, offset, faces in frames:
        for face, person in zip(faces, tracker.see(frame, offset, None, faces)):
            if person >= 0:
                seen.setdefault(frame, []).append((person, (face["x0"], face["y0"], face["x1"], face["y1"])))
    counted = {int(str(row["track"])) for row in tracker.finished()}
    tracked = {f: kept for f, faces in seen.items() if (kept := [(p, b) for p, b in faces if p in counted])}
    return tracked, len(counted)


def score(marks: Frames, tracked: Frames, threshold: float = MATCH_IOU) -> dict[str, float | int]:
    """IDF1, ID switches, MOTA and the people marked and tracked, over the frames of MARKS and TRACKED."""
    from trackers.eval import box_iou, compute_clear_metrics, compute_identity_metrics

    gt_ids, track_ids, similarity = [], [], []
    for frame in sorted(set(marks) | set(tracked)):
        gt, tr = marks.get(frame, []), tracked.get(frame, [])
        gt_ids.append(np.array([i for i, _ in gt], dtype=int))
        track_ids.append(np.array([i for i, _ in tr], dtype=int))
        a = np.array([b for _, b in gt], dtype=float).reshape(-1, 4)
        b = np.array([b for _, b in tr], dtype=float).reshape(-1, 4)
        similarity.append(box_iou(a, b) if len(a) and len(b) else np.zeros((len(a), len(b))))
    clear = compute_clear_metrics(gt_ids, track_ids, similarity, threshold)
    identity = compute_identity_metrics(gt_ids, track_ids, similarity, threshold)
    return {
        "IDF1": round(float(identity["IDF1"]), 4),
        "IDSW": int(clear["IDSW"]),
        "MOTA": round(float(clear["MOTA"]), 4),
        "marked": len({i for faces in marks.values() for i, _ in faces}),
        "tracked": len({i for faces in tracked.values() for i, _ in faces}),
    }
