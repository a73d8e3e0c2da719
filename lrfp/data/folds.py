"""Which faces train and which validate: the face bank's splits, or k folds grouped by photo.

Cross-validation folds are drawn from the train and val photos only (the test photos are never
used to choose anything). All faces of a photo, and of photos that are copies of each other,
fall in one fold; scikit-learn's StratifiedGroupKFold keeps each fold's class mix close to the
whole's.
"""

from __future__ import annotations

from lrfp.data.facebank import Face, FaceBank


def fold_faces(
    bank: FaceBank, classes, fold: int | None, folds: int = 5, seed: int = 0
) -> tuple[list[Face], list[Face]]:
    """(training faces, validation faces): the bank's train/val splits when `fold` is None, else
    fold number `fold` of `folds` held out from the train+val photos."""
    from sklearn.model_selection import StratifiedGroupKFold  # here: scikit-learn brings SciPy (about 1 s)

    if fold is None:
        return bank.select(("train",), classes), bank.select(("val",), classes)
    pool = bank.select(("train", "val"), classes)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    parts = list(splitter.split(pool, [f.label for f in pool], [f.group for f in pool]))
    train_idx, val_idx = parts[fold]
    return [pool[i] for i in train_idx], [pool[i] for i in val_idx]
