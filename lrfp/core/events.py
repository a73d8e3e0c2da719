"""What a training run tells whoever listens: events, handed to subscribers.

A subscriber is any callable that takes one event (a function, a bound method, a list's append).
The run keeps no flags for who listens: the console, the app's progress and a publisher of
milestone results are all subscribers, and a subscriber that raises stops the run (a test's
simulated kill does exactly that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]  # a JSON object as written to record.json: its values are of several kinds


@dataclass(frozen=True)
class EpochEnd:
    """An epoch trained, validated and saved (record.json written, last.pt when due)."""

    run_id: str
    epoch: int
    epochs: int
    entry: JSONDict  # the epoch's history entry: losses, accuracies, seconds
    milestone: JSONDict | None  # the milestone entry (test metrics, checkpoint name) when the epoch is one
    record: JSONDict  # the run record as written


@dataclass(frozen=True)
class Milestone:
    """A milestone's test metrics and weights saved; follows the epoch's EpochEnd."""

    run_id: str
    epoch: int
    test: JSONDict
    checkpoint: str
    record: JSONDict


@dataclass(frozen=True)
class RunEnd:
    """The run finished and its final record is written."""

    run_id: str
    record: JSONDict


Event = EpochEnd | Milestone | RunEnd
Subscriber = Callable[[Event], None]


def emit(event: Event, subscribers: Iterable[Subscriber]) -> None:
    """Hand `event` to each subscriber in turn."""
    for subscriber in subscribers:
        subscriber(event)
