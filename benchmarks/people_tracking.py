"""People counted by each tracker and setting on the demo clips, against a hand count; tracking's cost per frame.

    lrfp monitor demo/footage --mapping demo/footage/cameras.csv --out /tmp/demo-mon --engine local
    python benchmarks/people_tracking.py /tmp/demo-mon [--repeat 20] [--out results/benchmarks/people_tracking.json]

The hand count (HAND) is of the people whose face shows in at least one frame of each clip, counted by
eye on its first and last frames, 3x enlarged, with the source photo's annotated faces drawn over it
(the crowd of maksssksksss52 was checked against its 51 annotations; in maksssksksss787 two faces the
annotations leave out were counted). The tracking time is the tracker alone (the detector and the
classifier ran before, in the table), the best of --repeat runs over every clip, per frame.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lrfp.scale.monitor import read_table
from lrfp.scale.people import track_source

# the demo clips' source photos (lrfp.data.footage.EXAMPLE) and the people counted in each clip
HAND = {
    "north-gate/clip0.mp4": 12,
    "north-gate/clip1.mp4": 13,
    "north-gate/clip2.mp4": 51,
    "north-gate/clip3.mp4": 6,
    "market/clip0.mp4": 13,
    "market/clip1.mp4": 10,
    "market/clip2.mp4": 12,
    "market/clip3.mp4": 13,
}
CANDIDATES = {
    "bytetrack, giou > -0.5 (lrfp's default)": {"tracker": "bytetrack"},
    "bytetrack, iou > 0.1 (the library's default)": {"tracker": "bytetrack", "match": "iou", "min_iou": 0.1},
    "bytetrack, iou, library confirms after 2 frames": {
        "tracker": "bytetrack",
        "match": "iou",
        "min_iou": 0.1,
        "min_frames": 1,
        "confirm": 2,
    },
    "bytetrack, iou, one-frame tracks kept": {"tracker": "bytetrack", "match": "iou", "min_iou": 0.1, "min_frames": 1},
    "bytetrack, giou, lost after 0.5 s": {"tracker": "bytetrack", "lost_s": 0.5},
    "bytetrack, biou:0.5": {"tracker": "bytetrack", "match": "biou:0.5", "min_iou": 0.1},
    "bytetrack, biou:1": {"tracker": "bytetrack", "match": "biou:1", "min_iou": 0.1},
    "bytetrack, biou:2": {"tracker": "bytetrack", "match": "biou:2", "min_iou": 0.1},
    "bytetrack, diou > -0.3": {"tracker": "bytetrack", "match": "diou", "min_iou": -0.3},
    "sort, iou": {"tracker": "sort", "match": "iou", "min_iou": 0.3},
    "sort, biou:1": {"tracker": "sort", "match": "biou:1", "min_iou": 0.3},
    "ocsort, iou": {"tracker": "ocsort", "match": "iou", "min_iou": 0.3},
    "sort, giou > -0.5": {"tracker": "sort"},
    "ocsort, giou > -0.5": {"tracker": "ocsort"},
    "ocsort, biou:1": {"tracker": "ocsort", "match": "biou:1", "min_iou": 0.3},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("table", help="a `lrfp monitor` results folder of demo/footage")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default="results/benchmarks/people_tracking.json")
    args = parser.parse_args()
    frames = read_table(args.table)
    frames = frames[(frames["status"] == "ok") & (frames["kind"] == "video")]
    clips = {"/".join(Path(s).parts[-2:]): g.sort_values("frame") for s, g in frames.groupby("source")}
    report = {"hand_count": HAND, "frames": int(len(frames)), "candidates": {}}
    for name, options in CANDIDATES.items():
        counted = {clip: len(track_source(rows, **options)) for clip, rows in clips.items()}
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for rows in clips.values():
                track_source(rows, **options)
            best = min(best, time.perf_counter() - t0)
        off = {clip: round(100 * (counted[clip] - HAND[clip]) / HAND[clip], 1) for clip in HAND}
        report["candidates"][name] = {
            "options": options,
            "people": counted,
            "off_percent": off,
            "total": sum(counted.values()),
            "hand_total": sum(HAND.values()),
            "worst_off_percent": max(abs(v) for v in off.values()),
            "ms_per_frame": round(1000 * best / len(frames), 3),
        }
        r = report["candidates"][name]
        print(
            f"{name:45s} total {r['total']:4d} / {r['hand_total']}  worst clip off {r['worst_off_percent']:5.1f} %  "
            f"{r['ms_per_frame']:.3f} ms/frame  {counted}"
        )
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
