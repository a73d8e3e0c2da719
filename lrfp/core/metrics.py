"""Classification metrics from labels and class probabilities (scikit-learn does the counting)."""

from __future__ import annotations

import warnings

import numpy as np

# scikit-learn is imported by the functions that count with it: it brings SciPy (about a second), which
# every `lrfp` command, `--help` included, would otherwise pay at start


def wilson_interval(correct: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % (z = 1.96) Wilson score interval of a proportion: sound near 0 and 1 and for small n,
    where the normal approximation is not. (nan, nan) for n = 0."""
    if n <= 0:
        return float("nan"), float("nan")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def balanced_accuracy_interval(y_true, y_pred, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of balanced accuracy (the mean of per-class recalls).

    Faces are resampled within each class, as the recalls are computed within each class; a
    Wilson interval fits a single proportion, not a mean of several. (nan, nan) when empty.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = np.unique(y_true)
    if len(classes) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    recalls = []
    for c in classes:
        hits = (y_pred[y_true == c] == c).astype(float)
        # the mean of n_boot resamples of this class's hits, drawn in one array
        recalls.append(rng.choice(hits, size=(n_boot, len(hits))).mean(axis=1))
    means = np.mean(recalls, axis=0)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


# Face-size bins of the test set, by the shorter side of the face box in the source photo.
FACE_SIZE_BINS = (("<16", 0, 16), ("16-32", 16, 32), (">=32", 32, None))
# Face-size bins of whole frames (the detection views), by the shorter side of the face box in the frame
# the detector was given: from the smallest faces to faces that fill a phone photo.
FRAME_FACE_BINS = (
    ("<16", 0, 16),
    ("16-32", 16, 32),
    ("32-64", 32, 64),
    ("64-128", 64, 128),
    ("128-256", 128, 256),
    ("256-512", 256, 512),
    (">=512", 512, None),
)


def size_bin(side: float, bins=FACE_SIZE_BINS) -> str:
    """The name of the bin a face's shorter side falls in."""
    return next(name for name, lo, hi in bins if lo <= side and (hi is None or side < hi))


def classification_metrics(y_true, probs, classes: list[str], avg_loss: float | None = None) -> dict:
    """accuracy, balanced_accuracy, avg_loss, confusion_matrix (rows = true class), per-class P/R/F1, n."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y_true = np.asarray(y_true, dtype=int)
    probs = np.asarray(probs, dtype=float).reshape(len(y_true), len(classes))
    y_pred = probs.argmax(axis=1) if len(y_true) else np.zeros(0, dtype=int)
    labels = list(range(len(classes)))
    if len(y_true):
        precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
        matrix = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    else:  # scikit-learn refuses empty input; an empty set has no errors to count
        precision = recall = f1 = support = [0] * len(classes)
        matrix = [[0] * len(classes) for _ in classes]
    result = {
        "n": int(len(y_true)),
        "classes": list(classes),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else float("nan"),
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
        "avg_loss": None if avg_loss is None else float(avg_loss),
        "confusion_matrix": matrix,
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support)
        },
    }
    if len(classes) == 2 and len(set(y_true.tolist())) == 2:
        result["roc_auc"] = float(roc_auc_score(y_true, probs[:, 1]))
    return result


def balanced_accuracy(y_true, y_pred) -> float:
    """The mean recall of the classes present in y_true (class indices or names); nan when empty."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        return float("nan")
    if len(set(y_true.tolist())) < 2:  # recall of the only class present
        return float(accuracy_score(y_true, y_pred))
    with warnings.catch_warnings():
        # a model with a class the data lacks (three-class model, two-class set): the mean recall of
        # the classes present is what is meant; scikit-learn computes that and only warns
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(y_true, y_pred))


def accuracy_by_face_size(y_true, probs, face_px) -> dict:
    """Accuracy and count per face-size bin; bins with no face are left out."""
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(probs).argmax(axis=1)
    sizes = np.asarray([np.nan if s is None else s for s in face_px], dtype=float)
    out = {}
    for name, lo, hi in FACE_SIZE_BINS:
        mask = (sizes >= lo) & ((sizes < hi) if hi is not None else True)
        if mask.any():
            out[name] = {"accuracy": float((y_pred[mask] == y_true[mask]).mean()), "n": int(mask.sum())}
    return out
