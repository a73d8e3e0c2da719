"""Contact sheets of the mined boxes on the train photos (tools/hard_negatives.py's train-photo part), for a
person to tell faces nobody labelled from things that are not faces: each box with its surroundings (the
box's longer side x CONTEXT), outlined in red, numbered; an index.csv maps each number to its crop name.

    python tools/mined_sheets.py --negatives ../scratch/noface/negatives/negatives.csv \\
        --source ../shared/data/fmd853 --data demo/fmd853-lr --out /tmp/sheets

Only the photos `lrfp detector train` trains on (the held-out fifth is left out). The answers
(crop,looks_like_face = yes / no / unsure) go to `lrfp detector train --looked`; lrfp's own are in
results/detector/mined-boxes-looked-at.csv.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from PIL import Image, ImageDraw

from lrfp.data.voc import parse_voc
from lrfp.experiments.detector import split_train_photos

TILE, COLUMNS, ROWS = 120, 7, 6  # px a tile, tiles a row and rows a sheet
CONTEXT = 2.2
LABEL = 14  # px under each tile for its number


def tile(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * CONTEXT
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    window = (int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2))
    out = image.crop(window).resize((TILE, TILE), Image.Resampling.LANCZOS)
    k = TILE / (window[2] - window[0])
    ImageDraw.Draw(out).rectangle(
        [(x0 - window[0]) * k, (y0 - window[1]) * k, (x1 - window[0]) * k, (y1 - window[1]) * k], outline="red"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--negatives", type=Path, required=True)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    trained = {parse_voc(x)[0] for x in split_train_photos(args.source, args.data)[0]}
    with args.negatives.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["origin"] == "train-photo" and r["source"] in trained]
    args.out.mkdir(parents=True, exist_ok=True)
    per = COLUMNS * ROWS
    for first in range(0, len(rows), per):
        sheet = Image.new("RGB", (COLUMNS * TILE, ROWS * (TILE + LABEL)), "white")
        draw = ImageDraw.Draw(sheet)
        for k, row in enumerate(rows[first : first + per]):
            image = Image.open(args.source / "images" / row["source"]).convert("RGB")
            box = (float(row["x0"]), float(row["y0"]), float(row["x1"]), float(row["y1"]))
            i, j = divmod(k, COLUMNS)
            sheet.paste(tile(image, box), (j * TILE, i * (TILE + LABEL)))
            text = f"{first + k} {int(box[2] - box[0])}px {row['detector']}"
            draw.text((j * TILE + 2, i * (TILE + LABEL) + TILE), text, fill="black")
        sheet.save(args.out / f"sheet{first // per:02d}.png")
    with (args.out / "index.csv").open("w", newline="") as f:
        csv.writer(f).writerows((i, row["crop"]) for i, row in enumerate(rows))
    print(f"{len(rows)} boxes on {-(-len(rows) // per)} sheets in {args.out}")


if __name__ == "__main__":
    main()
