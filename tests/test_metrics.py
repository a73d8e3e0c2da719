import math

import numpy as np
import pytest

from lrfp.core.metrics import accuracy_by_face_size, classification_metrics

CLASSES = ["with_mask", "without_mask"]


def onehot_probs(pred):
    return np.eye(2)[pred] * 0.8 + 0.1


def test_metrics_against_a_hand_computed_case():
    # true: 4 with_mask, 2 without; predicted: 3 of the 4 with right, 1 of the 2 without right
    y = [0, 0, 0, 0, 1, 1]
    pred = [0, 0, 0, 1, 1, 0]
    m = classification_metrics(y, onehot_probs(pred), CLASSES, avg_loss=0.5)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert m["confusion_matrix"] == [[3, 1], [1, 1]]
    assert m["per_class"]["with_mask"]["precision"] == pytest.approx(3 / 4)
    assert m["per_class"]["with_mask"]["recall"] == pytest.approx(3 / 4)
    assert m["per_class"]["without_mask"]["precision"] == pytest.approx(1 / 2)
    assert m["per_class"]["without_mask"]["f1"] == pytest.approx(1 / 2)
    assert m["per_class"]["without_mask"]["support"] == 2
    assert m["avg_loss"] == 0.5
    assert 0 <= m["roc_auc"] <= 1


def test_single_class_present_has_no_auc_and_finite_balanced_accuracy():
    m = classification_metrics([1, 1], onehot_probs([1, 0]), CLASSES)
    assert "roc_auc" not in m
    assert m["balanced_accuracy"] == pytest.approx(0.5)


def test_empty_input_is_nan_not_a_crash():
    m = classification_metrics([], np.zeros((0, 2)), CLASSES)
    assert m["n"] == 0 and math.isnan(m["accuracy"])


def test_accuracy_by_face_size_bins():
    y = [0, 0, 1, 1, 0]
    pred = [0, 1, 1, 1, 0]
    sizes = [10, 12, 20, 40, 100]
    bins = accuracy_by_face_size(y, onehot_probs(pred), sizes)
    assert bins["<16"] == {"accuracy": 0.5, "n": 2}
    assert bins["16-32"] == {"accuracy": 1.0, "n": 1}
    assert bins[">=32"] == {"accuracy": 1.0, "n": 2}
