"""One writer per folder: a training run or a dataset build holds an exclusive lock on its folder.

The lock is a `filelock.FileLock` on `FOLDER/.lrfp.lock`: an OS lock (flock on Linux and macOS,
msvcrt on Windows) that the system drops when the holding process ends in any way (kill -9
included), so a lock left by a killed run is free again and the next run takes it over without any
cleanup. The owner's pid, for the message, is kept in `FOLDER/.lrfp.owner`: filelock may truncate
its lock file on every attempt, and Windows does not let another process read a locked file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from lrfp.core.errors import RunError

log = logging.getLogger(__name__)

LOCK_NAME = ".lrfp.lock"
OWNER_NAME = ".lrfp.owner"
LOCK_FILES = (LOCK_NAME, OWNER_NAME)  # what a lock leaves in a folder


def _read_owner(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except FileNotFoundError:
        return ""


@contextlib.contextmanager
def folder_lock(folder: Path, what: str, instead: str = "choose another folder or run id") -> Iterator[None]:
    """Hold FOLDER's lock for the block; RunError at once if another process holds it (saying to wait, or
    INSTEAD)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    owner = folder / OWNER_NAME
    lock = FileLock(folder / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunError(
            f"{folder}: another {what} is using this folder ({_read_owner(owner) or 'another process'}); "
            f"wait for it to end, or {instead}"
        ) from None
    try:
        previous = _read_owner(owner)
        if previous:
            log.info(f"{folder}: the {what} that held this folder ({previous}) has ended; taking it over")
        owner.write_text(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        try:
            yield
        finally:
            owner.write_text("")  # a clean end leaves no owner behind
    finally:
        lock.release()  # the system also drops it when the process ends
