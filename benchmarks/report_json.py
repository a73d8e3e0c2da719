"""A benchmark's record as it ends: printed as JSON, and written to its --out file when one is given."""

from __future__ import annotations

import json
from pathlib import Path


def print_and_save(report: dict, out: Path | None, indent: int = 2) -> None:
    """REPORT as JSON (values JSON has no type for, such as times, as text) on stdout, and in OUT (its folder
    made) when given."""
    text = json.dumps(report, indent=indent, default=str)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
