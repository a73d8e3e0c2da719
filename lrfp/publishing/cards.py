"""What a model card says in words, for a reader of the repository: the command that trained its model, its
settings, classes, split sizes and confusion matrix."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from lrfp.core import labels

# a run's recorded command starts with the TORCH_HOME it used (records.command_line): a folder of the
# machine that ran it (../shared/torch-hub), which a reader of the repository does not have
TORCH_HOME = re.compile(r"^TORCH_HOME=('[^']*'|\S+) ")


def shown_command(command: str) -> str:
    """COMMAND as recorded, with the TORCH_HOME folder it used (a path of the machine that ran it) named CACHE."""
    return TORCH_HOME.sub("TORCH_HOME=CACHE ", command)


def command_line(command: str, model: str) -> str:
    """The card's Command line: COMMAND as recorded, its TORCH_HOME folder shown as CACHE with what to put there."""
    if not TORCH_HOME.match(command):
        return f"- **Command**: `{command}`"
    return (
        f"- **Command**: `{shown_command(command)}` (CACHE: a folder holding torchvision's "
        f"ImageNet weights of `{model}` in `CACHE/hub/checkpoints/`; online, leave `TORCH_HOME=CACHE` out and "
        f"torchvision downloads them)"
    )


def settings_in_words(settings: Mapping) -> str:
    """Settings or counts as a reader writes them, "(num classes 2, pretrained imagenet)": the cards write them so
    and the dashboard reads cards written before as so."""
    return "(" + ", ".join(f"{str(key).replace('_', ' ')} {value}" for key, value in settings.items()) + ")"


def classes_in_words(names: Iterable[str]) -> str:
    """A card's list of classes as every page names them: "with mask, without mask"."""
    return ", ".join(labels.text(name) for name in names)


def sizes_in_words(sizes: Mapping[str, int]) -> str:
    """A data set's faces per split, in the order they are made and used: "2,973 train, 148 val, 594 test"."""
    order = [s for s in ("train", "val", "test") if s in sizes] + [
        s for s in sizes if s not in ("train", "val", "test")
    ]
    return ", ".join(f"{sizes[split]:,} {split}" for split in order)


def confusion_table(matrix: Sequence[Sequence[int]], classes: Iterable[str]) -> list[str]:
    """A confusion matrix as a small markdown table in words: a row per true class, a column per predicted one."""
    names = [labels.text(name) for name in classes]
    return [
        "| true class | " + " | ".join(f"predicted {name}" for name in names) + " |",
        "|---" * (len(names) + 1) + "|",
        *(f"| {name} | " + " | ".join(str(count) for count in row) + " |" for name, row in zip(names, matrix)),
    ]
