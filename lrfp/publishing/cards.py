"""What a model card says of the command that trained its model, for a reader of the repository."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

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
