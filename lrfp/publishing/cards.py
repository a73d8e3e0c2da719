"""What a model card says of the command that trained its model, for a reader of the repository."""

from __future__ import annotations

import re

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
