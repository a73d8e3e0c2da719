"""`lrfp evaluate`, `lrfp faces-eval` and `lrfp resolution`: a model scored on faces."""

from __future__ import annotations

import json
from pathlib import Path

from lrfp.cli import argtypes, options
from lrfp.core import paths
from lrfp.core.records import command_line, write_json_atomic
from lrfp.data.facebank import FaceBank
from lrfp.data.images import SPLITS, DatasetError, FaceDataset, folder_samples, split_samples
from lrfp.evaluation.faces import evaluate_faces
from lrfp.evaluation.resolution import resolution_study
from lrfp.pipeline.inference import Classifier
from lrfp.training.loop import evaluate


def cmd_evaluate(args) -> int:
    clf = Classifier(args.model, backend=args.backend, device=args.device)
    root = Path(args.data)
    samples, classes = folder_samples(root) if args.split == "all" else split_samples(root, args.split)
    if not samples:
        raise DatasetError(f"{root}: the {args.split} split holds no faces; rebuild the dataset (`lrfp data build`)")
    if not set(classes) <= set(clf.classes):
        raise DatasetError(f"{root}: classes {classes} are not among the checkpoint's {clf.classes}")
    # a three-class model on a two-class set: scored in its own classes (a third-class answer is wrong)
    dataset = FaceDataset(root, samples, clf.classes, clf.transform)
    result = evaluate(clf, dataset, args.batch_size, progress=not args.json)
    result["backend"] = clf.backend
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{args.model} on {root} ({args.split}, n={result['n']})")
        print(
            f"accuracy {result['accuracy']:.4f}  balanced accuracy {result['balanced_accuracy']:.4f}  "
            f"avg loss {result['avg_loss']:.4f}"
        )
        print("confusion matrix (rows = true, columns = predicted):", classes)
        for c, row in zip(classes, result["confusion_matrix"]):
            print(f"  {c:>14} {row}")
        for c, m in result["per_class"].items():
            print(f"  {c:>14} precision {m['precision']:.3f} recall {m['recall']:.3f} f1 {m['f1']:.3f}")
    return 0


def cmd_faces_eval(args) -> int:
    clf = Classifier(args.model, backend=args.backend, device=args.device)
    bank = FaceBank(Path(args.data))
    report = evaluate_faces(clf, bank, bank.select((args.split,), clf.classes))
    report = {
        "model": clf.name,
        "split": args.split,
        "bank_sha256": bank.sha256,
        "command": command_line(),
        "views": report,
    }
    for view, r in report["views"].items():
        lo, hi = r["balanced_accuracy_interval"]
        print(
            f"{view:>12}: {r['n']} faces, accuracy {r['accuracy']:.4f}, balanced {r['balanced_accuracy']:.4f} "
            f"({lo:.4f}-{hi:.4f}), macro F1 {r['macro_f1']:.4f}"
        )
    out = Path(args.out) if args.out else paths.RESULTS_DIR / "production" / "faces" / f"{clf.name}.json"
    write_json_atomic(report, out)
    print(f"wrote {out}")
    return 0


def cmd_resolution(args) -> int:
    clf = Classifier(args.model, backend=args.backend, device=args.device)
    report = resolution_study(
        clf,
        args.data,
        on_row=lambda r: print(
            f"{str(r['face_px']):>6} px  accuracy {r['accuracy']:.4f}  balanced {r['balanced_accuracy']:.4f}  n={r['n']}"
        ),
    )
    out = Path(args.out) if args.out else paths.RESULTS_DIR / "resolution" / f"{clf.name}.json"
    write_json_atomic(report, out)
    print(f"wrote {out}")
    return 0


def add_evaluate(ev) -> None:
    options.add_required_model(ev)
    ev.add_argument("--data", required=True)
    ev.add_argument(
        "--split",
        default="all",
        choices=("all", *SPLITS),
        help="all: every image of the folders (default); else a split of the manifest",
    )
    ev.add_argument("--batch-size", type=argtypes.positive_int, default=64)
    ev.add_argument("--json", action="store_true", help="print the metrics as JSON")
    options.add_classifier(ev)
    ev.set_defaults(func=cmd_evaluate)


def add_faces_eval(fe) -> None:
    options.add_required_model(fe)
    fe.add_argument("--data", required=True, help="a face bank file (`lrfp facebank build`)")
    options.add_split(fe)
    options.add_classifier(fe)
    fe.add_argument("--out", help="record path (default results/production/faces/<model>.json)")
    fe.set_defaults(func=cmd_faces_eval)


def add_resolution(rs) -> None:
    options.add_required_model(rs)
    rs.add_argument("--data", required=True, help="dataset folder built by `lrfp data build`")
    options.add_classifier(rs)
    rs.add_argument("--out", help="record path (default results/resolution/<model>.json)")
    rs.set_defaults(func=cmd_resolution)
