"""Model registry: the paper's three CNNs and torchvision transfer models, created by name.

The paper (Tables 1-3) gives the layer order and kernel sizes but no channel or FC widths.
The widths we chose live in each model's ModelSpec (REGISTRY) and nowhere else. Every paper model ends its
convolutional part with an adaptive average pool to a fixed grid, so one model works at any
input size from 16 to 224 px; at the paper's own input size that pool is the identity
(model2 at 224 px, model3 at 64 px) or a plain 4x4 average (model1 at 224 px).
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

import torch
from torch import nn

from lrfp.core.errors import ConfigError, LrfpError
from lrfp.models.paper_cnn import PaperArchitecture, PaperCNN

NORMS = ("batchnorm", "groupnorm", "groupnorm_ws")
PRETRAINED = ("imagenet", "none")
DEFAULT_NORM, DEFAULT_PRETRAINED = NORMS[0], PRETRAINED[0]  # what a model gets when none is named
MIN_INPUT_PAPER = 16
MAX_INPUT = 512  # the largest input size lrfp trains at (TrainConfig refuses more)


class ModelKwargs(TypedDict, total=False):
    """A model's constructor arguments as a checkpoint stores them: a paper model's norm, a transfer
    model's pretrained weights, and the number of classes."""

    norm: str | None
    pretrained: str
    num_classes: int


class ImagenetWeights(Protocol):
    """What lrfp uses of a torchvision weights enum entry (torchvision ships no type information)."""

    @property
    def url(self) -> str: ...

    def get_state_dict(self, *, progress: bool, check_hash: bool) -> dict[str, torch.Tensor]: ...


class UnknownModelError(LrfpError):
    pass


class WeightsUnavailableError(LrfpError):
    pass


def _paper_model(spec: ModelSpec, norm: str | None, num_classes: int) -> nn.Module:
    if norm not in spec.accepted_norms:
        if not spec.norms:
            raise ConfigError(f"{spec.name} has no normalization layer; leave norm unset")
        raise ConfigError(f"{spec.name} needs norm in {spec.norms}, got {norm!r}")
    if spec.architecture is None:
        raise ConfigError(f"{spec.name} is not one of the paper's models")
    return PaperCNN(spec.architecture, norm if spec.norms else None, num_classes)


def imagenet_weights(name: str) -> ImagenetWeights:
    """The torchvision weights enum entry used for `pretrained='imagenet'`."""
    from torchvision.models import get_model_weights

    weights: ImagenetWeights = get_model_weights(name).IMAGENET1K_V1
    return weights


def cached_weights_path(name: str) -> str:
    import torch.hub

    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(imagenet_weights(name).url))


def imagenet_available(name: str, timeout: float = 10.0) -> bool:
    """Whether `pretrained='imagenet'` can work here: the file is in torchvision's cache, or it
    downloads now. A cached file is not read here; its hash is checked when the model is built.
    The download server is asked first, so that offline nothing is written to the cache folder
    (which may be a shared, read-only one)."""
    if os.path.isfile(cached_weights_path(name)):
        return True
    try:
        urllib.request.urlopen(
            urllib.request.Request(imagenet_weights(name).url, method="HEAD"), timeout=timeout
        ).close()
    except OSError:  # URLError, timeouts, refused connections
        return False
    try:
        _load_imagenet_state(name)  # downloads into the cache
        return True
    except WeightsUnavailableError:
        return False


def _load_imagenet_state(name: str) -> dict[str, torch.Tensor]:
    weights = imagenet_weights(name)
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except Exception as exc:  # offline: URLError/OSError; a bad cached file: RuntimeError
        raise WeightsUnavailableError(
            f"ImageNet weights for {name} could not be loaded ({type(exc).__name__}: {exc}). "
            f"torchvision looks for the file {cached_weights_path(name)} (set TORCH_HOME to choose "
            f"the cache folder) and downloads it from {weights.url} when it is missing. Put that file "
            f"there, run with internet once, or use pretrained='none' to train from scratch."
        ) from exc


def _transfer_model(spec: ModelSpec, pretrained: str, num_classes: int) -> nn.Module:
    from torchvision.models import get_model

    if pretrained not in PRETRAINED:
        raise ConfigError(f"pretrained must be one of {PRETRAINED}, got {pretrained!r}")
    model: nn.Module = get_model(spec.name, weights=None)
    if pretrained == "imagenet":
        model.load_state_dict(_load_imagenet_state(spec.name))
    parent: Any = model  # walked by attribute names and indices into its nn.Sequential parts
    for step in spec.head[:-1]:
        parent = parent[step] if isinstance(step, int) else getattr(parent, step)
    last = spec.head[-1]
    old = parent[last] if isinstance(last, int) else getattr(parent, last)
    new = nn.Linear(old.in_features, num_classes)
    if isinstance(last, int):
        parent[last] = new
    else:
        setattr(parent, last, new)
    return model


