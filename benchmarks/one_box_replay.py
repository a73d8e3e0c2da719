"""One box per face, merges replayed: each frame of a view is searched once as FaceDetector.search searches it
(the pyramid's looks, on the frame reduced to its detail where lrfp.pipeline.detail says so), and every look's
boxes are kept in a cache with the face check's verdict and the classifier's label on each; then the merge of
an earlier commit and today's are replayed on the very same boxes and scored as `lrfp scene-bench` scores
them (found, found and right, boxes matching no labelled face, boxes on the pasted face at each size).

    python benchmarks/one_box_replay.py search --split val --view pasted --sizes 1024,2048,3000 --cache C.pkl
    python benchmarks/one_box_replay.py score C.pkl [C2.pkl ...] --before df2f13f [--out R.json] [--sheets DIR]

`score` prints, per merge and cache: faces found, found and right, unmatched boxes, the labelled faces the
earlier merge found and this one lost, and in the pasted view the boxes on the face at each size (a box on a
labelled neighbour that the pasted crop holds counted apart, as benchmarks/one_box.py does). --sheets: contact
sheets of the boxes today's merge keeps that are a second box on the pasted face, or match no labelled face
while lying on or beside one (mostly inside it grown by half its size), each cut out with the labelled box in
green, the box matched to it in blue and the box in question in red, to be looked at. Frames with more than
MAX_FACES boxes (the Classify path analyses the strongest) are replayed whole.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from lrfp.core.records import write_json_atomic
from lrfp.data.voc import match, photos_of, read_labelled_photo
from lrfp.evaluation import scene_bench
from lrfp.pipeline import boxes as today_boxes
from lrfp.pipeline.boxes import FaceBox, inside
from lrfp.pipeline.detail import ENLARGED_FROM, SEARCHED_AT, enlargement
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import NOT_FACE_AT, Classifier
from lrfp.pipeline.looks import Search, budget_mp
from lrfp.pipeline.scene import _crop
from lrfp.publishing.index import default_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection_views import module_at  # noqa: E402
from one_box import neighbours  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
Corners = tuple[int, int, int, int]


def searched(finder: FaceDetector, image: Image.Image) -> tuple[int, list]:
    """(k, looks) as FaceDetector.search gets them: the frame reduced k times where it is enlarged beyond its
    detail (FaceDetector._at_detail), each look as (scale, band, whole, [(x0, y0, x1, y1, score)]) in the
    searched image's pixels."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    k, enlarged = 1, enlargement(rgb) if finder.at_detail else 1
    if enlarged >= ENLARGED_FROM:
        k = enlarged // SEARCHED_AT
        rgb = rgb.reduce(k)
    if min(rgb.size) < 8:
        return k, []
    looks = finder._pyramid(Search(rgb, budget_mp(*rgb.size)))
    return k, [
        (look.scale, look.band, look.whole, [(b.x0, b.y0, b.x1, b.y1, b.score) for b in look.boxes]) for look in looks
    ]


def mapped(box, k: int, size: tuple[int, int]) -> Corners:
    """A searched box in the frame's pixels (FaceDetector._at_detail)."""
    x0, y0, x1, y1 = box[:4]
    return (x0, y0, x1, y1) if k == 1 else (x0 * k, y0 * k, min(size[0], x1 * k), min(size[1], y1 * k))


