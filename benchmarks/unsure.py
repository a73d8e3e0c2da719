"""The "can't tell" answer, measured: the visibility check's threshold chosen on the validation photos'
crops, then its answers on the test photos' crops and on faces and boxes of the test photos marked by hand.

    python benchmarks/unsure.py [--source ../shared/data/fmd853] [--occlusion data/occlusion]

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
from lrfp.data.voc import read_labelled_photo
from lrfp.pipeline.inference import HIDDEN_AT, Classifier, visibility_check

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
VISIBLE_COST = 0.03  # the share of visible faces the threshold may answer "can't tell" on the validation crops


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
    args = parser.parse_args()
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
