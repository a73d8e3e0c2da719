"""`lrfp monitor` speed, side by side in one run: a plain loop, Ray with 1 worker, Ray with 2 workers.

    python benchmarks/ray_monitor.py [--videos 12] [--frames 20] [--size 640x480] [--out results/benchmarks/ray_monitor.json]

A folder of clips panning across the demo scenes (lrfp.data.footage) is analysed four times, each in a
fresh process and into a fresh results folder, with the same settings (the default model, RetinaFace's
adaptive stage, as `lrfp monitor` runs): the plain loop with the process's default threads (one per
core), the plain loop with 1 thread (what each Ray worker gets: the fair match for 1 worker), Ray
with 1 worker and Ray with 2 workers (each starting its own local Ray, as a user's run does).

Start-up and the steady rate are reported apart, because a user with days of footage pays the
start-up once: startup_s is from the process's start (imports, Ray, the workers, their models) to
the moment every worker has handed back its first file; steady_fps is the rate of the files that
came after that. Also: each run's overall rate, the CPU seconds per frame in the steady state (the
analysis, and Ray's own processes: a figure the other work on a shared machine does not inflate as it
does wall time), Ray's overhead per input, each process's peak resident memory, and whether the
tables are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

T0 = time.perf_counter()  # this process's start: a run's start-up includes its imports

# name: (engine, workers, OMP_NUM_THREADS for the process: None keeps the default, a thread per core)
RUNS = {
    "plain loop, default threads": ("local", 1, None),
    "plain loop, 1 thread": ("local", 1, "1"),
    "ray, 1 worker": ("ray", 1, None),
    "ray, 2 workers": ("ray", 2, None),
}


def make_videos(folder: Path, videos: int, frames: int, size: tuple[int, int]) -> None:
    from lrfp.core import paths
    from lrfp.data.footage import write_clip

    photos = sorted(paths.EXAMPLES_DIR.glob("*.jpg"))
    for i in range(videos):
        write_clip(
            photos[i % len(photos)],
            folder / "cam" / f"clip{i:02d}.mp4",
            frames=frames,
            fps=5,
            size=size,
            start=(i // len(photos)) * 0.25,
        )


class CpuSampler:
    """CPU seconds of this process and all its descendants (Ray's raylet, GCS, agents and workers), read
    from /proc twice a second: the cost of a run on a machine shared with other work, whose wall time
    that work inflates. An exited process keeps its last reading."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self):
        self.samples = []  # (time, {pid: (cpu seconds, is a worker)})
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _tree(self) -> dict:
        parent, seen = {}, {}
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit():
                    stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                    parent[int(proc.name)] = int(stat[1])
                    cmd = (proc / "cmdline").read_bytes()
                    seen[int(proc.name)] = ((int(stat[11]) + int(stat[12])) / self.TICK, b"MapWorker" in cmd)
            except (OSError, IndexError, ValueError):  # ended meanwhile
                pass
        mine, root = {}, os.getpid()
        for pid in seen:
            p = pid
            while p > 1 and p != root:
                p = parent.get(p, 0)
            if p == root:
                mine[pid] = seen[pid]
        return mine

    def _run(self):
        while not self.stop.is_set():
            self.samples.append((time.perf_counter(), self._tree()))
            self.stop.wait(0.5)

    def between(self, start: float, end: float) -> tuple[float, float]:
        """(workers' CPU seconds, the others') from START to END (perf_counter times)."""
        self.stop.set()
        self.thread.join()
        first, last, workers = {}, {}, set()
        for t, tree in self.samples:
            workers |= {pid for pid, (_, worker) in tree.items() if worker}  # once a worker, counted as one
            for pid, reading in tree.items():
                if t <= start or pid not in first:
                    first[pid] = reading if t <= start else (0.0, reading[1])  # a process born later: from 0
                if t <= end + 0.5:
                    last[pid] = reading
        work = sum(last[p][0] - first[p][0] for p in last if p in workers)
        other = sum(last[p][0] - first[p][0] for p in last if p not in workers)
        return work, other


def one_run(name: str, videos: Path, out: Path, detector: str, scale: float | None) -> dict:
    """One run in this process (a child of main): its timings as JSON-ready numbers."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import torch

    from lrfp.publishing.index import default_model
    from lrfp.scale.engine import Engine
    from lrfp.scale.monitor import Settings, find_sources, monitor, start_ray

    engine, workers, _ = RUNS[name]
    settings = Settings(model=default_model() or "model3", detector=detector, detector_scale=scale)
    imports_s = time.perf_counter() - T0
    ray_start_s = 0.0
    if engine == "ray":
        t = time.perf_counter()
        start_ray(Engine("ray", workers))
        ray_start_s = time.perf_counter() - t
    sampler = CpuSampler()
    summary = monitor([str(videos)], out, settings, engine=Engine(engine, workers))
    end = time.perf_counter()
    before = end - T0 - summary["seconds"]  # imports, settings, Ray's start
    table = pq.read_table(summary["table"])
    key_of = {s.path: s.key for s in find_sources([str(videos)])}
    frames = dict.fromkeys(key_of.values(), 0)  # of each file
    for path in table.filter(pc.equal(table["status"], "ok")).column("source").to_pylist():
        frames[key_of[path]] += 1
    came = sorted(summary["part_s"].items(), key=lambda kv: kv[1])
    # the steady state: once every worker has handed back its first file, the files that came after
    warm = came[workers - 1][1]
    steady_frames = sum(frames[k] for k, _ in came[workers:])
    steady_fps = steady_frames / (came[-1][1] - warm)
    # CPU in the steady state: the analysis (the loop's process, or Ray's workers), and the rest (Ray's own)
    work_cpu, other_cpu = sampler.between(end - summary["seconds"] + warm, end)
    if engine == "local":
        work_cpu, other_cpu = work_cpu + other_cpu, 0.0
    # start-up: the time to the steady state less what the first files take at the steady rate
    startup = before + warm - sum(frames[k] for k, _ in came[:workers]) / steady_fps
    return {
        "threads": {
            "torch": torch.get_num_threads() if engine == "local" else 1,
            "onnxruntime": int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())) if engine == "local" else 1,
        },
        "imports_s": round(imports_s, 2),
        "ray_start_s": round(ray_start_s, 2),
        "startup_s": round(startup, 2),
        "first_part_s": round(before + came[0][1], 2),
        "seconds": round(before + summary["seconds"], 2),
        "frames": summary["frames"],
        "fps": round(summary["frames"] / (before + summary["seconds"]), 3),
        "steady_frames": steady_frames,
        "steady_s": round(came[-1][1] - warm, 2),
        "steady_fps": round(steady_fps, 3),
        "steady_cpu_s_per_frame": {
            "analysis": round(work_cpu / steady_frames, 3),
            "ray_itself": round(other_cpu / steady_frames, 3),
        },
        "peak_rss_mb_per_process": sorted(round(v) for v in summary["peak_rss_mb"].values()),
        "table": summary["table"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--frames", type=int, default=20, help="frames per video")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--detector", default="retinaface")
    parser.add_argument("--detector-scale", type=float, help="default: the adaptive stage")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "results" / "benchmarks" / "ray_monitor.json")
    )
    parser.add_argument("--one", choices=tuple(RUNS), help=argparse.SUPPRESS)  # a child: one run, its JSON on stdout
    parser.add_argument("--videos-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(
            json.dumps(one_run(args.one, Path(args.videos_dir), Path(args.out_dir), args.detector, args.detector_scale))
        )
        return

    import pyarrow.parquet as pq

    from lrfp.core.records import environment, write_json_atomic

    size = tuple(int(v) for v in args.size.split("x"))
    load_before = os.getloadavg()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_videos(tmp / "videos", args.videos, args.frames, size)
        for name, (_, _, threads) in RUNS.items():
            env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "RAY_ADDRESS")}
            env |= {"OMP_NUM_THREADS": threads} if threads else {}
            child = [
                sys.executable,
                __file__,
                "--one",
                name,
                "--videos-dir",
                str(tmp / "videos"),
                "--out-dir",
                str(tmp / f"run{len(runs)}"),
                "--detector",
                args.detector,
            ]
            child += ["--detector-scale", str(args.detector_scale)] if args.detector_scale else []
            done = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
            runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
            runs[name]["table"] = pq.read_table(runs[name]["table"])
            r = runs[name]
            print(
                f"{name:>28}: {r['frames']} frames in {r['seconds']:.1f} s = {r['fps']:.2f} fps; start-up "
                f"{r['startup_s']:.1f} s, then {r['steady_fps']:.2f} fps; peak memory {r['peak_rss_mb_per_process']} MB",
                flush=True,
            )
    tables = [r.pop("table") for r in runs.values()]
    loop, loop1, one, two = (runs[k] for k in RUNS)
    from lrfp.publishing.index import default_model

    record = {
        "videos": args.videos,
        "frames_per_video": args.frames,
        "size": args.size,
        "settings": {
            "model": default_model() or "model3",
            "detector": args.detector,
            "detector_scale": args.detector_scale or "adaptive stage",
        },
        "runs": runs,
        # the goals, in the steady state (start-up apart: paid once per run)
        "speedup_2_over_1_worker": round(two["steady_fps"] / one["steady_fps"], 3),
        "ray_1_worker_vs_loop_1_thread": round(one["steady_fps"] / loop1["steady_fps"], 3),
        "ray_1_worker_vs_loop_default_threads": round(one["steady_fps"] / loop["steady_fps"], 3),
        "ray_2_workers_vs_loop_default_threads": round(two["steady_fps"] / loop["steady_fps"], 3),
        "ray_overhead_per_input_s": round((1 / one["steady_fps"] - 1 / loop1["steady_fps"]) * args.frames, 3),
        "ray_extra_startup_s": round(one["startup_s"] - loop1["startup_s"], 2),
        "tables_identical": all(t.equals(tables[0]) for t in tables[1:]),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "environment": environment(),
    }
    print(
        f"steady state: 2 workers / 1 worker = {record['speedup_2_over_1_worker']:.2f}x; Ray 1 worker / loop "
        f"1 thread = {record['ray_1_worker_vs_loop_1_thread']:.2f} (/ loop default threads "
        f"{record['ray_1_worker_vs_loop_default_threads']:.2f}); Ray's overhead {record['ray_overhead_per_input_s']:.2f} s "
        f"per input, {record['ray_extra_startup_s']:.1f} s more start-up; tables identical: {record['tables_identical']}"
    )
    write_json_atomic(record, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
