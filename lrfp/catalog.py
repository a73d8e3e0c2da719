"""Where checkpoints and data live on this machine, for the app's pickers."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import inference

PROJECT_DIR = inference.WEIGHTS_DIR.parent
RUNS_DIR = Path(os.environ.get("LRFP_RUNS", PROJECT_DIR / "runs"))
DATA_DIR = Path(os.environ.get("LRFP_DATA", PROJECT_DIR / "data" / "fmd853-lr"))
# where `lrfp data build` read from: the app draws source scenes with their boxes when it is here
SOURCE_DIR = Path(os.environ.get("LRFP_SOURCE", PROJECT_DIR.parent / "shared" / "data" / "fmd853"))


@dataclass(frozen=True)
class CheckpointEntry:
    label: str
    path: Path


def list_checkpoints(weights_dir: Path | None = None, runs_dir: Path | None = None) -> list[CheckpointEntry]:
    """Published weights first (by name), then milestone checkpoints of local runs (newest first)."""
    weights_dir, runs_dir = weights_dir or inference.WEIGHTS_DIR, runs_dir or RUNS_DIR
    entries = [CheckpointEntry(f"weights/{p.stem}", p) for p in sorted(Path(weights_dir).glob("*.pt"))]
    if Path(runs_dir).is_dir():
        local = sorted(Path(runs_dir).glob("**/epoch*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
        entries += [CheckpointEntry(f"run {p.parent.name} / {p.stem}", p) for p in local]
    return entries
