"""A training run's settings (TrainConfig): their defaults, checks and the run id they give."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any

from lrfp.core.device import PRECISIONS, resolve_device
from lrfp.core.errors import ConfigError
from lrfp.core.paths import check_run_id
from lrfp.models.registry import (
    MAX_INPUT,
    check_name,
    default_input_size,
    is_paper_model,
    min_input_size,
    model_kwargs,
    variant_of,
)
from lrfp.training.recipe import recipe_of

OPTIMIZERS = ("sgd", "adam", "adamw")
# the largest learning rate taken: far above any that trains (the paper and production use 0.001), and
# below the ones (nan, inf, 1e300) that would only fill a run with NaN losses
MAX_LR = 1.0


@dataclass
class TrainConfig:
    # None: the recipe's default (Recipe.defaults), or the model's for an input size
    model: str | None = None
    data: str | None = None  # what the recipe trains on: a dataset folder (paper), a face bank file (production)
    norm: str | None = None
    pretrained: str | None = None
    epochs: int | None = None
    milestones: tuple[int, ...] | None = None
    optimizer: str | None = None  # None: the recipe's (the paper's: adam for model3, sgd otherwise; production: adamw)
    lr: float = 0.001
    momentum: float = 0.9  # SGD only; the paper gives none, 0.9 is the common choice
    batch_size: int = 64
    input_size: int | None = None
    seed: int = 0
    precision: str | None = None
    out: str = "runs"
    run_id: str | None = None
    degrade: str | None = None  # name of a low-resolution simulation preset, or None
    recipe: str = "paper"  # a name of lrfp.training.recipe's registry
    fold: int | None = None  # production: hold out this fold of the train+val photos as validation
    folds: int = 5
    include_incorrect: bool = False  # production: also learn mask_weared_incorrect
    device: str = "auto"
    class_weights: str = "inverse"  # production: weigh each class by 1/share, or by 1/sqrt(share)
    init_from: str | None = None  # a checkpoint of the same model whose weights the run starts from (a fine-tune)

    def filled(self) -> TrainConfig:
        """This config with the settings it leaves unset taken from its recipe (no checks)."""
        filled = replace(self)
        for name, value in recipe_of(self.recipe).defaults.items():
            if getattr(filled, name) is None:
                setattr(filled, name, value)
        return filled

    @property
    def size(self) -> int:
        """The input size of a resolved config (resolved() fills it in)."""
        if self.input_size is None:
            raise ConfigError("the input size is filled in by TrainConfig.resolved()")
        return self.input_size

    def resolved(self) -> ResolvedConfig:
        """Fill the defaults and check every value, with errors that say what is allowed."""
        return self.filled()._checked()

    def _checked(self) -> ResolvedConfig:
        model, data, epochs, precision = self.model, self.data, self.epochs, self.precision
        if model is None or data is None or epochs is None or precision is None:
            name = next(n for n in ("model", "data", "epochs", "precision") if getattr(self, n) is None)
            raise ConfigError(f"the {self.recipe} recipe has no default {name}: give one (--{name})")
        check_name(model)
        kwargs = model_kwargs(model, self.norm, self.pretrained)
        recipe = recipe_of(self.recipe)
        optimizer = self.optimizer or recipe.default_optimizer(model)
        if optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
        input_size = default_input_size(model) if self.input_size is None else self.input_size
        if not min_input_size(model) <= input_size <= MAX_INPUT:
            raise ConfigError(
                f"input size {input_size} px: {model} needs an input size from "
                f"{min_input_size(model)} to {MAX_INPUT} px"
            )
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}")
        if epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch size must be positive")
        if not 0 < self.lr <= MAX_LR:  # nan fails this too
            raise ConfigError(f"learning rate {self.lr}: give a number above 0 and at most {MAX_LR:g}")
        settled = asdict(self) | {
            "model": model,
            "data": data,
            "norm": kwargs.get("norm") if is_paper_model(model) else None,
            "pretrained": kwargs.get("pretrained"),
            "epochs": epochs,
            "optimizer": optimizer,
            "input_size": input_size,
            "precision": precision,
            # placeholders, set below once the recipe has checked the config
            "milestones": (),
            "run_id": "",
        }
        cfg = ResolvedConfig(**settled)
        recipe.check(cfg)
        cfg.device = resolve_device(self.device)
        cfg.milestones = tuple(sorted({m for m in self.milestones or () if 1 <= m <= epochs} | {epochs}))
        cfg.run_id = check_run_id(self.run_id or default_run_id(cfg))
        return cfg


@dataclass(kw_only=True)
class ResolvedConfig(TrainConfig):
    """A TrainConfig with every setting its recipe and model fill in set and checked: what TrainConfig.resolved()
    gives, and what a run, its data and its recipe take. Its fields are TrainConfig's, so it is recorded as one."""

    model: str
    data: str
    epochs: int
    milestones: tuple[int, ...]
    optimizer: str
    input_size: int
    precision: str
    run_id: str


def default_run_id(cfg: ResolvedConfig) -> str:
    variant = variant_of(cfg.model, {"norm": cfg.norm, "pretrained": cfg.pretrained})
    parts = [cfg.model] + ([variant] if variant != "-" else []) + [cfg.optimizer, f"{cfg.input_size}px", f"s{cfg.seed}"]
    if cfg.degrade:
        parts.append(cfg.degrade)
    return "-".join(recipe_of(cfg.recipe).run_id_parts(cfg, parts))


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """A recorded config with every setting added to TrainConfig after it was written at its default,
    so older runs stay resumable and comparable."""
    return {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING} | config


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """The settings of a recorded config that a resumed run must share with its start."""
    config = with_defaults(config)
    changeable = recipe_of(config["recipe"]).resumable_changes
    return {k: v for k, v in config.items() if k not in changeable}
