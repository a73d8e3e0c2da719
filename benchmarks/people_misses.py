"""Why the monitor counts too few people on the hand-marked demo clips: each marked face, frame by frame, found or
not in a `lrfp monitor` table, and why not.

    lrfp monitor demo/footage --mapping demo/footage/cameras.csv --out /tmp/demo-mon --engine local
    python benchmarks/people_misses.py /tmp/demo-mon [--out results/benchmarks/people_misses.json]
    # an older checkout's table and detector: run the same file with PYTHONPATH=/work/scratch/before39

Per marked clip (demo/tracks): the marked faces (one per person and frame) by size (shorter side, px) and how many
the table holds (a box at IoU 0.5 or more, as benchmarks/people_tracking.py scores them); each miss with its
reason, worked out with the detector the table's settings make (lrfp.scale.settings.Settings, so an older
checkout's own):

- `face check`: the detector's boxes hold it, the table not (the face check took it for no face);
- `scored low`: one of the looks the pyramid runs on the frame (pyramid_scales) found it, scored
  LOW_SCORE or more but under what that look keeps;
- `box off`: a kept box covers it at IoU 0.3 to 0.5;
- `not seen`: none of these.

The detector's CPU time a frame (time.process_time, best of REPEAT passes over the marked clips' frames, one
thread) says what the looks cost. Per person: the marked people, those in view in fewer than MIN_FRAMES frames (no tracker counts them: a
person needs MIN_FRAMES sightings), and those the table holds in MIN_FRAMES frames or more (the most a tracker
can count).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

import av
import numpy as np
from PIL import Image

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before onnxruntime loads: one core's cost

from lrfp.evaluation.tracking import MATCH_IOU, read_marks
from lrfp.pipeline.detect import FaceDetector, pyramid_scales
from lrfp.pipeline.people import MIN_FRAMES
from lrfp.scale.monitor import read_table
from lrfp.scale.settings import Settings

FOOTAGE, MARKS = Path("demo/footage"), Path("demo/tracks")
LOW_SCORE = 0.2  # a box scored this or more counts as "scored low" where the look asks more
OFF_IOU = 0.3
REPEAT = 3
SIZES = ((0, 10), (10, 16), (16, 23), (23, 10_000))  # px: 23 is the bottom of the detector's band at its own size


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from trackers.eval import box_iou

    return box_iou(a, b) if len(a) and len(b) else np.zeros((len(a), len(b)))


def arr(boxes) -> np.ndarray:
    return np.array(boxes, dtype=float).reshape(-1, 4)


def the_detector() -> FaceDetector:
    """The detector a default `lrfp monitor` run makes (its settings' finest_side where the checkout has one)."""
    finest = getattr(Settings, "finest_side", None)
    return FaceDetector() if finest is None else FaceDetector(finest_side=finest)


def raw_looks(detector: FaceDetector, image: Image.Image) -> tuple[list[float], list[tuple[float, np.ndarray]]]:
    """The scales the pyramid runs on IMAGE and each look's boxes (frame px) scored LOW_SCORE or more, with the
    score that look keeps (its detector's, the enlarged looks' own)."""
    w, h = image.size
    extra = {"finest_side": detector.finest_side} if getattr(detector, "finest_side", None) else {}
    scales = pyramid_scales(w, h, detector.kind, detector.reduced_kind, detector.enlarge, detector.step, **extra)
    found = []
    for scale in scales:
        kind = detector.reduced_kind if scale < 1 else detector.kind
        keeps = detector.enlarged_min_score if scale > 1 else detector.min_score if scale == 1 else kind.min_score
        work = image if scale == 1 else image.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR)
        rows = np.array(detector._backends[kind.name](np.asarray(work), LOW_SCORE), dtype=float).reshape(-1, 5)
        found.append((keeps, np.column_stack([rows[:, :4] / scale, rows[:, 4]])))
    return scales, found


def reason(k: int, gt: np.ndarray, table: np.ndarray, detected: np.ndarray, looks) -> str:
    if len(detected) and iou(gt[k : k + 1], detected).max() >= MATCH_IOU:
        return "face check"
    for keeps, rows in looks:
        hits = iou(gt[k : k + 1], rows[:, :4])[0] >= MATCH_IOU if len(rows) else []
        if any(hits) and rows[hits, 4].max() < keeps:
            return "scored low"
    if len(table) and iou(gt[k : k + 1], table).max() >= OFF_IOU:
        return "box off"
    return "not seen"


