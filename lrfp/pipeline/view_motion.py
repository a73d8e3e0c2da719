"""How far a whole view moved between two frames (a camera panning), from where its faces stand in each.

At 2 frames/s a pan moves every face by a face size or more, about the spacing of the faces of a crowd: each
face then stands nearer its neighbour's last place than its own, and the nearest face of the last frame is a
neighbour's. The people tracker (lrfp.pipeline.people) takes this step out before it joins faces to people:
on the demo crowd (north-gate/clip2, hand-marked) 89 ID switches became 6, IDF1 0.35 became 0.66
(benchmarks/people_tracking.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# each face's step to this many of its nearest faces of the last frame is a candidate for the view's step
NEAREST_STEPS = 3

Point = tuple[float, float]


def common_step(now: Sequence[Point], sizes: Sequence[int], last: Sequence[Point]) -> Point:
    """The view's step from the LAST frame's face centres to NOW's (faces of SIZES px): of the steps from each
    face to its NEAREST_STEPS nearest last faces, the one that puts the most faces within half their size of a
    last face (the shortest of equals); (0, 0) with no faces on either side, and for a still camera."""
    if not len(now) or not len(last):
        return 0.0, 0.0
    here, there = np.asarray(now, dtype=float), np.asarray(last, dtype=float)
    half = np.maximum(np.asarray(sizes, dtype=float), 1) / 2
    steps = here[:, None, :] - there[None, :, :]  # face, last face, xy
    nearest = np.argsort(np.hypot(steps[..., 0], steps[..., 1]), axis=1)[:, :NEAREST_STEPS]
    candidates = np.unique(np.take_along_axis(steps, nearest[:, :, None], axis=1).reshape(-1, 2), axis=0)
    moved = here[None, :, None, :] - candidates[:, None, None, :] - there[None, None, :, :]  # candidate, face, last
    fits = (np.hypot(moved[..., 0], moved[..., 1]).min(axis=2) <= half).sum(axis=1)
    best = min(range(len(candidates)), key=lambda i: (-int(fits[i]), float(np.hypot(*candidates[i]))))
    return float(candidates[best][0]), float(candidates[best][1])
