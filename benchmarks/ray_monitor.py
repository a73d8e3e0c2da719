"""`lrfp monitor` speed, side by side in one run: a plain loop, Ray with 1 worker, Ray with 2 workers.

    python benchmarks/ray_monitor.py [--videos 8] [--frames 24] [--size 640x480] [--out results/benchmarks/ray_monitor.json]

A folder of clips panning across the demo scenes (lrfp.data.footage) is analysed three times, each into a
fresh results folder, with the same settings (the default model, RetinaFace at the frame's own size).
The local Ray is started once before the timed runs (its start-up is reported apart); each timed
run includes loading its models, as a real run does (first_part_s: the time to the first file's
result, start-up included). Reported: frames per second, the speed-up of 2
workers over 1, Ray's overhead per input ((Ray 1 worker - plain loop) / inputs), each worker's peak
resident memory, and whether the three tables are identical.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from lrfp.core import paths
from lrfp.core.records import environment, write_json_atomic
from lrfp.data.footage import write_clip
from lrfp.publishing.index import default_model
from lrfp.scale.monitor import TABLE, Settings, monitor, start_ray


def make_videos(folder: Path, videos: int, frames: int, size: tuple[int, int]) -> None:
    photos = sorted(paths.EXAMPLES_DIR.glob("*.jpg"))
    for i in range(videos):
        write_clip(photos[i % len(photos)], folder / "cam" / f"clip{i:02d}.mp4", frames=frames, fps=5, size=size,
                   start=(i // len(photos)) * 0.25)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--frames", type=int, default=24, help="frames per video")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--detector", default="retinaface")
    parser.add_argument("--detector-scale", type=float, help="default: the adaptive stage")
    parser.add_argument("--out", default=str(paths.RESULTS_DIR / "benchmarks" / "ray_monitor.json"))
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    load_before = os.getloadavg()
    settings = Settings(model=default_model() or "model3", detector=args.detector, detector_scale=args.detector_scale)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_videos(tmp / "videos", args.videos, args.frames, size)
        t0 = time.perf_counter()
        start_ray(None, 2)
        ray_start_s = time.perf_counter() - t0
        runs = {}
        for name, engine, workers in (("plain loop", "local", 1), ("ray, 1 worker", "ray", 1), ("ray, 2 workers", "ray", 2)):
            summary = monitor([str(tmp / "videos")], tmp / name.replace(" ", "_").replace(",", ""), settings, engine=engine,
                              workers=workers, progress=False, log=lambda *_: None)  # fmt: skip
            runs[name] = {"seconds": round(summary["seconds"], 2), "frames": summary["frames"],
                          "fps": round(summary["frames"] / summary["seconds"], 2),
                          # start-up (worker processes, models) and the first file, before any part came back
                          "first_part_s": round(summary["first_part_s"], 2),
                          "peak_rss_mb_per_process": sorted(round(v) for v in summary["peak_rss_mb"].values())}  # fmt: skip
            runs[name]["table"] = pq.read_table(Path(summary["table"]))
            print(f"{name:>15}: {summary['frames']} frames in {summary['seconds']:.1f} s = {runs[name]['fps']:.2f} fps; "
                  f"peak memory {runs[name]['peak_rss_mb_per_process']} MB per process")  # fmt: skip
    tables = [r.pop("table") for r in runs.values()]
    loop, one, two = (runs[k] for k in ("plain loop", "ray, 1 worker", "ray, 2 workers"))
    record = {
        "videos": args.videos, "frames_per_video": args.frames, "size": args.size,
        "settings": vars(settings), "ray_start_s": round(ray_start_s, 2), "runs": runs,
        "speedup_2_over_1_worker": round(two["fps"] / one["fps"], 3),
        "ray_1_worker_vs_loop": round(one["fps"] / loop["fps"], 3),
        "ray_overhead_per_input_s": round((one["seconds"] - loop["seconds"]) / args.videos, 3),
        "tables_identical": all(t.equals(tables[0]) for t in tables[1:]),
        "load_average_before": load_before, "environment": environment(),
    }  # fmt: skip
    print(f"Ray start-up {ray_start_s:.1f} s (once); 2 workers / 1 worker = {record['speedup_2_over_1_worker']:.2f}x; "
          f"Ray 1 worker / plain loop = {record['ray_1_worker_vs_loop']:.2f}; Ray overhead "
          f"{record['ray_overhead_per_input_s']:.2f} s per input; tables identical: {record['tables_identical']}")  # fmt: skip
    write_json_atomic(record, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
