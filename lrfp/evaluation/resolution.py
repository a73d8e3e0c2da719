"""How small can a face be and still be judged right: accuracy with test faces shrunk to N px."""

from __future__ import annotations

from pathlib import Path

from lrfp.data.degrade import DownUp
from lrfp.data.images import FaceDataset, preset_transform, split_samples
from lrfp.pipeline.inference import Classifier
from lrfp.training.loop import evaluate

SIZES = (8, 12, 16, 24, 32, 48, 64)


def resolution_study(classifier: Classifier, data: str, sizes=SIZES, split: str = "test", on_row=None) -> dict:
    """Accuracy and balanced accuracy of the split at native size and with every face's shorter side
    shrunk to each size (faces already smaller stay as they are), then resized to the model's input."""
    root = Path(data)
    samples, classes = split_samples(root, split)
    norm = classifier.checkpoint["normalization"]
    dataset = FaceDataset(root, samples, classes, classifier.transform)
    rows = []
    for size in (None, *sizes):
        if size is not None:
            dataset.transform = preset_transform(
                classifier.input_size, mean=norm["mean"], std=norm["std"], degrade=DownUp(size)
            )
        result = evaluate(classifier, dataset)
        rows.append(
            {
                "face_px": size or "native",
                "accuracy": result["accuracy"],
                "balanced_accuracy": result["balanced_accuracy"],
                "n": result["n"],
            }
        )
        if on_row is not None:  # each size as it is measured (the CLI prints it)
            on_row(rows[-1])
    return {
        "model": classifier.name,
        "backend": classifier.backend,
        "split": split,
        "data": str(data),
        "input_size": classifier.input_size,
        "rows": rows,
    }
