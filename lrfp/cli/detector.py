"""`lrfp detector train` and `lrfp detector export`: a face detector fine-tuned for masked, small faces."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from lrfp.cli import argtypes, options
from lrfp.cli.config_flags import LEARNING_RATE
from lrfp.core.records import command_line
from lrfp.experiments.detector import export_detector, train_detector
from lrfp.pipeline.detect import FINE_TUNED_GRAPH
from lrfp.training.detector import DetectorConfig

DEFAULTS = DetectorConfig()


def cmd_detector_train(args) -> int:
    cfg = DetectorConfig(**{f.name: getattr(args, f.name) for f in fields(DetectorConfig) if hasattr(args, f.name)})
    record = train_detector(
        Path(args.source),
        Path(args.data),
        Path(args.out),
        cfg,
        command_line(),
        args.fresh,
        args.limit,
        Path(args.noface) if args.noface else None,
        Path(args.looked) if args.looked else None,
    )
    last = record["history"][-1]
    print(
        f"done: {Path(args.out) / cfg.run_id}/final.pt  loss {last['loss']:.4f}"
        + (
            "".join(
                f"  held-out {k}: found {v['found']:.3f}, unmatched {v['unmatched_per_photo']:.2f}/photo"
                for k, v in last.get("dev", {}).items()
            )
        )
    )
    return 0


def cmd_detector_export(args) -> int:
    out = export_detector(Path(args.run), Path(args.source), Path(args.data), Path(args.out))
    print(f"wrote {out}")
    return 0


def add_detector(parser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    train = actions.add_parser("train", help="fine-tune CenterFace on a built data set's train photos (resumable)")
    train.add_argument("--source", required=True, help="the PASCAL VOC source (images/ + annotations/)")
    train.add_argument("--data", required=True, help="a built data set: its train split's photos train the detector")
    train.add_argument("--out", default="runs/detector", help="runs folder (runs/detector)")
    train.add_argument(
        "--run-id",
        dest="run_id",
        type=argtypes.run_name,
        default=DEFAULTS.run_id,
        help=f"run folder name ({DEFAULTS.run_id})",
    )
    train.add_argument("--epochs", type=argtypes.positive_int, default=DEFAULTS.epochs, help=f"({DEFAULTS.epochs})")
    train.add_argument(
        "--crops-per-epoch",
        dest="crops_per_epoch",
        type=argtypes.positive_int,
        default=DEFAULTS.crops_per_epoch,
        help=f"training crops an epoch ({DEFAULTS.crops_per_epoch})",
    )
    train.add_argument(
        "--batch-size",
        dest="batch_size",
        type=argtypes.positive_int,
        default=DEFAULTS.batch_size,
        help=f"({DEFAULTS.batch_size})",
    )
    train.add_argument(
        "--crop", type=argtypes.positive_int, default=DEFAULTS.crop, help=f"crop side in px ({DEFAULTS.crop})"
    )
    train.add_argument("--lr", type=LEARNING_RATE, default=DEFAULTS.lr, help=f"peak learning rate ({DEFAULTS.lr})")
    train.add_argument("--seed", type=argtypes.SEED, default=DEFAULTS.seed, help=f"({DEFAULTS.seed})")
    train.add_argument(
        "--start",
        default=DEFAULTS.start,
        help="start from this graph of `lrfp detector export` (e.g. the shipped one) instead of the generic CenterFace",
    )
    train.add_argument(
        "--noface",
        help="a no-face set (`lrfp data noface`) with its mined boxes (negatives/): its train pictures and the "
        "boxes looked at and found not faces are shown as background",
    )
    train.add_argument(
        "--looked", help="with --noface: a CSV of crop,looks_like_face (yes/no/unsure) for the mined boxes"
    )
    train.add_argument(
        "--negative-share",
        dest="negative_share",
        type=argtypes.SHARE,
        default=DEFAULTS.negative_share,
        help=f"with --noface: the share of each batch's crops that show no face ({DEFAULTS.negative_share})",
    )
    train.add_argument("--limit", type=argtypes.positive_int, help="train on this many photos only (a quick check)")
    train.add_argument("--fresh", action="store_true", help="start over instead of resuming the run folder")
    options.add_precision(train)
    options.add_device(train)
    options.add_no_progress(train)
    train.set_defaults(func=cmd_detector_train)
    export = actions.add_parser("export", help="write a run's weights as the int8 graph the pipeline runs")
    export.add_argument("--run", required=True, help="a run folder of `lrfp detector train`")
    export.add_argument("--source", required=True, help="the PASCAL VOC source the run trained on (calibration)")
    export.add_argument("--data", required=True, help="the built data set the run trained on")
    export.add_argument("--out", default=str(FINE_TUNED_GRAPH), help=f"the graph to write ({FINE_TUNED_GRAPH})")
    export.set_defaults(func=cmd_detector_export)
