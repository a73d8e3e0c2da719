"""The "can't tell" answer, measured: the visibility check's threshold chosen on the validation photos'
crops, then its answers on the test photos' crops and on faces and boxes of the test photos marked by hand.

    python benchmarks/unsure.py [--source ../shared/data/fmd853] [--occlusion data/occlusion]
    python benchmarks/unsure.py --labelled test [--before ../scratch/before38] [--views 1x phone ...]
    python benchmarks/unsure.py --labelled validation --choose [--check runs/RUN/last.pt] --occlusion DIR \
        [--views-cache DIR]

--labelled SPLIT (train, val, test; held-out: the train photos the detector holds out; validation: val and
held-out): how often the labelled (visible) faces of those photos are answered "can't tell", as face crops
through Classifier.predict (as `lrfp predict` uses it) cut at each of MARGINS (tight at the label box,
tighter, loose, moved), the tight crop at each of CROP_SIZES px and by the face's own size, and as faces
found by the pipeline in each of --views of scene-bench; and how many hidden crops of the --occlusion set's
split (and, on test, of the boxes marked by hand) are answered "can't tell". --before CHECKOUT measures
the same with that checkout's code and weights in a child process; the two are printed side by side and
written to labelled-SPLIT.json beside --out.

--choose: the threshold of a visibility check, chosen on validation photos (never test): see choose().

--occlusion: the data set of `lrfp data occlusion --source ... --data demo/fmd853-lr --out data/occlusion`
(visible and hidden crops of every labelled face, split by photo as the build). Compared with the other
way to say "can't tell", the mask classifier's own confidence: the share of hidden crops whose top
probability is under a threshold that costs as many visible faces. Writes results/unsure/unsure.json.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from PIL import Image

from lrfp.core.metrics import wilson_interval
from lrfp.core.records import cpu_name, read_json, write_json_atomic
from lrfp.data.voc import photos_of, read_labelled_photo
from lrfp.pipeline.inference import HIDDEN_AT, UNSURE, Classifier, visibility_check

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CHOICE_GRID = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))  # --choose's thresholds: 0.50 to 0.99
VISIBLE_GOAL = 0.01  # --choose: every visible row of the validation faces under this share answered "can't tell"
VISIBLE_COST = 0.03  # the share of visible faces the threshold may answer "can't tell" on the validation crops
# crops of each labelled face: (row, margin beyond each side as a share of the face (negative: tighter),
# whether it is also moved by SHIFTS); "loose 25 %" is a detector's margin and more
MARGINS = (
    ("tight", 0.0, False),
    ("tighter 10 %", -0.1, False),
    ("loose 10 %", 0.1, False),
    ("loose 25 %", 0.25, False),
    ("loose 50 %", 0.5, False),
    ("loose 10 %, moved", 0.1, True),
)
SHIFTS = ((0.15, 0.0), (-0.15, 0.0), (0.0, 0.15), (0.0, -0.15))  # a moved crop: 15 % of the face, in turn
CROP_SIZES = (8, 16, 32, 64, 128, 256, 512)  # the tight crop resized so that its shorter side has this many px
OWN_BANDS = ((8, 16), (16, 32), (32, 64), (64, 128), (128, 100_000))  # the tight crop by the face's own size
LABELLED_MIN_FACE = 8  # labelled faces under this many px give no crop (as in `lrfp data occlusion`)
VIEWS = ("1x", "enlarged-2", "enlarged-4", "tiled-3x3", "phone", "pasted")
# --choose's rows: the crops of the goal (tight, loose to half a face beyond each side, every size) and, with
# --views-cache, the faces the pipeline finds in each view; the others (tighter than the label box, moved) and
# the own-size bands (a few faces each) are shown, not chosen on
CHOSEN_ON = ("tight", "loose 10 %", "loose 25 %", "loose 50 %") + tuple(f"{n} px" for n in CROP_SIZES)


def crops_of(folder: Path, split: str) -> list[tuple[Image.Image, str, str]]:
    """(crop, visible|hidden, kind) of one split of the occlusion set."""
    manifest = read_json(folder / "manifest.json")
    return [(Image.open(folder / e["path"]).convert("RGB"), e["label"], e["kind"]) for e in manifest["splits"][split]]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rate(flags: list[bool]) -> dict:
    k, n = sum(flags), len(flags)
    return {"share": k / n if n else None, "count": k, "of": n, "interval": list(wilson_interval(k, n)) if n else None}


def pipeline_tradeoff(source: Path, data: Path, detector: str) -> dict:
    """On the held-out train photos, through the detector: for each threshold, the labelled faces found
    that would be answered "can't tell" (a loss: somebody could judge them) and the boxes matching no
    labelled face that would (mostly heads and hidden faces)."""
    from lrfp.data.voc import match
    from lrfp.experiments.detector import split_train_photos
    from lrfp.pipeline.detect import FaceDetector

    check, finder = visibility_check(), FaceDetector(detector)
    found, unmatched = [], []
    for xml in split_train_photos(source, data)[1]:
        photo = read_labelled_photo(xml)
        image = photo.image.convert("RGB")
        boxes = [(b.x0, b.y0, b.x1, b.y1) for b in finder.detect(image)]
        if not boxes:
            continue
        p = check.probabilities([image.crop(b) for b in boxes])[:, check.classes.index("hidden")].tolist()
        pairs = match(photo.boxes, boxes)
        found += [p[j] for j in pairs.values()]
        unmatched += [p[j] for j in range(len(boxes)) if j not in pairs.values()]
    return {
        f"{t:g}": {
            "labelled_found_unsure": rate([q >= t for q in found]),
            "unmatched_unsure": rate([q >= t for q in unmatched]),
        }
        for t in THRESHOLDS
    }


def labelled_photos(source: Path, data: Path, split: str) -> list[Path]:
    """The annotation files of a split's photos; `held-out`: the train photos the detector holds out (the
    check learns from them unless its set was built with --hold-out); `validation`: val and held-out."""
    if split in ("held-out", "validation"):
        from lrfp.experiments.detector import split_train_photos

        held = split_train_photos(source, data)[1]
        return held if split == "held-out" else photos_of(source, data, "val") + held
    return photos_of(source, data, split)


def cut(image: Image.Image, box, margin: float, shift: tuple[float, float] = (0.0, 0.0)) -> Image.Image:
    """The face in `box` with `margin` of its size beyond each side (negative: tighter), moved by `shift`
    of its size; the part outside the photo is black, as a box at the frame's edge would give."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    dx, dy = shift[0] * w, shift[1] * h
    return image.crop(
        (
            round(x0 - margin * w + dx),
            round(y0 - margin * h + dy),
            round(x1 + margin * w + dx),
            round(y1 + margin * h + dy),
        )
    )


