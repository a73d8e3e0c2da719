"""What the app's pickers offer: checkpoints in weights/ and local runs, each by its one name, and example photos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lrfp.app.launcher import LAUNCH_NAME, run_name
from lrfp.core import paths
from lrfp.core.records import read_json
from lrfp.data.demo import DEMO_TITLES, labelled_faces


@dataclass(frozen=True)
class CheckpointEntry:
    label: str  # the picker's value, kept in the session: 'weights/NAME', or 'run: FOLDER/epochNNN' for a local run
    path: Path
    name: str  # how the pages name it (model_name)


def list_checkpoints(weights_dir: Path | None = None, runs_dir: Path | None = None) -> list[CheckpointEntry]:
    """Published weights first (by name), then milestone checkpoints of local runs (newest first)."""
    weights_dir, runs_dir = weights_dir or paths.WEIGHTS_DIR, runs_dir or paths.RUNS_DIR
    entries = [CheckpointEntry(f"weights/{p.stem}", p, p.stem) for p in sorted(Path(weights_dir).glob("*.pt"))]
    if Path(runs_dir).is_dir():
        local = sorted(Path(runs_dir).glob("**/epoch*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
        entries += [CheckpointEntry(f"run: {p.parent.name}/{p.stem}", p, _run_model_name(p)) for p in local]
    return entries


def model_name(checkpoint: Path, weights_dir: Path | None = None) -> str:
    """How every page names a model (the sidebar's picker, the Classify and Overview captions, the Train page's
    runs): a published one by its name ('prod-mobilenet_v2'), one trained on the Train page by its run
    ('model3 32px #1b31', lrfp.app.launcher.run_name), another local run's by its folder and milestone."""
    checkpoint = Path(checkpoint)
    if checkpoint.parent.resolve() == Path(weights_dir or paths.WEIGHTS_DIR).resolve():
        return checkpoint.stem
    return _run_model_name(checkpoint)


def picker_name(entry: CheckpointEntry, default: str | None) -> str:
    """How the sidebar's model picker shows a checkpoint: its name (model_name), the app's default saying so."""
    published = entry.label == f"weights/{entry.name}"
    return f"{entry.name} (default)" if published and entry.name == default else entry.name


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
    """How the pages name an example photo: 'Dense crowd (51 labelled faces)', the count as its labels have it
    (lrfp.data.demo.labelled_faces, as the Dataset page draws them), else its file name."""
    title = DEMO_TITLES.get(Path(photo).stem)
    if title is None:
        return Path(photo).name
    faces = labelled_faces(photo)
    return title if faces is None else f"{title} ({len(faces)} labelled faces)"


def _run_model_name(checkpoint: Path) -> str:
    """A local run's model: 'model3 32px #1b31' for a run of the Train page, else 'FOLDER / epochNNN'."""
    launch_file = checkpoint.parent / LAUNCH_NAME
    if launch_file.is_file():
        try:
            return run_name(read_json(launch_file))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return f"{checkpoint.parent.name} / {checkpoint.stem}"
