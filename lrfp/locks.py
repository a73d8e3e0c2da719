"""One writer per folder: a training run or a dataset build holds an exclusive lock on its folder.

The lock is an flock on `FOLDER/.lrfp.lock`, which the kernel drops when the holding process
ends in any way (kill -9 included): a lock left by a killed run is free again, and the next run
takes it over without any cleanup. The file holds the owner's pid, for the message.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from .errors import RunError

LOCK_NAME = ".lrfp.lock"


@contextlib.contextmanager
def folder_lock(folder: Path, what: str, log=None):
    """Hold FOLDER's lock for the block; RunError at once if another process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise RunError(f"{folder}: another {what} is using this folder ({owner}); wait for it to end, "
                           "or choose another folder or run id") from None  # fmt: skip
        previous = os.pread(fd, 200, 0).decode(errors="replace").strip()
        if previous and log is not None:
            log(f"{folder}: the {what} that held this folder ({previous}) has ended; taking it over")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # a clean end leaves no owner behind
    finally:
        os.close(fd)  # closing drops the flock