def resized(crop: Image.Image, side: int) -> Image.Image:
    k = side / min(crop.size)
    return crop.resize((max(1, round(crop.width * k)), max(1, round(crop.height * k))), Image.BICUBIC)


def face_band(px: float) -> str:
    return next(f"own size {lo}-{hi} px" for lo, hi in OWN_BANDS if lo <= px < hi)


def crop_rows(source: Path, data: Path, split: str):
    """(row, crop) for every labelled face of the split's photos, a photo at a time: the face cut at each of
    MARGINS, the tight crop at each of CROP_SIZES, and the tight crop again under its own size band."""
    for xml in labelled_photos(source, data, split):
        photo = read_labelled_photo(xml)
        image = photo.image.convert("RGB")
        rows = []
        for i, box in enumerate(photo.boxes):
            px = min(box[2] - box[0], box[3] - box[1])
            if px < LABELLED_MIN_FACE:
                continue
            for name, margin, shift in MARGINS:
                rows.append((name, cut(image, box, margin, SHIFTS[i % len(SHIFTS)] if shift else (0.0, 0.0))))
            tight = cut(image, box, 0.0)
            rows += [(f"{n} px", resized(tight, n)) for n in CROP_SIZES]
            rows.append((face_band(px), tight))
        yield rows


def labelled_unsure(source: Path, data: Path, split: str, classifier: Classifier) -> dict:
    """The split's labelled faces answered "can't tell" as crops, per row of crop_rows."""
    flags: dict[str, list[bool]] = {name: [] for name in row_names()}
    for rows in crop_rows(source, data, split):
        answers = classifier.predict([crop for _, crop in rows])
        for (name, _), answer in zip(rows, answers):
            flags.setdefault(name, []).append(answer.label == UNSURE)
    return {name: rate(f) for name, f in flags.items()}


