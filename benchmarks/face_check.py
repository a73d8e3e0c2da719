"""The face check, measured: its threshold chosen on held-out detector boxes, what it takes away from whole
photos and no-face pictures (before and after from one run: "before" is every box the detector gave, "after"
the boxes the check kept), and what it costs per face beside the mask classifier.

    python benchmarks/face_check.py choose --data data/facecheck [--check runs/facecheck/epoch006.pt]
    python benchmarks/face_check.py photos --source ../shared/data/fmd853 --data demo/fmd853-lr --split val
    python benchmarks/face_check.py noface --folder ../scratch/noface --split val
    python benchmarks/face_check.py cost --data data/facecheck

choose: the crops of a `lrfp data facecheck` split (val: the detector's held-out train photos); for each
threshold, the share of the detector's boxes on labelled faces kept and of its other boxes rejected; the
threshold is the highest rejection that keeps KEEP_FACES of the faces. Records go to results/facecheck/.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from lrfp.core.metrics import wilson_interval
from lrfp.core.records import cpu_name, file_sha256, read_json, write_json_atomic
from lrfp.data.voc import match, photos_of, read_labelled_photo
from lrfp.evaluation.scene_bench import PHONE_SIDE, view_frames
from lrfp.pipeline import inference
from lrfp.pipeline.detect import FINE_TUNED_GRAPH, FaceDetector
from lrfp.pipeline.inference import Classifier

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "facecheck"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995)
KEEP_FACES = 0.995  # the share of the detector's boxes on labelled faces the threshold must keep
MODEL = "prod-mobilenet_v2"


def rate(k: int, n: int) -> dict:
    return {"share": k / n if n else None, "count": k, "of": n, "interval": list(wilson_interval(k, n)) if n else None}


def not_face_probabilities(check: Classifier, images: list[Image.Image]) -> list[float]:
    column = check.classes.index(inference.NOT_FACE_CLASS)
    out: list[float] = []
    for start in range(0, len(images), 256):
        out += check.probabilities(images[start : start + 256])[:, column].tolist()
    return out


def choose(args) -> dict:
    check = Classifier(args.check, unsure=False, check_faces=False)
    entries = read_json(args.data / "manifest.json")["splits"][args.split]
    judged = [e for e in entries if e["face_px"] >= inference.MIN_FACE_PX]
    p = not_face_probabilities(check, [Image.open(args.data / e["path"]).convert("RGB") for e in judged])
    groups: dict[str, list[float]] = {}
    for e, p_not in zip(judged, p):
        groups.setdefault(f"{e['label']}/{e['kind']}", []).append(p_not)
    faces = [v for k, ps in groups.items() if k.startswith("face/box-") for v in ps]
    table = {}
    for t in THRESHOLDS:
        row = {"faces kept": rate(sum(v < t for v in faces), len(faces))}
        row |= {k: rate(sum(v >= t for v in ps), len(ps)) for k, ps in sorted(groups.items()) if k[0] == "n"}
        table[str(t)] = row
        print(f"{t:>6}: " + ", ".join(f"{k} {r['count']}/{r['of']}" for k, r in row.items()))
    fit = [t for t in THRESHOLDS if table[str(t)]["faces kept"]["share"] >= KEEP_FACES]
    chosen = min(fit) if fit else None
    print(f"chosen: {chosen} (the lowest threshold keeping {KEEP_FACES:.1%} of the detector's face boxes)")
    return {"check": str(args.check), "split": args.split, "keep_faces": KEEP_FACES, "chosen": chosen, "table": table}


def detected(frames, detector: FaceDetector, cache: Path) -> list[list]:
    """The detector's boxes in each frame, found once and kept in `cache` (the check is then run on them);
    found again when the cache holds another detector's boxes."""
    # the fine-tuned detector keeps its name when retrained: its graph's digest tells one from another
    described = detector.describe() | {"graph_sha256": file_sha256(FINE_TUNED_GRAPH)}
    if cache.is_file():
        cached = read_json(cache)
        if json.dumps(cached["detector"], sort_keys=True) == json.dumps(described, sort_keys=True):
            return cached["boxes"]
    boxes = [[[b.x0, b.y0, b.x1, b.y1] for b in detector.detect(frame)] for frame in frames]
    write_json_atomic({"detector": described, "boxes": boxes}, cache)
    return boxes


class Judge:
    """A face check (the shipped one, or a checkpoint) at a threshold, as lrfp.pipeline.scene.analyze runs it:
    boxes too small to judge are kept."""

    def __init__(self, check: str | None, threshold: float):
        path = check or str(ROOT / "weights" / inference.FACE_CHECKPOINT)
        self.check, self.threshold = Classifier(path, unsure=False, check_faces=False), threshold

    def kept(self, image: Image.Image, boxes: list) -> list:
        crops = [image.crop(tuple(b)) for b in boxes]
        judged = [i for i, c in enumerate(crops) if min(c.size) >= inference.MIN_FACE_PX]
        p = dict(zip(judged, not_face_probabilities(self.check, [crops[i] for i in judged]))) if judged else {}
        return [b for i, b in enumerate(boxes) if p.get(i, 0.0) < self.threshold]