@dataclass(frozen=True)
class ModelSpec:
    """Every fact lrfp knows about one model; the engine, checkpoints, results, report, publish and the
    app ask here. A paper CNN has an `architecture` (built by PaperCNN); a torchvision model has a
    `head`, the attribute path of its last layer, which is replaced by one with an output per class."""

    name: str
    experiment: int  # the paper's experiment it belongs to (4: transfer models)
    paper_table: int | None  # the paper's results table; None: not in the paper
    default_input: int  # the paper's input size, px
    min_input: int  # smallest input the network accepts, px
    optimizer: str  # the paper's optimizer for it
    norms: tuple[str, ...] = ()  # normalization variants (model1, model2); () for none
    pretrained_source: str | None = None  # ImageNet weights it can start from
    published: bool = False  # small enough to ship in weights/ (< ~20 MB as an fp32 checkpoint)
    architecture: PaperArchitecture | None = None
    head: tuple[str | int, ...] = ()

    @property
    def is_paper_model(self) -> bool:
        return self.architecture is not None

    @property
    def accepted_norms(self) -> tuple[str | None, ...]:
        """The norm values its checkpoints and constructor take (a model without one: unset)."""
        return self.norms or (None, "none")

    @property
    def paper_variants(self) -> tuple[str, ...]:
        """The variant names of the paper's table rows: its norms, '-' for model3, 'imagenet' for transfer models."""
        if self.norms:
            return self.norms
        return ("imagenet",) if self.pretrained_source else ("-",)

    def kwargs(self, norm: str | None = None, pretrained: str | None = None, num_classes: int = 2) -> ModelKwargs:
        """The constructor arguments a checkpoint stores: only those that apply to this model."""
        if self.is_paper_model:
            return {"norm": (norm or DEFAULT_NORM) if self.norms else None, "num_classes": num_classes}
        return {"pretrained": pretrained or DEFAULT_PRETRAINED, "num_classes": num_classes}

    def build(self, norm: str | None = None, pretrained: str = "none", num_classes: int = 2) -> nn.Module:
        if self.is_paper_model:
            return _paper_model(self, norm, num_classes)
        return _transfer_model(self, pretrained, num_classes)


_TORCHVISION_IMAGENET = "torchvision IMAGENET1K_V1"


def _paper(
    name: str,
    experiment: int,
    table: int,
    size: int,
    optimizer: str,
    arch: PaperArchitecture,
    norms: tuple[str, ...] = NORMS,
) -> ModelSpec:
    return ModelSpec(
        name, experiment, table, size, MIN_INPUT_PAPER, optimizer, norms=norms, published=True, architecture=arch
    )


def _torchvision(
    name: str, table: int | None, min_input: int, head: tuple[str | int, ...], published: bool = False
) -> ModelSpec:
    return ModelSpec(
        name,
        4,
        table,
        224,
        min_input,
        "sgd",
        pretrained_source=_TORCHVISION_IMAGENET,
        published=published,
        head=head,
    )


# One registration per model, in the order `lrfp reproduce` runs them: cheapest first within each experiment.
# Torchvision minimum inputs: AlexNet's stride-4 stem and three 3x3/2 max-pools need 63 px; the others halve
# five times and end in an adaptive pool, so 32 px still leaves them a 1x1 map.
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # Table 1: Conv5-Pool-Conv3-BN-Pool-Conv3-Pool-FC-FC
        _paper(
            "model1", 1, 4, 224, "sgd", PaperArchitecture(((16, 5, False), (32, 3, True), (64, 3, False)), 7, (128,))
        ),
        # Table 2: Conv5-Pool-Conv3-BN-Pool-Conv3-Pool-Conv3-BN-Pool-Conv3-Pool-FC-FC
        _paper(
            "model2",
            2,
            5,
            224,
            "sgd",
            PaperArchitecture(
                ((16, 5, False), (32, 3, True), (64, 3, False), (64, 3, True), (128, 3, False)), 7, (128,)
            ),
        ),
        # Table 3: Conv3-Pool-Conv2-Pool-Conv2-Pool-FC-FC-FC, 64 px input, no normalization layer
        _paper(
            "model3",
            3,
            6,
            64,
            "adam",
            PaperArchitecture(((32, 3, False), (64, 2, False), (128, 2, False)), 8, (256, 64)),
            norms=(),
        ),
        _torchvision("alexnet", 9, 64, ("classifier", 6)),
        _torchvision("resnet18", 8, 32, ("fc",)),
        # not in the paper: the one transfer model whose ImageNet weights can be loaded offline here
        _torchvision("mobilenet_v2", None, 32, ("classifier", 1), published=True),
        _torchvision("vgg16", 7, 32, ("classifier", 6)),
    )
}
MODEL_NAMES = tuple(REGISTRY)


def spec(name: str) -> ModelSpec:
    check_name(name)
    return REGISTRY[name]


def is_paper_model(name: str) -> bool:
    return spec(name).is_paper_model


def default_input_size(name: str) -> int:
    return spec(name).default_input


def min_input_size(name: str) -> int:
    return spec(name).min_input


def model_kwargs(
    name: str, norm: str | None = None, pretrained: str | None = None, num_classes: int = 2
) -> ModelKwargs:
    """The constructor arguments a checkpoint stores: only those that apply to `name`."""
    return spec(name).kwargs(norm, pretrained, num_classes)


def variant_of(name: str, kwargs: Mapping[str, object]) -> str:
    """A short label for tables: the norm of model1/2, the weights of transfer models, '-' for model3."""
    variant = (kwargs.get("norm") or "-") if is_paper_model(name) else kwargs.get("pretrained", "imagenet")
    if not isinstance(variant, str):
        raise ConfigError(
            f"{name}: its {'norm' if is_paper_model(name) else 'pretrained'} must be a name, got {variant!r}"
        )
    return variant


def check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")


def create_model(name: str, norm: str | None = None, pretrained: str = "none", num_classes: int = 2) -> nn.Module:
    """Build a registered model. `norm` applies to model1/model2, `pretrained` to transfer models."""
    return spec(name).build(norm, pretrained, num_classes)
