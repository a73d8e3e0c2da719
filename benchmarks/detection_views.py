"""The detection stage in every view of scene-bench, before and after, side by side in one run.

    python benchmarks/detection_views.py --split train [--views 1x phone ...] [--settings pyramid before ...]
    python benchmarks/detection_views.py --split test            # once, with the settings chosen on train

Settings: `before`, the detection stage of an earlier commit (--before, default the last release's:
its lrfp/pipeline/detect.py is read from git and run under this checkout's scene-bench, so both are
scored on the very same frames); `pyramid`, today's default; `pyramid-step4`, reduced looks in steps
of 4. Each (setting, view) is one record in results/benchmarks/views/<split>-<setting>-<view>.json,
skipped when it exists (delete it to measure again). Expensive views run on every Nth photo (EVERY),
the same photos for every setting. The detector's time is this machine's: compare rows of one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

from lrfp.core.metrics import FRAME_FACE_BINS
from lrfp.core.records import cpu_name, write_json_atomic
from lrfp.data.voc import photos_of
from lrfp.evaluation.scene_bench import scene_benchmark
from lrfp.experiments.detector import split_train_photos
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "071dc52"  # the last release: the adaptive stage (the frame's own size + 2x)
VIEWS = ("1x", "enlarged-2", "enlarged-4", "tiled-3x3", "phone", "closeup", "pasted")
EVERY = {
    "train": {"1x": 2, "enlarged-2": 2, "enlarged-4": 4, "tiled-3x3": 2, "phone": 8, "closeup": 1, "pasted": 8},
    "held-out": {"enlarged-4": 2, "phone": 2, "pasted": 2},
    "test": {"pasted": 2},
}
SETTINGS = {
    "before": None,
    "pyramid": {},
    "pyramid-step4": {"step": 4},
    "generic": {"detector": "centerface"},
    "finetuned": {"detector": "centerface-masks", "enlarged_min_score": 0.35},
    "finetuned-0.4": {"detector": "centerface-masks", "min_score": 0.4},
    "finetuned-0.6": {"detector": "centerface-masks", "min_score": 0.6, "enlarged_min_score": 0.5},
    "finetuned-e0.5": {"detector": "centerface-masks", "enlarged_min_score": 0.5},
    "finetuned-e0.4": {"detector": "centerface-masks", "enlarged_min_score": 0.4},
    "finetuned-e0.45": {"detector": "centerface-masks", "enlarged_min_score": 0.45},
    "finetuned-e0.5-b128": {"detector": "centerface-masks", "enlarged_min_score": 0.5, "band": (23, 128)},
}
DEFAULT_SETTINGS = ("before", "pyramid")


def module_at(rev: str, relative: str):
    """The module of the package file RELATIVE (lrfp/pipeline/detect.py, say) as it was at commit REV, loaded
    beside today's package (its own imports are today's)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{relative}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    name = f"{Path(relative).stem}_{rev}"
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def earlier_detector(rev: str):
    """FaceDetector of lrfp/pipeline/detect.py as it was at commit REV."""
    return Earlier(module_at(rev, "lrfp/pipeline/detect.py").FaceDetector())


class Earlier:
    """An earlier FaceDetector with today's interface (search(): the boxes and the detector MP looked at,
    which earlier stages did not count)."""

    def __init__(self, detector):
        self.detector = detector

    def describe(self) -> dict:
        return self.detector.describe()

    def search(self, image):
        return SimpleNamespace(boxes=self.detector.detect(image), spent_mp=float("nan"))


def markdown(folder: Path, split: str) -> str:
    """The records of one split as the README's table: a row per view and setting."""
    import json

    rows = [
        "| view | setting | photos | found % (95 % interval) | < 16 px | 16-32 | 32-64 | 64-128 | 128-256 | 256-512 | "
        "≥ 512 | found and right % | unmatched / photo (can't tell) | ms / photo |",
        "|" + "---|" * 14,
    ]
    for view in VIEWS:
        for setting in SETTINGS:
            path = folder / f"{split}-{setting}-{view}.json"
            if not path.is_file():
                continue
            r = json.loads(path.read_text())
            lo, hi = r["recall_interval"]
            by_size = [r["recall_by_frame_size"][name] for name, _, _ in FRAME_FACE_BINS]
            bins = [f"{100 * v['recall']:.1f} ({v['labelled']})" if v["labelled"] else "" for v in by_size]
            rows.append(
                f"| {view} | {setting} | {r['photos']} | {100 * r['recall']:.1f} ({100 * lo:.1f}–{100 * hi:.1f}) | "
                + " | ".join(bins)
                + f" | {100 * r['end_to_end']:.1f} | {r['unmatched_per_photo']:.2f}{_unsure(r)} | "
                f"{r['ms_per_photo_median']:.0f} |"
            )
    return "\n".join(rows)


def _unsure(record: dict) -> str:
    """The unmatched boxes answered "can't tell", per photo (records made before that answer have none)."""
    value = record.get("unmatched_unsure_per_photo")
    return "" if value is None else f" ({value:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--split",
        default="train",
        choices=("train", "held-out", "test"),
        help="held-out: the train photos `lrfp detector train` holds out to choose settings on",
    )
    parser.add_argument("--views", nargs="+", default=list(VIEWS))
    parser.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--before", default=BEFORE, help="the commit whose detection stage is `before`")
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "fmd853"))
    parser.add_argument("--data", default=str(ROOT / "demo" / "fmd853-lr"))
    parser.add_argument("--model", default="prod-mobilenet_v2")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "views")
    parser.add_argument("--table", action="store_true", help="print the split's records as a markdown table and stop")
    args = parser.parse_args()
    if args.table:
        print(markdown(args.out, args.split))
        return
    classifier = Classifier(args.model)
    if args.split == "held-out":
        xml_files = split_train_photos(Path(args.source), Path(args.data))[1]
    else:
        xml_files = photos_of(Path(args.source), Path(args.data), args.split)
    print(f"cpu: {cpu_name()}; {args.split} split, {len(xml_files)} photos")
    for view in args.views:
        every = EVERY[args.split].get(view, 1)
        for name in args.settings:
            out = args.out / f"{args.split}-{name}-{view}.json"
            if out.is_file():
                continue
            detector = earlier_detector(args.before) if name == "before" else FaceDetector(**SETTINGS[name])
            report = scene_benchmark(xml_files[::every], classifier, detector, view=view)
            every_text = f"every {every}th photo of the " if every > 1 else ""
            report |= {
                "model": classifier.name,
                "source": Path(args.source).name,
                "view": view,
                "setting": name,
                "detector": detector.describe() | ({"commit": args.before} if name == "before" else {}),
                "photos_from": f"{every_text}{args.split} split of {Path(args.data).name}",
                "cpu": cpu_name(),
            }
            write_json_atomic(report, out)
            by_size = " ".join(
                f"{k} {v['found']}/{v['labelled']}" for k, v in report["recall_by_frame_size"].items() if v["labelled"]
            )
            print(
                f"{view:11} {name:14} found {report['recall']:.3f} right {report['end_to_end']:.3f} unmatched "
                f"{report['unmatched_per_photo']:.2f}/photo{_unsure(report)} {report['ms_per_photo_median']:.0f} ms | "
                f"can't tell {report['found_unsure']} found | {by_size}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
