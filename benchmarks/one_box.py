"""One box per face: the default detector's boxes on portraits (photos with one labelled face, at least
PORTRAIT_SHARE of the photo's shorter side), at their own size and resized to a phone photo's 4032 px,
with the merge of an earlier commit beside today's on the very same frames.

    python benchmarks/one_box.py --split train [--before 0fe5e0f] [--every 2]

A portrait should get exactly one box; `on face` counts the boxes mostly inside the face's box grown by a
quarter of its size on each side, or holding most of it (pieces of the face, upper halves, doubles),
`all` every box of the photo (a portrait's background may hold an unlabelled face). Prints the portraits
that do not get one box on their face, and the totals; --out writes them as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from lrfp.core.records import write_json_atomic
from lrfp.data.voc import photos_of, read_labelled_photo
from lrfp.evaluation.scene_bench import PHONE_SIDE, _on_face
from lrfp.pipeline import detect
from lrfp.pipeline.detect import FaceBox, FaceDetector

ROOT = Path(__file__).resolve().parents[1]
PORTRAIT_SHARE = 0.2


def earlier_merge(rev: str):
    """merge() of lrfp/pipeline/boxes.py as it was at commit REV."""
    source = subprocess.run(
        ["git", "show", f"{rev}:lrfp/pipeline/boxes.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"boxes_{rev}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"boxes_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)

    def merge(boxes: list[FaceBox]) -> list[FaceBox]:  # the earlier module's FaceBox in, today's out
        kept = module.merge([module.FaceBox(b.x0, b.y0, b.x1, b.y1, b.score) for b in boxes])
        return [FaceBox(b.x0, b.y0, b.x1, b.y1, b.score) for b in kept]

    return merge


def portraits(source: Path, data: Path, split: str) -> list:
    out = []
    for xml in photos_of(source, data, split):
        photo = read_labelled_photo(xml)
        if len(photo.boxes) == 1:
            x0, y0, x1, y1 = photo.boxes[0]
            if min(x1 - x0, y1 - y0) >= PORTRAIT_SHARE * min(photo.image.size):
                out.append(photo)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "fmd853")
    parser.add_argument("--data", type=Path, default=ROOT / "demo" / "fmd853-lr")
    parser.add_argument("--split", default="train", choices=("train", "val", "test"))
    parser.add_argument("--before", help="also the merge of this commit, on the same frames")
    parser.add_argument("--every", type=int, default=1, help="only every this many-th portrait")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    merges = {"today": detect.merge} | ({f"before {args.before}": earlier_merge(args.before)} if args.before else {})
    finder = FaceDetector()
    photos = portraits(args.source, args.data, args.split)[:: args.every]
    totals: dict = {}
    for photo in photos:
        for size in ("own", str(PHONE_SIDE)):
            k = 1.0 if size == "own" else PHONE_SIDE / max(photo.image.size)
            image = photo.image.convert("RGB")
            if k != 1.0:
                image = image.resize((round(image.width * k), round(image.height * k)), Image.Resampling.BICUBIC)
            face = tuple(v * k for v in photo.boxes[0])
            for name, merge in merges.items():
                detect.merge = merge
                boxes = [(b.x0, b.y0, b.x1, b.y1) for b in finder.detect(image)]
                on_face = _on_face(face, boxes)
                row = totals.setdefault(f"{name} | {size}", {"portraits": 0, "one_on_face": 0, "on_face": 0, "all": 0})
                row["portraits"] += 1
                row["one_on_face"] += on_face == 1
                row["on_face"] += on_face
                row["all"] += len(boxes)
                if on_face != 1:
                    print(f"{name:>16} {size:>5} {photo.filename}: {on_face} boxes on its face, {len(boxes)} in all")
    detect.merge = merges["today"]
    print(f"{len(photos)} portraits of the {args.split} split (face >= {PORTRAIT_SHARE:.0%} of the shorter side)")
    for key, row in totals.items():
        print(
            f"{key}: one box on the face {row['one_on_face']}/{row['portraits']}, boxes on faces {row['on_face']}, "
            f"boxes in all {row['all']}"
        )
    if args.out:
        write_json_atomic({"split": args.split, "every": args.every, "totals": totals}, args.out)


if __name__ == "__main__":
    main()
