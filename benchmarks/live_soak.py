"""A live camera held for minutes: `lrfp monitor --live` on a 640x480 MJPEG stream at 10 frames/s served on
127.0.0.1, with stream drops and a kill -9 of the monitor part-way (then started again on the same folder).

    python benchmarks/live_soak.py [--minutes 10] [--drops 3] [--kill-at 0.55] [--slice 60] [--rate 10]
        [--out results/benchmarks/live_soak.json]

The stream is the demo footage (demo/footage/*/clip*.mp4, 320x240) enlarged to 640x480 and played forth and
back at --fps. A drop closes every open connection (the monitor reconnects with its backoff); drops are
spread evenly over the run, the kill at --kill-at of it. The monitor is the CLI in a child process, with the
default model and detector and one alert rule, so what is measured is what an operator runs.

Every half second the benchmark lists OUT/slices and notes when each slice file first appeared. At the end:
- slices: written by each run of the monitor, against the slice periods it completed (the killed run cannot
  write the slice it was gathering: that one is by design not counted as lost); every file readable; no
  temporary file left; the alerts raised before the kill still in the alerts table after it.
- latency from frame to table: for every frame row, the time its slice file appeared minus the row's time
  (the frame's analysis), max and median.
- frames: read, analysed and dropped (the monitor's live.json, last seen before the kill and at the end),
  analysed frames a second, gaps over 5 s between analysed frames and what was happening then.
- CPU: the monitor's CPU seconds per second of the run (2.0 = both cores of this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from lrfp.core.records import TEMP_SUFFIX, cpu_name
from lrfp.scale.defaults import RATE, SLICE_S
from lrfp.scale.mjpeg import MjpegServer, jpegs_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_json import print_and_save  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZE = (640, 480)


def stream_frames() -> list[bytes]:
    """The demo clips' frames at SIZE as JPEG, one after another (the server plays them forth and back)."""
    return [
        jpeg for clip in sorted((ROOT / "demo" / "footage").glob("*/clip*.mp4")) for jpeg in jpegs_of(str(clip), SIZE)
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process PID so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Watcher:
    """Notes when each slice file first appears, and the monitor's latest live.json, every half second."""

    def __init__(self, out: Path):
        self.out, self.appeared, self.status = out, {}, None
        self.stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def look(self) -> None:
        now = datetime.now()
        for path in (self.out / "slices").glob("*.parquet"):
            self.appeared.setdefault(path.name, now)
        try:
            self.status = json.loads((self.out / "live.json").read_text())
        except (OSError, ValueError):
            pass

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self.look()


def monitor(url: str, out: Path, args, seconds: float) -> subprocess.Popen:
    command = [sys.executable, "-m", "lrfp.cli", "monitor", "--live", f"cam={url}", "--out", str(out)]
    command += ["--rate", f"{args.rate:g}", "--slice", f"{args.slice:g}", "--duration", f"{seconds:.1f}"]
    command += ["--alert", args.alert]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--drops", type=int, default=3, help="stream drops, spread evenly over the run")
    parser.add_argument("--kill-at", type=float, default=0.55, help="kill -9 the monitor at this share of the run")
    parser.add_argument("--slice", type=float, default=SLICE_S, help="the monitor's --slice (seconds)")
    parser.add_argument("--rate", type=float, default=RATE, help="the monitor's --rate (frames a second)")
    parser.add_argument("--fps", type=float, default=10.0, help="the stream's frames a second")
    parser.add_argument("--alert", default="cam=compliance:100:1:1", help="the monitor's --alert rule")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    total = args.minutes * 60
    drops = [total * (i + 1) / (args.drops + 1) for i in range(args.drops)]
    kill_at = total * args.kill_at
    server = MjpegServer({"cam": stream_frames()}, args.fps)
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lrfp-soak-") as tmp:
        out = Path(tmp) / "live"
        watcher = Watcher(out)
        t0 = time.monotonic()
        started = datetime.now()
        runs = [{"started": started, "process": monitor(server.url("cam"), out, args, total)}]
        events, status_before_kill, cpu, restart_t = [], None, [], t0
        pending = sorted([(t, "drop") for t in drops] + [(kill_at, "kill")])
        while pending:
            at, what = pending.pop(0)
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            events.append({"at_s": round(time.monotonic() - t0, 1), "what": what, "time": datetime.now()})
            if what == "drop":
                server.drop()
                continue
            process = runs[-1]["process"]
            watcher.look()
            status_before_kill = watcher.status
            cpu.append((cpu_seconds(process.pid), time.monotonic() - t0))
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            runs[-1]["ended"] = datetime.now()
            remaining = total - (time.monotonic() - t0)
            runs.append({"started": datetime.now(), "process": monitor(server.url("cam"), out, args, remaining)})
            restart_t = time.monotonic()
        last = runs[-1]["process"]
        usage = 0.0
        while last.poll() is None:
            usage = cpu_seconds(last.pid) or usage
            time.sleep(1)
        runs[-1]["ended"] = datetime.now()
        cpu.append((usage, time.monotonic() - restart_t))
        output = last.stdout.read()
        watcher.stop.set()
        watcher.look()
        server.close()
        report = measure(out, runs, watcher, events, status_before_kill, args)
        report["monitor_exit"] = last.returncode
        report["monitor_output_tail"] = output.splitlines()[-4:]
    report["cpu_cores_used"] = round(sum(c for c, _ in cpu) / sum(s for _, s in cpu), 2)
    report["machine"] = {"cpu": cpu_name(), "cores": os.cpu_count(), "load_start": load_start}
    report["machine"]["load_end"] = os.getloadavg()[0]
    report["command"] = "python benchmarks/live_soak.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print_and_save(report, args.out)
    ok = report["slices_lost"] == 0 and report["latency_s"]["max"] <= args.slice + 10 and report["alerts_kept"]
    return 0 if ok else 1


def measure(out: Path, runs: list[dict], watcher: Watcher, events, status_before_kill, args) -> dict:
    frames_files = sorted((out / "slices").glob("frames-*.parquet"))
    tables = {p.name: pq.read_table(p).to_pandas() for p in frames_files}  # every file must read
    latencies = []
    for name, table in tables.items():
        seen = watcher.appeared.get(name)
        latencies += [(seen - t).total_seconds() for t in table["time"]] if seen else []
    # each run's clock: a row's time less its offset_s is when that run started reading (after its model loaded)
    kill_time = next((e["time"] for e in events if e["what"] == "kill"), None)
    rows = pd.concat(tables.values()) if tables else pd.DataFrame(columns=["time", "offset_s"])
    starts = rows["time"] - pd.to_timedelta(rows["offset_s"], unit="s")
    final = json.loads((out / "live.json").read_text())
    written, expected = [], []
    for i, run in enumerate(runs):
        killed = i < len(runs) - 1
        mine = starts[(starts < kill_time) if killed and kill_time else (starts >= (kill_time or starts.min()))]
        began = mine.min()
        ended = kill_time if killed else began + pd.Timedelta(seconds=final["seconds"])
        # a slice each SLICE seconds of reading, and for the run that stops cleanly a last one as it stops; the
        # killed run cannot write the slice it was gathering (lost by design, not counted)
        expected.append(int((ended - began).total_seconds() // args.slice) + (0 if killed else 1))
        name_times = {n: watcher.appeared[n] for n in watcher.appeared if n.startswith("frames-")}
        written.append(sum(1 for t in name_times.values() if run["started"] <= t and (t <= run["ended"] or not killed)))
    times = sorted(t for table in tables.values() for t in table["time"])
    gaps = [
        {"from": a, "seconds": round((b - a).total_seconds(), 1)}
        for a, b in zip(times, times[1:])
        if (b - a).total_seconds() > 5
    ]
    alerts = pq.read_table(out / "alerts.parquet").to_pandas() if (out / "alerts.parquet").is_file() else None
    raised_before = 0 if status_before_kill is None else status_before_kill["alerts"]
    kept_before = 0 if alerts is None or kill_time is None else int((alerts["time"] < kill_time).sum())
    return {
        "stream": {"size": list(SIZE), "fps": args.fps, "minutes": args.minutes},
        "events": events,
        "slices_written_by_run": written,
        "slices_expected_by_run": expected,
        "slices_lost": sum(max(0, e - w) for e, w in zip(expected, written)),
        "slice_files_readable": len(tables),
        "temporary_files_left": [p.name for p in out.rglob("*") if p.name.endswith(TEMP_SUFFIX)],
        "latency_s": {
            "max": round(max(latencies), 1),
            "median": round(statistics.median(latencies), 1),
            "frames": len(latencies),
        },
        "frames_analysed": len(times),
        "analysed_per_s": round(len(times) / (times[-1] - times[0]).total_seconds(), 2),
        "gaps_over_5_s": gaps,
        "status_before_kill": status_before_kill,
        "status_at_end": final,
        "alerts_before_kill": raised_before,
        "alerts_kept": kept_before >= raised_before,
        "alerts_in_table": 0 if alerts is None else len(alerts),
    }


if __name__ == "__main__":
    sys.exit(main())
