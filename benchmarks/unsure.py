"""The "can't tell" answer, measured: the visibility check's threshold chosen on the validation photos'
crops, then its answers on the test photos' crops and on faces and boxes of the test photos marked by hand.

    python benchmarks/unsure.py [--source ../shared/data/fmd853] [--occlusion data/occlusion]
    python benchmarks/unsure.py --labelled val [--views 1x tiled-3x3 phone pasted]

--labelled SPLIT: how often the labelled (visible) faces of the split's photos are answered "can't tell",
as face crops through Classifier.predict (as `lrfp predict` uses it) cut tight at the label box, loose
(LOOSE of its size beyond each side) and the tight crop at each of CROP_SIZES px, and as faces found by the
pipeline in each of --views of scene-bench; its own JSON (labelled-SPLIT.json beside --out).

--occlusion: the data set of `lrfp data occlusion --source ... --data demo/fmd853-lr --out data/occlusion`
(visible and hidden crops of every labelled face, split by photo as the build). Compared with the other
way to say "can't tell", the mask classifier's own confidence: the share of hidden crops whose top
probability is under a threshold that costs as many visible faces. Writes results/unsure/unsure.json.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from PIL import Image

from lrfp.core.metrics import wilson_interval
from lrfp.core.records import cpu_name, read_json, write_json_atomic
from lrfp.data.voc import photos_of, read_labelled_photo
from lrfp.pipeline.inference import HIDDEN_AT, UNSURE, Classifier, visibility_check

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
VISIBLE_COST = 0.03  # the share of visible faces the threshold may answer "can't tell" on the validation crops
LOOSE = (
    0.25  # the loose crop: the label box and this share of its size beyond each side (a detector's margin, and more)
)
CROP_SIZES = (8, 16, 32, 64, 128, 256)  # the tight crop resized so that its shorter side has this many px
LABELLED_MIN_FACE = 8  # labelled faces under this many px give no crop (as in `lrfp data occlusion`)
VIEWS = ("1x", "tiled-3x3", "phone", "pasted")


def crops_of(folder: Path, split: str) -> list[tuple[Image.Image, str, str]]:
    """(crop, visible|hidden, kind) of one split of the occlusion set."""
    manifest = read_json(folder / "manifest.json")
    return [(Image.open(folder / e["path"]).convert("RGB"), e["label"], e["kind"]) for e in manifest["splits"][split]]


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


def labelled_unsure(source: Path, data: Path, split: str, classifier: Classifier) -> dict:
    """The split's labelled faces answered "can't tell" as crops: tight, loose and at each of CROP_SIZES."""
    crops: dict[str, list[Image.Image]] = {"tight": [], "loose": []} | {f"{n} px": [] for n in CROP_SIZES}
    for xml in photos_of(source, data, split):
        photo = read_labelled_photo(xml)
        image = photo.image.convert("RGB")
        for x0, y0, x1, y1 in photo.boxes:
            w, h = x1 - x0, y1 - y0
            if min(w, h) < LABELLED_MIN_FACE:
                continue
            tight = image.crop((round(x0), round(y0), round(x1), round(y1)))
            crops["tight"].append(tight)
            crops["loose"].append(
                image.crop((round(x0 - LOOSE * w), round(y0 - LOOSE * h), round(x1 + LOOSE * w), round(y1 + LOOSE * h)))
            )
            for n in CROP_SIZES:
                k = n / min(tight.size)
                crops[f"{n} px"].append(
                    tight.resize((max(1, round(tight.width * k)), max(1, round(tight.height * k))), Image.BICUBIC)
                )
    return {name: rate([p.label == UNSURE for p in classifier.predict(images)]) for name, images in crops.items()}


def views_unsure(source: Path, data: Path, split: str, classifier: Classifier, views) -> dict:
    """The split's labelled faces found by the pipeline (scene-bench) and answered "can't tell", per view."""
    from lrfp.evaluation.scene_bench import scene_benchmark
    from lrfp.pipeline.detect import FaceDetector

    xml_files, detector = photos_of(source, data, split), FaceDetector()
    out = {}
    for view in views:
        report = scene_benchmark(xml_files, classifier, detector, view)
        found, unsure = report["found_faces"], report["found_unsure"]
        out[view] = {"share": unsure / found if found else None, "count": unsure, "of": found}
    return out


def main_labelled(args) -> None:
    """--labelled: visible faces answered "can't tell", as crops and per view; prints and writes its JSON."""
    classifier, source, data = Classifier(args.model), Path(args.source), Path(args.data)
    result = {
        "cpu": cpu_name(),
        "model": classifier.name,
        "hidden_at": HIDDEN_AT,
        "split": args.labelled,
        "loose": LOOSE,
        "crops": labelled_unsure(source, data, args.labelled, classifier),
        "views": views_unsure(source, data, args.labelled, classifier, args.views),
    }
    out = args.out.with_name(f"labelled-{args.labelled}.json")
    write_json_atomic(result, out)
    for group in ("crops", "views"):
        for name, v in result[group].items():
            share = f"{v['share']:.1%}" if v["share"] is not None else "-"
            print(
                f"{args.labelled} {group[:-1]} {name}: visible faces answered can't tell {v['count']}/{v['of']} ({share})"
            )
    print(f"wrote {out}")


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
    parser.add_argument("--labelled", choices=("train", "val", "test"), help="only visible faces answered can't tell")
    parser.add_argument("--views", nargs="*", default=list(VIEWS), help="with --labelled: scene-bench's views")
    args = parser.parse_args()
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

    def hidden_p(images):
        return check.probabilities(images)[:, check.classes.index("hidden")].tolist()

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
