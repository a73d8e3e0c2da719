"""The command line's console: lrfp's INFO messages printed plainly on stdout, as `print` would, and
warnings (of lrfp and the libraries) as one `lrfp: warning:` line each on stderr.

Library code says what it does with `logging.getLogger(__name__)`; only a command line shows those
lines (a test or a notebook sees nothing unless it asks).
"""

from __future__ import annotations

import logging
import sys

WARNING_FORMAT = "lrfp: warning: %(message)s"


class _PlainLines(logging.Handler):
    """Each message under WARNING as one line on the current sys.stdout."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:
            # the stdout of the moment, not the one at start: a test's capture replaces it
            sys.stdout.write(self.format(record) + "\n")


_messages = _PlainLines()


def show_messages() -> None:
    """Set up the console (once, however often it is called)."""
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig would, but for warnings only: messages go to stdout below
        warnings = logging.StreamHandler()
        warnings.setLevel(logging.WARNING)
        warnings.setFormatter(logging.Formatter(WARNING_FORMAT))
        root.addHandler(warnings)
        root.setLevel(logging.WARNING)
    logger = logging.getLogger("lrfp")
    logger.setLevel(logging.INFO)
    if _messages not in logger.handlers:
        logger.addHandler(_messages)
