"""Hard negatives for a face check and for a detector trained with negatives (issue 35, items 2 and 3):

- the boxes today's detectors give on the no-face set's train and val pictures, read from the records of
  `lrfp scene-bench --noface DIR --noface-split all` (no detector is run again; the test pictures are left
  out: they are the benchmark's);
- the boxes they give on the train split's photos that match no labelled face (IoU under 0.3 with every
  label, lrfp.data.voc.match): mostly non-faces, some real faces nobody labelled.

Each box is cut out as the pipeline cuts it for the classifier (the box itself, no margin; a phone-view box
from the picture at 4032 px), into OUT/crops/, and listed in OUT/negatives_noface.csv and
OUT/negatives_train-photo.csv (each part written when it runs, so they can run apart) and in
OUT/negatives.csv, both together (COLUMNS). `looks_like_face`
is `no` for the no-face set's boxes (no picture there holds a face), and for the train photos' boxes what a
person answered looking at contact sheets (--looked: a CSV of crop,looks_like_face), else empty.

    python tools/hard_negatives.py --noface data/noface --records R1.json R2.json \\
        --source ../shared/data/fmd853 --data demo/fmd853-lr --out negatives
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from PIL import Image

from lrfp.data.images import load_image
from lrfp.data.noface import read_noface
from lrfp.data.voc import match, photos_of, read_labelled_photo
from lrfp.evaluation.noface_bench import noface_view
from lrfp.pipeline.detect import DEFAULT_DETECTOR, FaceDetector

COLUMNS = (
    "crop",
    "origin",
    "source",
    "view",
    "detector",
    "x0",
    "y0",
    "x1",
    "y1",
    "score",
    "label",
    "split",
    "looks_like_face",
)
DETECTORS = (DEFAULT_DETECTOR, "centerface")


def _save(crop: Image.Image, out: Path, name: str) -> str:
    rel = f"crops/{name}.png"
    crop.save(out / rel)
    return rel


def noface_rows(folder: Path, records: list[Path], out: Path) -> list[dict]:
    pictures = {row["id"]: row for row in read_noface(folder)}
    rows = []
    for record_path in records:
        record = json.loads(record_path.read_text())
        detector = record["detector"]["detector"]
        for view, report in record["noface"].items():
            for picture in report["per_picture"]:
                if picture["split"] == "test" or not picture["boxes"]:
                    continue
                frame, k = noface_view(load_image(folder / pictures[picture["id"]]["path"]), view)
                for i, (x0, y0, x1, y1, score, label, *_) in enumerate(picture["boxes"]):
                    crop = frame.crop(tuple(round(v * k) for v in (x0, y0, x1, y1)))
                    name = f"noface-{detector}-{view}-{picture['id']}-{i}"
                    rows.append(_row(_save(crop, out, name), "noface", picture["id"], view, detector,
                                     (x0, y0, x1, y1), score, label, picture["split"], "no"))  # fmt: skip
    return rows


def _row(crop, origin, source, view, detector, box, score, label, split, looks) -> dict:
    values = (crop, origin, source, view, detector, *box, score, label, split, looks)
    return dict(zip(COLUMNS, values))


def train_photo_rows(source: Path, data: Path, out: Path) -> list[dict]:
    """Boxes on the train split's photos (each at its own size) that match no labelled face."""
    rows = []
    for name in DETECTORS:
        detector = FaceDetector(name)
        for xml in photos_of(source, data, "train"):
            photo = read_labelled_photo(xml)
            found = detector.detect(photo.image)
            boxes = [(b.x0, b.y0, b.x1, b.y1) for b in found]
            paired = set(match(photo.boxes, boxes).values())
            for j, b in enumerate(found):
                if j in paired:
                    continue
                crop = photo.image.convert("RGB").crop(boxes[j])
                stem = Path(photo.filename).stem
                rows.append(_row(_save(crop, out, f"train-{name}-{stem}-{j}"), "train-photo", photo.filename, "1x",
                                 name, boxes[j], round(b.score, 4), "", "train", ""))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noface", required=True, type=Path, help="the no-face set (lrfp data noface)")
    parser.add_argument("--records", nargs="+", type=Path, help="scene-bench --noface --noface-split all records")
    parser.add_argument("--source", type=Path, help="the PASCAL VOC set of the train photos")
    parser.add_argument("--data", type=Path, help="the built data set naming the train photos")
    parser.add_argument("--looked", type=Path, help="CSV crop,looks_like_face: what a person saw on contact sheets")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    (args.out / "crops").mkdir(parents=True, exist_ok=True)
    looked = {}
    if args.looked:
        with args.looked.open(newline="") as f:
            looked = {r["crop"]: r["looks_like_face"] for r in csv.DictReader(f)}
    parts = {}
    if args.records:
        parts["noface"] = noface_rows(args.noface, args.records, args.out)
    if args.source and args.data:
        parts["train-photo"] = train_photo_rows(args.source, args.data, args.out)
    for origin, rows in parts.items():
        _write(args.out / f"negatives_{origin}.csv", rows)
    rows = []
    for origin in ("noface", "train-photo"):  # both parts, whichever run made them
        if (args.out / f"negatives_{origin}.csv").is_file():
            with (args.out / f"negatives_{origin}.csv").open(newline="") as f:
                rows += list(csv.DictReader(f))
    for row in rows:
        row["looks_like_face"] = looked.get(row["crop"], row["looks_like_face"])
    _write(args.out / "negatives.csv", rows)
    counts = {o: sum(r["origin"] == o for r in rows) for o in ("noface", "train-photo")}
    print(f"{len(rows)} crops ({counts}) -> {args.out}/negatives.csv")


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
