"""What a 640x480 camera frame costs, stage by stage, in CPU time on one core; and the cameras a node holds.

    python benchmarks/frame_costs.py [--every 1 5] [--frames 40] [--fps 10] [--out results/benchmarks/frame_costs.json]

The footage of benchmarks/detect_every.py (the demo scenes, 640x480, an eased pan), decoded once. Each K
(detector on every K-th frame, lrfp.pipeline.interval) runs in this process on one thread (OMP_NUM_THREADS=1,
as each Ray worker runs), every stage timed with time.process_time, the CPU time of this process, which the
other work of a shared machine inflates far less than wall time: decoding, the detector, the face check, the
classifier, following faces between detections, the people tracker (ByteTrack) and the row. Then:

- batching: the detector's own-size look (the fine-tuned CenterFace graph, whose batch axis is free) on 1, 2, 4
  and 8 frames at once, CPU ms a frame: several cameras' frames in one detector call;
- capacity: cameras a 2-core node analyses at 1, 2 and 5 frames/s each (2 cores of CPU a second over the CPU
  a camera's second costs, at PLAN of the cores: headroom for the slices, the stills and the bursts), and the
  nodes of a Ray cluster for 1,000 and 10,000 cameras.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before onnxruntime and torch load: one core's cost

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from lrfp.core import paths  # noqa: E402
from lrfp.core.records import cpu_name  # noqa: E402
from lrfp.pipeline import interval  # noqa: E402
from lrfp.pipeline.detections import Detections  # noqa: E402
from lrfp.pipeline.people import PeopleTracker  # noqa: E402
from lrfp.publishing.index import default_model  # noqa: E402
from lrfp.scale.rows import counts_row  # noqa: E402
from lrfp.scale.settings import Settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_every import write_eased_clip  # noqa: E402

PLAN = 0.75  # the share of a node's cores a plan fills
NODE_CORES = 2
RATES = (1, 2, 5)
CLUSTERS = (1000, 10000)


class Clock:
    """CPU seconds by stage: wrap(obj, name, stage) times every call of obj.name."""

    def __init__(self):
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, owner, name: str, stage: str) -> None:
        real = getattr(owner, name)

        def timed(*args, **kwargs):
            t0 = time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                self.spent[stage] += time.process_time() - t0

        setattr(owner, name, timed)

    def time(self, stage: str, work):
        t0 = time.process_time()
        out = work()
        self.spent[stage] += time.process_time() - t0
        return out


def decoded(clips: list[Path]) -> tuple[list[list], float]:
    """Each clip's frames as images, and the CPU seconds decoding took."""
    import av

    t0 = time.process_time()
    frames = [[f.to_image() for f in av.open(str(c)).decode(video=0)] for c in clips]
    return frames, time.process_time() - t0


def stage_costs(frames: list[list], every: int, decode_s: float) -> dict:
    """CPU ms a frame of each stage, with detector K = EVERY."""
    classifier, detector = Settings(model=default_model() or "model3").load()
    clock = Clock()
    clock.wrap(detector, "search", "detector")
    clock.wrap(classifier, "not_face_probabilities", "face check")
    clock.wrap(classifier, "predict", "classifier")
    real_follow = interval.follow
    interval.follow = lambda *a: clock.time("following", lambda: real_follow(*a))
    total = 0
    try:
        for clip in frames:
            analyzer, people = interval.IntervalAnalyzer(classifier, detector, every), PeopleTracker()
            t0 = time.process_time()
            for n, image in enumerate(clip):
                faces = Detections.from_scene(analyzer.next(image))
                clock.time("row", lambda: counts_row(faces))
                clock.time("people tracker", lambda: people.see(n, n / 10, None, faces))
            clock.spent["all but decoding"] += time.process_time() - t0
            total += len(clip)
    finally:
        interval.follow = real_follow
    clock.spent["decoding"] = decode_s
    costs = {stage: round(1000 * s / total, 2) for stage, s in clock.spent.items()}
    costs["total"] = round(costs["all but decoding"] + costs["decoding"], 2)
    named = ("detector", "face check", "classifier", "following", "row", "people tracker", "decoding")
    costs["other"] = round(costs["total"] - sum(costs.get(s, 0.0) for s in named), 2)
    return {"frames": total, "cpu_ms_per_frame": costs}


def batch_costs(image) -> dict:
    """CPU ms a frame of the detector's own-size look with 1, 2, 4 and 8 frames in one call."""
    from lrfp.models.centerface import padded
    from lrfp.pipeline.detect import FaceDetector

    detector = FaceDetector()
    backend = detector._backends[detector.kind.name]
    one = padded(np.asarray(image))
    out = {}
    for n in (1, 2, 4, 8):
        batch = np.concatenate([one] * n)
        backend.session.run(None, {backend.INPUT: batch})  # warm
        t0 = time.process_time()
        for _ in range(5):
            backend.session.run(None, {backend.INPUT: batch})
        out[str(n)] = round(1000 * (time.process_time() - t0) / 5 / n, 2)
    return out


def capacity(ms_per_frame: float) -> dict:
    """Cameras a NODE_CORES node holds at each rate, and the nodes for each cluster size."""
    rows = {}
    for rate in RATES:
        cameras = math.floor(NODE_CORES * PLAN * 1000 / (rate * ms_per_frame))
        rows[str(rate)] = {
            "cameras_per_node": cameras,
            "nodes": {str(n): math.ceil(n / cameras) if cameras else None for n in CLUSTERS},
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = sorted(paths.EXAMPLES_DIR.glob("*.jpg"))
        clips = [write_eased_clip(p, Path(tmp) / f"{p.stem}.mp4", args.frames, args.fps) for p in photos]
        frames, decode_s = decoded(clips)
    load = os.getloadavg()
    stages = {str(k): stage_costs(frames, k, decode_s) for k in args.every}
    for k, row in stages.items():
        row["capacity"] = capacity(row["cpu_ms_per_frame"]["total"])
        print(f"every {k}: {row}", flush=True)
    record = {
        "benchmark": "frame_costs",
        "command": " ".join(["python", "benchmarks/frame_costs.py", *sys.argv[1:]]),
        "footage": f"{len(frames)} clips of the demo scenes, 640x480, {args.frames} frames at {args.fps} frames/s",
        "threads": os.environ["OMP_NUM_THREADS"],
        "cpu": cpu_name(),
        "load_before": load,
        "load_after": os.getloadavg(),
        "plan": f"{PLAN:.0%} of a {NODE_CORES}-core node's CPU",
        "every": stages,
        "detector_batch_cpu_ms_per_frame": batch_costs(frames[0][0]),
    }
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
