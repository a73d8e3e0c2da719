"""The production model chosen by cross-validation: one configuration trained on k folds of the
train+val photos, each held-out fold scored as the app meets its faces (lrfp.evaluation.faces).
The test photos are never used: they report, they never choose.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import replace
from pathlib import Path

from lrfp.core.progress import show_bars
from lrfp.data.facebank import ALL_CLASSES, FaceBank
from lrfp.data.folds import fold_faces
from lrfp.data.voc import PAPER_CLASSES
from lrfp.evaluation.faces import SHRUNK_PX, VIEWS, evaluate_faces, score
from lrfp.pipeline.inference import Classifier
from lrfp.scale.engine import LOCAL, Engine
from lrfp.scale.sweep import run_tasks
from lrfp.training.run import fit, run_dir

log = logging.getLogger(__name__)


def _train_fold(fold_cfg) -> str:
    show_bars(False)  # a Ray worker has no terminal to draw on
    fit(fold_cfg)
    return fold_cfg.run_id


def cross_validate(cfg, engine: Engine = LOCAL) -> dict:
    """Train `cfg` (production recipe) on each fold, score each held-out fold; the CV record.

    An ENGINE on Ray: the folds train first as Ray tasks (engine.workers at a time, each resuming its own run
    folder); the loop below then finds them finished and only scores them, as a sequential run would.
    """
    cfg = cfg.filled()  # the recipe's data, model and epochs where the command line left them unset
    bank = FaceBank(cfg.data)
    classes = list(ALL_CLASSES if cfg.include_incorrect else PAPER_CLASSES)
    if engine.on_ray:
        run_tasks(
            _train_fold,
            [(replace(cfg, fold=k, run_id=None).resolved(),) for k in range(cfg.folds)],
            engine,
            gpu=cfg.device != "cpu",
        )
    folds = []
    for k in range(cfg.folds):
        fold_cfg = replace(cfg, fold=k, run_id=None).resolved()
        record = fit(fold_cfg)  # a finished fold is only read back
        last = record["milestones"][str(fold_cfg.epochs)]["checkpoint"]
        classifier = Classifier(run_dir(fold_cfg) / last, backend="torch")
        _, held_out = fold_faces(bank, classes, k, cfg.folds, cfg.seed)
        result = evaluate_faces(classifier, bank, held_out)
        result["score"] = score(result)
        result["run_id"] = fold_cfg.run_id
        result["seconds_per_epoch"] = record["seconds_per_epoch"]
        folds.append(result)
        log.info(
            f"fold {k}: label {result['label']['balanced_accuracy']:.4f}  "
            f"{SHRUNK_PX}px {result[f'label_{SHRUNK_PX}px']['balanced_accuracy']:.4f}  "
            f"detector {result['detector']['balanced_accuracy']:.4f}"
        )

    def mean_sd(values):
        return {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}

    balanced = {
        key: mean_sd([f[key] if key == "score" else f[key]["balanced_accuracy"] for f in folds])
        for key in ("score", *VIEWS)
    }
    macro_f1 = {view: mean_sd([f[view]["macro_f1"] for f in folds]) for view in VIEWS}
    return {
        "config": {k: v for k, v in vars(cfg.resolved()).items() if k not in ("fold", "run_id")},
        "bank_sha256": bank.sha256,
        "folds": folds,
        "balanced_accuracy": balanced,
        "macro_f1": macro_f1,
    }


def cv_name(cfg) -> str:
    """results/production/cv/<name>.json: the configuration without its fold."""
    resolved = replace(cfg, fold=None, run_id=None).resolved()
    return resolved.run_id.removeprefix("prod-")


def default_cv_path(cfg, results_dir: Path) -> Path:
    return Path(results_dir) / "production" / "cv" / f"{cv_name(cfg)}.json"
