"""The Classify page's "auto" mode on small images: how many boxes no-face pictures get, and how many face
crops still get their one face.

    python benchmarks/auto_small.py --noface ../scratch/noface [--out results/benchmarks/auto_small.json]

"auto" takes an image whose short side is at most FACE_CROP_MAX_SIDE as one face crop; the no-face set's
val and test pictures (`lrfp data noface`) are measured as they are where already that small, and shrunk to a
short side of 128 and 96 px; the face crops are the demo build's (demo/fmd853-lr).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from PIL import Image

from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze
from lrfp.publishing.index import default_model

ROOT = Path(__file__).resolve().parents[1]
SIDES = (None, 128, 96)  # None: the pictures already small enough, as they are


def shrunk(image: Image.Image, side: int) -> Image.Image:
    scale = side / min(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))


def noface_boxes(folder: Path, classifier: Classifier, detector: FaceDetector) -> dict:
    rows = [r for r in csv.DictReader((folder / "manifest.csv").open()) if r["split"] in ("val", "test")]
    out = {}
    for side in SIDES:
        boxes = pictures = 0
        for row in rows:
            image = Image.open(folder / row["path"]).convert("RGB")
            if side:
                image = shrunk(image, side)
            elif min(image.size) > 128:
                continue
            boxes += len(analyze(image, classifier, detector, "auto").faces)
            pictures += 1
        out[f"short side {side or 'own, at most 128'}"] = {"pictures": pictures, "boxes": boxes}
    return out


def face_crops(classifier: Classifier, detector: FaceDetector) -> dict:
    crops = sorted((ROOT / "demo" / "fmd853-lr").glob("*/*.png"))
    results = [analyze(Image.open(p), classifier, detector, "auto") for p in crops]
    return {
        "crops": len(crops),
        "taken as one face": sum(r.mode == "face" for r in results),
        "with no face": sum(not r.faces for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noface", type=Path, required=True, help="a no-face set built by lrfp data noface")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    classifier, detector = Classifier(default_model()), FaceDetector()
    record = {
        "noface_val_test": noface_boxes(args.noface, classifier, detector),
        "demo_face_crops": face_crops(classifier, detector),
    }
    print(json.dumps(record, indent=1))
    if args.out:
        args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
