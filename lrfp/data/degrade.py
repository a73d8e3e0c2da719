"""Low-resolution simulation: make a face look as if a cheap outdoor camera took it.

Used as a training augmentation (`lrfp train --degrade outdoor`) and by the resolution study,
which shrinks test faces to a fixed size.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lrfp.core.errors import ConfigError


class DownUp(torch.nn.Module):
    """Shrink the shorter side to `size` px (random in [lo, hi] when a range), then back up."""

    def __init__(self, lo: int, hi: int | None = None):
        super().__init__()
        self.lo, self.hi = lo, hi if hi is not None else lo

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        target = int(torch.randint(self.lo, self.hi + 1, ()).item()) if self.hi > self.lo else self.lo
        if min(h, w) <= target:
            return img
        scale = target / min(h, w)
        small = TF.resize(img, [max(1, round(h * scale)), max(1, round(w * scale))], antialias=True)
        return TF.resize(small, [h, w], antialias=False)


def outdoor_video() -> v2.Compose:
    """Random downscale to 8-64 px and back, blur, JPEG artefacts, brightness/contrast, noise."""
    return v2.Compose(
        [
            v2.RandomApply([DownUp(8, 64)], p=0.8),
            v2.RandomApply([v2.GaussianBlur(3, sigma=(0.1, 1.2))], p=0.3),
            v2.RandomApply([v2.JPEG((30, 90))], p=0.5),
            v2.ColorJitter(brightness=0.4, contrast=0.4),
            v2.ToDtype(torch.float32, scale=True),
            v2.RandomApply([v2.GaussianNoise(sigma=0.03)], p=0.3),
            v2.Lambda(lambda x: x.clamp(0, 1)),
        ]
    )


DEGRADE_PRESETS = {"outdoor": outdoor_video}


def degrade_preset(name: str):
    if name not in DEGRADE_PRESETS:
        raise ConfigError(f"unknown degrade preset {name!r}; known: {', '.join(DEGRADE_PRESETS)}")
    return DEGRADE_PRESETS[name]()
