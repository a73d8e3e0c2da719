"""Progress bars, switched in one place.

Every long loop of lrfp shows its bar through `bar`; `show_bars` is the one switch (the CLI's
--no-progress, a worker that must stay quiet). Left alone, tqdm decides: a bar on a terminal, none
in a log file or a pipe.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

_shown: bool | None = None  # None: tqdm decides


def show_bars(shown: bool | None) -> None:
    """True: always; False: never; None: on a terminal only."""
    global _shown
    _shown = shown


def bars_shown() -> bool | None:
    return _shown


def bar(iterable: Iterable[object] | None = None, **kwargs: Any) -> tqdm:
    """tqdm(iterable, **kwargs), shown as the switch says."""
    return tqdm(iterable, disable=None if _shown is None else not _shown, **kwargs)
