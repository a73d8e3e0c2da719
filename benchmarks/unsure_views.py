"""The crops the pipeline hands the visibility check for labelled faces it finds, per view of scene-bench,
kept on disk so that checks and thresholds can be compared on them without running the detector again.

    python benchmarks/unsure_views.py cache --split validation --out /tmp/views-validation [--views 1x phone ...]
    python benchmarks/unsure_views.py measure --cache /tmp/views-validation [--check PT] [--hidden-at 0.78]

`cache`: every view frame of the split's labelled photos (val, test, held-out, validation: val and held-out;
as benchmarks/unsure.py) through the default detector and face check (lrfp.pipeline.scene.analyze, as
scene-bench runs it); the crop of each labelled face it finds (matched as scene-bench matches) is saved as PNG,
with index.json. The detector and face check alone decide what is found, so the cache serves every
visibility check. `measure`: the share of those crops a check answers "can't tell" (the shipped one and its
rule, or --check and --hidden-at), per view; with --checkout, that checkout's lrfp (code and weights) in
a child process, so that before and after are read off the same crops.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from lrfp.core.records import read_json, write_json_atomic

VIEWS = ("1x", "enlarged-2", "enlarged-4", "tiled-3x3", "phone", "pasted")


class Recorder:
    """A classifier for analyze() that keeps the crops handed to predict (in the order of the result's faces)
    and answers a placeholder: the visibility check is not asked here."""

    def __init__(self, classifier):
        self.classifier, self.crops = classifier, []
        self.classes = classifier.classes

    def not_face_probabilities(self, images):
        return self.classifier.not_face_probabilities(images)

    def predict(self, images):
        from lrfp.pipeline.inference import Prediction

        self.crops += [image.copy() for image in images]
        return [Prediction(self.classes[0], 1.0, {}) for _ in images]


def cache(args) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from unsure import labelled_photos

    from lrfp.data.voc import match, read_labelled_photo
    from lrfp.evaluation.scene_bench import view_frames
    from lrfp.pipeline.detect import FaceDetector
    from lrfp.pipeline.inference import Classifier
    from lrfp.pipeline.scene import analyze

    classifier, detector = Classifier(args.model, unsure=False), FaceDetector()
    xml_files = labelled_photos(Path(args.source), Path(args.data), args.split)
    index: dict = {"split": args.split, "photos": len(xml_files), "views": {}}
    for view in args.views:
        folder = args.out / view
        folder.mkdir(parents=True, exist_ok=True)
        rows, labelled = [], 0
        photos = (read_labelled_photo(x) for x in xml_files)
        for frame in view_frames(photos, view):
            recorder = Recorder(classifier)
            result = analyze(frame.image, recorder, detector, "scene")
            faces = [(f.box.x0, f.box.y0, f.box.x1, f.box.y1) for f in result.faces]
            pairing = match([box for _, box, _ in frame.objects], faces)
            for i, (label, _, side) in enumerate(frame.objects):
                if label not in classifier.classes:
                    continue
                labelled += 1
                if i in pairing:
                    name = f"{len(rows):05d}.png"
                    recorder.crops[pairing[i]].save(folder / name)
                    rows.append({"path": name, "label": label, "own_px": round(side, 1)})
        index["views"][view] = {"labelled": labelled, "found": rows}
        print(f"{view}: {len(rows)} of {labelled} labelled faces found", flush=True)
        write_json_atomic(index, args.out / "index.json")


def measure(args) -> dict:
    """The cached crops answered "can't tell" per view, with the lrfp this process imports."""
    from PIL import Image

    import lrfp
    from lrfp.pipeline import inference

    if args.check:
        check = inference.Classifier(args.check, unsure=False, check_faces=False)
    else:
        check = inference.visibility_check()
    hidden_at = args.hidden_at if args.hidden_at is not None else inference.HIDDEN_AT
    index = read_json(args.cache / "index.json")
    out: dict = {"lrfp": str(Path(lrfp.__file__).parents[1]), "hidden_at": hidden_at, "views": {}}
    for view, v in index["views"].items():
        crops = [Image.open(args.cache / view / r["path"]).convert("RGB") for r in v["found"]]
        p = inference.hidden_probabilities(check, crops) if crops else []
        out["views"][view] = {"unsure": sum(q >= hidden_at for q in p), "found": len(crops), "p_hidden": p}
    return out


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("cache", "measure"))
    parser.add_argument("--split", default="validation", choices=("val", "test", "held-out", "validation"))
    parser.add_argument("--views", nargs="*", default=list(VIEWS))
    parser.add_argument("--source", default=str(root.parent / "shared" / "data" / "fmd853"))
    parser.add_argument("--data", default=str(root / "demo" / "fmd853-lr"))
    parser.add_argument("--model", default="prod-mobilenet_v2")
    parser.add_argument("--out", type=Path, help="cache: the folder of crops; measure: a JSON")
    parser.add_argument("--cache", type=Path, help="measure: a folder written by cache")
    parser.add_argument("--check", help="measure: a visibility check's checkpoint (default: the shipped one)")
    parser.add_argument("--hidden-at", dest="hidden_at", type=float, help="measure: the threshold")
    parser.add_argument("--checkout", type=Path, help="measure: with that checkout's lrfp, in a child process")
    args = parser.parse_args()
    if args.step == "cache":
        cache(args)
        return
    if args.checkout:
        command = [sys.executable, __file__, "measure", "--cache", str(args.cache.resolve()), "--out", str(args.out)]
        subprocess.run(command, check=True, env=os.environ | {"PYTHONPATH": str(args.checkout.resolve())})
        result = read_json(args.out)
    else:
        result = measure(args)
        if args.out:
            write_json_atomic(result, args.out)
    for view, v in result["views"].items():
        print(f"{view:<12} can't tell {v['unsure']:>4} of {v['found']:<4} ({v['unsure'] / max(1, v['found']):.1%})")


if __name__ == "__main__":
    main()
