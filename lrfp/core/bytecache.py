"""A cache bounded by the bytes its values hold, not by their number, shared by threads.

A count of entries bounds nothing: sixteen analyses of 50 MP photos held 2.6 GB where sixteen of
phone photos held 50 MB. Here each value's size is measured when it is stored, and the least
recently used values go until the sum fits; a value bigger than the whole budget is returned but
never kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteCache(Generic[V]):
    def __init__(self, max_bytes: int, size: Callable[[V], int]):
        self.max_bytes = max_bytes
        self._size = size
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()  # least recently used first
        self._bytes = 0
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Event] = {}  # keys whose value a thread is making now

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value kept for KEY, or MAKE's, kept if it fits; threads asking for one key meanwhile wait for it."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                pending = self._making.get(key)
                if pending is None:
                    self._making[key] = threading.Event()
                    break
            pending.wait()  # then look again: the value may have been too big to keep, or failed
        try:
            value = make()
            self._keep(key, value)
            return value
        finally:
            with self._lock:
                self._making.pop(key).set()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _keep(self, key: Hashable, value: V) -> None:
        size = self._size(value)
        if size > self.max_bytes:
            return
        with self._lock:
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
