"""The production model: scored on faces as the app meets them, and chosen by cross-validation.

`evaluate_faces` scores a classifier on a face bank's faces three ways: the labelled box (as the
paper's crops), the labelled box shrunk to 16 px, and the detector's box (what the app really
classifies). `cross_validate` trains one configuration on k folds of the train+val photos and
scores each held-out fold that way; the configuration with the best mean is the one to publish.
The test photos are used by neither: they report, they never choose.
"""

from __future__ import annotations

import copy

import numpy as np

from lrfp.core.metrics import balanced_accuracy_interval, classification_metrics, wilson_interval
from lrfp.data.bank_crops import FaceBankDataset, eval_transform
from lrfp.data.facebank import Face, FaceBank
from lrfp.training.loop import eval_loader, predict_batches

SHRUNK_PX = 16
VIEWS = ("label", f"label_{SHRUNK_PX}px", "detector")


def evaluate_faces(classifier, bank: FaceBank, faces: list[Face]) -> dict:
    """Accuracy and balanced accuracy (95 % intervals) of each view of `faces`; faces of classes
    the classifier does not know are left out."""
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
