"""The `lrfp` command line: data build | train | evaluate | predict | export | scene | resolution | reproduce | publish | report | app."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from lrfp.core import paths
from lrfp.core.console import show_messages
from lrfp.core.errors import ConfigError, LrfpError, describe_os_error
from lrfp.core.progress import show_bars
from lrfp.core.records import command_line, write_json_atomic
from lrfp.data.build import BuildOptions, build_dataset, format_counts
from lrfp.data.demo import build_demo
from lrfp.data.facebank import FaceBank, build_facebank
from lrfp.data.images import (
    ACCEPTED_FORMATS,
    FACE_CROP_MAX_SIDE,
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    BadImageError,
    DatasetError,
    FaceDataset,
    folder_samples,
    load_image,
    split_samples,
)
from lrfp.data.splits import parse_split
from lrfp.data.voc import photos_of
from lrfp.evaluation.faces import VIEWS, evaluate_faces
from lrfp.evaluation.resolution import resolution_study
from lrfp.evaluation.scene_bench import scene_benchmark
from lrfp.experiments.crossval import cross_validate, default_cv_path
from lrfp.experiments.reproduce import reproduce
from lrfp.models.onnx_backend import export_onnx
from lrfp.models.registry import MODEL_NAMES, NORMS, PRETRAINED
from lrfp.pipeline import video
from lrfp.pipeline.detect import DEFAULT_DETECTOR, DETECTORS, MAX_SIDE, UPSCALE, FaceDetector
from lrfp.pipeline.inference import Classifier, resolve_checkpoint
from lrfp.pipeline.video import check, process
from lrfp.publishing.families import publish, publish_run, rewrite_cards
from lrfp.publishing.index import default_model, read_index
from lrfp.publishing.production import is_production_run, publish_production
from lrfp.reporting.report import update_readme
from lrfp.reporting.results import write_summary
from lrfp.scale.monitor import Settings, monitor
from lrfp.training.config import TrainConfig
from lrfp.training.loop import evaluate
from lrfp.training.run import fit


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def cmd_data_build(args) -> int:
    opts = BuildOptions(
        min_face=args.min_face,
        margin=args.margin,
        balance=args.balance,
        seed=args.seed,
        split=parse_split(args.split),
        include_incorrect=args.include_incorrect,
        groups_file=Path(args.groups) if args.groups else None,
    )
    stats = build_dataset(Path(args.source), Path(args.out), opts)
    print(format_counts(stats))
    for key, what in (("skipped", "source file(s)"), ("skipped_boxes", "face box(es)")):
        if stats[key]:
            print(f"{len(stats[key])} {what} skipped; the build went on without them:")
            for msg in stats[key]:
                print(f"  {msg}")
    print(f"wrote {args.out}/manifest.json and stats.json; data fingerprint (manifest sha256) {stats['manifest_sha256']}")
    return 0


def cmd_data_demo(args) -> int:
    stats = build_demo(Path(args.source), Path(args.out))
    print(f"wrote {args.out}/fmd853-lr (data fingerprint {stats['manifest_sha256'][:12]}…) and {args.out}/scenes")
    return 0


def cmd_facebank_build(args) -> int:
    # the face bank keeps the single look it was built with (3x, at most 2048 px): the production models
    # were trained on its crops, and a rebuild gives the same bank
    summary = build_facebank(Path(args.source), Path(args.out), FaceDetector("retinaface", scale=UPSCALE, max_side=MAX_SIDE),
                             min_face=args.min_face,
                             progress=not args.no_progress)  # fmt: skip
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.out}")
    return 0


def cmd_train(args) -> int:
    cfg = TrainConfig(
        model=args.model,
        data=args.data,
        norm=args.norm,
        pretrained=args.pretrained,
        epochs=args.epochs,
        milestones=args.milestones,
        optimizer=args.optimizer,
        lr=args.lr,
        batch_size=args.batch_size,
        input_size=args.input_size,
        seed=args.seed,
        precision=args.precision,
        out=args.out,
        run_id=args.run_id,
        degrade=args.degrade,
        recipe=args.recipe,
        fold=args.fold,
        folds=args.folds,
        include_incorrect=args.include_incorrect,
        device=args.device,
        class_weights=args.class_weights,
    )
    record = fit(cfg, fresh=args.fresh)
    last = record["milestones"][str(max(int(k) for k in record["milestones"]))]
    run_path = Path(record["config"]["out"]) / record["run_id"]
    print(f"done: {run_path}/{last['checkpoint']}  test accuracy {last['test']['accuracy']:.4f}")
    return 0


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
        print(f"accuracy {result['accuracy']:.4f}  balanced accuracy {result['balanced_accuracy']:.4f}  "
              f"avg loss {result['avg_loss']:.4f}")  # fmt: skip
        print("confusion matrix (rows = true, columns = predicted):", classes)
        for c, row in zip(classes, result["confusion_matrix"]):
            print(f"  {c:>14} {row}")
        for c, m in result["per_class"].items():
            print(f"  {c:>14} precision {m['precision']:.3f} recall {m['recall']:.3f} f1 {m['f1']:.3f}")
    return 0


# `lrfp predict` reads an image at most this big (px, longer side): one face, the model resizes it anyway
PREDICT_SIDE = 2048
# an image whose shorter side is over data.FACE_CROP_MAX_SIDE is searched for faces in one look at
# most this big (px, longer side): enough to tell a crowd, and cheap (measured here: 0.2 s once to
# start the detector, then 8 ms for a 200 px crop, 0.23 s for a 2048 px photo)
CROWD_LOOK_SIDE = 1024


def shown_name(name: str) -> str:
    """A file name as output lines show it: as it is, or as a Python string literal ('a\\nb.png') when it
    holds a tab, newline or other unprintable character (one file, one line) or starts with a quote."""
    return name if name.isprintable() and not name.startswith(("'", '"')) else repr(name)


def _model_or_default(name: str | None) -> str:
    """--model, or the default model named in weights/index.json (the app's), or model3."""
    return name or default_model() or "model3"


def cmd_predict(args) -> int:
    import shlex


    clf = Classifier(_model_or_default(args.model), backend=args.backend, device=args.device)
    detector, failed = None, 0
    for path in args.images:
        shown = shown_name(path)
        try:
            image = load_image(path, name=shown, max_side=PREDICT_SIDE)
        except BadImageError as exc:  # the other files are still classified; the exit code says one failed
            print(f"lrfp: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        pred = clf.predict([image])[0]
        print(f"{shown}\t{pred.label}\t" + ("-" if pred.probability is None else f"{pred.probability:.4f}"))
        if min(image.size) > FACE_CROP_MAX_SIDE:  # bigger than a face crop: perhaps a photo of several people
            detector = detector or FaceDetector("retinaface", scale=1.0, max_side=CROWD_LOOK_SIDE)
            faces = len(detector.detect(image))
            if faces > 1:
                again = shlex.quote(path) if path.isprintable() else shown
                print(f"lrfp: note: {shown}: the face detector sees {faces} faces; predict labels the whole image "
                      f"as one face, `lrfp scene {again}` labels each", file=sys.stderr)  # fmt: skip
    return 2 if failed else 0


def cmd_export(args) -> int:
    src = resolve_checkpoint(args.model)
    out = Path(args.out) if args.out else src.with_suffix(".onnx")
    export_onnx(src, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, dynamic batch size)")
    return 0


def cmd_scene(args) -> int:
    check(args.input, args.out)  # a bad input or --out is refused before the model loads
    clf = Classifier(_model_or_default(args.model), backend=args.backend, device=args.device)
    detector = FaceDetector(args.detector, min_score=args.min_score, scale=args.detector_scale)
    out, csv_path, rows = process(args.input, args.out, clf, detector,
                                  progress=not args.no_progress)  # fmt: skip
    read = [r for r in rows if r["status"] == "ok"]
    faces = sum(r["faces"] for r in read)
    masked = sum(r["with_mask"] for r in read)
    rate = f"{masked / faces:.1%}" if faces else "n/a"
    skipped = len(rows) - len(read)
    print(f"{len(read)} frame(s), {faces} face(s), {masked} with mask (compliance {rate})"
          + (f", {skipped} frame(s) skipped (could not be decoded; status unreadable in the CSV)" if skipped else "")
          + f" -> {out}, {csv_path}")  # fmt: skip
    return 0


def cmd_monitor(args) -> int:
    settings = Settings(model=_model_or_default(args.model), backend=args.backend, device=args.device,
                        detector=args.detector, detector_scale=args.detector_scale, min_score=args.min_score,
                        every=args.every)  # fmt: skip
    summary = monitor(args.inputs, args.out, settings, mapping=args.mapping, engine=args.engine, workers=args.workers,
                      address=args.address, fresh=args.fresh, progress=not args.no_progress)  # fmt: skip
    print(f"{summary['files']} file(s), {summary['analysed']} analysed now in {summary['seconds']:.1f} s: "
          f"{summary['frames']} frame(s), {summary['unreadable_frames']} unreadable frame(s), "
          f"{summary['errors']} file(s) in error -> {summary['table']}, {summary['csv']}")  # fmt: skip
    return 0


def cmd_resolution(args) -> int:
    clf = Classifier(args.model, backend=args.backend, device=args.device)
    report = resolution_study(clf, args.data, progress=lambda r: print(
        f"{str(r['face_px']):>6} px  accuracy {r['accuracy']:.4f}  balanced {r['balanced_accuracy']:.4f}  n={r['n']}"))  # fmt: skip
    out = Path(args.out) if args.out else paths.RESULTS_DIR / "resolution" / f"{clf.name}.json"
    write_json_atomic(report, out)
    print(f"wrote {out}")
    return 0


def cmd_scene_bench(args) -> int:
    clf = Classifier(_model_or_default(args.model), backend=args.backend, device=args.device)
    xml_files = photos_of(Path(args.source), Path(args.data) if args.data else None, args.split)
    detector = FaceDetector(args.detector, min_score=args.min_score, scale=args.detector_scale,
                            max_side=args.detector_max_side, enlarged_min_score=args.enlarged_min_score,
                            enlarge=args.enlarge)  # fmt: skip
    report = scene_benchmark(xml_files, clf, detector, progress=not args.no_progress, view=args.view)
    report |= {"model": clf.name, "source": Path(args.source).name, "view": args.view, "detector": detector.describe(),
               "photos_from": f"{args.split} split of {Path(args.data).name}" if args.data else "every photo"}  # fmt: skip
    lo, hi = report["end_to_end_interval"]
    print(f"{report['photos']} photos, {report['labelled_faces']} labelled faces: found {report['recall']:.1%} "
          f"(" + ", ".join(f"{k} px {v['recall']:.1%}" for k, v in report["recall_by_size"].items() if v["recall"] is not None)
          + f"); found faces labelled right {report['accuracy']:.1%} (balanced {report['balanced_accuracy']:.1%}); "
          f"found and right {report['end_to_end']:.1%} ({lo:.1%}-{hi:.1%}); "
          f"{report['unmatched_per_photo']:.2f} unmatched detections per photo; {report['ms_per_photo_median']:.0f} ms per photo")  # fmt: skip
    out = Path(args.out) if args.out else paths.RESULTS_DIR / "scene" / f"{clf.name}.json"
    write_json_atomic(report, out)
    print(f"wrote {out}")
    return 0


def cmd_cv(args) -> int:
    cfg = TrainConfig(model=args.model, data=args.data, pretrained=args.pretrained, epochs=args.epochs, lr=args.lr,
                      batch_size=args.batch_size, input_size=args.input_size, seed=args.seed, precision=args.precision,
                      out=args.out, recipe="production", folds=args.folds, include_incorrect=args.include_incorrect,
                      device=args.device, milestones=(), class_weights=args.class_weights)  # fmt: skip
    report = cross_validate(cfg, engine=args.engine, workers=args.workers, address=args.address)
    report["command"] = command_line()
    out = Path(args.json_out) if args.json_out else default_cv_path(cfg, paths.RESULTS_DIR)
    write_json_atomic(report, out)
    for key in ("score", *VIEWS):
        v = report["balanced_accuracy"][key]
        f1 = report["macro_f1"].get(key)
        print(f"{key:>12}: balanced accuracy {v['mean']:.4f} ± {v['sd']:.4f} over {args.folds} folds"
              + (f"; macro F1 {f1['mean']:.4f} ± {f1['sd']:.4f}" if f1 else ""))  # fmt: skip
    print(f"wrote {out}")
    return 0


def cmd_faces_eval(args) -> int:
    clf = Classifier(args.model, backend=args.backend, device=args.device)
    bank = FaceBank(Path(args.data))
    report = evaluate_faces(clf, bank, bank.select((args.split,), clf.classes))
    report = {"model": clf.name, "split": args.split, "bank_sha256": bank.sha256, "command": command_line(),
              "views": report}  # fmt: skip
    for view, r in report["views"].items():
        lo, hi = r["balanced_accuracy_interval"]
        print(f"{view:>12}: {r['n']} faces, accuracy {r['accuracy']:.4f}, balanced {r['balanced_accuracy']:.4f} "
              f"({lo:.4f}-{hi:.4f}), macro F1 {r['macro_f1']:.4f}")  # fmt: skip
    out = Path(args.out) if args.out else paths.RESULTS_DIR / "production" / "faces" / f"{clf.name}.json"
    write_json_atomic(report, out)
    print(f"wrote {out}")
    return 0


def cmd_reproduce(args) -> int:
    done = reproduce(
        data=args.data,
        experiments=args.experiment,
        models=args.model,
        out=args.out,
        precision=args.precision,
        input_size=args.input_size,
        device=args.device,
        engine=args.engine,
        workers=args.workers,
        address=args.address,
    )
    print(f"finished {len(done)} configuration(s): {', '.join(done)}")
    return 0


def cmd_publish(args) -> int:
    if args.cards:
        print(f"rewrote the model cards of {', '.join(rewrite_cards())}")
        return 0

    if args.run and is_production_run(Path(args.run)):
        name = args.name or Path(args.run).name
        entry = publish_production(Path(args.run), name, Path(args.cv) if args.cv else None)
        score = f"cross-validated score {entry['cv_score']:.4f}" if args.cv else "not cross-validated"
        print(f"published {args.run} as weights/{name}.pt ({score}); default model: {read_index().get('default')}")
        return 0
    if args.cv:
        raise ConfigError("--cv goes with --run of a production run (`lrfp train --recipe production`)")
    if args.run:
        entry = publish_run(Path(args.run), args.name or Path(args.run).name)
        print(f"published {args.run} as weights/{args.name}.pt (test accuracy {entry['test_accuracy']:.4f})")
        return 0
    index = publish()
    print(f"default model: {index.get('default')}")
    return 0


def cmd_report(args) -> int:
    df = write_summary()
    if not update_readme():
        raise LrfpError("README.md has no results markers to fill")
    print(f"README.md results section updated from {len(df)} summary row(s)")
    return 0


def streamlit_flags(settings: dict, section: str = "") -> list[str]:
    """A Streamlit config.toml as `streamlit run` flags: [server] headless = true -> --server.headless=true."""
    flags = []
    for key, value in settings.items():
        name = f"{section}.{key}" if section else key
        if isinstance(value, dict):
            flags += streamlit_flags(value, name)
            continue
        for item in value if isinstance(value, list) else [value]:  # a list repeats its flag
            flags.append(f"--{name}={json.dumps(item) if isinstance(item, bool) else item}")  # true, not True
    return flags


def cmd_app(args) -> int:
    import tomllib


    try:  # the checkout's .streamlit/config.toml, or its copy installed with lrfp: the same settings from any folder
        settings = tomllib.loads(paths.STREAMLIT_CONFIG.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{paths.STREAMLIT_CONFIG}: {exc}") from None
    flags = streamlit_flags(settings)
    if args.port is not None:
        flags.append(f"--server.port={args.port}")
    if args.address:
        flags.append(f"--server.address={args.address}")
    # -P: the server imports this lrfp, not one in the current folder (a clone), unless this one is there
    safe = [] if paths.IMPORT_ROOT == Path.cwd().resolve() else ["-P"]
    cmd = [sys.executable, *safe, "-m", "streamlit", "run", str(paths.APP_ENTRY), *flags, *args.streamlit_args]
    os.execv(sys.executable, cmd)  # the server replaces this process: its exit code and signals are the command's


def _add_device(parser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: a CUDA GPU when torch sees one, else the CPU (default: %(default)s)")  # fmt: skip


def _add_sweep_engine(parser, what: str) -> None:
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help=f"ray: the {what} run as Ray tasks, --workers at a time, one GPU each where the cluster "
                             f"has them, else a share of the CPU cores; each resumes its own run folder "
                             f"(default: %(default)s, one after another)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="with --engine ray: runs at once (default: %(default)s)")
    parser.add_argument("--address", help="with --engine ray: a Ray cluster (default: $RAY_ADDRESS, else a local Ray)")


def _add_production_options(parser) -> None:
    """The production recipe's options that `train` and `cv` share."""
    parser.add_argument("--folds", type=int, default=5, help="number of cross-validation folds (5)")
    parser.add_argument("--include-incorrect", action="store_true", help="production: also learn mask_weared_incorrect")
    parser.add_argument("--class-weights", choices=("inverse", "sqrt"), default="inverse",
                        help="production: weigh classes by 1/share (inverse) or 1/sqrt(share)")  # fmt: skip


def _add_detector(parser) -> None:
    parser.add_argument("--detector", choices=tuple(DETECTORS), default=DEFAULT_DETECTOR,
                        help="face detector (default: %(default)s); retinaface is about 3 times faster and finds fewer "
                             "small faces")  # fmt: skip
    parser.add_argument("--min-score", type=float, help="the detector's confidence threshold (default: the detector's own, "
                        + ", ".join(f"{k} {d.min_score:g}" for k, d in DETECTORS.items()) + ")")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lrfp", description="Face-mask classification for low-resolution faces.")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="build the face-crop dataset").add_subparsers(dest="data_command", required=True)
    build = data.add_parser("build", help="crop faces from a PASCAL VOC set (or split a class-folder set)")
    build.add_argument("--source", required=True, help="images/ + annotations/ (VOC), or <class>/ folders")
    build.add_argument("--out", required=True, help="output folder (an ImageFolder plus manifest.json)")
    build.add_argument("--min-face", type=int, default=8, help="smallest face kept, shorter box side in px (8)")
    build.add_argument("--margin", type=float, default=0.0, help="enlarge each box by this fraction per side (0)")
    build.add_argument("--balance", action=argparse.BooleanOptionalAction, default=True,
                       help="subsample with_mask to the without_mask count in each split (on)")  # fmt: skip
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--split", default="80,4,16", help="train,val,test percentages (80,4,16 as the paper)")
    build.add_argument("--include-incorrect", action="store_true", help="also export mask_weared_incorrect")
    build.add_argument("--groups", help="CSV (group,image) of near-duplicate photos; default SOURCE/near_duplicate_groups.csv")
    build.set_defaults(func=cmd_data_build)
    demo = data.add_parser("demo", help="make the shipped demo set: the default build plus a few test-split scenes")
    demo.add_argument("--source", required=True, help="the Kaggle set: images/ + annotations/")
    demo.add_argument("--out", default="demo", help="output folder (demo)")
    demo.set_defaults(func=cmd_data_demo)

    bank = sub.add_parser("facebank", help="labelled faces with the detector's boxes (the production recipe's data)")
    bank_build = bank.add_subparsers(dest="facebank_command", required=True).add_parser(
        "build", help="run the face detector on every photo of a VOC set and pair its boxes with the labels")
    bank_build.add_argument("--source", required=True, help="a PASCAL VOC set: images/ + annotations/")
    bank_build.add_argument("--out", required=True, help="the face bank file to write (JSON)")
    bank_build.add_argument("--min-face", type=int, default=8, help="smallest face kept, shorter box side in px (8)")
    bank_build.add_argument("--no-progress", action="store_true")
    bank_build.set_defaults(func=cmd_facebank_build)

    train = sub.add_parser("train", help="train one model; resumes RUN_DIR/last.pt when present")
    train.add_argument("--model", required=True, choices=MODEL_NAMES)
    train.add_argument("--norm", choices=NORMS, help="model1/model2 normalization (batchnorm)")
    train.add_argument("--pretrained", choices=PRETRAINED, help="transfer models: imagenet (default) or none")
    train.add_argument("--data", required=True,
                       help="dataset folder built by `lrfp data build`, or with --recipe production a face bank file")
    train.add_argument("--recipe", choices=("paper", "production"), default="paper",
                       help="paper: the thesis protocol; production: all faces, detector-like crops, heavy augmentation")
    train.add_argument("--fold", type=int, help="production: hold out this cross-validation fold (0-based) as validation")
    _add_production_options(train)
    _add_device(train)
    train.add_argument("--epochs", type=int, default=80)
    train.add_argument("--milestones", type=_int_list, default=(30, 50, 80),
                       help="epochs at which the test split is evaluated and a checkpoint kept (30,50,80)")  # fmt: skip
    train.add_argument("--optimizer", choices=("sgd", "adam", "adamw"),
                       help="default: adam for model3, sgd otherwise; adamw with --recipe production")
    train.add_argument("--lr", type=float, default=0.001)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--input-size", type=int, help="px; default 64 for model3, 224 otherwise")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                       help="auto: bf16 autocast + channels_last where the CPU has native bf16, else fp32")  # fmt: skip
    train.add_argument("--degrade", choices=("outdoor",), help="simulate low-resolution outdoor video while training")
    train.add_argument("--out", default="runs", help="runs folder (runs)")
    train.add_argument("--run-id", help="run folder name; default from model, variant, optimizer, size, seed")
    train.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    train.add_argument("--no-progress", action="store_true", help="no progress bars (one line per epoch stays)")
    train.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="evaluate a checkpoint on a class-folder dataset")
    ev.add_argument("--model", required=True, help="checkpoint path or a name in weights/")
    ev.add_argument("--data", required=True)
    ev.add_argument("--split", default="all", choices=("all", "train", "val", "test"),
                    help="all: every image of the folders (default); else a split of the manifest")  # fmt: skip
    ev.add_argument("--batch-size", type=int, default=64)
    ev.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ev.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                    help="auto: onnxruntime where installed, else PyTorch")  # fmt: skip
    _add_device(ev)
    ev.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help=f"classify face images ({', '.join(ACCEPTED_FORMATS)}, judged by content)",
                        description="Classify each image as one face: one line per image, NAME<TAB>LABEL<TAB>PROBABILITY "
                                    "(a name holding a tab, newline or other unprintable character, or starting with a "
                                    "quote, is written as a Python string literal, 'a\\nb.png').",
                        epilog=f"An image whose shorter side is over {FACE_CROP_MAX_SIDE} px is also searched for faces "
                               f"(one look at most {CROWD_LOOK_SIDE} px on its longer side); where the detector sees 2 "
                               f"or more, a note on stderr points to `lrfp scene`, which labels each face. A file that "
                               f"cannot be read is one `lrfp: error: PATH: ...` line on stderr; the other files are "
                               f"still classified, and the exit code is 2 if any file failed.")  # fmt: skip
    pr.add_argument("--model", help="checkpoint path or a name in weights/ (default: the default model named in "
                                    "weights/index.json, as `lrfp scene` and the app use)")  # fmt: skip
    pr.add_argument("images", nargs="+", metavar="IMAGE")
    pr.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                    help="auto: onnxruntime where installed, else PyTorch (default: %(default)s)")  # fmt: skip
    _add_device(pr)
    pr.set_defaults(func=cmd_predict)

    ex = sub.add_parser("export", help="export a checkpoint to a single-file ONNX model (dynamic batch size)")
    ex.add_argument("--model", required=True, help="checkpoint path or a name in weights/")
    ex.add_argument("--format", choices=("onnx",), default="onnx")
    ex.add_argument("--out", help="output path (default: the checkpoint's path with .onnx)")
    ex.set_defaults(func=cmd_export)

    sc = sub.add_parser("scene", help="annotate an image or video: every face boxed and labelled, plus a per-frame CSV",
                        epilog=f"The CSV has one row per frame: {', '.join(video.CSV_FIELDS)}; status is unreadable "
                               f"for a frame that could not be decoded (it is skipped and counted). Frames have the "
                               f"images' limit of {MAX_PIXELS:,} pixels. Both files are written under temporary names "
                               f"and renamed when complete.")  # fmt: skip
    sc.add_argument("input", help=f"an image ({', '.join(IMAGE_SUFFIXES)}) or a video ({', '.join(video.VIDEO_SUFFIXES)})")
    sc.add_argument("--out", help=f"annotated output, a video as {'|'.join(video.VIDEO_OUT_SUFFIXES)} or an image as "
                                  f"{'|'.join(video.IMAGE_OUT_SUFFIXES)}, never the input (default "
                                  f"INPUT-annotated{'|'.join(video.DEFAULT_OUT.values())}); the CSV goes beside it")  # fmt: skip
    sc.add_argument("--model", help="checkpoint path or a name in weights/ (default: the default model named in "
                                    "weights/index.json, as the app uses)")  # fmt: skip
    sc.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                    help="auto: onnxruntime where installed, else PyTorch (default: %(default)s)")  # fmt: skip
    _add_detector(sc)
    sc.add_argument("--detector-scale", type=float,
                    help=f"one look at frames resized by this factor (default: the adaptive stage, the frame at its "
                         f"own size and enlarged up to {DETECTORS[DEFAULT_DETECTOR].enlarge:g}x, see README); 0.5 is much faster and misses small "
                         f"faces")  # fmt: skip
    sc.add_argument("--no-progress", action="store_true")
    _add_device(sc)
    sc.set_defaults(func=cmd_scene)

    mo = sub.add_parser("monitor", help="many cameras' videos and photos -> one table of per-frame mask compliance (Ray)",
                        description="Analyse every video and photo of the inputs, each file on a Ray worker holding a "
                                    "detector and a classifier, into OUT/frames.parquet and OUT/frames.csv: one row "
                                    "per frame (camera, source, frame, offset_s, time, faces by label, too_small, "
                                    "compliance, status, error, face_rows). Each file's rows are kept in OUT/parts "
                                    "once complete: a rerun skips the files already there. A file that cannot be "
                                    "read is one row with status error; the run goes on.",
                        epilog="A file's camera is the folder it was found in (the first subfolder of a folder "
                               "input), unless the mapping file names one. A frame's time is the video's own "
                               "timestamp plus the file's start: the mapping file's, else the video's creation_time "
                               "or the photo's EXIF time; empty when none is known (offset_s stays).")  # fmt: skip
    mo.add_argument("inputs", nargs="+", metavar="INPUT", help="folders, video or photo files, or glob patterns")
    mo.add_argument("--out", required=True, help="results folder (frames.parquet, frames.csv, parts/)")
    mo.add_argument("--mapping", help="CSV with columns path (file or folder, relative to the CSV), camera, start "
                                      "(ISO 8601 time of the file's first frame)")  # fmt: skip
    mo.add_argument("--workers", type=int, default=1, help="Ray actors, each one CPU (default: %(default)s)")
    mo.add_argument("--address", help="a Ray cluster to run on (default: $RAY_ADDRESS, else a local Ray)")
    mo.add_argument("--engine", choices=("ray", "local"), default="ray",
                    help="local: a plain loop in this process, no Ray (default: %(default)s)")  # fmt: skip
    mo.add_argument("--every", type=float, default=0.0,
                    help="analyse one frame every this many seconds of video (default: every frame)")  # fmt: skip
    mo.add_argument("--model", help="checkpoint path or a name in weights/ (default: the default model)")
    mo.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    _add_detector(mo)
    mo.add_argument("--detector-scale", type=float,
                    help="one look at frames resized by this factor (default: the adaptive stage, see README)")
    mo.add_argument("--fresh", action="store_true", help="analyse every file again, forgetting OUT/parts")
    mo.add_argument("--no-progress", action="store_true")
    _add_device(mo)
    mo.set_defaults(func=cmd_monitor)

    sb = sub.add_parser("scene-bench", help="the whole pipeline (detector + classifier) on annotated photos")
    sb.add_argument("--source", required=True, help="a PASCAL VOC set: images/ + annotations/")
    sb.add_argument("--data", help="only the source photos of this built dataset's --split (default: every photo)")
    sb.add_argument("--split", default="test", choices=("train", "val", "test"))
    sb.add_argument("--model", help="checkpoint path or a name in weights/ (default: the default model)")
    sb.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    _add_detector(sb)
    sb.add_argument("--detector-scale", type=float,
                    help="one look at photos resized by this factor (default: the app's adaptive stage, see README)")
    sb.add_argument("--detector-max-side", type=int,
                    help="with --detector-scale: cap the look at this many px, untiled (3 and 2048: the earlier default)")
    sb.add_argument("--enlarged-min-score", type=float, help="adaptive stage: confidence asked of the enlarged look")
    sb.add_argument("--enlarge", type=float, help="adaptive stage: how much the enlarged look enlarges (default: the "
                    "detector's own, " + ", ".join(f"{k} {d.enlarge:g}" for k, d in DETECTORS.items()) + ")")  # fmt: skip
    sb.add_argument("--view", default="1x", help="1x, enlarged-K (photos K times bigger) or tiled-KxK (K x K photos "
                                                  "in one frame)")  # fmt: skip
    sb.add_argument("--out", help="record path (default results/scene/<model>.json)")
    sb.add_argument("--no-progress", action="store_true")
    _add_device(sb)
    sb.set_defaults(func=cmd_scene_bench)

    cv = sub.add_parser("cv", help="production recipe: k-fold cross-validation grouped by photo (train+val photos only)")
    cv.add_argument("--model", required=True, choices=MODEL_NAMES)
    cv.add_argument("--pretrained", choices=PRETRAINED, help="transfer models: imagenet (default) or none")
    cv.add_argument("--data", required=True, help="a face bank file (`lrfp facebank build`)")
    cv.add_argument("--epochs", type=int, default=12)
    cv.add_argument("--lr", type=float, default=0.001, help="peak of the one-cycle schedule (0.001)")
    cv.add_argument("--batch-size", type=int, default=64)
    cv.add_argument("--input-size", type=int, help="px; default 64 for model3, 224 otherwise")
    cv.add_argument("--seed", type=int, default=0)
    cv.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    _add_production_options(cv)
    _add_device(cv)
    cv.add_argument("--out", default="runs/cv", help="runs folder for the fold runs (runs/cv); finished folds are reused")
    cv.add_argument("--json-out", help="record path (default results/production/cv/<config>.json)")
    cv.add_argument("--no-progress", action="store_true")
    _add_sweep_engine(cv, "folds")
    cv.set_defaults(func=cmd_cv)

    fe = sub.add_parser("faces-eval", help="score a model on a face bank's faces: labelled box, shrunk to 16 px, detector box")
    fe.add_argument("--model", required=True, help="checkpoint path or a name in weights/")
    fe.add_argument("--data", required=True, help="a face bank file (`lrfp facebank build`)")
    fe.add_argument("--split", default="test", choices=("train", "val", "test"))
    fe.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    fe.add_argument("--out", help="record path (default results/production/faces/<model>.json)")
    _add_device(fe)
    fe.set_defaults(func=cmd_faces_eval)

    rs = sub.add_parser("resolution", help="accuracy with test faces shrunk to 8..64 px")
    rs.add_argument("--model", required=True, help="checkpoint path or a name in weights/")
    rs.add_argument("--data", required=True, help="dataset folder built by `lrfp data build`")
    rs.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    rs.add_argument("--out", help="record path (default results/resolution/<model>.json)")
    _add_device(rs)
    rs.set_defaults(func=cmd_resolution)

    rep = sub.add_parser("reproduce", help="run the paper's experiments still missing from results/")
    rep.add_argument("--experiment", type=int, nargs="+", choices=(1, 2, 3, 4))
    rep.add_argument("--model", nargs="+", choices=MODEL_NAMES, help="only these models")
    rep.add_argument("--data", default="data/fmd853-lr")
    rep.add_argument("--out", default="runs/reproduce", help="where run folders and checkpoints go")
    rep.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    rep.add_argument("--input-size", type=int,
                     help="run the paper's 224 px configurations at this smaller size (marked as a deviation)")  # fmt: skip
    rep.add_argument("--no-progress", action="store_true")
    _add_device(rep)
    _add_sweep_engine(rep, "configurations")
    rep.set_defaults(func=cmd_reproduce)

    pub = sub.add_parser("publish", help="copy each family's best checkpoint (by validation) to weights/ with a card")
    pub.add_argument("--run", help="instead: publish the last milestone of this one finished run folder")
    pub.add_argument("--name", help="with --run: the name in weights/ (default: the run folder's name)")
    pub.add_argument("--cv", help="with --run of a production run: its `lrfp cv` record; the best such model by "
                     "cross-validated score becomes the app's default")
    pub.add_argument("--cards", action="store_true", help="only rewrite every model card from its run record")
    pub.set_defaults(func=cmd_publish)
    sub.add_parser("report", help="rewrite results/summary.csv and the README results tables").set_defaults(
        func=cmd_report
    )

    app = sub.add_parser("app", help="serve the dashboard (streamlit run, with lrfp's Streamlit settings)",
                         epilog="Other options are passed on to `streamlit run` (e.g. --theme.base=dark).")
    app.add_argument("--port", type=int, help="port to listen on (Streamlit's default: 8501)")
    app.add_argument("--address", help="address to listen on (Streamlit's default: every interface)")
    app.set_defaults(func=cmd_app, passes_unknown=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passes_unknown", False):  # only `lrfp app` passes options on (to streamlit)
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.streamlit_args = unknown
    # what lrfp says (epoch lines, resumes) as plain lines on stdout; library warnings (a fallback to
    # PyTorch, say) as one line each on stderr
    show_messages()
    show_bars(False if getattr(args, "no_progress", False) else None)  # the one switch for progress bars
    try:
        paths.check_home()
        return args.func(args)
    except LrfpError as exc:  # the user's to fix; a bug's ValueError keeps its traceback
        print(f"lrfp: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        message = describe_os_error(exc)
        if message is None:
            raise
        print(f"lrfp: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lrfp: interrupted; `lrfp train` resumes from the last finished epoch", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
