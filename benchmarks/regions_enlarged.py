"""The no-face set's pictures of some kinds, enlarged by each of several factors (capped at 4032 px), through
the whole pipeline (detector, face check, classifier): boxes kept and rejected per picture and factor. What
showed that regions of photos get boxes when enlarged 16 times and more, and few at 4 to 8 (docs/detection.md,
"Enlarged pictures").

    python benchmarks/regions_enlarged.py --noface ../scratch/noface --split val --kinds photo-region \\
        --factors 1,4,8,12,16,100 > results/noface/regions_enlarged_val.txt
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from PIL import Image

from lrfp.evaluation.scene_bench import PHONE_SIDE
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze
from lrfp.publishing.index import default_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noface", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--kinds", default="photo-region")
    parser.add_argument("--factors", default="1,4,8,12,16,100")
    parser.add_argument("--at-detail", action="store_true", help="search as the default does now (at_detail)")
    args = parser.parse_args()
    rows = [
        r
        for r in csv.DictReader((args.noface / "manifest.csv").open())
        if r["split"] == args.split and r["kind"] in args.kinds.split(",")
    ]
    classifier, detector = Classifier(default_model() or "model3"), FaceDetector(at_detail=args.at_detail)
    print("picture factor enlarged kept rejected")
    for row in rows:
        image = Image.open(args.noface / row["path"]).convert("RGB")
        for factor in (float(f) for f in args.factors.split(",")):
            k = min(factor, PHONE_SIDE / max(image.size))
            frame = image.resize((round(image.width * k), round(image.height * k)), Image.Resampling.BICUBIC)
            result = analyze(frame if k != 1 else image, classifier, detector, "scene")
            print(row["id"], factor, round(k, 1), len(result.faces), len(result.rejected), flush=True)


if __name__ == "__main__":
    main()
