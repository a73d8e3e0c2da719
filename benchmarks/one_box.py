"""One box per face: the default detector's boxes on portraits (photos with one labelled face, at least
PORTRAIT_SHARE of the photo's shorter side), at their own size and resized to a phone photo's 4032 px,
with the merge of an earlier commit beside today's on the very same frames.

    python benchmarks/one_box.py --split train [--before 0fe5e0f] [--every 2]

A portrait should get exactly one box; `on face` counts the boxes mostly inside the face's box grown by a
quarter of its size on each side, or holding most of it (pieces of the face, upper halves, doubles),
`all` every box of the photo (a portrait's background may hold an unlabelled face). Prints the portraits
that do not get one box on their face, and the totals; --out writes them as JSON.

    python benchmarks/one_box.py --pasted --split val [--sizes 16,32,...,3000] [--every 1]

--pasted: the pasted view's frames (scene_bench.pasted: each photo's biggest face alone at 16 to 3000 px, on
grey and on its own photo) through the Classify path (detector, face check), boxes per face at each size.
A box on another labelled face that the pasted crop holds (a neighbour within its margin) is a face, not a
piece of this one: counted apart. Each extra box is listed with its size beside the face's box (the biggest
on it) and its share inside that box and inside it grown by a tenth, to see what the extras are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

from lrfp.core.records import write_json_atomic
from lrfp.data.voc import photos_of, read_labelled_photo
from lrfp.evaluation.scene_bench import PASTED_MARGIN, PASTED_SIZES, PHONE_SIDE, _on_face, _pasted_face, pasted
from lrfp.pipeline import detect
from lrfp.pipeline.boxes import inside
from lrfp.pipeline.detect import FaceBox, FaceDetector

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection_views import module_at  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PORTRAIT_SHARE = 0.2


def earlier_merge(rev: str):
    """merge() of lrfp/pipeline/boxes.py as it was at commit REV."""
    module = module_at(rev, "lrfp/pipeline/boxes.py")

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


def neighbours(photo, size: int, face: tuple) -> list[tuple[float, float, float, float]]:
    """The photo's other labelled faces in the pasted frame's pixels (where its crop holds them)."""
    x0, y0, x1, y1 = _pasted_face(photo)[1]
    m = PASTED_MARGIN * min(x1 - x0, y1 - y0)
    k = size / min(x1 - x0, y1 - y0)
    dx, dy = face[0] - (x0 - (x0 - m)) * k, face[1] - (y0 - (y0 - m)) * k  # frame px of the crop's corner
    crop = (dx, dy, dx + (x1 - x0 + 2 * m) * k, dy + (y1 - y0 + 2 * m) * k)
    out = []
    for box in photo.boxes:
        if tuple(box) == (x0, y0, x1, y1):
            continue
        mapped = tuple((v - o) * k + d for v, o, d in zip(box, (x0 - m, y0 - m) * 2, (dx, dy) * 2))
        if inside(mapped, crop) > 0:
            out.append(mapped)
    return out


def pasted_main(args) -> None:
    from lrfp.pipeline.inference import Classifier
    from lrfp.pipeline.scene import analyze
    from lrfp.publishing.index import default_model

    classifier, finder = Classifier(default_model() or "model3"), FaceDetector()
    photos = [read_labelled_photo(x) for x in photos_of(args.source, args.data, args.split)]
    photos = [p for p in photos if _pasted_face(p) is not None][:: args.every]
    sizes = [int(v) for v in args.sizes.split(",")]
    totals: dict = {str(size): {"frames": 0, "one": 0, "boxes": 0, "neighbours": 0} for size in sizes}
    extras = []
    for photo in photos:
        for size in sizes:
            for background in ("grey", "own photo"):
                frame = pasted(photo, size, background)
                face = frame.objects[0][1]
                others = neighbours(photo, size, face)
                result = analyze(frame.image, classifier, finder, "scene")
                on = [
                    (f.box.x0, f.box.y0, f.box.x1, f.box.y1)
                    for f in result.faces
                    if _on_face(face, [(f.box.x0, f.box.y0, f.box.x1, f.box.y1)])
                ]
                faces = [b for b in on if not any(inside(b, o) > 0.5 or inside(o, b) > 0.5 for o in others)]
                row = totals[str(size)]
                row["frames"] += 1
                row["one"] += len(faces) == 1
                row["boxes"] += len(faces)
                row["neighbours"] += len(on) - len(faces)
                whole = max(faces, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), default=None)
                for b in faces:
                    if b is whole:
                        continue
                    side, big = min(b[2] - b[0], b[3] - b[1]), min(whole[2] - whole[0], whole[3] - whole[1])
                    grown = (whole[0] - 0.1 * big, whole[1] - 0.1 * big, whole[2] + 0.1 * big, whole[3] + 0.1 * big)
                    extras.append(
                        {
                            "photo": photo.filename,
                            "size": size,
                            "background": background,
                            "face_over_box": round(big / max(1, side), 2),
                            "inside_face": round(inside(b, whole), 2),
                            "inside_face_grown": round(inside(b, grown), 2),
                        }
                    )
                    print(f"{photo.filename} {size:>5} {background:9} extra box: {extras[-1]}", flush=True)
    print(f"{len(photos)} photos of the {args.split} split, each pasted on grey and on its own photo")
    for size, row in totals.items():
        row["boxes_per_face"] = round(row["boxes"] / row["frames"], 2) if row["frames"] else None
        print(
            f"{size:>5} px: one box on the face {row['one']}/{row['frames']}, boxes per face {row['boxes_per_face']}"
            f" (and {row['neighbours']} on labelled neighbours in the crop)"
        )
    if args.out:
        write_json_atomic({"split": args.split, "every": args.every, "totals": totals, "extras": extras}, args.out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "fmd853")
    parser.add_argument("--data", type=Path, default=ROOT / "demo" / "fmd853-lr")
    parser.add_argument("--split", default="train", choices=("train", "val", "test"))
    parser.add_argument("--before", help="also the merge of this commit, on the same frames")
    parser.add_argument("--every", type=int, default=1, help="only every this many-th portrait")
    parser.add_argument("--pasted", action="store_true", help="the pasted view's boxes per face, at each size")
    parser.add_argument("--sizes", default=",".join(str(s) for s in PASTED_SIZES if s >= 16), help="with --pasted")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.pasted:
        pasted_main(args)
        return
    merges = {"today": detect.merge} | ({f"before {args.before}": earlier_merge(args.before)} if args.before else {})
    drop_pieces = detect.drop_unseen_pieces  # today's step after the merge; an earlier merge goes without it
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
                detect.drop_unseen_pieces = drop_pieces if name == "today" else lambda faces, looks: faces
                boxes = [(b.x0, b.y0, b.x1, b.y1) for b in finder.detect(image)]
                on_face = _on_face(face, boxes)
                row = totals.setdefault(f"{name} | {size}", {"portraits": 0, "one_on_face": 0, "on_face": 0, "all": 0})
                row["portraits"] += 1
                row["one_on_face"] += on_face == 1
                row["on_face"] += on_face
                row["all"] += len(boxes)
                if on_face != 1:
                    print(f"{name:>16} {size:>5} {photo.filename}: {on_face} boxes on its face, {len(boxes)} in all")
    detect.merge, detect.drop_unseen_pieces = merges["today"], drop_pieces
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
