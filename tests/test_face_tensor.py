"""The inference transform without torchvision (FaceTensor) gives torchvision's tensor bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from lrfp.data.images import IMAGENET_MEAN, IMAGENET_STD, FaceTensor, preset_transform

ROOT = Path(__file__).resolve().parents[1]
CROPS = sorted((ROOT / "demo" / "fmd853-lr").glob("*/*.png"))[:40]


def torchvision_steps(size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> v2.Compose:
    """preset_transform's inference steps as torchvision runs them (what FaceTensor replaces)."""
    return v2.Compose(
        [
            v2.Resize((size, size), antialias=True),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean, std),
        ]
    )


def noise(w: int, h: int, seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.parametrize("size", [32, 64, 224])
def test_face_tensor_equals_torchvision_bit_for_bit(size):
    assert CROPS, "the demo set's crops are missing"
    images = [Image.open(p).convert("RGB") for p in CROPS]
    images += [noise(w, h, seed) for seed, (w, h) in enumerate([(7, 9), (64, 64), (300, 41), (1000, 700)])]
    images += [images[0].convert("L")]  # one band: broadcast to three by the mean, as with torchvision
    ours, theirs = FaceTensor(size), torchvision_steps(size)
    for image in images:
        a, b = ours(image), theirs(image)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b), image.size


def test_face_tensor_uses_the_checkpoint_normalization():
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    image = noise(50, 60, 1)
    assert torch.equal(FaceTensor(64, mean, std)(image), torchvision_steps(64, mean, std)(image))


def test_inference_preset_is_face_tensor_and_training_keeps_torchvision():
    assert isinstance(preset_transform(64), FaceTensor)
    assert isinstance(preset_transform(64, train=True), v2.Compose)


def test_face_tensor_refuses_a_tensor():
    with pytest.raises(TypeError, match="PIL image"):
        FaceTensor(32)(torch.zeros(3, 8, 8))
