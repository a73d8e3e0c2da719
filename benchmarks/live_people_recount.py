"""A live run's people counted again by today's tracker from its own frames, beside compliance over faces.

    python benchmarks/live_people_recount.py results/monitor/live-example [--out FILE.json]

A live run (`lrfp monitor --live`) writes each frame's faces (slices/frames-*.parquet) and the people its
tracker made of them (slices/people-*.parquet, people-open.parquet). For each camera this prints compliance
over the faces of every frame, and over people: as the run counted them, and as today's
lrfp.pipeline.people.PeopleTracker counts them from the same frames (each person with the frames it was
seen in and its label's share of its sightings): why the two compliances differ.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from lrfp.core import labels
from lrfp.pipeline.people import PeopleTracker


def _percent(names) -> float | None:
    share = labels.compliance(labels.count(names))
    return None if share is None else round(100 * share, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a live run's folder")
    parser.add_argument("--out", type=Path, help="write the record here (JSON)")
    args = parser.parse_args()
    frames = pd.concat([pd.read_parquet(p) for p in sorted(args.folder.glob("slices/frames-*.parquet"))])
    recorded = pd.concat(
        [
            pd.read_parquet(p)
            for p in [*sorted(args.folder.glob("slices/people-*.parquet")), args.folder / "people-open.parquet"]
            if p.is_file()
        ]
    )
    frames = frames[frames["status"] == "ok"]
    record: dict = {"folder": str(args.folder), "cameras": {}}
    for camera, rows in frames.groupby("camera"):
        tracker = PeopleTracker()
        for row in rows.sort_values("offset_s").itertuples():
            tracker.see(int(row.frame), float(row.offset_s), None, list(row.face_rows))
        people = tracker.finished()
        counts = {c: int(rows[c].sum()) for c in labels.COUNT_COLUMNS}
        then = recorded[recorded["camera"] == camera]["label"]
        record["cameras"][camera] = {
            "frames": len(rows),
            "faces": counts["faces"],
            "compliance_faces": round(100 * labels.compliance(counts), 1),
            "people_recorded": len(then),
            "compliance_people_recorded": _percent(then),
            "people_now": len(people),
            "compliance_people_now": _percent(p["label"] for p in people),
            "people_now_frames_label_share": sorted(
                ([p["frames"], p["label"], round(p["share"], 2)] for p in people), reverse=True
            ),
        }
        print(camera, {k: v for k, v in record["cameras"][camera].items() if k != "people_now_frames_label_share"})
    every = record["cameras"].values()
    record["all"] = {
        "compliance_faces": round(100 * labels.compliance({c: int(frames[c].sum()) for c in labels.COUNT_COLUMNS}), 1),
        "people_recorded": len(recorded),
        "compliance_people_recorded": _percent(recorded["label"]),
        "people_now": sum(c["people_now"] for c in every),
        "compliance_people_now": _percent(n for c in every for _, n, _ in c["people_now_frames_label_share"]),
    }
    print(json.dumps(record["all"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
