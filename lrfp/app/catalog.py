"""What the app's pickers offer: checkpoints in weights/ and local runs, example photos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lrfp.app.launcher import LAUNCH_NAME, describe
from lrfp.core import paths
from lrfp.core.records import read_json
from lrfp.data.demo import DEMO_TITLES


@dataclass(frozen=True)
class CheckpointEntry:
    label: str
    path: Path


def list_checkpoints(weights_dir: Path | None = None, runs_dir: Path | None = None) -> list[CheckpointEntry]:
    """Published weights first (by name), then milestone checkpoints of local runs (newest first)."""
    weights_dir, runs_dir = weights_dir or paths.WEIGHTS_DIR, runs_dir or paths.RUNS_DIR
    entries = [CheckpointEntry(f"weights/{p.stem}", p) for p in sorted(Path(weights_dir).glob("*.pt"))]
    if Path(runs_dir).is_dir():
        local = sorted(Path(runs_dir).glob("**/epoch*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
        entries += [CheckpointEntry(_run_label(p), p) for p in local]
    return entries


def picker_name(label: str, default: str | None) -> str:
    """How the sidebar's model picker shows a checkpoint: a published one by its name (the app's default
    says so), not its path; a local run by its label ('run: model3 · 32 px · ...')."""
    name = label.removeprefix("weights/")
    if name == label:
        return label
    return f"{name} (default)" if name == default else name


def list_examples(folder: Path | None = None) -> list[Path]:
    """The example photos the Classify page offers (shipped in demo/scenes): the titled ones in
    DEMO_TITLES' order, then any other by name."""
    folder = Path(folder or paths.EXAMPLES_DIR)
    if not folder.is_dir():
        return []
    order = {stem: i for i, stem in enumerate(DEMO_TITLES)}
    photos = [p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    return sorted(photos, key=lambda p: (order.get(p.stem, len(order)), p.name))


def example_title(photo: Path) -> str:
    """How the pages name an example photo: 'Dense crowd (51 labelled faces)', else its file name."""
    return DEMO_TITLES.get(Path(photo).stem, Path(photo).name)


def _run_label(checkpoint: Path) -> str:
    """'run: model3 · 32 px · 5 epoch(s) · 26 Nov 07:31' for app runs, else 'run: <folder> / epochNNN'."""
    launch_file = checkpoint.parent / LAUNCH_NAME
    if launch_file.is_file():
        try:
            return f"run: {describe(read_json(launch_file))}"
        except (OSError, ValueError, KeyError):
            pass
    return f"run: {checkpoint.parent.name} / {checkpoint.stem}"
