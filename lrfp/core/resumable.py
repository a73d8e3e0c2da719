"""A long loop that a kill does not undo: what is done, saved atomically as it goes, and skipped on a rerun.

A loop over items (photos, pictures) that draws from one random stream and adds to one growing state keeps,
in one JSON file, how many items are done, the state so far and the random stream's state, under a key that
names what the loop makes (its inputs and settings). A rerun with the same key restores them and goes on from
the next item, so it ends as an uninterrupted run would; another key starts over.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from lrfp.core.records import read_json, write_json_atomic

# how often the state is saved (seconds): a save writes the whole state so far, a few MB for a big build
SAVE_EVERY_S = 10.0


class Resumable:
    """The saved progress of one loop in PATH, for KEY, with its random stream RNG (restored when resumed)."""

    def __init__(self, path: Path, key: str, rng: random.Random):
        self.path, self.key, self.rng = Path(path), key, rng
        saved = read_json(self.path) if self.path.is_file() else {}
        self.state: Any = saved.get("state") if saved.get("key") == key else None  # None: nothing to resume
        self.done: int = saved["done"] if self.state is not None else 0
        if self.state is not None:
            version, internal, gauss = saved["rng"]
            rng.setstate((version, tuple(internal), gauss))
        self._saved_at = time.monotonic()

    def step(self, done: int, state: Any, last: bool = False) -> None:
        """DONE items are done and STATE is what they made: saved when SAVE_EVERY_S have passed, or when LAST."""
        self.done = done
        if last or time.monotonic() - self._saved_at >= SAVE_EVERY_S:
            write_json_atomic({"key": self.key, "done": done, "state": state, "rng": self.rng.getstate()}, self.path)
            self._saved_at = time.monotonic()

    def finish(self) -> None:
        """The loop's result is kept elsewhere now: its progress file goes."""
        self.path.unlink(missing_ok=True)
