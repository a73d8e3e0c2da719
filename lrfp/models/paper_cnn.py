"""The paper's CNNs (its Models 1-3) as one network family: conv blocks (conv, optional norm, ReLU, 2x2 max
pool), an adaptive average pool to a fixed grid, then fully connected layers. Each model's widths are its
PaperArchitecture, in its ModelSpec (lrfp.models.registry); the norms are BatchNorm, GroupNorm, or GroupNorm
with weight-standardized convolutions."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

GROUPNORM_GROUPS = 8


@dataclass(frozen=True)
class PaperArchitecture:
    """(out_channels, kernel, normalized?) per conv layer, the pooled grid, FC hidden widths
    (the input size and the rest live in the model's ModelSpec)."""

    convs: tuple[tuple[int, int, bool], ...]
    grid: int
    fc_hidden: tuple[int, ...]


class WSConv2d(nn.Conv2d):
    """Conv2d whose weight is standardized (zero mean, unit variance per output filter) on every call."""

    eps = 1e-5

    def standardized_weight(self) -> torch.Tensor:
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return (w - mean) / torch.sqrt(var + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.standardized_weight(), self.bias, self.stride, self.padding, self.dilation, self.groups)


def _norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "batchnorm":
        return nn.BatchNorm2d(channels)
    return nn.GroupNorm(min(GROUPNORM_GROUPS, channels), channels)


class PaperCNN(nn.Module):
    """Conv blocks (conv, optional norm, ReLU, 2x2 max pool), adaptive pool, then an FC stack."""

    def __init__(self, arch: PaperArchitecture, norm: str | None, num_classes: int):
        super().__init__()
        conv_cls = WSConv2d if norm == "groupnorm_ws" else nn.Conv2d
        layers: list[nn.Module] = []
        in_ch = 3
        for out_ch, kernel, normalized in arch.convs:
            # odd kernels keep the size ("same" padding); the paper's 2x2 kernels shrink it by one
            layers.append(conv_cls(in_ch, out_ch, kernel, padding=kernel // 2 if kernel % 2 else 0))
            if normalized and norm is not None:
                layers.append(_norm_layer(norm, out_ch))
            layers.append(nn.ReLU(inplace=True))
            # ceil_mode keeps a 1x1 map alive, so 16 px inputs pass all five pools of model2
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(arch.grid)
        fc: list[nn.Module] = [nn.Flatten()]
        width = in_ch * arch.grid * arch.grid
        for hidden in arch.fc_hidden:
            fc += [nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        fc.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(self.pool(self.features(x)))
        return logits
