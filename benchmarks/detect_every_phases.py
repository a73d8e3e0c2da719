"""How far detection every K-th frame moves compliance from every frame's, for each choice of detection frames.

    python benchmarks/detect_every_phases.py [--every 2 3 5] [--frames 40] [--fps 10] [--before REV]
        [--out results/benchmarks/detect_every_phases.json]

The footage of benchmarks/detect_every.py (a 640x480 eased pan over each demo scene), decoded once and
analysed in this process on one thread: every frame (the analysis of lrfp.pipeline.frames.scene_analysis),
then with the detector on every K-th frame (lrfp.pipeline.interval.IntervalAnalyzer) for each phase, that is
each choice of which frames of a clip are the detection frames (frame 0, then K - phase, 2K - phase, ...,
as the cameras of one worker are staggered). `lrfp monitor` on a file always starts at phase 0, so
benchmarks/detect_every.py sees one phase only; the spread over the phases is how much of its difference
is the luck of which frames were detected. With --before REV, IntervalAnalyzer as it was at commit REV runs
on the same frames beside today's.

For each K and phase: the faces counted and compliance over the faces of every frame, the people (the people
tracker of lrfp.pipeline.people on each clip, at --fps) and compliance over them, against every frame's
(in points), and the CPU ms a frame of the analysis (time.process_time, which other work on a shared machine
inflates far less than wall time; decoding not included).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before onnxruntime and torch load: one core's cost

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from lrfp.core import labels, paths  # noqa: E402
from lrfp.core.records import cpu_name  # noqa: E402
from lrfp.pipeline import interval  # noqa: E402
from lrfp.pipeline.detections import Detections  # noqa: E402
from lrfp.pipeline.people import PeopleTracker  # noqa: E402
from lrfp.pipeline.scene import analyze  # noqa: E402
from lrfp.publishing.index import default_model  # noqa: E402
from lrfp.scale.settings import Settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_every import write_eased_clip  # noqa: E402
from detection_views import module_at  # noqa: E402


def _percent(names: list[str]) -> float | None:
    share = labels.compliance(labels.count(names))
    return None if share is None else round(100 * share, 2)


def analysed(clips: list[list], analyse, fps: int) -> dict:
    """Faces and compliance over them, people (lrfp.pipeline.people, a tracker per clip) and compliance over
    them, and CPU ms a frame of the analysis alone, of ANALYSE(clip): each frame's result, one by one (at FPS
    frames a second)."""
    spent, names, people = 0.0, [], []
    for clip in clips:
        tracker, results = PeopleTracker(), analyse(clip)
        for n in range(len(clip)):
            t0 = time.process_time()
            faces = Detections.from_scene(next(results))
            spent += time.process_time() - t0
            names += faces.label
            tracker.see(n, n / fps, None, faces)
        people += [p["label"] for p in tracker.finished()]
    return {
        "faces": len(names),
        "compliance_faces": _percent(names),
        "people": len(people),
        "compliance_people": _percent(people),
        "cpu_ms_per_frame": round(1000 * spent / sum(map(len, clips)), 1),
    }


def every_frame(clips: list[list], classifier, detector, fps: int) -> dict:
    return analysed(clips, lambda clip: (analyze(image, classifier, detector, "scene") for image in clip), fps)


def interval_run(analyzer_class, clips: list[list], classifier, detector, every: int, phase: int, fps: int) -> dict:
    def analyse(clip):
        analyzer = analyzer_class(classifier, detector, every, phase)
        return (analyzer.next(image) for image in clip)

    return analysed(clips, analyse, fps)


def summary(runs: list[dict], base: dict) -> dict:
    errors = [round(r["compliance_faces"] - base["compliance_faces"], 2) for r in runs]
    over_people = [round(r["compliance_people"] - base["compliance_people"], 2) for r in runs]
    return {
        "compliance_people_error_points_by_phase": over_people,
        "mean_abs_people_error_points": round(statistics.mean(abs(e) for e in over_people), 2),
        "people_error_pct_by_phase": [round(100 * (r["people"] - base["people"]) / base["people"], 2) for r in runs],
        "compliance_faces_error_points_by_phase": errors,
        "mean_error_points": round(statistics.mean(errors), 2),
        "mean_abs_error_points": round(statistics.mean(abs(e) for e in errors), 2),
        "max_abs_error_points": max(abs(e) for e in errors),
        "faces_error_pct_by_phase": [round(100 * (r["faces"] - base["faces"]) / base["faces"], 2) for r in runs],
        "cpu_ms_per_frame": round(statistics.mean(r["cpu_ms_per_frame"] for r in runs), 1),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, nargs="+", default=[2, 3, 5])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--before", help="also run IntervalAnalyzer as it was at this commit")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import av

    with tempfile.TemporaryDirectory() as tmp:
        photos = sorted(paths.EXAMPLES_DIR.glob("*.jpg"))
        files = [write_eased_clip(p, Path(tmp) / f"{p.stem}.mp4", args.frames, args.fps) for p in photos]
        clips = [[f.to_image() for f in av.open(str(c)).decode(video=0)] for c in files]
    classifier, detector = Settings(model=default_model() or "model3").load()
    versions = {"now": interval.IntervalAnalyzer}
    if args.before:
        versions = {args.before: module_at(args.before, "lrfp/pipeline/interval.py").IntervalAnalyzer} | versions
    load = os.getloadavg()
    base = every_frame(clips, classifier, detector, args.fps)
    print(f"every frame: {base}", flush=True)
    results: dict = {}
    for every in args.every:
        for name, analyzer_class in versions.items():
            runs = [interval_run(analyzer_class, clips, classifier, detector, every, p, args.fps) for p in range(every)]
            results.setdefault(str(every), {})[name] = summary(runs, base)
            print(f"every {every}, {name}: {results[str(every)][name]}", flush=True)
    record = {
        "benchmark": "detect_every_phases",
        "command": " ".join(["python", "benchmarks/detect_every_phases.py", *sys.argv[1:]]),
        "footage": f"{len(clips)} clips of the demo scenes, 640x480, {args.frames} frames at {args.fps} frames/s",
        "threads": os.environ["OMP_NUM_THREADS"],
        "cpu": cpu_name(),
        "load_before": load,
        "load_after": os.getloadavg(),
        "every_frame": base,
        "every": results,
    }
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
