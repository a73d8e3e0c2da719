"""Twenty hostile visitors at once on the real server, and what the server gives back after they leave.

    python benchmarks/hostile_sessions.py [--root DIR] [--sessions 20] [--after-s 150] [--out FILE.json]

Each visitor is a script (tests/forged_client.py), not a browser: it opens a session, PUTs 3 raw files of 19.5
MB to /_stcore/upload_file (issue 34, case 11), sends a rerun carrying 24 MB of widget values under the model
picker's key (case 3), and leaves (closes its websocket). All of them at once, after one ordinary visit has
warmed the server (the app imported, the models loaded). Recorded: the server's resident memory at its start
and after that visit, its peak (VmHWM) and its memory every 5 s for AFTER_S seconds after the last visitor has left, the seconds until it
is back under 1.3 GB, and what each visitor's requests got.

Loopback only, every wait bounded. --root serves another checkout (a worktree of an older commit) for a
before/after comparison on the same machine; the visitors are this checkout's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from load_test import ROOT, Server, monitor_memory, status_kb  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from forged_client import ForgedVisitor, rerun  # noqa: E402

PHOTO_BYTES = 19_500_000
WIDGET_BYTES = 24_000_000
BACK_MB = 1300  # the goal: back under 1.3 GB within 2 minutes of the visitors' leaving


async def hostile_visit(url: str) -> dict:
    """One visitor: a session, 3 raw files, a 24 MB rerun, gone. What each request got."""
    visitor = await ForgedVisitor(url).open()
    statuses = []
    for i in range(3):
        try:
            statuses.append(await asyncio.to_thread(visitor.put_file, f"raw{i}.jpg", os.urandom(PHOTO_BYTES)))
        except (urllib.error.URLError, OSError) as exc:
            statuses.append(getattr(exc, "code", type(exc).__name__))
    sent = "sent"
    try:
        await visitor.send(rerun(WIDGET_BYTES, "model"))
    except Exception as exc:  # the server may close the connection while it is sent
        sent = type(exc).__name__
    await asyncio.sleep(2)  # the rerun reaches the session (or the connection is closed) before the visitor leaves
    refused = visitor.closed_code
    await visitor.close()
    return {"puts": statuses, "rerun": sent, "rerun_closed_with": refused}


async def run(url: str, sessions: int, pid: int, report: dict) -> list[dict]:
    warm = await ForgedVisitor(url).open()  # one ordinary visit first: the app imported, the models loaded
    await asyncio.wait_for(warm.finished.wait(), 300)
    await warm.close()
    await asyncio.sleep(5)
    report["rss_warm_mb"] = status_kb(pid, "VmRSS") // 1024
    return await asyncio.gather(*(hostile_visit(url) for _ in range(sessions)))


def measure(root: Path, sessions: int, after_s: float) -> dict:
    with tempfile.TemporaryDirectory() as runs:
        server = Server(root, Path(runs))
        pid = server.proc.pid
        try:
            samples: list[int] = []
            stop = threading.Event()
            report = {"root": str(root), "sessions": sessions, "rss_at_start_mb": status_kb(pid, "VmRSS") // 1024}
            watcher = threading.Thread(target=monitor_memory, args=(pid, stop, samples), daemon=True)
            watcher.start()
            t0 = time.perf_counter()
            visits = asyncio.run(run(server.url, sessions, pid, report))
            left = time.perf_counter()
            rss_after = []
            while time.perf_counter() - left < after_s:
                time.sleep(5)
                rss_after.append((round(time.perf_counter() - left), status_kb(pid, "VmRSS") // 1024))
            stop.set()
            back = next((s for s, mb in rss_after if mb <= BACK_MB), None)
            return report | {
                "peak_mb": status_kb(pid, "VmHWM") // 1024,
                "peak_during_visits_mb": max(samples, default=0) // 1024,
                "visits_s": round(left - t0, 1),
                "rss_after_leaving_mb": rss_after,
                "rss_2_min_after_leaving_mb": next((mb for s, mb in rss_after if s >= 120), None),
                "back_under_1300_mb_after_s": back,
                "visits": visits,
                "server_alive": server.alive(),
                "tracebacks_in_log": server.output().count("Traceback"),
                "first_traceback_ends": _first_traceback_end(server.output()),
            }
        finally:
            server.stop()


def _first_traceback_end(log: str) -> str | None:
    """The exception line that ends the server log's first traceback, if any."""
    if "Traceback" not in log:
        return None
    lines = log[log.index("Traceback") :].splitlines()
    return next((line for line in lines[1:] if line and not line.startswith((" ", "\t"))), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--after-s", type=float, default=150.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report = measure(args.root.resolve(), args.sessions, args.after_s)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
