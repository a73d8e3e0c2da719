"""Stretches of slow analysis on live cameras: which frames a run drops, and how old the others are when analysed.

    python benchmarks/live_bursts.py [--cameras 4] [--fps 5] [--duration 180] [--pass-s 0.15]
        [--burst 20:60:0.215 --burst 100:140:0.215] [--out results/benchmarks/live_bursts.json]

The real live run (lrfp.scale.live.LiveRun: its reader threads, held frames, pacing, drop log and slices) on
--cameras MJPEG cameras served on 127.0.0.1 at --fps, each frame a small JPEG (its decoding costs next to
nothing), with a stand-in for the models: a pass over the cameras takes --pass-s seconds, asleep (the models
let go of the GIL as this does), and PASS seconds from START to END s after the run began (--burst
START:END:PASS). The defaults are the stop 39 quiet run's (4 cameras at 5 frames/s on 2 cores): the analysis
busy three quarters of the time (1.54 of 2 cores), then 40 s at a pass of 0.215 s against the 0.2 s a pass of
frames takes to come (its stretches of 1.4 drops a second). Being asleep, not busy, the figures hardly move
with the machine's load: a check of the holding, not of the models' speed (benchmarks/live_capacity.py).

Run it with the lrfp to measure first on PYTHONPATH (before figures: PYTHONPATH=CHECKOUT). Printed and
recorded: frames read, analysed, dropped (by cause), held at the end, by camera; the frames' ages at analysis
where the run records them (lrfp.scale.ages); the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from PIL import Image

import lrfp
from lrfp.pipeline.detections import Detections
from lrfp.scale.live import LiveRun
from lrfp.scale.mjpeg import MjpegServer
from lrfp.scale.settings import LiveSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_json import print_and_save  # noqa: E402

FRAMES = 40  # each camera's frames, played forth and back


def small_jpegs(camera: int) -> list[bytes]:
    """FRAMES 64x48 JPEGs of one camera: a grey that changes frame by frame (no two frames alike)."""
    out = []
    for n in range(FRAMES):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (n * 6, camera * 40, 128)).save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


def parse_burst(text: str) -> tuple[float, float, float]:
    start, end, pass_s = (float(part) for part in text.split(":"))
    if not 0 <= start < end or pass_s <= 0:
        raise argparse.ArgumentTypeError(f"--burst {text}: give START:END:PASS, 0 <= START < END, PASS over 0")
    return start, end, pass_s


def stand_in(run: list[LiveRun], pass_s: float, bursts: list[tuple[float, float, float]]):
    """The analysis: asleep for the pass's time (by the seconds since the run began), no face found."""

    def analyse(frames):
        since = time.monotonic() - run[0].t0 if run[0].t0 else -1.0
        time.sleep(next((p for start, end, p in bursts if start <= since < end), pass_s))
        return [Detections.empty() for _ in frames]

    return analyse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--fps", type=float, default=5.0, help="each camera's frames a second, and the --rate")
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--pass-s", type=float, default=0.15, help="a pass's seconds outside the bursts")
    parser.add_argument("--burst", type=parse_burst, action="append", help="START:END:PASS (s since the start)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    bursts = args.burst or [(20.0, 60.0, 0.215), (100.0, 140.0, 0.215)]
    server = MjpegServer({f"cam{n:02d}": small_jpegs(n) for n in range(args.cameras)}, args.fps)
    load_start, started = os.getloadavg(), datetime.now().isoformat(timespec="seconds")
    try:
        with tempfile.TemporaryDirectory(prefix="lrfp-bursts-") as out:
            live = LiveSettings.parse([f"{c}={server.url(c)}" for c in server.streams], rate=args.fps, slice_s=60.0)
            holder: list[LiveRun] = []
            run = LiveRun(live, out, stand_in(holder, args.pass_s, bursts))
            holder.append(run)
            summary = run.run(args.duration)
            status = json.loads((Path(out) / "live.json").read_text())
    finally:
        server.close()
    streams = status["streams"]
    report = {
        "benchmark": "live_bursts",
        "command": " ".join(["python", "benchmarks/live_bursts.py", *sys.argv[1:]]),
        "lrfp": str(Path(lrfp.__file__).parent.parent),
        "started": started,
        "load": {"start": load_start, "end": os.getloadavg()},
        "cameras": args.cameras,
        "fps": args.fps,
        "pass_s": args.pass_s,
        "bursts": bursts,
        "seconds": round(summary["seconds"], 1),
        "frames": {key: sum(s.get(key, 0) for s in streams) for key in ("read", "analysed", "dropped", "held")},
        "drops_by_cause": status.get("drops", {}).get("by_cause"),
        "frame_age_s": [s.get("age_s") for s in streams],
        "held_peak": [s.get("held_peak") for s in streams],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "streams": streams,
    }
    print_and_save(report, args.out)


if __name__ == "__main__":
    main()