def row_names() -> list[str]:
    """crop_rows' rows in the order they are shown."""
    return [m[0] for m in MARGINS] + [f"{n} px" for n in CROP_SIZES] + [face_band(lo) for lo, _ in OWN_BANDS]


def hidden_caught(occlusion: Path, split: str, classifier: Classifier) -> dict:
    """The occlusion set's crops of the split answered "can't tell": hidden ones by kind, and visible ones."""
    entries = read_json(occlusion / "manifest.json")["splits"].get(split, [])
    answers = classifier.predict([Image.open(occlusion / e["path"]).convert("RGB") for e in entries])
    unsure = [a.label == UNSURE for a in answers]
    out = {"hidden": rate([u for u, e in zip(unsure, entries) if e["label"] == "hidden"])}
    for kind in sorted({e["kind"] for e in entries if e["label"] == "hidden"}):
        out[f"hidden, {kind}"] = rate(
            [u for u, e in zip(unsure, entries) if e["label"] == "hidden" and e["kind"] == kind]
        )
    out["visible (jittered)"] = rate([u for u, e in zip(unsure, entries) if e["label"] == "visible"])
    return out


def hand_marked_caught(source: Path, classifier: Classifier) -> dict:
    """Faces and boxes of the test photos marked hidden or visible by hand, answered "can't tell"."""
    marked = read_json(ROOT / "results" / "unsure" / "test_hand_marked.json")["items"]
    crops = []
    for item in marked:
        photo = read_labelled_photo(source / "annotations" / f"{Path(item['photo']).stem}.xml")
        box = photo.boxes[item["labelled_face"]] if "labelled_face" in item else item["box"]
        crops.append(photo.image.convert("RGB").crop(tuple(round(v) for v in box)))
    unsure = [a.label == UNSURE for a in classifier.predict(crops)]
    return {
        f"hand-marked {seen}": rate([u for u, m in zip(unsure, marked) if m["seen"] == seen])
        for seen in ("hidden", "visible")
    }


def views_unsure(source: Path, data: Path, split: str, classifier: Classifier, views) -> dict:
    """The split's labelled faces found by the pipeline (scene-bench) and answered "can't tell", per view."""
    from lrfp.evaluation.scene_bench import scene_benchmark
    from lrfp.pipeline.detect import FaceDetector

    xml_files, detector = labelled_photos(source, data, split), FaceDetector()
    out = {}
    for view in views:
        report = scene_benchmark(xml_files, classifier, detector, view)
        out[view] = rate([True] * report["found_unsure"] + [False] * (report["found_faces"] - report["found_unsure"]))
    return out


def measure_labelled(args) -> dict:
    """Every figure of --labelled with the lrfp this process imports (this checkout's, or --before's)."""
    import lrfp
    from lrfp.pipeline import inference

    classifier, source, data = Classifier(args.model), Path(args.source), Path(args.data)
    result = {
        "lrfp": str(Path(lrfp.__file__).parents[1]),
        "hidden_at": inference.HIDDEN_AT,
        "visibility_check_sha256": sha256_of(inference.visibility_check().path),
        "crops": labelled_unsure(source, data, args.labelled, classifier),
        "views": views_unsure(source, data, args.labelled, classifier, args.views),
    }
    hidden_split = {"held-out": "val", "validation": "val"}.get(args.labelled, args.labelled)
    result["hidden"] = hidden_caught(args.occlusion, hidden_split, classifier) if args.occlusion.is_dir() else {}
    if args.labelled == "test":
        result["hidden"] |= hand_marked_caught(source, classifier)
    return result


