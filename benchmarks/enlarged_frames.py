"""Which frames the pyramid searches reduced, as enlarged beyond their detail (lrfp.pipeline.detail): the
enlargement it measures on every frame of the labelled photos' views and of the no-face set's views, and how
long the measure takes beside the detector's search of the same frame.

    python benchmarks/enlarged_frames.py --source ../shared/data/fmd853 --data demo/fmd853-lr --split test \\
        --views 1x,enlarged-2,enlarged-4,closeup,phone,pasted --noface ../scratch/noface --noface-split test \\
        --out results/benchmarks/enlarged_frames_test.json

A frame measured at ENLARGED_FROM or more is searched reduced (FaceDetector's at_detail); every other frame
is searched as before, so a view none of whose frames reaches it gets the very same boxes as before.
--timed also times the detector's search of each frame (as before: without the measure) beside the measure:

    python benchmarks/enlarged_frames.py --source ../shared/data/fmd853 --data demo/fmd853-lr --split val \
        --views phone --photos 12 --timed --out results/benchmarks/enlarged_frames_timed.json
--compare runs the whole pipeline (detector, face check, classifier) on each labelled frame measured at
ENLARGED_FROM or more, searched as before and as now, and counts its faces found, found and right, and boxes
that match no labelled face (the pasted view: boxes on the pasted face), each way.

    python benchmarks/enlarged_frames.py --source ../shared/data/fmd853 --data demo/fmd853-lr --split test \
        --views pasted --compare --out results/benchmarks/enlarged_frames_pasted_test.json
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from lrfp.core.records import write_json_atomic
from lrfp.data.voc import match, photos_of, read_labelled_photo
from lrfp.evaluation.noface_bench import NOFACE_VIEWS, noface_view
from lrfp.evaluation.scene_bench import _on_face, view_frames
from lrfp.pipeline.detail import ENLARGED_FROM, enlargement
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze
from lrfp.publishing.index import default_model


def _measured(frames, detector: FaceDetector | None) -> dict:
    """The enlargement of each frame, counted; with DETECTOR, the measure's time and the search's, summed."""
    found: Counter = Counter()
    measure_s = search_s = 0.0
    for image in frames:
        t0 = time.perf_counter()
        found[enlargement(image)] += 1
        measure_s += time.perf_counter() - t0
        if detector is not None:
            t0 = time.perf_counter()
            detector.search(image)
            search_s += time.perf_counter() - t0
    return {
        "frames": sum(found.values()),
        "enlargement": {str(k): n for k, n in sorted(found.items())},
        "searched_reduced": sum(n for k, n in found.items() if k >= ENLARGED_FROM),
        "measure_s": round(measure_s, 2),
    } | ({"search_s": round(search_s, 2)} if detector is not None else {})


def _compared(frames, classifier: Classifier) -> dict:
    """The pipeline on the labelled FRAMES measured at ENLARGED_FROM or more, searched as before and as now."""
    ways = {"before": FaceDetector(at_detail=False), "now": FaceDetector()}
    tally = {way: Counter() for way in ways}
    for frame in frames:
        if enlargement(frame.image) < ENLARGED_FROM:
            continue
        labelled = [box for _, box, _ in frame.objects]
        for way, detector in ways.items():
            result = analyze(frame.image, classifier, detector, "scene")
            faces = [(f.box.x0, f.box.y0, f.box.x1, f.box.y1) for f in result.faces]
            pairing = match(labelled, faces)
            tally[way]["frames"] += 1
            tally[way]["labelled"] += len(labelled)
            tally[way]["found"] += len(pairing)
            tally[way]["found_and_right"] += sum(
                result.faces[j].label == frame.objects[i][0] for i, j in pairing.items()
            )
            tally[way]["unmatched"] += len(faces) - len(pairing)
            tally[way]["on_first_face"] += _on_face(labelled[0], faces) if labelled else 0
    return {way: dict(counts) for way, counts in tally.items()}


def _noface_compared(folder: Path, rows: list[dict], before: dict | None, classifier: Classifier) -> dict:
    """The no-face pictures measured at ENLARGED_FROM or more at 4032 px: their boxes in BEFORE (a record of
    `lrfp scene-bench --noface` made before) and the pipeline's now. Every other picture is searched as before."""
    was = {p["id"]: len(p["boxes"]) for p in before["noface"]["phone"]["per_picture"]} if before else {}
    detector, out = FaceDetector(), {}
    for row in rows:
        frame = noface_view(Image.open(folder / row["path"]).convert("RGB"), "phone")[0]
        if enlargement(frame) >= ENLARGED_FROM:
            now = analyze(frame, classifier, detector, "scene")
            out[row["id"]] = {"kind": row["kind"], "before": was.get(row["id"]), "now": len(now.faces)}
            print(row["id"], out[row["id"]], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="labelled photos (PASCAL VOC)")
    parser.add_argument("--data", type=Path, help="the build whose split picks the photos")
    parser.add_argument("--split", default="test")
    parser.add_argument("--views", default="1x,enlarged-2,enlarged-4,closeup,phone")
    parser.add_argument("--noface", type=Path, help="a no-face set (lrfp data noface)")
    parser.add_argument("--noface-split", default="test")
    parser.add_argument("--photos", type=int, help="only the first this many photos of the split")
    parser.add_argument("--timed", action="store_true", help="time the detector's search (the old one) beside")
    parser.add_argument("--compare", action="store_true", help="the pipeline before and now on the frames it changes")
    parser.add_argument("--noface-reduced", action="store_true", help="the pipeline on the no-face pictures it changes")
    parser.add_argument("--noface-before", type=Path, help="a --noface record made before: its 4032 px boxes beside")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    detector = FaceDetector(at_detail=False) if args.timed else None
    report: dict = {"enlarged_from": ENLARGED_FROM, "views": {}, "noface": {}}
    if args.source:
        xml_files = photos_of(args.source, args.data, args.split)[: args.photos]
        for view in args.views.split(","):
            photos = (read_labelled_photo(x) for x in xml_files)
            if args.compare:
                classifier = Classifier(default_model() or "model3")
                report["views"][view] = _compared(view_frames(photos, view), classifier)
            else:
                report["views"][view] = _measured((f.image for f in view_frames(photos, view)), detector)
            print(view, report["views"][view], flush=True)
    if args.noface and args.noface_reduced:
        rows = [r for r in csv.DictReader((args.noface / "manifest.csv").open()) if r["split"] == args.noface_split]
        before = json.loads(args.noface_before.read_text()) if args.noface_before else None
        report["noface_reduced"] = _noface_compared(args.noface, rows, before, Classifier(default_model() or "model3"))
    elif args.noface:
        rows = [r for r in csv.DictReader((args.noface / "manifest.csv").open()) if r["split"] == args.noface_split]
        for view in NOFACE_VIEWS:
            for kind in sorted({r["kind"] for r in rows}):
                pictures = (Image.open(args.noface / r["path"]).convert("RGB") for r in rows if r["kind"] == kind)
                figures = _measured((noface_view(p, view)[0] for p in pictures), detector)
                report["noface"].setdefault(view, {})[kind] = figures
                print(view, kind, figures, flush=True)
    if args.out:
        write_json_atomic(report | {"command": {k: str(v) for k, v in vars(args).items()}}, args.out)


if __name__ == "__main__":
    main()
