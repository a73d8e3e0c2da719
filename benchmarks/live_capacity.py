"""Many live cameras on one machine: `lrfp monitor --live` on N 640x480 MJPEG streams served on 127.0.0.1.

    python benchmarks/live_capacity.py [--cameras 16] [--fps 5] [--rate 5] [--detect-every K] [--duration 300]
        [--slice 60] [--engine local|ray] [--workers 2] [--tree PATH] [--out results/benchmarks/live_capacity.json]

Each camera is a clip of a demo scene enlarged to 640x480 and panned (benchmarks/detect_every.py), each camera
starting at another scene and frame, served at --fps and played forth and back (lrfp.scale.mjpeg). The monitor
is the CLI in a child process, as an operator runs it (with --tree, the lrfp of that checkout: "before" figures
side by side with the working tree's, same machine, same session). Measured:

- frames: read, analysed, skipped over --rate and dropped by all streams (the monitor's live.json at the end;
  a monitor older than lrfp.scale.drops counted the frames over --rate as dropped), and missed: the frames --rate asks for (rate x seconds x cameras) that were not
  analysed, the machine having no time for them; the frames analysed a second, all cameras together and the
  slowest camera;
- frame age at analysis: seconds from a frame's arrival to its analysis done (the monitor's live.json, per
  stream: lrfp.scale.ages), the worst camera's median, 95th and 99th percentile and the largest, with the most
  frames a stream held at once (a monitor older than lrfp.scale.ages records neither);
- latency from frame to table: each frame row's time to the moment its slice file appeared (the slice's
  length bounds it: a row waits for its slice), max and median; and the gaps over 5 s between a camera's rows;
- drops: each one's cause, as the monitor put it down (lrfp.scale.drops: what held the analysis thread while
  the frame waited, or the source or --rate), by cause, by time since the start (the first 5 s, then by minute)
  and those within 2 s after a slice boundary, with the drops one by one (a run before the causes were
  recorded has none: --tree at an older commit gives the totals only);
- memory: the monitor's resident memory (its processes together, with Ray's workers), sampled each second:
  peak and at the end; CPU: its cores used over the run.

On a shared machine the load of the other work is noted at the start and the end: the frames analysed and the
drops depend on it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from lrfp.core import paths
from lrfp.core.records import cpu_name
from lrfp.scale.mjpeg import MjpegServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_every import write_eased_clip  # noqa: E402
from live_soak import Watcher  # noqa: E402
from report_json import print_and_save  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def camera_frames(cameras: int, frames: int, fps: int, folder: Path) -> dict[str, list[bytes]]:
    """CAMERAS streams of JPEG frames: the demo scenes' pans, each camera from another scene and frame."""
    import av

    photos = sorted(paths.EXAMPLES_DIR.glob("*.jpg"))
    pans = []
    for photo in photos:
        clip = write_eased_clip(photo, folder / f"{photo.stem}.mp4", frames, fps)
        jpegs = []
        for frame in av.open(str(clip)).decode(video=0):
            buffer = io.BytesIO()
            frame.to_image().save(buffer, "JPEG", quality=85)
            jpegs.append(buffer.getvalue())
        pans.append(jpegs)
    streams = {}
    for i in range(cameras):
        pan, shift = pans[i % len(pans)], (i // len(pans)) * 7 % frames
        streams[f"cam{i:02d}"] = pan[shift:] + pan[:shift]
    return streams


def tree(pid: int) -> list[int]:
    """PID and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def usage(pid: int) -> tuple[float, float]:
    """(resident MB, CPU seconds) of PID's process tree."""
    rss, cpu = 0.0, 0.0
    for p in tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        rss += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0) / 1024
        cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu


