"""How far a whole view moved between two frames (a camera panning), from where its faces stand in each.

At 2 frames/s a pan moves every face by a face size or more, about the spacing of the faces of a crowd: each
face then stands nearer its neighbour's last place than its own, and the nearest face of the last frame is a
neighbour's. The people tracker (lrfp.pipeline.people) sums these steps and takes out the view's moves since
each person was last seen before it joins faces to people: on the demo crowd (north-gate/clip2, hand-marked)
89 ID switches became 1 (IDF1 0.35 to 0.69), and served forth and back 1708 became 8 (IDF1 0.24 to 0.73)
(benchmarks/people_tracking.py, 118ec1f's tracker beside this one on one table).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# each face's step to this many of its nearest faces of the last frame is a candidate for the view's step
NEAREST_STEPS = 3
# A row of like faces fits a step one spacing off almost as well as the true one, and the sum of the steps
# would keep that error: a step this far (in face sizes) from the last one costs as much as one face left
# off its place, times this. A turn of the pan still wins: it puts every face on its place.
CHANGE_COST = 0.5

Point = tuple[float, float]


def common_step(
    now: Sequence[Point], sizes: Sequence[int], last: Sequence[Point], reach: float, before: Point = (0.0, 0.0)
) -> Point:
    """The view's step from the LAST frame's face centres to NOW's (faces of SIZES px): of the steps from each
    face to its NEAREST_STEPS nearest last faces within REACH face sizes (the people tracker joins no farther),
    the one that leaves the faces nearest a last face (the distance to the nearest, in face sizes, at most 1 a
    face, summed, and CHANGE_COST for each face size it lies from the step BEFORE; the shortest of equals);
    (0, 0) with none, and for a still camera."""
    if not len(now) or not len(last):
        return 0.0, 0.0
    here, there = np.asarray(now, dtype=float), np.asarray(last, dtype=float)
    side = np.maximum(np.asarray(sizes, dtype=float), 1)
    steps = here[:, None, :] - there[None, :, :]  # face, last face, xy
    nearest = np.argsort(np.hypot(steps[..., 0], steps[..., 1]), axis=1)[:, :NEAREST_STEPS]
    near = np.take_along_axis(steps, nearest[:, :, None], axis=1)  # face, k-th nearest, xy
    within = np.hypot(near[..., 0], near[..., 1]) <= reach * side[:, None]
    if not within.any():
        return 0.0, 0.0
    candidates = np.unique(near[within].reshape(-1, 2), axis=0)
    moved = here[None, :, None, :] - candidates[:, None, None, :] - there[None, None, :, :]  # candidate, face, last
    misfit = np.minimum(np.hypot(moved[..., 0], moved[..., 1]).min(axis=2) / side, 1).sum(axis=1)
    misfit += CHANGE_COST * np.hypot(*(candidates - np.asarray(before)).T) / float(np.median(side))
    best = min(range(len(candidates)), key=lambda i: (round(float(misfit[i]), 6), float(np.hypot(*candidates[i]))))
    return float(candidates[best][0]), float(candidates[best][1])