def photos(args) -> dict:
    judge = Judge(args.check, args.threshold)
    classes = Classifier(MODEL).classes
    xml_files = photos_of(args.source, args.data, args.split)
    report = {}
    for view in args.views:
        frames = lambda: view_frames((read_labelled_photo(x) for x in xml_files), view)  # noqa: E731
        cache = OUT / "boxes" / f"photos-{args.split}-{view}.json"
        all_boxes = detected((f.image for f in frames()), FaceDetector(), cache)
        c: Counter[str] = Counter()
        for frame, before in zip(frames(), all_boxes):
            after = judge.kept(frame.image, before)
            scored = [i for i, (label, _, _) in enumerate(frame.objects) if label in classes]
            labelled = [box for _, box, _ in frame.objects]
            c["photos"] += frame.photos
            c["labelled"] += len(scored)
            c["rejected"] += len(before) - len(after)
            for name, boxes in (("before", before), ("after", after)):
                pairing = match(labelled, boxes)
                c[f"found {name}"] += sum(i in pairing for i in scored)
                c[f"unmatched {name}"] += len(boxes) - len(pairing)
        n = c["photos"]
        report[view] = dict(c) | {
            "found_before": c["found before"] / c["labelled"],
            "found_after": c["found after"] / c["labelled"],
            "unmatched_per_photo_before": c["unmatched before"] / n,
            "unmatched_per_photo_after": c["unmatched after"] / n,
        }
        print(
            f"{view}: {n} photos, {c['labelled']} faces: found {report[view]['found_before']:.1%} -> "
            f"{report[view]['found_after']:.1%}; unmatched per photo {report[view]['unmatched_per_photo_before']:.2f} "
            f"-> {report[view]['unmatched_per_photo_after']:.2f}; {c['rejected']} boxes rejected"
        )
    return {"source": str(args.source), "split": args.split, "model": MODEL, "views": report} | judged(args)


