"""People counted on the demo clips against a hand count, and the tracks scored against hand-marked ones.

    lrfp monitor demo/footage --mapping demo/footage/cameras.csv --out /tmp/demo-mon --engine local
    python benchmarks/people_tracking.py /tmp/demo-mon [--before /work/scratch/before38] [--repeat 20]
        [--out results/benchmarks/people_tracking.json]

Per clip: the people counted by lrfp's tracker (this checkout's; with --before, also the PeopleTracker
of that older checkout, loaded from its lrfp/pipeline/people.py, on the same table), the hand count,
and where the clip's tracks are hand-marked (demo/tracks, see its README) IDF1, ID switches and MOTA
(lrfp.evaluation.tracking). Each marked clip is also followed as `lrfp monitor --live` meets it from
benchmarks/mjpeg_serve.py: its frames forth and back (0..7, 6..1, a pass every 7 s) at 2 frames/s for
LIVE_S seconds, where the people are still the clip's and each frame's marks its own frame's. Then the
settings tried (CANDIDATES) by total and worst clip, with the
tracker's cost per frame (the tracker alone, best of --repeat runs over every clip). "found" is how many
of the marked people the detector found in MIN_FRAMES frames or more: the most a tracker can count.

HAND counts the people whose face shows in each clip (half its box or more in one frame at least): the
people marked (every clip, north-gate/clip2's crowd of 52 included). market/clip2 and clip3 are the same
files as north-gate/clip0 and clip1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from lrfp.evaluation.tracking import MATCH_IOU, follow, read_marks, score
from lrfp.pipeline.people import MIN_FRAMES
from lrfp.scale.monitor import read_table
from lrfp.scale.people import _faces

MARKS = Path("demo/tracks")
SAME = {"market/clip2.mp4": "north-gate/clip0.mp4", "market/clip3.mp4": "north-gate/clip1.mp4"}
LIVE_S, LIVE_FPS = 60, 2
CANDIDATES = {
    "lrfp's default (giou > -0.5, nearest within 2.5 sizes, 8 s, scores over 0.5 sure)": {},
    "giou > -0.5, the library's tracks only (as 38be506)": {"reach": 0.0, "rejoin_s": 2.0},
    "the library's tracks only, written after 8 s": {"reach": 0.0},
    "scores: the library's high 0.6, activate 0.7": {"sure": None},
    "scores: high 0.6, activate 0.6": {"sure": (0.6, 0.6)},
    "scores: high 0.6, activate 0.5": {"sure": (0.6, 0.5)},
    "scores: high 0.7, activate 0.5": {"sure": (0.7, 0.5)},
    "scores: all boxes sure (confidence 1, as 38be506)": {"sure": (0.0, 0.0)},
    "giou > -0.2": {"min_iou": -0.2},
    "iou > 0.1": {"match": "iou", "min_iou": 0.1},
    "biou:1 > 0.2": {"match": "biou:1", "min_iou": 0.2},
    "biou:0.5 > 0.05": {"match": "biou:0.5", "min_iou": 0.05},
    "nearest within 1.5 face sizes": {"reach": 1.5},
    "nearest within 4 face sizes": {"reach": 4.0},
    "nearest within 4 s": {"rejoin_s": 4.0},
    "a person from 2 frames": {"min_frames": 2},
    "a person from 1 frame": {"min_frames": 1},
    "sort": {"tracker": "sort"},
    "ocsort": {"tracker": "ocsort"},
}


def marks_of(clip: str) -> Path:
    return MARKS / SAME.get(clip, clip).replace(".mp4", ".csv")


def hand_count(clip: str) -> int:
    return score(read_marks(marks_of(clip)), {})["marked"]  # type: ignore[return-value]


def frames_of(rows: pd.DataFrame) -> list:
    return [(int(f), float(o), _faces(c)) for f, o, c in zip(rows["frame"], rows["offset_s"], rows["face_rows"])]


def forth_and_back(frames: list, marks: dict) -> tuple[list, dict]:
    """FRAMES and their MARKS as served forth and back (mjpeg_serve) for LIVE_S seconds at LIVE_FPS."""
    loop = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    order = [loop[k % len(loop)] for k in range(LIVE_S * LIVE_FPS)]
    served = [(k, k / LIVE_FPS, frames[i][2]) for k, i in enumerate(order)]
    return served, {k: marks.get(frames[i][0], []) for k, i in enumerate(order)}


def found_by_detector(frames: list, marks: dict) -> int:
    """The marked people whose face the detector found (IoU 0.5 or more) in MIN_FRAMES frames or more: the
    most any tracker can count (a person needs MIN_FRAMES sightings)."""
    from trackers.eval import box_iou

    seen: Counter[int] = Counter()
    for frame, _, faces in frames:
        marked = marks.get(frame, [])
        boxes = np.array([[f["x0"], f["y0"], f["x1"], f["y1"]] for f in faces], dtype=float).reshape(-1, 4)
        if marked and len(boxes):
            iou = box_iou(np.array([b for _, b in marked], dtype=float), boxes)
            seen.update(ident for (ident, _), best in zip(marked, iou.max(axis=1)) if best >= MATCH_IOU)
    return sum(n >= MIN_FRAMES for n in seen.values())


def scored(frames: list, marks: dict | None, hand: int, tracker) -> dict:
    tracked, counted = follow(frames, tracker)
    entry: dict = {"people": counted, "hand": hand, "off_percent": round(100 * (counted - hand) / hand, 1)}
    if marks is not None:
        entry |= {k: v for k, v in score(marks, tracked).items() if k in ("IDF1", "IDSW", "MOTA")}
        entry["found_by_detector"] = found_by_detector(frames, marks)
    return entry


def per_clip(clips: dict[str, pd.DataFrame], make) -> dict[str, dict]:
    """Each clip's people counted by make() (a new tracker) and, where marked, its tracks' scores; the
    marked clips again served forth and back ("CLIP live")."""
    found = {}
    for clip, rows in clips.items():
        frames, marks = frames_of(rows), read_marks(marks_of(clip))
        found[clip] = scored(frames, marks, hand_count(clip), make())
        if marks is not None and clip not in SAME:
            found[f"{clip} live"] = scored(*forth_and_back(frames, marks), hand_count(clip), make())
    return found


def load_before(checkout: Path):
    """The PeopleTracker class of an older checkout (its lrfp/pipeline/people.py, this lrfp's core)."""
    spec = importlib.util.spec_from_file_location("before_people", checkout / "lrfp/pipeline/people.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["before_people"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.PeopleTracker


def show(title: str, found: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(
        f"{'clip':27s} {'hand':>5s} {'found':>5s} {'people':>7s} {'off %':>7s} {'IDF1':>6s} {'IDSW':>5s} {'MOTA':>6s}"
    )
    for clip, e in found.items():
        marked = (
            f"{e['IDF1']:6.3f} {e['IDSW']:5d} {e['MOTA']:6.3f}" if "IDF1" in e else f"{'-':>6s} {'-':>5s} {'-':>6s}"
        )
        print(
            f"{clip:27s} {e['hand']:5d} {e.get('found_by_detector', '-'):>5} {e['people']:7d} {e['off_percent']:7.1f} {marked}"
        )
    for kind, chosen in (
        ("clips", [e for c, e in found.items() if "live" not in c]),
        ("live", [e for c, e in found.items() if "live" in c]),
    ):
        hand, people = sum(e["hand"] for e in chosen), sum(e["people"] for e in chosen)
        print(f"{'all ' + kind:27s} {hand:5d} {people:7d} {100 * (people - hand) / hand:7.1f}")


def main() -> None:
    from lrfp.pipeline.people import PeopleTracker

    parser = argparse.ArgumentParser()
    parser.add_argument("table", help="a `lrfp monitor` results folder of demo/footage")
    parser.add_argument("--before", type=Path, help="an older checkout whose tracker to score beside this one")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default="results/benchmarks/people_tracking.json")
    args = parser.parse_args()
    frames = read_table(args.table)
    frames = frames[(frames["status"] == "ok") & (frames["kind"] == "video")]
    clips = {"/".join(Path(s).parts[-2:]): g.sort_values("frame") for s, g in frames.groupby("source")}
    report: dict = {"frames": int(len(frames)), "table": args.table}
    if args.before:
        before = load_before(args.before)
        report["before"] = {"checkout": str(args.before), "clips": per_clip(clips, before)}
        show(f"before ({args.before})", report["before"]["clips"])
    report["after"] = {"clips": per_clip(clips, PeopleTracker)}
    show("after (this checkout)", report["after"]["clips"])
    report["candidates"] = {}
    print()
    for name, options in CANDIDATES.items():
        found = per_clip(clips, lambda options=options: PeopleTracker(**options))
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for rows in clips.values():
                follow(frames_of(rows), PeopleTracker(**options))
            best = min(best, time.perf_counter() - t0)
        marked = [e for e in found.values() if "IDF1" in e]
        summary = {
            "options": options,
            "clips": found,
            "total": sum(e["people"] for e in found.values()),
            "hand_total": sum(e["hand"] for e in found.values()),
            "worst_off_percent": max(abs(e["off_percent"]) for e in found.values()),
            "worst_marked_off_percent": max(abs(e["off_percent"]) for e in marked),
            "IDSW_marked": sum(e["IDSW"] for e in marked),
            "ms_per_frame": round(1000 * best / len(frames), 3),
        }
        report["candidates"][name] = summary
        print(
            f"{name:42s} total {summary['total']:4d} / {summary['hand_total']}  worst marked clip off "
            f"{summary['worst_marked_off_percent']:5.1f} %, any {summary['worst_off_percent']:5.1f} %  "
            f"IDSW {summary['IDSW_marked']:3d}  {summary['ms_per_frame']:.3f} ms/frame"
        )
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