def search_main(args) -> None:
    classifier, finder = Classifier(default_model() or "model3"), FaceDetector()
    if args.sizes:
        scene_bench.PASTED_SIZES = tuple(int(v) for v in args.sizes.split(","))
    xmls = photos_of(args.source, args.data, args.split)[args.first :: args.every]
    group = int(args.view.split("-", 1)[1].split("x")[0]) ** 2 if args.view.startswith("tiled-") else 1
    frames = []
    for start in range(0, len(xmls), group):  # a tiled view's frame holds `group` photos, named by its first
        batch = [read_labelled_photo(x) for x in xmls[start : start + group]]
        photo = batch[0]
        for frame, background in frames_of(batch, args.view):
            k, looks = searched(finder, frame.image)
            raw = {mapped(b, k, frame.image.size) for *_, found in looks for b in found}
            raw = sorted(b for b in raw if min(b[2] - b[0], b[3] - b[1]) >= finder.min_size)
            crops = [_crop(frame.image, FaceBox(*b, 1.0)) for b in raw]
            verdicts = {}
            for first in range(0, len(crops), 64):
                some, corners = crops[first : first + 64], raw[first : first + 64]
                not_face = classifier.not_face_probabilities(some)
                for b, p, label in zip(corners, not_face, classifier.predict(some)):
                    verdicts[b] = (p is not None and p >= NOT_FACE_AT, label.label, p)
            labelled = [box for _, box, _ in frame.objects]
            size = round(min(labelled[0][2] - labelled[0][0], labelled[0][3] - labelled[0][1])) if labelled else 0
            frames.append(
                {
                    "photo": photo.filename,
                    "view": args.view,
                    "size": size if args.view == "pasted" else None,
                    "background": background,
                    "frame_size": frame.image.size,
                    "objects": [(label, tuple(box)) for label, box, _ in frame.objects],
                    "neighbours": neighbours(photo, size, labelled[0]) if args.view == "pasted" else [],
                    "k": k,
                    "looks": looks,
                    "verdicts": verdicts,
                    "photos": frame.photos,
                }
            )
            print(f"{photo.filename} {frames[-1]['size']} k={k} {len(raw)} boxes", flush=True)
            if len(frames) % 10 == 0:
                _save(args, classifier, frames)
    _save(args, classifier, frames)


def _save(args, classifier, frames: list[dict]) -> None:
    with open(args.cache, "wb") as f:
        pickle.dump({"split": args.split, "view": args.view, "classes": list(classifier.classes), "frames": frames}, f)


def frames_of(photos: list, view: str):
    """(frame, background) of photos in a view (one photo, or a tiled view's group), in scene_bench.view_frames'
    order (background: the pasted view's, else None)."""
    photo = photos[0]
    if view != "pasted":
        yield from ((frame, None) for frame in scene_bench.view_frames(photos, view))
    elif scene_bench._pasted_face(photo) is not None:
        for size in scene_bench.PASTED_SIZES:
            for background in ("grey", "own photo"):
                yield scene_bench.pasted(photo, size, background), background


def merge_of(module):
    """The merge of a boxes module (today's or an earlier commit's): looks -> kept (x0, y0, x1, y1, score)."""

    def merged(looks) -> list[tuple]:
        kept = [
            module.LookBoxes(s, band, whole, [module.FaceBox(*b) for b in found]) for s, band, whole, found in looks
        ]
        faces = module.merge([b for look in kept for b in look.boxes])
        if hasattr(module, "drop_unseen_pieces"):
            faces = module.drop_unseen_pieces(faces, kept)
        return [(b.x0, b.y0, b.x1, b.y1, b.score) for b in faces]

    return merged


def replay(frame: dict, merge) -> tuple[list[Corners], list[tuple]]:
    """The boxes the Classify path keeps (corners, in frame px, left to right) and their verdicts."""
    kept = [mapped(b, frame["k"], frame["frame_size"]) for b in merge(frame["looks"])]
    kept = sorted((b for b in kept if min(b[2] - b[0], b[3] - b[1]) >= 4), key=lambda b: (b[0], b[1]))
    faces = [b for b in kept if not frame["verdicts"][b][0]]
    return faces, [frame["verdicts"][b] for b in faces]


