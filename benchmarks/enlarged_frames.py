"""Which frames the pyramid searches reduced, as enlarged beyond their detail (lrfp.pipeline.detail): the
enlargement it measures on every frame of the labelled photos' views and of the no-face set's views, and how
long the measure takes beside the detector's search of the same frame.

    python benchmarks/enlarged_frames.py --source ../shared/data/fmd853 --data demo/fmd853-lr --split test \\
        --views 1x,enlarged-2,enlarged-4,closeup,phone,pasted --noface ../scratch/noface --noface-split test \\
        --out results/benchmarks/enlarged_frames_test.json

A frame measured at ENLARGED_FROM or more is searched reduced (FaceDetector's at_detail); every other frame
is searched as before, so a view none of whose frames reaches it gets the very same boxes as before.
--timed also times the detector's search of each frame (as before: without the measure) beside the measure.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from lrfp.core.records import write_json_atomic
from lrfp.data.voc import photos_of, read_labelled_photo
from lrfp.evaluation.noface_bench import NOFACE_VIEWS, noface_view
from lrfp.evaluation.scene_bench import view_frames
from lrfp.pipeline.detail import ENLARGED_FROM, enlargement
from lrfp.pipeline.detect import FaceDetector


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="labelled photos (PASCAL VOC)")
    parser.add_argument("--data", type=Path, help="the build whose split picks the photos")
    parser.add_argument("--split", default="test")
    parser.add_argument("--views", default="1x,enlarged-2,enlarged-4,closeup,phone")
    parser.add_argument("--noface", type=Path, help="a no-face set (lrfp data noface)")
    parser.add_argument("--noface-split", default="test")
    parser.add_argument("--timed", action="store_true", help="time the detector's search (the old one) beside")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    detector = FaceDetector(at_detail=False) if args.timed else None
    report: dict = {"enlarged_from": ENLARGED_FROM, "views": {}, "noface": {}}
    if args.source:
        xml_files = photos_of(args.source, args.data, args.split)
        for view in args.views.split(","):
            photos = (read_labelled_photo(x) for x in xml_files)
            report["views"][view] = _measured((f.image for f in view_frames(photos, view)), detector)
            print(view, report["views"][view], flush=True)
    if args.noface:
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
