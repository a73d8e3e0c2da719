"""The production model: scored on faces as the app meets them, and chosen by cross-validation.

`evaluate_faces` scores a classifier on a face bank's faces three ways: the labelled box (as the
paper's crops), the labelled box shrunk to 16 px, and the detector's box (what the app really
classifies). `cross_validate` trains one configuration on k folds of the train+val photos and
scores each held-out fold that way; the configuration with the best mean is the one to publish.
The test photos are used by neither: they report, they never choose.
"""
from __future__ import annotations

import copy
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np

from .facebank import Face, FaceBank
from .metrics import balanced_accuracy_interval, classification_metrics, wilson_interval
from .recipe import FaceBankDataset, eval_transform

SHRUNK_PX = 16
VIEWS = ("label", f"label_{SHRUNK_PX}px", "detector")


def evaluate_faces(classifier, bank: FaceBank, faces: list[Face]) -> dict:
    """Accuracy and balanced accuracy (95 % intervals) of each view of `faces`; faces of classes
    the classifier does not know are left out."""
    from .engine import eval_loader, predict_batches

    faces = [f for f in faces if f.label in classifier.classes]
    size = classifier.input_size
    labelled = FaceBankDataset(bank, faces, classifier.classes, "label", eval_transform(size))
    shrunk = copy.copy(labelled)  # the same crops, read once, under another transform
    shrunk.transform = eval_transform(size, SHRUNK_PX)
    detector = FaceBankDataset(bank, faces, classifier.classes, "detector", eval_transform(size))
    out = {}
    for name, dataset in zip(VIEWS, (labelled, shrunk, detector)):
        targets, probs, _ = predict_batches(classifier, eval_loader(dataset, 128))
        y_true, y_pred = targets.numpy(), probs.argmax(1).numpy() if len(targets) else np.zeros(0, dtype=int)
        result = classification_metrics(y_true, probs.numpy(), classifier.classes)
        correct = int((y_true == y_pred).sum())
        out[name] = {
            "n": result["n"],
            "accuracy": result["accuracy"],
            "accuracy_interval": list(wilson_interval(correct, result["n"])),
            "balanced_accuracy": result["balanced_accuracy"],
            "balanced_accuracy_interval": list(balanced_accuracy_interval(y_true, y_pred)),
            # macro F1 also weighs each class's precision: a model that flags many masked faces as
            # "worn incorrectly" keeps a high balanced accuracy but not a high macro F1
            "macro_f1": float(np.mean([v["f1"] for v in result["per_class"].values()])),
            "confusion_matrix": result["confusion_matrix"],
            "per_class_recall": {c: v["recall"] for c, v in result["per_class"].items()},
        }
    return out


def score(faces_result: dict) -> float:
    """One number to choose by: mean balanced accuracy of the labelled and the detector's crops."""
    return (faces_result["label"]["balanced_accuracy"] + faces_result["detector"]["balanced_accuracy"]) / 2


def _train_fold(fold_cfg) -> str:
    from .engine import fit

    fit(fold_cfg, progress=False)
    return fold_cfg.run_id


def cross_validate(cfg, progress: bool = True, log=print, engine: str = "local", workers: int = 1,
                   address: str | None = None) -> dict:  # fmt: skip
    """Train `cfg` (production recipe) on each fold, score each held-out fold; the CV record.

    engine "ray": the folds train first as Ray tasks (WORKERS at a time, each resuming its own run
    folder); the loop below then finds them finished and only scores them, as a sequential run would.
    """
    from .engine import fit, run_dir
    from .folds import fold_faces
    from .inference import Classifier
    from .sources import PAPER_CLASSES
    from .facebank import ALL_CLASSES

    bank = FaceBank(cfg.data)
    classes = list(ALL_CLASSES if cfg.include_incorrect else PAPER_CLASSES)
    if engine == "ray":
        from .sweep import run_tasks

        run_tasks(_train_fold, [(replace(cfg, fold=k, run_id=None).resolved(),) for k in range(cfg.folds)],
                  workers=workers, address=address, gpu=cfg.device != "cpu")  # fmt: skip
    folds = []
    for k in range(cfg.folds):
        fold_cfg = replace(cfg, fold=k, run_id=None).resolved()
        record = fit(fold_cfg, progress=progress, log=log)  # a finished fold is only read back
        last = record["milestones"][str(fold_cfg.epochs)]["checkpoint"]
        classifier = Classifier(run_dir(fold_cfg) / last, backend="torch")
        _, held_out = fold_faces(bank, classes, k, cfg.folds, cfg.seed)
        result = evaluate_faces(classifier, bank, held_out)
        result["score"] = score(result)
        result["run_id"] = fold_cfg.run_id
        result["seconds_per_epoch"] = record["seconds_per_epoch"]
        folds.append(result)
        log(f"fold {k}: label {result['label']['balanced_accuracy']:.4f}  "
            f"{SHRUNK_PX}px {result[f'label_{SHRUNK_PX}px']['balanced_accuracy']:.4f}  "
            f"detector {result['detector']['balanced_accuracy']:.4f}")  # fmt: skip
    def mean_sd(values):
        return {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}

    balanced = {key: mean_sd([f[key] if key == "score" else f[key]["balanced_accuracy"] for f in folds])
                for key in ("score", *VIEWS)}  # fmt: skip
    macro_f1 = {view: mean_sd([f[view]["macro_f1"] for f in folds]) for view in VIEWS}
    return {"config": {k: v for k, v in vars(cfg.resolved()).items() if k not in ("fold", "run_id")},
            "bank_sha256": bank.sha256, "folds": folds, "balanced_accuracy": balanced, "macro_f1": macro_f1}  # fmt: skip


def cv_name(cfg) -> str:
    """results/production/cv/<name>.json: the configuration without its fold."""
    resolved = replace(cfg, fold=None, run_id=None).resolved()
    return resolved.run_id.removeprefix("prod-")


def default_cv_path(cfg, results_dir: Path) -> Path:
    return Path(results_dir) / "production" / "cv" / f"{cv_name(cfg)}.json"