def score(frames: list[dict], classes: list[str], merge, first: dict | None) -> tuple[dict, dict, list, dict]:
    """Totals, the pasted face's boxes by size, and the boxes in question (for the sheets) of one merge;
    `first`: frame index -> the labelled faces the earlier merge found."""
    row = {"frames": 0, "labelled": 0, "found": 0, "right": 0, "unmatched": 0, "lost": 0, "photos": 0, "close": 0}
    on_face: dict = {}
    questioned = []
    found_now = {}
    for n, frame in enumerate(frames):
        faces, verdicts = replay(frame, merge)
        labelled = [box for _, box in frame["objects"]]
        pairing = match(labelled, faces)
        found_now[n] = set(pairing)
        row["frames"] += 1
        row["photos"] += frame["photos"]
        row["unmatched"] += len(faces) - len(pairing)
        row["lost"] += len((first or {}).get(n, set()) - set(pairing))
        for i, (label, _) in enumerate(frame["objects"]):
            if label in classes:
                row["labelled"] += 1
                row["found"] += i in pairing
                row["right"] += i in pairing and verdicts[pairing[i]][1] == label
        paired = {j: i for i, j in pairing.items()}
        if frame["view"] == "pasted":
            others = frame["neighbours"]
            on_others = [c for c in faces if any(inside(c, o) > 0.5 or inside(o, c) > 0.5 for o in others)]
            mine = [c for c in faces if c not in on_others]
            counts = on_face.setdefault(
                str(frame["size"]), {"frames": 0, "boxes": 0, "more": 0, "on_neighbours": 0, "all": 0}
            )
            counts["frames"] += 1
            got = scene_bench._on_face(labelled[0], mine)
            counts["boxes"] += got
            counts["more"] += got > 1
            counts["on_neighbours"] += len(on_others)
            counts["all"] += scene_bench._on_face(labelled[0], faces)  # as scene-bench counts: neighbours too
            if got > 1:
                questioned += [
                    (n, c, "second box on the face", labelled[0])
                    for c in mine
                    if scene_bench._on_face(labelled[0], [c]) and paired.get(faces.index(c)) != 0
                ]
        for j, c in enumerate(faces):
            if j in paired or frame["view"] == "pasted":
                continue
            beside = [i for i, b in enumerate(labelled) if inside(c, _grown(b, 0.5)) > 0.5 or inside(b, c) > 0.5]
            if beside:
                questioned.append((n, c, f"unmatched, on or beside labelled face {beside[0]}", labelled[beside[0]]))
        asked = {q[1] for q in questioned if q[0] == n}
        for c in faces:  # two kept boxes on one spot, labelled or not (a double, or two neighbours of a crowd)
            near = [o for o in faces if o != c and _side(o) >= _side(c) and inside(c, _grown(o, 0.25)) > 0.5]
            if near:
                row["close"] += 1
                if c not in asked:
                    questioned.append((n, c, "beside a bigger kept box", near[0]))
    return row, on_face, questioned, found_now


def _side(b) -> float:
    return min(b[2] - b[0], b[3] - b[1])


def _grown(b, margin: float) -> tuple:
    m = margin * min(b[2] - b[0], b[3] - b[1])
    return (b[0] - m, b[1] - m, b[2] + m, b[3] + m)


def score_main(args) -> None:
    merges = {}
    if args.before:
        merges[f"before {args.before}"] = merge_of(module_at(args.before, "lrfp/pipeline/boxes.py"))
    merges["today"] = merge_of(today_boxes)
    record: dict = {"before": args.before, "caches": {}}
    for path in args.caches:
        with open(path, "rb") as f:
            cache = pickle.load(f)
        frames, first = cache["frames"], None
        print(f"{path}: {cache['split']} split, view {cache['view']}, {len(frames)} frames")
        record["caches"][str(path)] = {"split": cache["split"], "view": cache["view"], "merges": {}}
        for name, merge in merges.items():
            row, on_face, questioned, found_now = score(frames, cache["classes"], merge, first)
            first = first or found_now
            per = {s: f"{c['boxes']}/{c['frames']} ({c['more']} more; all {c['all']})" for s, c in on_face.items()}
            print(
                f"  {name}: found {row['found']} of {row['labelled']}, right {row['right']}, unmatched"
                f" {row['unmatched']} ({row['unmatched'] / max(1, row['photos']):.2f} a photo), lost {row['lost']}, close pairs {row['close']}"
                + (
                    f"; boxes on the face {per}, on labelled neighbours "
                    f"{sum(c['on_neighbours'] for c in on_face.values())}"
                    if on_face
                    else ""
                )
            )
            record["caches"][str(path)]["merges"][name] = {"totals": row, "boxes_on_face": on_face}
            if name == "today" and args.sheets:
                sheets(frames, questioned, args, Path(args.sheets) / Path(path).stem)
    if args.out:
        write_json_atomic(record, args.out)


