"""The paper's four experiments (SPEC.md, Tables 4-9) and our MobileNetV2 addition, as data."""

from __future__ import annotations

from dataclasses import dataclass

from lrfp.models.registry import REGISTRY, ModelSpec
from lrfp.training.config import TrainConfig
from lrfp.training.recipes import PAPER

# the paper recipe's schedule and TrainConfig's defaults, named here for `lrfp reproduce`
EPOCHS = PAPER.defaults["epochs"]
MILESTONES = PAPER.defaults["milestones"]
LR = TrainConfig.lr
BATCH_SIZE = TrainConfig.batch_size
NO_IMAGENET = "trained from scratch: ImageNet weights unavailable offline"


@dataclass(frozen=True)
class Experiment:
    experiment: int
    paper_table: int | None  # None: not in the paper
    model: str
    norm: str | None = None
    pretrained: str | None = None
    optimizer: str = "sgd"
    input_size: int = 224

    @property
    def variant(self) -> str:
        return self.norm or self.pretrained or "-"


def _experiments_of(model: ModelSpec) -> list[Experiment]:
    """One configuration per normalization variant, at the paper's input size and optimizer."""
    return [
        Experiment(
            model.experiment,
            model.paper_table,
            model.name,
            norm=norm,
            optimizer=model.optimizer,
            pretrained="imagenet" if model.pretrained_source else None,
            input_size=model.default_input,
        )
        for norm in (model.norms or (None,))
    ]


EXPERIMENTS: tuple[Experiment, ...] = tuple(e for model in REGISTRY.values() for e in _experiments_of(model))


def select(experiments: list[int] | None = None, models: list[str] | None = None) -> list[Experiment]:
    """The configurations of the chosen experiments, cheapest first (model3 at 64 px, then 224 px)."""
    chosen = [e for e in EXPERIMENTS if (not experiments or e.experiment in experiments)]
    if models:
        chosen = [e for e in chosen if e.model in models]
    return sorted(chosen, key=lambda e: (e.input_size, e.experiment, EXPERIMENTS.index(e)))
