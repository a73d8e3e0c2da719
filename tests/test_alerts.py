"""Alert rules (lrfp.scale.alerts) and their webhook (lrfp.scale.webhook), against a receiver on 127.0.0.1."""

import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pyarrow.parquet as pq
import pytest

from lrfp.core.errors import ConfigError
from lrfp.scale.alerts import ALERTS_TABLE, Alerts, parse_rule
from lrfp.scale.webhook import Webhook

NOW = datetime(2024, 5, 6, 9, 0)


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # the tests' output stays clean
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """HANDLER served on a free port of 127.0.0.1 in a thread of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps the JSON posted to it; its first FAIL answers are 503."""

    def __init__(self, fail: int = 0):
        self.posts, self.fail, self.calls = [], fail, 0
        owner = self

        class Handler(QuietHandler):
            def do_POST(self):
                owner.calls += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if owner.calls <= owner.fail:
                    self.send_response(503)
                else:
                    owner.posts.append(json.loads(body, parse_constant=refuse))  # strict: no NaN, Infinity
                    self.send_response(200)
                self.end_headers()

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def refuse(constant: str):
    raise ValueError(f"{constant} is not JSON")


class HostileReceiver:
    """An HTTP server on 127.0.0.1 answering every POST with an endless 200 body (up to LIMIT bytes, counting
    what it got out), or with a redirect to REDIRECT_TO; it counts each request, whatever its method."""

    def __init__(self, redirect_to: str | None = None, limit: int = 256 * 2**20):
        self.calls, self.written = 0, 0
        owner = self

        class Handler(QuietHandler):
            def _answer(self):
                owner.calls += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()
                chunk = b"x" * 2**16
                try:
                    while owner.written < limit:
                        self.wfile.write(chunk)
                        owner.written += len(chunk)
                except OSError:  # the client closed: what it read is bounded
                    pass

            do_POST = do_GET = _answer

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def people(labels, camera="gate", minutes_ago=1):
    return pd.DataFrame({"camera": camera, "label": labels, "last_seen": NOW - timedelta(minutes=minutes_ago)})


@pytest.mark.parametrize(
    "text, message",
    [
        ("compliance:80", "not a rule"),
        ("compliance:120:10", "percent '120'"),
        ("silent:abc", "minutes 'abc'"),
        ("loud:5", "not a rule"),
        ("compliance:80:10:0", "people '0'"),
    ],
)
def test_a_bad_rule_is_refused_naming_what_is_wrong(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_rule(text)


def test_low_compliance_raises_once_per_episode(tmp_path):
    alerts = Alerts([parse_rule("gate=compliance:80:10:3")], out=tmp_path)
    seen = {"gate": NOW}
    assert alerts.check(NOW, people(["with_mask", "without_mask"]), seen) == []  # 2 people: under the minimum
    low = people(["with_mask", "without_mask", "without_mask", "with_mask"])
    (raised,) = alerts.check(NOW, low, seen)
    assert (raised["camera"], raised["value"], raised["people"]) == ("gate", 50.0, 4)
    assert alerts.check(NOW, low, seen) == []  # still low: no second alert
    assert alerts.check(NOW, people(["with_mask"] * 4), seen) == []  # back up: re-armed
    assert len(alerts.check(NOW, low, seen)) == 1
    assert pq.read_table(tmp_path / ALERTS_TABLE).num_rows == 2
    # people last seen before the window do not count
    assert (
        Alerts([parse_rule("compliance:80:10:3")]).check(NOW, people(["without_mask"] * 5, minutes_ago=11), seen) == []
    )


def test_a_run_started_again_on_its_folder_keeps_the_earlier_alerts(tmp_path):
    first = Alerts([parse_rule("silent:5")], out=tmp_path)
    first.check(NOW, people([]), {"gate": NOW - timedelta(minutes=6)})
    again = Alerts([parse_rule("silent:5")], out=tmp_path)  # the same folder, after a kill -9
    assert [r["camera"] for r in again.rows] == ["gate"]
    again.check(NOW, people([]), {"market": NOW - timedelta(minutes=7)})
    assert pq.read_table(tmp_path / ALERTS_TABLE).column("camera").to_pylist() == ["gate", "market"]
    (tmp_path / ALERTS_TABLE).write_bytes(b"not parquet")
    with pytest.raises(ConfigError, match="not an alerts table"):
        Alerts([], out=tmp_path)


def test_a_silent_camera_raises(tmp_path):
    alerts = Alerts([parse_rule("silent:5")], out=tmp_path)
    quiet = {"gate": NOW - timedelta(minutes=6), "market": NOW - timedelta(minutes=1)}
    (raised,) = alerts.check(NOW, people([]), quiet)
    assert raised["camera"] == "gate" and "6.0 min" in raised["message"]


def test_webhook_retries_then_delivers_without_blocking():
    receiver = Receiver(fail=2)
    hook = Webhook(receiver.url, first_wait_s=0.05)
    try:
        t0 = time.perf_counter()
        Alerts([parse_rule("silent:1")], webhook=hook).check(NOW, people([]), {"gate": None})
        assert time.perf_counter() - t0 < 0.05  # the analysis does not wait for the receiver
        hook.close()
        assert receiver.calls == 3 and hook.sent == 1
        assert receiver.posts[0]["camera"] == "gate" and receiver.posts[0]["kind"] == "silent"
    finally:
        receiver.close()


def test_webhook_gives_up_on_a_dead_receiver_and_says_so(caplog):
    receiver = Receiver()
    url = receiver.url
    receiver.close()  # nothing listens there any more
    hook = Webhook(url, tries=2, first_wait_s=0.01, timeout_s=1)
    hook.send({"x": 1})
    hook.close()
    assert (hook.sent, hook.failed) == (0, 1) and "not delivered after 2 tries" in caplog.text


def test_webhook_url_must_be_http():
    with pytest.raises(ConfigError, match="http:// or https://"):
        Webhook("file:///etc/passwd")


def test_webhook_reads_an_endless_answer_only_up_to_a_small_size():
    receiver = HostileReceiver()
    hook = Webhook(receiver.url, tries=1, timeout_s=5)
    try:
        hook.send({"camera": "gate"})
        hook.close(wait_s=30)
        assert hook.sent == 1
        # it stopped reading at once: what the receiver got out is what the sockets' buffers hold, not 256 MB
        assert receiver.written < 32 * 2**20, receiver.written
    finally:
        receiver.close()


def test_webhook_follows_no_redirect_and_does_not_retry_one(caplog):
    elsewhere = HostileReceiver()
    receiver = HostileReceiver(redirect_to=elsewhere.url)
    hook = Webhook(receiver.url, tries=3, first_wait_s=0.01)
    try:
        hook.send({"camera": "gate"})
        hook.close()
        assert (hook.sent, hook.failed, receiver.calls, elsewhere.calls) == (0, 1, 1, 0)
        assert "302" in caplog.text
    finally:
        receiver.close()
        elsewhere.close()


def test_a_silent_alert_is_strict_json():
    """A camera never seen is silent for inf minutes: the row keeps inf, the JSON sent says null."""
    receiver = Receiver()
    hook = Webhook(receiver.url)
    try:
        (raised,) = Alerts([parse_rule("silent:1")], webhook=hook).check(NOW, people([]), {"gate": None})
        hook.close()
        assert raised["value"] == float("inf") and receiver.posts[0]["value"] is None
    finally:
        receiver.close()
