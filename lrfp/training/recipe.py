"""A training recipe, behind one interface, and the registry of recipes by name.

The engine (config, loop, run) asks the recipe named by TrainConfig.recipe for everything that
differs between recipes: its data, optimizer and schedule, loss, run-id parts, checks of its own
options, and the settings a resumed run may change. A third recipe is one subclass and one
`register` call; no engine code changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeAlias, TypedDict

import torch
from torch import nn

from lrfp.core.errors import ConfigError

if TYPE_CHECKING:
    from torch.optim.lr_scheduler import LRScheduler

    from lrfp.data.bank_crops import FaceBankDataset
    from lrfp.data.images import FaceDataset

# A recipe's dataset of faces: (image tensor, class index) items, with .classes, .targets and .samples
FaceSet: TypeAlias = "FaceDataset | FaceBankDataset"
# (images (N, 3, S, S), class indices (N,)): a training or evaluation batch
Batch = tuple[torch.Tensor, torch.Tensor]


class RecipeConfig(Protocol):
    """The settings a recipe reads: a resolved config's, every one set (lrfp.training.config.ResolvedConfig,
    named here, not imported, since that module imports this one)."""

    model: str
    data: str
    optimizer: str
    lr: float
    momentum: float
    epochs: int
    seed: int
    degrade: str | None
    fold: int | None
    folds: int
    include_incorrect: bool
    class_weights: str

    @property
    def size(self) -> int: ...


class RecipeDefaults(TypedDict, total=False):
    """The TrainConfig settings a recipe may fill in where a config leaves them unset (None)."""

    model: str
    data: str
    norm: str
    pretrained: str
    epochs: int
    milestones: tuple[int, ...]
    optimizer: str
    input_size: int
    precision: str
    degrade: str


# Settings that may change between a run and its resumption; everything else must match.
RESUMABLE_CHANGES = frozenset({"epochs", "milestones", "out", "run_id", "device"})
CLASS_WEIGHTS = ("inverse", "sqrt")
WEIGHT_DECAY = 0.05  # AdamW's


class Recipe:
    """The defaults suit a recipe with plain cross entropy and a constant learning rate; a recipe
    must supply at least `name`, `datasets`, `fingerprint` and an optimizer (`defaults` or `default_optimizer`)."""

    name: str = ""
    resumable_changes: frozenset[str] = RESUMABLE_CHANGES
    # TrainConfig settings this recipe trains with when a config leaves them unset (None); an input size
    # left unset here is the model's own (its ModelSpec.default_input). These are the paper's schedule,
    # which a recipe keeps unless it says otherwise (the production recipe does).
    defaults: RecipeDefaults = {"epochs": 80, "milestones": (30, 50, 80), "precision": "auto"}

    def default_optimizer(self, model: str) -> str:
        """The optimizer for MODEL (a registry name) when neither the config nor `defaults` names one."""
        raise NotImplementedError

    def check(self, cfg: RecipeConfig) -> None:
        """Refuse options that do not fit the recipe (ConfigError saying why); these hold for all."""
        if cfg.fold is not None and not (cfg.folds >= 2 and 0 <= cfg.fold < cfg.folds):
            raise ConfigError(f"fold must be from 0 to {cfg.folds - 1} (of {cfg.folds} folds), got {cfg.fold}")
        if cfg.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(f"class weights must be one of {CLASS_WEIGHTS}, got {cfg.class_weights!r}")

    def run_id_parts(self, cfg: RecipeConfig, parts: list[str]) -> list[str]:
        """The run id's parts, given the common ones (model, variant, optimizer, size, seed, degradation)."""
        return parts

    def datasets(self, cfg: RecipeConfig) -> dict[str, FaceSet]:
        """{"train", "val", "test"}: datasets of faces with .classes, .targets and .samples."""
        raise NotImplementedError

    def fingerprint(self, cfg: RecipeConfig) -> str:
        """A hash of the data, recorded so that a resume on changed data is refused."""
        raise NotImplementedError

    def gpu_data_path(self, cfg: RecipeConfig) -> str:
        """How a GPU run gets its batches (lrfp.training.data.DATA_PATHS)."""
        return "loader+workers"

    def optimizer(
        self, cfg: RecipeConfig, model: nn.Module, steps_per_epoch: int
    ) -> tuple[torch.optim.Optimizer, LRScheduler | None]:
        """(optimizer, per-step scheduler or None)."""
        return make_optimizer(cfg, model), None

    def loss(self, cfg: RecipeConfig, train_set: FaceSet) -> nn.Module:
        return nn.CrossEntropyLoss()


def make_optimizer(cfg: RecipeConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer the config names, at its learning rate."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=WEIGHT_DECAY)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)


_REGISTRY: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Make `recipe` known by its name (TrainConfig(recipe=name))."""
    _REGISTRY[recipe.name] = recipe
    return recipe


def recipe_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def recipe_of(name: str) -> Recipe:
    if name not in _REGISTRY:
        raise ConfigError(f"recipe must be one of {recipe_names()}, got {name!r}")
    return _REGISTRY[name]
