"""The fine-tuned detector against one trained further with negatives (issue 35, item 2), side by side in
one run, on what chooses it: the held-out train photos (found, unmatched boxes) and the no-face set's val
pictures (boxes per 100 pictures), through the whole pipeline of `lrfp scene-bench` (face check on), and
the detector's own boxes on the no-face pictures (the face check's rejections added back).

    lrfp detector export --run runs/detector/centerface-masks-neg --source ../shared/data/fmd853 \\
        --data demo/fmd853-lr --out runs/detector/centerface-masks-neg/candidate-int8.onnx
    python benchmarks/detector_negatives.py --candidate runs/detector/centerface-masks-neg/candidate-int8.onnx \\
        --noface ../scratch/noface [--views 1x] [--noface-views own phone] [--noface-every 1]

Each graph runs as `centerface-masks` does (its pyramid settings), swapped in for the shipped graph.
One record per graph in --out (default results/benchmarks/detector_negatives/<name>.json).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrfp.core.records import cpu_name, file_sha256, write_json_atomic
from lrfp.data.noface import read_noface
from lrfp.evaluation.noface_bench import noface_view
from lrfp.evaluation.scene_bench import scene_benchmark
from lrfp.experiments.detector import split_train_photos
from lrfp.pipeline import backends
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze

ROOT = Path(__file__).resolve().parents[1]


def use_graph(path: Path) -> None:
    """Make `centerface-masks` run the graph at PATH from now on."""
    backends.FINE_TUNED_GRAPH = path
    backends.FineTunedCenterFaceBackend._sessions.clear()


def noface_boxes(folder: Path, rows: list[dict], classifier, detector, views) -> dict:
    """Per view: boxes the pipeline keeps and boxes the detector gave (kept + rejected by the face check),
    per 100 pictures, and the pictures with any kept box."""
    from lrfp.data.images import load_image

    out = {}
    for view in views:
        kept = detected = with_any = 0
        for row in rows:
            frame, _ = noface_view(load_image(folder / row["path"], name=row["path"]), view)
            result = analyze(frame, classifier, detector, "scene")
            kept += len(result.faces)
            detected += len(result.faces) + len(result.rejected)
            with_any += bool(result.faces)
        n = max(1, len(rows))
        out[view] = {
            "pictures": len(rows),
            "boxes_per_100": 100 * kept / n,
            "detector_boxes_per_100": 100 * detected / n,
            "pictures_with_a_box": with_any,
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidate", type=Path, required=True, help="an int8 graph `lrfp detector export` wrote")
    parser.add_argument("--noface", type=Path, required=True, help="a no-face set (its val split is read)")
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "fmd853"))
    parser.add_argument("--data", default=str(ROOT / "demo" / "fmd853-lr"))
    parser.add_argument("--model", default="prod-mobilenet_v2")
    parser.add_argument("--views", nargs="*", default=["1x"], help="scene-bench views of the held-out photos")
    parser.add_argument("--noface-views", nargs="*", default=["own", "phone"])
    parser.add_argument("--noface-every", type=int, default=1, help="every Nth val picture (the same for both)")
    parser.add_argument("--graphs", nargs="+", default=["shipped", "candidate"], choices=["shipped", "candidate"])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "detector_negatives")
    args = parser.parse_args()
    classifier = Classifier(args.model)
    held_out = split_train_photos(Path(args.source), Path(args.data))[1]
    rows = read_noface(args.noface, "val")[:: args.noface_every]
    shipped = backends.FINE_TUNED_GRAPH
    print(f"cpu: {cpu_name()}; {len(held_out)} held-out photos, {len(rows)} no-face val pictures")
    graphs = {"shipped": shipped, "candidate": args.candidate.resolve()}
    for name in args.graphs:  # run apart (one --graphs each) where CPU time is shared: the figures are counts
        graph = graphs[name]
        use_graph(graph)
        record: dict = {"graph": str(graph), "graph_sha256": file_sha256(graph), "cpu": cpu_name(), "held_out": {}}
        for view in args.views:
            report = scene_benchmark(held_out, classifier, FaceDetector("centerface-masks"), view=view)
            record["held_out"][view] = {
                k: report[k]
                for k in ("photos", "labelled_faces", "found_faces", "recall", "end_to_end", "unmatched_per_photo")
            }
            r = record["held_out"][view]
            print(
                f"{name:9} held-out {view:6} found {100 * r['recall']:.1f} % right {100 * r['end_to_end']:.1f} % "
                f"unmatched {r['unmatched_per_photo']:.2f}/photo",
                flush=True,
            )
        record["noface_val"] = noface_boxes(
            args.noface, rows, classifier, FaceDetector("centerface-masks"), args.noface_views
        )
        for view, r in record["noface_val"].items():
            print(
                f"{name:9} no-face val {view:5} boxes {r['boxes_per_100']:.1f}/100 (detector "
                f"{r['detector_boxes_per_100']:.1f}/100), pictures with a box {r['pictures_with_a_box']}",
                flush=True,
            )
        record["noface_every"] = args.noface_every
        write_json_atomic(record, args.out / f"{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