def noface_pictures(folder: Path, split: str, size: str):
    """(kind, picture) of a no-face set's split, at its own size or resized to PHONE_SIDE."""
    with open(folder / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    for row in rows:
        image = Image.open(folder / row["path"]).convert("RGB")
        if size != "own":
            k = PHONE_SIDE / max(image.size)
            image = image.resize((round(image.width * k), round(image.height * k)), Image.Resampling.BICUBIC)
        yield row["kind"], image


def judged(args) -> dict:
    return {"check": args.check or "shipped", "threshold": args.threshold}


def noface(args) -> dict:
    judge = Judge(args.check, args.threshold)
    report = {}
    for size in ("own", "4032"):
        cache = OUT / "boxes" / f"noface-{args.split}-{size}.json"
        pictures = lambda: noface_pictures(args.folder, args.split, size)  # noqa: E731
        all_boxes = detected((image for _, image in pictures()), FaceDetector(), cache)
        c: Counter[str] = Counter()
        by_kind: dict[str, Counter] = {}
        for (kind, image), before in zip(pictures(), all_boxes):
            after = judge.kept(image, before)
            for counter in (c, by_kind.setdefault(kind, Counter())):
                counter["pictures"] += 1
                counter["before"] += len(before)
                counter["after"] += len(after)
        report[size] = {
            "pictures": c["pictures"],
            "boxes_before": c["before"],
            "boxes_after": c["after"],
            "boxes_per_100_before": 100 * c["before"] / c["pictures"],
            "boxes_per_100_after": 100 * c["after"] / c["pictures"],
            "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        }
        print(f"{size}: {c['pictures']} pictures, boxes {c['before']} -> {c['after']}")
    return {"folder": str(args.folder), "split": args.split, "sizes": report} | judged(args)


def probabilities(check: Classifier, image: Image.Image, boxes: list) -> list:
    """The check's not-face probability of each box; 0.0 for boxes too small to judge (always kept)."""
    crops = [image.crop(tuple(b)) for b in boxes]
    judged = [i for i, c in enumerate(crops) if min(c.size) >= inference.MIN_FACE_PX]
    p = dict(zip(judged, not_face_probabilities(check, [crops[i] for i in judged]))) if judged else {}
    return [p.get(i, 0.0) for i in range(len(boxes))]


def sweep(args) -> dict:
    """One check at every threshold, on validation only: the held-out photos (found, unmatched a photo) and
    the no-face set's val pictures (boxes per 100), from the detector's boxes kept by `photos` and `noface`."""
    check = Classifier(args.check, unsure=False, check_faces=False)
    classes = Classifier(MODEL).classes
    xml_files = photos_of(args.source, args.data, "val")
    seen: dict[str, list] = {}
    for view in ("1x", "phone"):
        frames = lambda: view_frames((read_labelled_photo(x) for x in xml_files), view)  # noqa: E731
        all_boxes = detected((f.image for f in frames()), FaceDetector(), OUT / "boxes" / f"photos-val-{view}.json")
        for frame, boxes in zip(frames(), all_boxes):
            scored = [i for i, (label, _, _) in enumerate(frame.objects) if label in classes]
            labelled = [box for _, box, _ in frame.objects]
            seen.setdefault(view, []).append((labelled, scored, boxes, probabilities(check, frame.image, boxes)))
    for size in ("own", "4032"):
        pictures = lambda: noface_pictures(args.folder, "val", size)  # noqa: E731
        all_boxes = detected((im for _, im in pictures()), FaceDetector(), OUT / "boxes" / f"noface-val-{size}.json")
        for (kind, image), boxes in zip(pictures(), all_boxes):
            seen.setdefault(f"noface-{size}", []).append((kind, probabilities(check, image, boxes)))
    table = {}
    for t in (*THRESHOLDS, 1.01):
        row: dict = {}
        for view in ("1x", "phone"):
            c: Counter[str] = Counter()
            for labelled, scored, boxes, p in seen[view]:
                kept = [b for b, q in zip(boxes, p) if q < t]
                pairing = match(labelled, kept)
                c["faces"] += len(scored)
                c["found"] += sum(i in pairing for i in scored)
                c["unmatched"] += len(kept) - len(pairing)
            row[view] = {"found": c["found"] / c["faces"], "unmatched_per_photo": c["unmatched"] / len(seen[view])}
        for size in ("own", "4032"):
            by_kind: Counter[str] = Counter()
            for kind, p in seen[f"noface-{size}"]:
                by_kind[kind] += sum(q < t for q in p)
            pictures = len(seen[f"noface-{size}"])
            row[f"noface-{size}"] = {"boxes_per_100": 100 * sum(by_kind.values()) / pictures, "by_kind": by_kind}
        table[str(t)] = row
        print(
            f"{t:>6}: 1x found {row['1x']['found']:.1%} unmatched {row['1x']['unmatched_per_photo']:.2f}; "
            f"phone {row['phone']['found']:.1%} {row['phone']['unmatched_per_photo']:.2f}; no-face per 100 "
            f"own {row['noface-own']['boxes_per_100']:.1f}, 4032 {row['noface-4032']['boxes_per_100']:.1f}"
        )
    return {"check": str(args.check), "split": "val", "table": table}


def cost(args) -> dict:
    """Milliseconds per face of the check and of the mask classifier (with its visibility check), side by side
    in one run, on the detector's face boxes of a split, in batches as a scene gives them."""
    classifier = Classifier(MODEL)
    entries = [e for e in read_json(args.data / "manifest.json")["splits"][args.split] if e["label"] == "face"]
    crops = [Image.open(args.data / e["path"]).convert("RGB") for e in entries if e["kind"].startswith("box-")][:400]
    times: dict[str, list[float]] = {"check": [], "classifier": []}
    for _ in range(args.repeats):
        for name, run in (("check", classifier.not_faces), ("classifier", classifier.predict)):
            for start in range(0, len(crops), args.batch):
                batch = crops[start : start + args.batch]
                t0 = time.perf_counter()
                run(batch)
                times[name].append((time.perf_counter() - t0) * 1000 / len(batch))
    ms = {k: statistics.median(v) for k, v in times.items()}
    print(f"ms per face (median, batches of {args.batch}): check {ms['check']:.3f}, classifier {ms['classifier']:.3f}")
    return {"ms_per_face_median": ms, "batch": args.batch, "faces": len(crops), "backend": classifier.backend}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("choose")
    c.add_argument("--data", type=Path, default=ROOT / "data" / "facecheck")
    c.add_argument("--split", default="val")
    c.add_argument("--check", default=str(ROOT / "weights" / inference.FACE_CHECKPOINT))
    p = sub.add_parser("photos")
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--views", nargs="+", default=["1x", "phone"])
    n = sub.add_parser("noface")
    n.add_argument("--folder", type=Path, required=True)
    n.add_argument("--split", default="val")
    for judging in (p, n):
        judging.add_argument("--check", help="a face check checkpoint (default: the shipped one)")
        judging.add_argument("--threshold", type=float, default=inference.NOT_FACE_AT, help="its NOT_FACE_AT")
        judging.add_argument("--tag", default="", help="added to the record's name")
    w = sub.add_parser("sweep")
    w.add_argument("--source", type=Path, required=True)
    w.add_argument("--data", type=Path, required=True)
    w.add_argument("--folder", type=Path, required=True)
    w.add_argument("--check", required=True)
    w.add_argument("--tag", default="", help="added to the record's name")
    k = sub.add_parser("cost")
    k.add_argument("--data", type=Path, default=ROOT / "data" / "facecheck")
    k.add_argument("--split", default="val")
    k.add_argument("--batch", type=int, default=16)
    k.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    result = {"choose": choose, "photos": photos, "noface": noface, "sweep": sweep, "cost": cost}[args.what](args)
    result |= {"command": "python benchmarks/face_check.py " + " ".join(sys.argv[1:]), "cpu": cpu_name()}
    name = args.what if args.what != "photos" else f"photos-{args.split}"
    name = name if args.what != "noface" else f"noface-{args.split}"
    name += getattr(args, "tag", "")
    write_json_atomic(result, OUT / f"{name}.json")


if __name__ == "__main__":
    main()
