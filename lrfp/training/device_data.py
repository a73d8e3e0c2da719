"""The paper recipe's training batches made on the device itself (a GPU), not by a loader.

The faces are small and few (1,042 at 224 px are 157 MB as uint8), so the whole training set is
decoded once, resized to the input size and kept on the device. Each batch is picked by the
run's shuffling generator and augmented there, as the paper's recipe does on the CPU: a random
horizontal flip and a random rotation within ±10° (black corners), as one affine warp per batch.
A GPU then never waits for Python to decode and rotate images one at a time.

It differs from the CPU path in one way: the rotation follows the resize instead of preceding it
(the same warp at the model's resolution). The augmentation draws from the device's random
stream, which `lrfp train` saves in last.pt; resuming on a GPU continues the same streams, but
bit-identical results across a resume are promised only on the CPU (GPU kernels are not all
deterministic).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lrfp.data.images import IMAGENET_MEAN, IMAGENET_STD

if TYPE_CHECKING:
    from lrfp.data.images import FaceDataset

MAX_DEGREES = 10.0


class DeviceBatches:
    """Shuffled, augmented (image, target) batches of a FaceDataset, held on `device`."""

    def __init__(self, dataset: FaceDataset, input_size: int, batch_size: int, generator: torch.Generator, device: str):
        resize = v2.Resize((input_size, input_size), antialias=True)
        self.images = torch.stack([TF.pil_to_tensor(resize(img)) for img in dataset.images]).to(device)
        self.targets = torch.tensor(dataset.targets, device=device)
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
        self.batch_size, self.generator, self.device = batch_size, generator, device
        self.dataset = dataset

    def __len__(self) -> int:
        return math.ceil(len(self.targets) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.targets), generator=self.generator).to(self.device)
        for start in range(0, len(order), self.batch_size):
            pick = order[start : start + self.batch_size]
            x = self.images[pick].float().div_(255)
            yield (augment(x) - self.mean) / self.std, self.targets[pick]


def augment(x: torch.Tensor) -> torch.Tensor:
    """Random flip and rotation of each image of a float batch (N, 3, H, W), in one grid sample."""
    n = x.shape[0]
    angle = (torch.rand(n, device=x.device) * 2 - 1) * math.radians(MAX_DEGREES)
    flip = torch.where(torch.rand(n, device=x.device) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(cos)
    # rotation times a mirror of the x axis: the sampling grid of the warped image
    theta = torch.stack([torch.stack([cos * flip, -sin, zero], 1), torch.stack([sin * flip, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
