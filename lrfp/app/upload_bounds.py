"""What one visitor (a browser session) may leave in the server's memory: files, bytes and pixels.

Streamlit keeps every file a session sends to /_stcore/upload_file/<session>/<id> in memory until
the session ends or the browser deletes it, whether or not a widget asks for it: 30 PUTs of 19 MB
were all kept (1.05 -> 1.64 GB). The server's store is bounded here per session (files and bytes),
a file over the bound is not kept, and the visitor's next page run says so. A session that has left keeps
its files only LEFT_FILES_S: Streamlit drops a disconnected session after its time-out without removing its
files (40 visitors' 3 x 19.5 MB stayed, 1.1 -> 2.6 GB). The Classify page
also bounds the pixels of one batch (decoding is where memory and time go) and drops a refused
batch from the store at once.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence

from PIL import Image

from lrfp.core import settings
from lrfp.pipeline.upload_limits import MAX_UPLOAD_FILES

log = logging.getLogger(__name__)
MB = 1_000_000
# bytes one session's uploads may hold on the server: a batch of phone photos (3-5 MB each)
SESSION_UPLOAD_BYTES = settings.positive_int("LRFP_SESSION_UPLOAD_MB", 40) * MB
# files one session's uploads may hold: room for a batch over MAX_UPLOAD_FILES to be seen (and
# refused whole) by the page, a snapshot beside it
SESSION_UPLOAD_FILES = 2 * MAX_UPLOAD_FILES + 1
# pixels of one batch: four 48 MP phone photos, or sixteen 12 MP ones
SESSION_PIXELS = settings.positive_int("LRFP_SESSION_MEGAPIXELS", 200) * MB

# seconds a session's files outlive its websocket: a reconnect (a network blip, a phone waking) finds them
LEFT_FILES_S = 30
SWEEP_S = 10  # how often the server looks for the files of sessions that have left

_refused: dict[str, str] = {}  # session -> why its last refused file was not kept
_lock = threading.Lock()


def bound_store(manager) -> None:
    """Make Streamlit's uploaded-file store (a MemoryUploadedFileManager) refuse files over a session's bounds."""
    if getattr(manager, "lrfp_bounded", False):
        return
    add_file, remove_session_files = manager.add_file, manager.remove_session_files

    def bounded_add_file(session_id: str, file) -> None:
        with _lock:  # two PUTs of one session at once are counted one after the other
            held = [f for f in list(manager.file_storage.get(session_id, {}).values()) if f.file_id != file.file_id]
            problem = store_problem(file.name, len(file.data), len(held) + 1, sum(len(f.data) for f in held))
            if problem:
                _refused[session_id] = problem
                log.warning(f"upload refused (session {session_id[:8]}): {problem}")  # the server's log says it too
                return
            add_file(session_id, file)

    def bounded_remove_session_files(session_id: str) -> None:
        _refused.pop(session_id, None)
        remove_session_files(session_id)

    manager.add_file, manager.remove_session_files = bounded_add_file, bounded_remove_session_files
    manager.lrfp_bounded = True


def drop_left_sessions(manager, is_active, gone_since: dict[str, float], now: float) -> list[str]:
    """Remove the files of the sessions that IS_ACTIVE (session id -> bool) has said are not connected for
    LEFT_FILES_S seconds by NOW; GONE_SINCE (session -> when first seen gone) is kept between calls. The
    sessions whose files went."""
    dropped = []
    for session_id in list(manager.file_storage):
        if is_active(session_id):
            gone_since.pop(session_id, None)
        elif now - gone_since.setdefault(session_id, now) >= LEFT_FILES_S:
            manager.remove_session_files(session_id)
            gone_since.pop(session_id, None)
            dropped.append(session_id)
    for session_id in set(gone_since) - set(manager.file_storage):  # removed meanwhile (the session closed)
        del gone_since[session_id]
    return dropped


def store_problem(name: str, size: int, files: int, held_bytes: int) -> str | None:
    """Why a file of SIZE bytes, making FILES files beside HELD_BYTES already kept, is over a session's bounds."""
    if files > SESSION_UPLOAD_FILES:
        return (
            f"{name} was not kept: this server holds at most {SESSION_UPLOAD_FILES} files per visitor. "
            "None of this upload was kept: send fewer files."
        )
    if held_bytes + size > SESSION_UPLOAD_BYTES:
        return (
            f"{name} was not kept: this server holds at most {SESSION_UPLOAD_BYTES // MB} MB of uploads per "
            f"visitor ({held_bytes / MB:.1f} MB were held). None of this upload was kept: send fewer or smaller "
            "files."
        )
    return None


def refused_upload(session_id: str | None) -> str | None:
    """Why a file this session sent was not kept, once (None when none was refused since, or outside a session)."""
    return None if session_id is None else _refused.pop(session_id, None)


def batch_problem(files: Sequence) -> str | None:
    """Why a batch of uploaded files (Streamlit's UploadedFile) is refused whole, or None."""
    if len(files) > MAX_UPLOAD_FILES:
        return (
            f"{len(files)} files sent at once; this server analyses at most {MAX_UPLOAD_FILES} per upload. "
            "None was kept: send them in smaller batches."
        )
    pixels = sum(header_pixels(f.getvalue()) for f in files)
    if pixels > SESSION_PIXELS:
        return (
            f"These {len(files)} images hold {pixels / MB:.0f} megapixels; this server analyses at most "
            f"{SESSION_PIXELS // MB} megapixels per visitor at a time. None was kept: send fewer or smaller "
            "images."
        )
    return None


def header_pixels(data: bytes) -> int:
    """Width x height from an image's header (no pixel decoded); 0 for what is no readable image (its
    analysis says why)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.width * image.height
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return 0


def drop(manager, session_id: str, files: Sequence) -> None:
    """Remove FILES (UploadedFile) of a session from the server's store now, not when the session ends."""
    for f in files:
        manager.remove_file(session_id, f.file_id)
