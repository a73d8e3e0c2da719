"""An alert's webhook: a JSON POST from a background thread, retried with growing waits, never in the way.

The analysis only puts the alert in a queue (bounded: when a receiver is down for long, the oldest
waiting alerts are dropped and counted, rather than memory growing); one thread sends them in order.
A receiver is not trusted: its answer is read up to ANSWER_BYTES, a redirect is not followed (and not
retried), each socket operation times out, and the JSON sent is strict (no NaN or Infinity).
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from lrfp.core.errors import ConfigError
from lrfp.core.redact import mask_url, without_secrets

log = logging.getLogger(__name__)
ANSWER_BYTES = 4096  # what is read of a receiver's answer: its status is what counts, an endless body is not read


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other 3xx: the alert goes nowhere else (HTTPError, not retried)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def strict_json(value: Any) -> Any:
    """VALUE with every NaN and infinity (a camera silent since the run began: inf minutes) made None, so that
    json.dumps(allow_nan=False) writes JSON any parser accepts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def check_url(url: str) -> str:
    """A webhook URL lrfp posts to: http or https with a host; ConfigError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"webhook {mask_url(url)!r}: give an http:// or https:// URL with a host")
    return url


class Webhook:
    def __init__(self, url: str, tries: int = 5, first_wait_s: float = 0.5, timeout_s: float = 5.0, size: int = 1000):
        self.url = check_url(url)
        self.tries, self.first_wait_s, self.timeout_s = tries, first_wait_s, timeout_s
        self.queue: queue.Queue = queue.Queue(maxsize=size)
        self.sent = self.failed = self.dropped = 0
        self.thread = threading.Thread(target=self._run, name="lrfp-webhook", daemon=True)
        self.thread.start()

    def send(self, payload: dict[str, Any] | None) -> None:
        """Queue PAYLOAD and return at once."""
        while True:
            try:
                self.queue.put_nowait(payload)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                    self.queue.task_done()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _post(self, payload: dict) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(strict_json(payload), default=str, allow_nan=False).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with _OPENER.open(request, timeout=self.timeout_s) as answer:
            answer.read1(ANSWER_BYTES)  # one read at most: the rest of the answer is left unread, and closed

    def _deliver(self, payload: dict) -> None:
        wait = self.first_wait_s
        for attempt in range(1, self.tries + 1):
            try:
                self._post(payload)
                self.sent += 1
                return
            except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, timed out, HTTP 5xx...
                final = isinstance(exc, urllib.error.HTTPError) and exc.code < 500  # a redirect, 4xx: not retried
                if attempt == self.tries or final:
                    self.failed += 1
                    log.warning(
                        f"webhook {mask_url(self.url)}: alert not delivered after {attempt} tries "
                        f"({without_secrets(str(exc), self.url)})"
                    )
                    return
                time.sleep(wait)
                wait *= 2

    def _run(self) -> None:
        while True:
            payload = self.queue.get()
            try:
                if payload is None:
                    return
                self._deliver(payload)
            finally:
                self.queue.task_done()

    def close(self, wait_s: float = 10.0) -> None:
        """Send what is queued (for at most WAIT_S seconds), then stop the thread."""
        self.send(None)
        self.thread.join(wait_s)
