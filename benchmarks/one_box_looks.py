"""One box per face, merge against merge on the very same detector boxes: each frame of a view is searched
once, every look's boxes kept (FaceDetector's pyramid), then merged by an earlier commit's merge and by
today's (merge, then drop_unseen_pieces) at each PIECE_MARGIN and SEEN_AT asked, and each merge's boxes go
through the face check and are matched to the labelled faces as `lrfp scene-bench` matches them.

    python benchmarks/one_box_looks.py --split val --view pasted --sizes 2048,3000 --before 897b3c2
    python benchmarks/one_box_looks.py --split train --view phone --near-big --margins 0.25,0.5 --seen 1.5,2

Prints, per merge: labelled faces found, found and labelled right, boxes matching no labelled face, the
labelled faces that the earlier merge found and this one lost, and in the pasted view the boxes on the face at
each size (a box on a labelled neighbour that the pasted crop holds counted apart, as benchmarks/one_box.py
does, and the neighbours' boxes lost). --near-big: only the photos holding a labelled face more than half
inside another at least twice its size grown by half of it on each side (a child before an adult: the faces
the piece rule could take for pieces).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrfp.core.records import write_json_atomic
from lrfp.data.voc import match, photos_of, read_labelled_photo
from lrfp.evaluation import scene_bench
from lrfp.pipeline import boxes
from lrfp.pipeline.boxes import FaceBox, inside
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import NOT_FACE_AT, Classifier
from lrfp.pipeline.looks import Search, budget_mp
from lrfp.pipeline.scene import _crop
from lrfp.publishing.index import default_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection_views import module_at  # noqa: E402
from one_box import neighbours  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def near_big(photo) -> bool:
    """Whether a labelled face lies more than half inside another twice its size or more, grown by half."""
    faces = [tuple(map(float, b)) for b in photo.boxes]
    for b in faces:
        for o in faces:
            side_b, side_o = min(b[2] - b[0], b[3] - b[1]), min(o[2] - o[0], o[3] - o[1])
            dx, dy = (o[2] - o[0]) / 2, (o[3] - o[1]) / 2
            if b is not o and side_o >= 2 * side_b and inside(b, (o[0] - dx, o[1] - dy, o[2] + dx, o[3] + dy)) > 0.5:
                return True
    return False


def merges(before: str | None, margins: list[float], seen: list[float]) -> dict:
    """name -> function(looks) -> kept boxes."""
    out = {}
    if before:
        earlier = module_at(before, "lrfp/pipeline/boxes.py")

        def old(looks):
            found = [b for look in looks for b in look.boxes]
            by_corners = {(b.x0, b.y0, b.x1, b.y1, b.score): b for b in found}
            kept = earlier.merge([earlier.FaceBox(b.x0, b.y0, b.x1, b.y1, b.score) for b in found])
            return [by_corners[(b.x0, b.y0, b.x1, b.y1, b.score)] for b in kept]

        out[f"before {before}"] = old
    for margin in margins:
        for at in seen:

            def today(looks, margin=margin, at=at):
                boxes.PIECE_MARGIN, boxes.SEEN_AT = margin, at
                return boxes.drop_unseen_pieces(boxes.merge([b for look in looks for b in look.boxes]), looks)

            out[f"today, margin {margin:g}, seen at {at:g}"] = today
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "fmd853")
    parser.add_argument("--data", type=Path, default=ROOT / "demo" / "fmd853-lr")
    parser.add_argument("--split", default="val", choices=("train", "val", "test"))
    parser.add_argument("--view", default="pasted")
    parser.add_argument("--sizes", default="2048,3000", help="the pasted view's sizes")
    parser.add_argument("--every", type=int, default=1, help="only every this many-th photo")
    parser.add_argument("--near-big", action="store_true", help="only photos with a face beside one twice as big")
    parser.add_argument("--before", help="also the merge of this commit")
    parser.add_argument("--margins", default=str(boxes.PIECE_MARGIN))
    parser.add_argument("--seen", default=str(boxes.SEEN_AT))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    scene_bench.PASTED_SIZES = tuple(int(v) for v in args.sizes.split(","))
    chosen = merges(args.before, [float(v) for v in args.margins.split(",")], [float(v) for v in args.seen.split(",")])
    classifier, finder = Classifier(default_model() or "model3"), FaceDetector()
    photos = [read_labelled_photo(x) for x in photos_of(args.source, args.data, args.split)[:: args.every]]
    photos = [p for p in photos if not args.near_big or near_big(p)]
    totals = {name: {"labelled": 0, "found": 0, "right": 0, "unmatched": 0, "lost": 0} for name in chosen}
    on_face: dict = {name: {} for name in chosen}
    frames = 0
    for photo in photos:
        for frame in scene_bench.view_frames([photo], args.view):
            frames += 1
            looks = finder._pyramid(scene_bench_search(frame.image))
            labelled = [box for _, box, _ in frame.objects]
            verdicts: dict[FaceBox, tuple] = {}
            first = None
            for name, merge in chosen.items():
                kept = [b for b in merge(looks) if b.size >= finder.min_size]
                todo = [b for b in kept if b not in verdicts]
                crops = [_crop(frame.image, b) for b in todo]
                for b, p, label in zip(todo, classifier.not_face_probabilities(crops), classifier.predict(crops)):
                    verdicts[b] = (p is not None and p >= NOT_FACE_AT, label.label)
                faces = [b for b in kept if not verdicts[b][0]]
                corners = [(b.x0, b.y0, b.x1, b.y1) for b in faces]
                pairing = match(labelled, corners)
                first = pairing if first is None else first
                row = totals[name]
                row["unmatched"] += len(faces) - len(pairing)
                row["lost"] += sum(i not in pairing for i in first)
                for i, (label, _, _) in enumerate(frame.objects):
                    if label in classifier.classes:
                        row["labelled"] += 1
                        row["found"] += i in pairing
                        row["right"] += i in pairing and verdicts[faces[pairing[i]]][1] == label
                if args.view == "pasted":
                    size = round(min(labelled[0][2] - labelled[0][0], labelled[0][3] - labelled[0][1]))
                    others = neighbours(photo, size, labelled[0])
                    on_others = [c for c in corners if any(inside(c, o) > 0.5 or inside(o, c) > 0.5 for o in others)]
                    counts = on_face[name].setdefault(str(size), {"frames": 0, "boxes": 0, "on_neighbours": 0})
                    counts["frames"] += 1
                    counts["boxes"] += scene_bench._on_face(labelled[0], [c for c in corners if c not in on_others])
                    counts["on_neighbours"] += len(on_others)
        print(f"{frames} frames", flush=True)
    print(f"{len(photos)} photos of the {args.split} split, view {args.view}, {frames} frames")
    for name, row in totals.items():
        per = {s: round(c["boxes"] / c["frames"], 2) for s, c in on_face[name].items()}
        nbs = sum(c["on_neighbours"] for c in on_face[name].values())
        print(
            f"{name}: found {row['found']} of {row['labelled']}, right {row['right']}, unmatched {row['unmatched']}, "
            f"lost {row['lost']}" + (f"; boxes per face {per}, on labelled neighbours {nbs}" if per else "")
        )
    if args.out:
        record = {
            "split": args.split,
            "view": args.view,
            "photos": len(photos),
            "frames": frames,
            "near_big": args.near_big,
        }
        write_json_atomic(record | {"totals": totals, "boxes_on_face": on_face}, args.out)


def scene_bench_search(image) -> Search:
    """The Search that FaceDetector.search starts with (its budget), for the pyramid's looks alone."""
    return Search(image if image.mode == "RGB" else image.convert("RGB"), budget_mp(*image.size))


if __name__ == "__main__":
    main()
