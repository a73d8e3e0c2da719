"""Why a live frame was dropped: what the analysis thread was doing while the frame waited, for each drop.

A live stream holds the few newest frames it has read (lrfp.scale.stream); a frame is dropped when newer
ones push it out before the analysis took it. The analysis thread marks what it does on a Timeline (taking
and decoding a frame, analysing a batch, the people tracker, handing a slice on, sleeping when nothing is
new), and Python's garbage collector its own passes, on any thread. Each drop is then put down to one cause:

- "burst": the frame was pushed out as soon as it came (less than NO_CHANCE_S: the source sent frames
  bunched);
- else whatever held the thread longest while the frame waited to be taken: "warm-up" (the first batch,
  the models' first run), "analysis", "decode", "tracker", "slice", "gc", "loop" (the loop's own steps).

The counts by cause and by minute since the start are kept for the whole run; the drops one by one for the
first FIRST and the last RECENT of them.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FIRST, RECENT = 100, 500  # drops kept one by one (time, camera, cause, wait) for live.json; the counts cover all
SEGMENTS = 8192  # the timeline's last segments (about 40 s of a 4-camera loop): drops are classified in ms
NO_CHANCE_S = 0.02  # a frame takeable for less than this before it was pushed out had no chance: "burst"


@dataclass
class Timeline:
    """What one thread did when: (start, end, what) segments, the newest SEGMENTS of them."""

    segments: deque = field(default_factory=lambda: deque(maxlen=SEGMENTS))
    stack: list[str] = field(default_factory=lambda: ["loop"])
    since: float = field(default_factory=time.monotonic)

    def _close(self) -> float:
        now = time.monotonic()
        self.segments.append((self.since, now, self.stack[-1]))
        self.since = now
        return now

    @contextlib.contextmanager
    def doing(self, what: str) -> Iterator[None]:
        """Mark the time in the block as WHAT (a block inside another is its own: the outer one pauses)."""
        self._close()
        self.stack.append(what)
        try:
            yield
        finally:
            self._close()
            self.stack.pop()

    def spent(self, start: float, end: float) -> dict[str, float]:
        """Seconds of each kind of work between START and END (the segment still open counts up to now)."""
        spent: dict[str, float] = {}
        open_segment = (self.since, time.monotonic(), self.stack[-1])
        for s, e, what in (open_segment, *reversed(self.segments)):
            if e < start:
                break
            if s < end:
                spent[what] = spent.get(what, 0.0) + min(e, end) - max(s, start)
        return spent


class GcPasses:
    """The garbage collector's passes, (start, end), on any thread: a pass holds every Python thread."""

    def __init__(self) -> None:
        self.passes: deque = deque(maxlen=SEGMENTS)
        self.started: float | None = None

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.monotonic()
        elif self.started is not None:
            self.passes.append((self.started, time.monotonic()))
            self.started = None

    def __enter__(self) -> GcPasses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self)

    def spent(self, start: float, end: float) -> float:
        return sum(max(0.0, min(e, end) - max(s, start)) for s, e in list(self.passes) if e >= start)


class DropLog:
    """Each camera's drops, noted by the reader threads (note) and put down to a cause on the analysis thread
    (classify), with the run's clock T0. Frames --rate skips are not drops (lrfp.scale.stream counts them)."""

    def __init__(self, timeline: Timeline, t0: float = 0.0) -> None:
        self.timeline, self.t0 = timeline, t0
        self.gc = GcPasses()
        self.waiting: deque = deque()  # (camera, arrived, pushed out, due): appended by the reader threads
        self.by_cause: Counter = Counter()
        self.by_minute: Counter = Counter()  # minutes since the start: a day's run holds 1,440 at most
        self.first: list[dict] = []
        self.recent: deque = deque(maxlen=RECENT)

    def note(self, camera: str, arrived: float, pushed_out: float) -> None:
        """A frame of CAMERA that came at ARRIVED (time.monotonic()) was pushed out at PUSHED_OUT untaken.
        Called on a reader thread: the cause is found later, on the analysis thread."""
        self.waiting.append((camera, arrived, pushed_out))

    def classify(self) -> None:
        """Put the drops noted since the last call down to their causes (on the thread the Timeline marks)."""
        while self.waiting:
            camera, arrived, pushed_out = self.waiting.popleft()
            cause = self.cause(arrived, pushed_out)
            self.by_cause[cause] += 1
            t, waited = round(pushed_out - self.t0, 2), round(pushed_out - arrived, 3)
            self.by_minute[int(t // 60)] += 1
            drop = {"t": t, "camera": camera, "cause": cause, "waited_s": waited}
            (self.first if len(self.first) < FIRST else self.recent).append(drop)

    def cause(self, arrived: float, pushed_out: float) -> str:
        """What held up a frame that came at ARRIVED and was pushed out untaken at PUSHED_OUT."""
        if pushed_out - arrived < NO_CHANCE_S:
            return "burst"
        spent = self.timeline.spent(arrived, pushed_out)
        spent["gc"] = self.gc.spent(arrived, pushed_out)
        spent.pop("idle", None)
        return max(spent, key=lambda what: spent[what]) if spent else "loop"

    def summary(self) -> dict[str, Any]:
        """For live.json: the drops by cause and by minute since the start, and the first and last one by one."""
        return {
            "by_cause": dict(self.by_cause.most_common()),
            "by_minute": {str(minute): n for minute, n in sorted(self.by_minute.items())},
            "first": self.first,
            "recent": list(self.recent),
        }
