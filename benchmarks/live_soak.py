"""Soak test of `lrfp monitor --live`: a 640x480 MJPEG stream at 10 frames/s on 127.0.0.1 for MINUTES,
cut K times, and the monitor killed (kill -9) part-way and started again into the same folder.

    python benchmarks/live_soak.py --minutes 10 --drops 5 --out /tmp/soak --json results/benchmarks/live_soak.json

Reports: slices written and those lost (the time a killed run had gathered but not written), frames read,
analysed and dropped per run of the monitor (from live.json), reconnects, and the latency from a frame's
analysis to its slice being readable (the slice file's time minus the row's time; the wait for a frame to be
taken is at most 1/RATE on top).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mjpeg_serve import MjpegServer, jpegs_of  # noqa: E402

from lrfp.core import paths  # noqa: E402
from lrfp.pipeline.detect import LIVE_DETECTOR, LIVE_SCALE  # noqa: E402
from lrfp.scale.live import SLICES, STATUS  # noqa: E402

CLIP = paths.DEMO_DIR / "footage" / "north-gate" / "clip0.mp4"


def start_monitor(url: str, out: Path, args, seconds: float, log) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "lrfp", "monitor", "--live", f"soak={url}", "--out", str(out), "--engine", "local",
        "--rate", str(args.rate), "--slice", str(args.slice), "--duration", f"{seconds:.0f}",
        "--detector", args.detector, "--detector-scale", str(args.detector_scale), "--no-progress",
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def status(out: Path) -> dict:
    try:
        return json.loads((out / STATUS).read_text())
    except (OSError, ValueError):
        return {}


def latencies(out: Path) -> pd.Series:
    """Seconds from each row's analysis to its slice file's last write."""
    found = []
    for part in sorted((out / SLICES).glob("frames-*.parquet")):
        rows = pq.read_table(part, columns=["time"]).to_pandas()
        written = pd.Timestamp(datetime.fromtimestamp(part.stat().st_mtime))
        found.append((written - rows["time"]).dt.total_seconds())
    return pd.concat(found) if found else pd.Series(dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--drops", type=int, default=5, help="connection cuts, spread evenly (default: 5)")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share of the run at which kill -9 comes")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--slice", type=float, default=10.0)
    parser.add_argument("--detector", default=LIVE_DETECTOR)
    parser.add_argument("--detector-scale", type=float, default=LIVE_SCALE)
    parser.add_argument("--out", default="/tmp/lrfp-live-soak")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out}: not empty; give a new --out")
    out.mkdir(parents=True, exist_ok=True)
    total = args.minutes * 60
    server = MjpegServer({"soak": jpegs_of(str(CLIP), (640, 480))}, fps=args.fps)
    url = server.url("soak")
    drops = [total * (i + 1) / (args.drops + 1) for i in range(args.drops)]
    kill_at = total * args.kill_at
    runs = []
    log = open(out.parent / f"{out.name}.log", "w")
    t0 = time.monotonic()

    def wait(proc, until_s: float | None) -> None:
        """Cut the stream when due, until UNTIL_S seconds from the start (None: until PROC ends)."""
        while proc.poll() is None and (until_s is None or time.monotonic() - t0 < until_s):
            if drops and time.monotonic() - t0 >= drops[0]:
                drops.pop(0)
                server.drop()
            time.sleep(0.2)

    proc = start_monitor(url, out, args, total, log)
    try:
        wait(proc, kill_at)
        before = status(out)  # the last slice the killed run wrote
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        now = time.monotonic() - t0
        written = datetime.fromisoformat(before["updated"]) if before else None
        lost_s = (datetime.now() - written).total_seconds() if written else None
        runs.append({"started_s": 0.0, "ended": "kill -9", "at_s": round(now, 1), "live": before, "lost_s": lost_s})
        proc = start_monitor(url, out, args, total - now, log)
        started = round(time.monotonic() - t0, 1)
        wait(proc, None)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()
        log.close()
    runs.append(
        {"started_s": started, "ended": "--duration", "at_s": round(time.monotonic() - t0, 1), "live": status(out)}
    )
    written = len(list((out / SLICES).glob("frames-*.parquet")))
    late = latencies(out)
    frames = sum(pq.read_metadata(p).num_rows for p in (out / SLICES).glob("frames-*.parquet"))
    streams = [r["live"]["streams"][0] for r in runs if r["live"].get("streams")]
    report = {
        "minutes": args.minutes,
        "fps_served": args.fps,
        "frame_size": [640, 480],
        "drops_asked": args.drops,
        "rate": args.rate,
        "slice_s": args.slice,
        "detector": f"{args.detector} at scale {args.detector_scale:g}",
        "frames_sent": server.sent["soak"],
        "slices_written": written,
        "slices_expected": int(total // args.slice) + 1,
        # gathered by the killed run since its last slice, never written
        "seconds_lost_to_the_kill": round(runs[0]["lost_s"], 1) if runs and runs[0]["lost_s"] is not None else None,
        "frames_in_table": frames,
        "read": sum(s["read"] for s in streams),
        "analysed": sum(s["analysed"] for s in streams),
        "dropped": sum(s["dropped"] for s in streams),
        "reconnects": sum(s["reconnects"] for s in streams),
        "latency_s": {
            "median": round(float(late.median()), 2) if len(late) else None,
            "p95": round(float(late.quantile(0.95)), 2) if len(late) else None,
            "max": round(float(late.max()), 2) if len(late) else None,
        },
        "runs": [{k: v for k, v in r.items() if k != "live"} | {"counts": r["live"].get("streams")} for r in runs],
        "command": " ".join(["python", "benchmarks/live_soak.py", *sys.argv[1:]]),
    }
    text = json.dumps(report, indent=1, default=str)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
