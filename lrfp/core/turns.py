"""Slots shared by visitors and served in turn: one visitor's many or slow jobs never starve another's.

A bare semaphore serves whoever asks first, so a visitor who sends ten photos, or one huge one,
holds every slot while a second visitor's small photo waits behind all of it. Here a visitor holds
at most one slot at a time, and a freed slot goes to the visitor who has waited longest for a turn:
visitors are served round-robin, each visitor's own jobs in the order they came. A waiting job hears its
place in line each time it changes, so a page can say so ("waiting for a turn: 2nd in line").
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager


class FairSlots:
    def __init__(self, slots: int):
        self._free = slots
        self._changed = threading.Condition()
        self._waiting: dict[Hashable, deque[object]] = {}  # visitor -> tickets, visitors in turn order
        self._busy: set[Hashable] = set()  # visitors holding a slot
        self._held = threading.local()  # a thread inside a turn takes no second one

    @contextmanager
    def turn(self, visitor: Hashable | None = None, waiting: Callable[[int], object] | None = None) -> Iterator[None]:
        """Wait for VISITOR's turn, then hold one slot. Without a visitor, each call is a visitor of its own;
        a thread already holding a turn goes on in it (nested calls do not wait for themselves). WAITING,
        when given, is told the job's place in line (_place()) whenever it changes while the job waits, and
        never while this object's lock is held (it may be slow: a page sending a line to a browser)."""
        if getattr(self._held, "inside", False):
            yield
            return
        visitor = object() if visitor is None else visitor
        ticket = object()
        with self._changed:
            self._waiting.setdefault(visitor, deque()).append(ticket)
            place = self._wait_or_take(visitor, ticket, None)
        try:
            while place:
                if waiting is not None:
                    waiting(place)
                with self._changed:
                    place = self._wait_or_take(visitor, ticket, place)
        except BaseException:  # WAITING raised (a page's run stopped by its visitor): the job leaves the line
            with self._changed:
                self._withdraw(visitor, ticket)
                self._changed.notify_all()
            raise
        self._held.inside = True
        try:
            yield
        finally:
            self._held.inside = False
            with self._changed:
                self._free += 1
                self._busy.discard(visitor)
                if visitor in self._waiting:  # a visitor who just had a turn waits behind the others
                    self._waiting[visitor] = self._waiting.pop(visitor)
                self._changed.notify_all()

    def _wait_or_take(self, visitor: Hashable, ticket: object, told: int | None) -> int:
        """With the lock held: take the slot when it is this job's turn (0), else wait until the job's place
        is no longer TOLD (None: the place was not told yet) and give it."""
        while True:
            if self._next() == (visitor, ticket):
                self._take(visitor)
                self._changed.notify_all()  # a second free slot may now be the next visitor's
                return 0
            place = self._place(visitor, ticket)
            if place != told:
                return place
            self._changed.wait()

    def _place(self, visitor: Hashable, ticket: object) -> int:
        """With the lock held: a waiting job's place in line, 1 for the next one served when a slot frees. The
        visitors ahead of its own in turn order who hold no slot count (one who holds a slot goes behind it
        when done), and each earlier job of its own visitor a round of every waiting visitor."""
        order = list(self._waiting)
        ahead = sum(v not in self._busy for v in order[: order.index(visitor)])
        return 1 + ahead + self._waiting[visitor].index(ticket) * len(order)

    def _next(self) -> tuple[Hashable, object] | None:
        """(visitor, ticket) to be served now: the first waiting visitor holding no slot, if a slot is free."""
        if self._free < 1:
            return None
        visitor = next((v for v in self._waiting if v not in self._busy), None)
        return None if visitor is None else (visitor, self._waiting[visitor][0])

    def _withdraw(self, visitor: Hashable, ticket: object) -> None:
        tickets = self._waiting[visitor]
        tickets.remove(ticket)
        if not tickets:
            del self._waiting[visitor]

    def _take(self, visitor: Hashable) -> None:
        tickets = self._waiting[visitor]
        tickets.popleft()
        if not tickets:
            del self._waiting[visitor]
        self._free -= 1
        self._busy.add(visitor)
