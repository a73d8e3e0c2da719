"""The per-frame CSV of `lrfp scene` (an image or a video): its columns and rows."""

from __future__ import annotations

import csv
from pathlib import Path

from lrfp.core import labels
from lrfp.pipeline.detections import Detections

# One row per frame of the input; `status` is "unreadable" for a frame that could not be decoded (its
# counts are empty), "ok" otherwise. `faces` counts the faces analysed, `faces_found` those the detector found
# (more when a frame had over MAX_FACES: lrfp.pipeline.scene); `rejected`, the boxes
# the face check found no face in (not counted).
CSV_FIELDS = [
    "frame",
    "time_s",
    *labels.COUNT_COLUMNS,
    "compliance",
    "faces_found",
    "rejected",
    "detect_ms",
    "classify_ms",
    "status",
]


# a row of the CSV: CSV_FIELDS' values (an unreadable frame's counts are left empty)
CsvRow = dict[str, str | int | float | None]


def frame_row(index: int, fps: float, result: Detections) -> CsvRow:
    counts = result.counts()
    return {
        "frame": index,
        "time_s": round(index / fps, 3) if fps else 0.0,
        **counts,
        "compliance": "" if counts["compliance"] is None else round(counts["compliance"], 4),
        "faces_found": result.found,
        "rejected": len(result.rejected),
        "detect_ms": round(result.detect_ms, 2),
        "classify_ms": round(result.classify_ms, 2),
        "status": "ok",
    }


def unreadable_row(index: int, fps: float) -> CsvRow:
    return {"frame": index, "time_s": round(index / fps, 3), "status": "unreadable"}


def write_csv(path: str | Path, rows: list[CsvRow]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