def measured_before(args, before: Path) -> dict:
    """measure_labelled with the lrfp of the checkout `before` (its code and its weights), in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "before.json"
        command = [sys.executable, __file__, "--labelled", args.labelled, "--views", *args.views]
        command += ["--source", str(Path(args.source).resolve()), "--data", str(Path(args.data).resolve())]
        command += ["--occlusion", str(args.occlusion.resolve()), "--model", args.model, "--measure-into", str(out)]
        env = os.environ | {"PYTHONPATH": str(before.resolve())}
        subprocess.run(command, check=True, env=env, cwd=before)
        return read_json(out)


def main_labelled(args) -> None:
    """--labelled: visible faces answered "can't tell" (crops by margin and size, views) and hidden ones
    caught, now and (with --before) with an earlier checkout, side by side; prints and writes its JSON."""
    if args.measure_into:
        write_json_atomic(measure_labelled(args), args.measure_into)
        return
    result: dict = {"cpu": cpu_name(), "model": args.model, "split": args.labelled, "margins": MARGINS}
    after = measure_labelled(args)
    if args.before and args.before_json:  # measured beside this run, by --measure-into with PYTHONPATH=CHECKOUT
        result["before"] = read_json(args.before_json) | {"checkout": str(args.before), "measured": "alongside"}
    elif args.before:
        result["before"] = measured_before(args, args.before) | {"checkout": str(args.before)}
    result["after"] = after
    out = args.out.with_name(f"labelled-{args.labelled}{args.suffix}.json")
    write_json_atomic(result, out)
    columns = [c for c in ("before", "after") if c in result]
    print(
        f"{args.labelled}: answered can't tell, "
        + " | ".join(f"{c} (hidden at {result[c]['hidden_at']})" for c in columns)
    )
    for group in ("crops", "views", "hidden"):
        for name in result["after"][group]:
            cells = [result[c][group].get(name) for c in columns]
            print(f"{group:<6} {name:<22} " + " | ".join(shown(v) for v in cells))
    print(f"wrote {out}")


def shown(v: dict | None) -> str:
    if not v or v["share"] is None:
        return "-"
    return f"{v['count']:>4}/{v['of']:<4} {v['share']:6.1%}"


def choose(args) -> None:
    """--choose: the hidden probability a visibility check (--check, default the shipped one) gives every crop
    of crop_rows on the --labelled photos and the hidden crops of the occlusion set's val split; per threshold
    of CHOICE_GRID, the visible row of CHOSEN_ON that loses most and the hidden crops caught; the lowest
    threshold whose every such row stays under VISIBLE_GOAL is the choice. Writes choose-SPLIT.json beside --out."""
    from lrfp.pipeline.inference import hidden_probabilities  # not in a --before checkout

    check = Classifier(args.check, unsure=False, check_faces=False) if args.check else visibility_check()

    def hidden_p(images):  # as Classifier.predict judges a face
        return hidden_probabilities(check, images) if images else []

    p_rows: dict[str, list[float]] = {name: [] for name in row_names()}
    for rows in crop_rows(Path(args.source), Path(args.data), args.labelled):
        for (name, _), p in zip(rows, hidden_p([crop for _, crop in rows])):
            p_rows[name].append(p)
    chosen_on = list(CHOSEN_ON)
    if args.views_cache:  # the crops benchmarks/unsure_views.py cached: what the pipeline hands the check
        index = read_json(args.views_cache / "index.json")
        for view, v in index["views"].items():
            folder = args.views_cache / view
            p_rows[f"view {view}"] = hidden_p([Image.open(folder / r["path"]).convert("RGB") for r in v["found"]])
            chosen_on.append(f"view {view}")
    entries = [e for e in read_json(args.occlusion / "manifest.json")["splits"]["val"] if e["label"] == "hidden"]
    p_hidden = hidden_p([Image.open(args.occlusion / e["path"]).convert("RGB") for e in entries])
    table = {}
    for t in CHOICE_GRID:
        lost = {name: rate([p >= t for p in ps]) for name, ps in p_rows.items() if ps}
        worst = max(chosen_on, key=lambda name: lost[name]["share"])
        table[f"{t:.2f}"] = {"worst_visible": worst, **{f"visible {k}": v for k, v in lost.items()}}
        table[f"{t:.2f}"]["hidden_caught"] = rate([p >= t for p in p_hidden])
        for kind in sorted({e["kind"] for e in entries}):  # "marked": real boxes marked hidden by hand
            table[f"{t:.2f}"][f"hidden_caught, {kind}"] = rate(
                [p >= t for p, e in zip(p_hidden, entries) if e["kind"] == kind]
            )
    chosen = next((t for t, v in table.items() if v[f"visible {v['worst_visible']}"]["share"] < VISIBLE_GOAL), None)
    result = {"check": str(check.path), "check_sha256": sha256_of(check.path), "photos": args.labelled}
    result |= {"occlusion": str(args.occlusion), "views_cache": str(args.views_cache), "chosen_on": chosen_on}
    result |= {"visible_goal": VISIBLE_GOAL, "chosen": chosen, "table": table}
    write_json_atomic(result, args.out.with_name(f"choose-{args.labelled}{args.suffix}.json"))
    for t, v in table.items():
        w = v[f"visible {v['worst_visible']}"]
        print(
            f"hidden >= {t}: worst visible row {v['worst_visible']} {w['count']}/{w['of']} ({w['share']:.1%}); "
            f"hidden caught {v['hidden_caught']['count']}/{v['hidden_caught']['of']} ({v['hidden_caught']['share']:.1%})"
        )
    print(f"chosen: {chosen}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "fmd853"))
    parser.add_argument("--occlusion", type=Path, default=ROOT / "data" / "occlusion")
    parser.add_argument("--model", default="prod-mobilenet_v2")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "unsure" / "unsure.json")
    parser.add_argument(
        "--held-out",
        dest="held_out",
        metavar="DETECTOR",
        help="only the trade-off through this detector on the held-out train photos (its own JSON)",
    )
    parser.add_argument("--data", default=str(ROOT / "demo" / "fmd853-lr"))
    parser.add_argument(
        "--labelled",
        choices=("train", "val", "test", "held-out", "validation"),
        help="only visible faces answered can't tell, and hidden ones caught",
    )
    parser.add_argument("--views", nargs="*", default=list(VIEWS), help="with --labelled: scene-bench's views")
    parser.add_argument(
        "--before", type=Path, help="with --labelled: also measure this checkout (its code and weights)"
    )
    parser.add_argument(
        "--before-json",
        dest="before_json",
        type=Path,
        help="with --before: its figures as measured earlier (this script's --measure-into with PYTHONPATH=CHECKOUT)",
    )
    parser.add_argument("--suffix", default="", help="with --labelled: added to the JSON's name")
    parser.add_argument("--choose", action="store_true", help="with --labelled: choose the check's threshold")
    parser.add_argument("--check", help="with --choose: a visibility check's checkpoint (default: the shipped one)")
    parser.add_argument(
        "--views-cache",
        dest="views_cache",
        type=Path,
        help="with --choose: the found faces' crops of the same photos per view (benchmarks/unsure_views.py cache)",
    )
    parser.add_argument("--measure-into", dest="measure_into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.labelled and args.choose:
        choose(args)
        return
    if args.labelled:
        main_labelled(args)
        return
    if args.held_out:
        result = pipeline_tradeoff(Path(args.source), Path(args.data), args.held_out) | {"detector": args.held_out}
        write_json_atomic(result, args.out.with_name(f"held-out-{args.held_out}.json"))
        for t, v in result.items():
            if t != "detector":
                print(
                    f"hidden >= {t}: labelled faces found answered can't tell {v['labelled_found_unsure']['count']}/"
                    f"{v['labelled_found_unsure']['of']}, unmatched boxes {v['unmatched_unsure']['count']}/{v['unmatched_unsure']['of']}"
                )
        return
    classifier = Classifier(args.model, unsure=False)
    check = visibility_check()
    report: dict = {
        "cpu": cpu_name(),
        "model": classifier.name,
        "hidden_at": HIDDEN_AT,
        "visibility_check": str(check.path.name),
    }

    def hidden_p(images):  # as Classifier.predict judges a face
        from lrfp.pipeline.inference import hidden_probabilities

        return hidden_probabilities(check, images)

    def top_p(images):
        return classifier.probabilities(images).max(1).values.tolist()

    # 1. the threshold, on the validation photos' crops
    val = crops_of(args.occlusion, "val")
    p_val = hidden_p([c for c, _, _ in val])
    report["validation"] = {
        f"{t:g}": {
            "hidden_caught": rate([p >= t for p, (_, y, _) in zip(p_val, val) if y == "hidden"]),
            "visible_lost": rate([p >= t for p, (_, y, _) in zip(p_val, val) if y == "visible"]),
        }
        for t in THRESHOLDS
    }
    # 2. the test photos' crops, by kind of hiding
    test = crops_of(args.occlusion, "test")
    images = [c for c, _, _ in test]
    p_test, top = hidden_p(images), top_p(images)
    kinds = sorted({k for _, y, k in test if y == "hidden"})
    report["test"] = {
        "visible_lost": rate([p >= HIDDEN_AT for p, (_, y, _) in zip(p_test, test) if y == "visible"]),
        "hidden_caught": rate([p >= HIDDEN_AT for p, (_, y, _) in zip(p_test, test) if y == "hidden"]),
        "by_kind": {
            k: rate(
                [p >= HIDDEN_AT for p, (_, y, kind) in zip(p_test, test, strict=True) if y == "hidden" and kind == k]
            )
            for k in kinds
        },
    }
    # the mask classifier's confidence at the cut that costs as many visible test faces
    visible_top = sorted(t for t, (_, y, _) in zip(top, test) if y == "visible")
    lost = report["test"]["visible_lost"]["count"]
    cut = visible_top[lost] if lost < len(visible_top) else 1.0
    report["test"]["confidence_instead"] = {
        "top_probability_under": cut,
        "visible_lost": lost,
        "hidden_caught": rate([t < cut for t, (_, y, _) in zip(top, test) if y == "hidden"]),
    }
    # 3. faces and boxes of the test photos marked by hand
    marked = read_json(ROOT / "results" / "unsure" / "test_hand_marked.json")["items"]
    annotations = Path(args.source) / "annotations"
    crops = []
    for item in marked:
        photo = read_labelled_photo(annotations / f"{Path(item['photo']).stem}.xml")
        box = photo.boxes[item["labelled_face"]] if "labelled_face" in item else item["box"]
        crops.append(photo.image.convert("RGB").crop(tuple(round(v) for v in box)))
    p_marked = hidden_p(crops)
    labels = [classifier.classes[i] for i in classifier.probabilities(crops).argmax(1).tolist()]
    report["hand_marked"] = {
        seen: {
            "answered_unsure": rate([p >= HIDDEN_AT for p, m in zip(p_marked, marked) if m["seen"] == seen]),
            "mask_label_without_the_check": dict(
                Counter(label for label, m in zip(labels, marked) if m["seen"] == seen)
            ),
        }
        for seen in ("hidden", "visible")
    }
    report["hand_marked_items"] = [
        m | {"p_hidden": round(p, 3), "label_without_check": label} for m, p, label in zip(marked, p_marked, labels)
    ]
    write_json_atomic(report, args.out)
    print(f"cpu: {report['cpu']}; threshold {HIDDEN_AT}")
    for t, v in report["validation"].items():
        print(
            f"val  hidden >= {t}: hidden caught {v['hidden_caught']['share']:.3f}, visible lost {v['visible_lost']['share']:.3f}"
        )
    t = report["test"]
    print(
        f"test: hidden caught {t['hidden_caught']['count']}/{t['hidden_caught']['of']}, visible lost "
        f"{t['visible_lost']['count']}/{t['visible_lost']['of']}; by kind "
        + ", ".join(f"{k} {v['count']}/{v['of']}" for k, v in t["by_kind"].items())
        + f"; confidence instead (top p < {cut:.3f}): hidden caught {t['confidence_instead']['hidden_caught']['count']}"
    )
    for seen, v in report["hand_marked"].items():
        print(
            f"hand-marked {seen}: answered can't tell {v['answered_unsure']['count']}/{v['answered_unsure']['of']}; "
            f"without the check: {v['mask_label_without_the_check']}"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