def run(args, server: MjpegServer, out: Path) -> dict:
    command = [sys.executable, "-m", "lrfp", "monitor", "--out", str(out), "--live"]
    command += [f"{name}={server.url(name)}" for name in server.streams]
    command += ["--rate", f"{args.rate:g}", "--slice", f"{args.slice:g}", "--duration", f"{args.duration:g}"]
    command += ["--engine", args.engine, "--workers", str(args.workers)]
    command += ["--detect-every", str(args.detect_every)] if args.detect_every else []
    watcher = Watcher(out)
    t0 = time.monotonic()
    child = subprocess.Popen(
        command, cwd=args.tree or ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    samples, cpu = [], 0.0
    while child.poll() is None:
        rss, used = usage(child.pid)
        if rss:  # 0 once the process has gone
            samples.append(rss)
        cpu = max(cpu, used)
        time.sleep(1)
    seconds = time.monotonic() - t0
    output = child.stdout.read() if child.stdout else ""
    watcher.stop.set()
    watcher.look()
    if child.returncode:
        raise SystemExit(f"lrfp monitor failed ({child.returncode}):\n{output[-3000:]}")
    return {
        "command": " ".join(["lrfp", *command[3:]]),
        "seconds": round(seconds, 1),
        "memory_mb": {"peak": round(max(samples, default=0), 1), "end": round(samples[-1] if samples else 0, 1)},
        "cpu_cores_used": round(cpu / seconds, 2),
        "output_tail": output.strip().splitlines()[-3:],
    } | measure(out, watcher, args.rate)


def measure(out: Path, watcher: Watcher, rate: float) -> dict:
    status = json.loads((out / "live.json").read_text())
    streams = status["streams"]
    tables = {p.name: pq.read_table(p).to_pandas() for p in sorted((out / "slices").glob("frames-*.parquet"))}
    latencies = [
        (watcher.appeared[name] - t).total_seconds()
        for name, table in tables.items()
        if name in watcher.appeared
        for t in table["time"]
    ]
    rows = pd.concat(tables.values()) if tables else pd.DataFrame(columns=["camera", "time"])
    gaps = 0
    for _, times in rows.groupby("camera")["time"]:
        ordered = times.sort_values()
        gaps += int((ordered.diff().dt.total_seconds() > 5).sum())
    read, analysed = sum(s["read"] for s in streams), sum(s["analysed"] for s in streams)
    reading_s = status["seconds"]
    wanted = min(read, round(rate * reading_s * len(streams)))  # what --rate asks of the frames read
    return {
        "frames": {
            "read": read,
            "wanted_at_rate": wanted,
            "analysed": analysed,
            # the frames it had no time for (before lrfp.scale.drops, the frames over --rate too)
            "dropped": sum(s["dropped"] for s in streams),
            # over --rate, by the time each came (an older monitor counted them as dropped, or not at all)
            "skipped": sum(s.get("skipped", 0) for s in streams),
            "missed": max(0, wanted - analysed),
            "missed_share": round(max(0, wanted - analysed) / max(1, wanted), 3),
            "refused": sum(s["refused"] for s in streams),
            # kept but not yet analysed when the run stopped (a monitor older than lrfp.scale.ages: not recorded)
            "held_at_end": sum(s.get("held", 0) for s in streams),
            "reconnects": sum(s["reconnects"] for s in streams),
            "analysed_per_s": round(analysed / reading_s, 2),
            "slowest_camera_per_s": round(min(s["analysed"] for s in streams) / reading_s, 2),
        },
        "latency_s": {
            "max": round(max(latencies), 1) if latencies else None,
            "median": round(statistics.median(latencies), 1) if latencies else None,
        },
        "frame_age_s": frame_ages(streams),
        "gaps_over_5_s": gaps,
        "slices": status["slices"],
        "drops": drop_causes(status, status["slice_s"]),
    }


def frame_ages(streams: list[dict]) -> dict | None:
    """The streams' frame ages at analysis, the worst camera's of each figure, and the most frames held at once
    (None: a monitor from before lrfp.scale.ages)."""
    ages = [s["age_s"] for s in streams if s.get("age_s") and s["age_s"]["p50"] is not None]
    if not ages:
        return None
    worst = {key: max(a[key] for a in ages) for key in ("p50", "p95", "p99", "max")}
    return worst | {"held_peak": max(s["held_peak"] for s in streams), "hold": streams[0]["hold"]}


def drop_causes(status: dict, slice_s: float) -> dict | None:
    """The monitor's drops by cause, by minute since the start, and near the start or a slice boundary (None: a
    monitor from before lrfp.scale.drops)."""
    if "drops" not in status:
        return None
    drops = status["drops"]
    one_by_one = drops["first"] + drops["recent"]  # the first 100 and the last 500 (all of them, up to 600)
    return {
        "by_cause": drops["by_cause"],
        "by_minute": drops["by_minute"],
        "kept_one_by_one": len(one_by_one),
        "first_5_s": sum(d["t"] < 5 for d in one_by_one),
        "within_2_s_after_a_slice": sum(d["t"] >= slice_s and d["t"] % slice_s < 2 for d in one_by_one),
        "one_by_one": one_by_one,  # t (s since the start), camera, cause, waited_s
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--fps", type=int, default=5, help="each camera's frames a second")
    parser.add_argument("--rate", type=float, default=5.0, help="the monitor's --rate")
    parser.add_argument("--detect-every", type=int, help="the monitor's --detect-every (default: its own)")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of monitoring")
    parser.add_argument("--slice", type=float, default=60.0, help="the monitor's --slice")
    parser.add_argument("--engine", default="local", choices=("local", "ray"))
    parser.add_argument("--workers", type=int, default=2, help="--engine ray: its actors")
    parser.add_argument("--frames", type=int, default=40, help="frames of each camera's clip, played forth and back")
    parser.add_argument("--tree", type=Path, help="run the lrfp of this checkout (before figures)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lrfp-capacity-") as tmp:
        server = MjpegServer(camera_frames(args.cameras, args.frames, args.fps, Path(tmp)), args.fps)
        load_start, started = os.getloadavg(), datetime.now().isoformat(timespec="seconds")
        try:
            report = run(args, server, Path(tmp) / "live")
        finally:
            server.close()
    report = {
        "benchmark": "live_capacity",
        "command": " ".join(["python", "benchmarks/live_capacity.py", *sys.argv[1:]]),
        "tree": str(args.tree or ROOT),
        "cameras": args.cameras,
        "stream": {"size": [640, 480], "fps": args.fps},
        "started": started,
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "load_start": load_start, "load_end": os.getloadavg()},
    } | report
    print_and_save(report, args.out)


if __name__ == "__main__":
    main()