def sheets(frames: list[dict], questioned: list, args, out: Path) -> None:
    """Contact sheets of the boxes in question, 12 to a sheet, each cut out around the box and the box it is
    questioned beside (a labelled face, or a bigger kept box), with a caption; and boxes.tsv, a line per box."""
    out.mkdir(parents=True, exist_ok=True)
    tiles, lines = [], []
    by_frame: dict = {}
    for n, box, why, ref in questioned:
        by_frame.setdefault(n, []).append((box, why, ref))
    for n, items in sorted(by_frame.items()):
        frame = frames[n]
        if frame["view"].startswith("tiled-"):
            continue
        photo = read_labelled_photo(Path(args.source) / "annotations" / (Path(frame["photo"]).stem + ".xml"))
        image = _frame_image(photo, frame)
        labelled = [b for _, b in frame["objects"]]
        faces, _ = replay(frame, merge_of(today_boxes))
        pairing = match(labelled, faces)
        raw = [(s, b) for s, _, _, found in frame["looks"] for b in found]
        for box, why, ref in items:
            looks = sorted({s for s, b in raw if mapped(b, frame["k"], frame["frame_size"]) == box})
            score = max((b[4] for s, b in raw if mapped(b, frame["k"], frame["frame_size"]) == box), default=0.0)
            x0, y0 = min(box[0], ref[0]), min(box[1], ref[1])
            x1, y1 = max(box[2], ref[2]), max(box[3], ref[3])
            pad = 0.15 * max(x1 - x0, y1 - y0)
            region = (max(0, x0 - pad), max(0, y0 - pad), min(image.width, x1 + pad), min(image.height, y1 + pad))
            tile = image.crop(tuple(round(v) for v in region)).convert("RGB")
            draw = ImageDraw.Draw(tile)
            width = max(2, round(max(tile.size) / 150))

            def rect(b, colour):
                corners = [b[0] - region[0], b[1] - region[1], b[2] - region[0], b[3] - region[1]]
                draw.rectangle(corners, outline=colour, width=width)

            for i, b in enumerate(labelled):
                rect(b, (0, 220, 0))
                if i in pairing:
                    rect(faces[pairing[i]], (40, 90, 255))
            rect(box, (255, 0, 0))
            fit = 300 / max(tile.size)  # small boxes shown bigger, big ones smaller
            tile = tile.resize((max(1, round(tile.width * fit)), max(1, round(tile.height * fit))))
            caption = (
                f"#{len(tiles)} {Path(frame['photo']).stem[12:]} {frame['size'] or frame['view']}"
                f"{' own' if frame['background'] == 'own photo' else ''} k{frame['k']} look {looks} s{score:.2f}"
                f" side {_side(box)} ref {_side(ref):.0f} in {inside(box, ref):.2f}"
            )
            tiles.append((tile, caption))
            lines.append(
                f"{len(tiles) - 1}\t{frame['photo']}\t{frame['view']}\t{frame['size']}\t{box}\t{why}\t{caption}"
            )
    for s in range(0, len(tiles), 12):
        sheet = Image.new("RGB", (4 * 310, 3 * 340), (255, 255, 255))
        draw = ImageDraw.Draw(sheet)
        for i, (tile, caption) in enumerate(tiles[s : s + 12]):
            x, y = (i % 4) * 310, (i // 4) * 340
            sheet.paste(tile, (x + 5, y + 5))
            draw.text((x + 5, y + 308), caption[:50], fill=(0, 0, 0))
            draw.text((x + 5, y + 321), caption[50:100], fill=(0, 0, 0))
        sheet.save(out / f"sheet{s // 12:02d}.png")
    (out / "boxes.tsv").write_text("".join(line + "\n" for line in lines))
    print(f"  {len(tiles)} boxes in question: {out}")


def _frame_image(photo, frame: dict) -> Image.Image:
    if frame["view"] == "pasted":
        return scene_bench.pasted(photo, frame["size"], frame["background"]).image
    return next(scene_bench.view_frames([photo], frame["view"])).image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="search each frame of a view once, into a cache")
    search.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "fmd853")
    search.add_argument("--data", type=Path, default=ROOT / "demo" / "fmd853-lr")
    search.add_argument("--split", default="val", choices=("train", "val", "test"))
    search.add_argument("--view", default="pasted")
    search.add_argument("--sizes", help="the pasted view's sizes (default: all of scene_bench.PASTED_SIZES)")
    search.add_argument("--every", type=int, default=1, help="only every this many-th photo")
    search.add_argument("--first", type=int, default=0, help="with --every: the index of the first photo taken")
    search.add_argument("--cache", type=Path, required=True)
    replayed = commands.add_parser("score", help="replay the merges on cached looks and score them")
    replayed.add_argument("caches", type=Path, nargs="+")
    replayed.add_argument("--before", help="also the merge of this commit")
    replayed.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "fmd853")
    replayed.add_argument("--sheets", type=Path, help="contact sheets of the boxes in question, into this folder")
    replayed.add_argument("--out", type=Path)
    args = parser.parse_args()
    search_main(args) if args.command == "search" else score_main(args)


if __name__ == "__main__":
    main()
