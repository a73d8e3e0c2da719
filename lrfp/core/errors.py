"""Errors a user can fix: the CLI prints them as one `lrfp: error:` line (exit 2), the app as a message.

Anything else is a bug in lrfp and keeps its traceback. Every user error derives from
`LrfpError`; none is a bare ValueError, so a ValueError raised by a bug is never taken for one.
"""

from __future__ import annotations

import errno

# OSErrors that describe the user's files or machine (a path to fix, a disk to free), not a bug.
USER_ERRNOS = {
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EEXIST,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.EIO,
    errno.ENOTEMPTY,
}


class LrfpError(ValueError):
    """A problem with the user's input, files or settings; the message says what to do."""


class ConfigError(LrfpError):
    """An option value that cannot be used."""


class RunError(LrfpError):
    """A training run folder that cannot be used as asked (locked, other settings, changed data)."""


def describe_os_error(exc: OSError) -> str | None:
    """One line for an OSError that is the user's to fix (naming the path), or None for a bug."""
    if exc.errno not in USER_ERRNOS:
        return None
    path = exc.filename if exc.filename is not None else "(path unknown)"
    reason = exc.strerror or str(exc)
    hints = {
        errno.ENOSPC: "free some space or choose another folder",
        errno.EDQUOT: "free some space or choose another folder",
        errno.EROFS: "the file system is read-only; choose another folder",
        errno.EACCES: "choose a folder you may write to",
        errno.EPERM: "choose a folder you may write to",
    }
    hint = hints.get(exc.errno)
    return f"{path}: {reason}" + (f" ({hint})" if hint else "")
