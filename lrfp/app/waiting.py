"""What a visitor is told while its photo waits for a turn and is analysed: its place in line, then each stage.

Three visitors uploading at once saw only "Analysing…" for 5-11 s, with no sign that they were queued.
"""

from __future__ import annotations

from collections.abc import Callable

# a line for the visitor, shown by the page in place of the one before
Tell = Callable[[str], object]

STARTED = "Your turn: reading the photo and looking for faces…"
DRAWING = "Drawing the boxes…"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def waiting_line(place: int) -> str:
    """While the upload slots are busy with other visitors' photos (lrfp.core.turns)."""
    return f"Waiting for a turn ({ordinal(place)} in line): the server is analysing other visitors' photos…"


def classifying_line(done: int, total: int) -> str:
    """After the detection, as the faces are classified a batch at a time (lrfp.pipeline.scene.analyze)."""
    return f"Classifying faces: {done:,} of {total:,}…"
