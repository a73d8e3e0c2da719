"""`lrfp train`, `lrfp cv` and `lrfp reproduce`: training runs, one, k folds, or the paper's experiments."""

from __future__ import annotations

from pathlib import Path

from lrfp.cli import argtypes, options
from lrfp.cli.config_flags import TRAIN_FLAGS, add_config_flags, config_from, recipes_default
from lrfp.core import paths
from lrfp.core.records import command_line, write_json_atomic
from lrfp.evaluation.faces import VIEWS
from lrfp.experiments.crossval import cross_validate, default_cv_path
from lrfp.experiments.paper import EXPERIMENTS
from lrfp.experiments.reproduce import reproduce
from lrfp.models.registry import MAX_INPUT, MODEL_NAMES
from lrfp.training.config import TrainConfig
from lrfp.training.run import fit

# `lrfp cv`'s TrainConfig flags, in the order its help lists them, and where they differ from `lrfp train`'s
CV_FLAGS = (
    "model",
    "pretrained",
    "data",
    "epochs",
    "lr",
    "batch_size",
    "input_size",
    "seed",
    "precision",
    "folds",
    "include_incorrect",
    "class_weights",
    "device",
    "out",
)
CV_OUT = "runs/cv"
CV_RECIPE = ("production",)  # `lrfp cv` cross-validates production configurations
CV_OVERRIDES = {
    "model": {"help": recipes_default("model", recipes=CV_RECIPE)},
    "data": {"help": "a face bank file (`lrfp facebank build`); " + recipes_default("data", recipes=CV_RECIPE)},
    "epochs": {"help": recipes_default("epochs", recipes=CV_RECIPE)},
    "input_size": {"help": "px; " + recipes_default("input_size", recipes=CV_RECIPE)},
    "lr": {"help": f"peak of the one-cycle schedule ({TrainConfig.lr})"},
    "out": {"default": CV_OUT, "help": f"runs folder for the fold runs ({CV_OUT}); finished folds are reused"},
}


def cmd_train(args) -> int:
    record = fit(config_from(args), fresh=args.fresh)
    last = record["milestones"][str(max(int(k) for k in record["milestones"]))]
    run_path = Path(record["config"]["out"]) / record["run_id"]
    print(f"done: {run_path}/{last['checkpoint']}  test accuracy {last['test']['accuracy']:.4f}")
    return 0


def cmd_cv(args) -> int:
    cfg = config_from(args, recipe=CV_RECIPE[0])
    report = cross_validate(cfg, engine=options.sweep_engine(args))
    report["command"] = command_line()
    out = Path(args.json_out) if args.json_out else default_cv_path(cfg, paths.RESULTS_DIR)
    write_json_atomic(report, out)
    for key in ("score", *VIEWS):
        v = report["balanced_accuracy"][key]
        f1 = report["macro_f1"].get(key)
        print(
            f"{key:>12}: balanced accuracy {v['mean']:.4f} ± {v['sd']:.4f} over {args.folds} folds"
            + (f"; macro F1 {f1['mean']:.4f} ± {f1['sd']:.4f}" if f1 else "")
        )
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
        engine=options.sweep_engine(args),
    )
    print(f"finished {len(done)} configuration(s): {', '.join(done)}")
    return 0


def add_train(train) -> None:
    add_config_flags(train, TRAIN_FLAGS)
    train.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    options.add_no_progress(train, help="no progress bars (one line per epoch stays)")
    train.set_defaults(func=cmd_train)


def add_cv(cv) -> None:
    add_config_flags(cv, CV_FLAGS, CV_OVERRIDES)
    cv.add_argument("--json-out", help="record path (default results/production/cv/<config>.json)")
    options.add_no_progress(cv)
    options.add_sweep_engine(cv, "folds")
    cv.set_defaults(func=cmd_cv)


def add_reproduce(rep) -> None:
    rep.add_argument(
        "--experiment", type=argtypes.whole(1), nargs="+", choices=sorted({e.experiment for e in EXPERIMENTS})
    )
    rep.add_argument("--model", nargs="+", choices=MODEL_NAMES, help="only these models")
    rep.add_argument("--data", default="data/fmd853-lr")
    rep.add_argument("--out", default="runs/reproduce", help="where run folders and checkpoints go")
    options.add_precision(rep)
    rep.add_argument(
        "--input-size",
        type=argtypes.whole(1, MAX_INPUT),
        help="run the paper's 224 px configurations at this smaller size (marked as a deviation)",
    )
    options.add_no_progress(rep)
    options.add_device(rep)
    options.add_sweep_engine(rep, "configurations")
    rep.set_defaults(func=cmd_reproduce)