def clip_misses(clip: str, rows, detector: FaceDetector) -> dict:
    marks = read_marks(MARKS / clip.replace(".mp4", ".csv"))
    with av.open(str(FOOTAGE / clip)) as container:
        images = [frame.to_image() for frame in container.decode(video=0)]
    table = {int(f): arr([[x["x0"], x["y0"], x["x1"], x["y1"]] for x in c]) for f, c in zip(rows.frame, rows.face_rows)}
    sizes: dict[str, list[int]] = {f"{lo}-{hi}" if hi < 10_000 else f"{lo}+": [0, 0] for lo, hi in SIZES}
    reasons: Counter[str] = Counter()
    in_view: Counter[int] = Counter()
    kept: Counter[int] = Counter()
    scales: list[float] = []
    for frame, image in enumerate(images):
        marked = marks.get(frame, [])
        gt = arr([b for _, b in marked])
        kept_box = table.get(frame, arr([]))
        hit = iou(gt, kept_box).max(axis=1) >= MATCH_IOU if len(kept_box) else np.zeros(len(gt), bool)
        missed = [k for k in range(len(gt)) if not hit[k]]
        if missed:
            detected = arr([[b.x0, b.y0, b.x1, b.y1] for b in detector.detect(image)])
            scales, looks = raw_looks(detector, image)
            reasons.update(reason(k, gt, kept_box, detected, looks) for k in missed)
        for k, (ident, (x0, y0, x1, y1)) in enumerate(marked):
            in_view[ident] += 1
            kept[ident] += int(hit[k])
            side = min(x1 - x0, y1 - y0)
            key = next(name for name, (lo, hi) in zip(sizes, SIZES) if lo <= side < hi)
            sizes[key][0] += 1
            sizes[key][1] += int(hit[k])
    return {
        "faces_marked": sum(n for n, _ in sizes.values()),
        "faces_in_table": sum(k for _, k in sizes.values()),
        "by_size_px": {name: {"marked": n, "in_table": k} for name, (n, k) in sizes.items()},
        "missed_why": dict(sorted(reasons.items())),
        "looks": scales or "every marked face in the table",
        "people_marked": len(in_view),
        "people_in_view_under_min_frames": sum(n < MIN_FRAMES for n in in_view.values()),
        "people_in_table_min_frames": sum(n >= MIN_FRAMES for n in kept.values()),
    }


def detector_cpu_ms(detector: FaceDetector, clips: list[str]) -> float:
    """CPU ms a frame of detector.search on the clips' frames, best of REPEAT passes."""
    images = []
    for clip in clips:
        with av.open(str(FOOTAGE / clip)) as container:
            images += [frame.to_image() for frame in container.decode(video=0)]
    best = float("inf")
    for _ in range(REPEAT):
        t0 = time.process_time()
        for image in images:
            detector.search(image)
        best = min(best, time.process_time() - t0)
    return round(1000 * best / len(images), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", help="a `lrfp monitor` results folder of demo/footage")
    parser.add_argument("--out", help="a JSON record")
    args = parser.parse_args()
    frames = read_table(args.table)
    frames = frames[(frames["status"] == "ok") & (frames["kind"] == "video")]
    detector = the_detector()
    report: dict = {"table": args.table, "min_frames": MIN_FRAMES, "detector": detector.describe(), "clips": {}}
    print(
        f"{'clip':22s} {'faces':>11s} {'<10':>7s} {'10-16':>7s} {'16-23':>7s} {'23+':>7s}  people (short, in 3+)  why missed"
    )
    for clip in sorted(p.relative_to(MARKS).with_suffix(".mp4").as_posix() for p in MARKS.glob("*/*.csv")):
        rows = frames[frames["source"].str.endswith(clip)].sort_values("frame")
        found = report["clips"][clip] = clip_misses(clip, rows, detector)
        bins = " ".join(f"{v['in_table']:>3d}/{v['marked']:<3d}" for v in found["by_size_px"].values())
        print(
            f"{clip:22s} {found['faces_in_table']:>5d}/{found['faces_marked']:<5d} {bins}  "
            f"{found['people_marked']:3d} ({found['people_in_view_under_min_frames']}, "
            f"{found['people_in_table_min_frames']:2d})  {found['missed_why']}"
        )
    report["detector_cpu_ms_per_frame"] = detector_cpu_ms(detector, list(report["clips"]))
    print(f"the detector: {report['detector_cpu_ms_per_frame']} CPU ms a 320x240 frame (best of {REPEAT})")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
