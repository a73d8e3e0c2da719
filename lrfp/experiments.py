"""The paper's four experiments (SPEC.md, Tables 4-9) and our MobileNetV2 addition, as data."""
from __future__ import annotations

from dataclasses import dataclass

EPOCHS = 80
MILESTONES = (30, 50, 80)
LR = 0.001
BATCH_SIZE = 64
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


EXPERIMENTS: tuple[Experiment, ...] = (
    *(Experiment(1, 4, "model1", norm=n) for n in ("batchnorm", "groupnorm", "groupnorm_ws")),
    *(Experiment(2, 5, "model2", norm=n) for n in ("batchnorm", "groupnorm", "groupnorm_ws")),
    Experiment(3, 6, "model3", optimizer="adam", input_size=64),
    # listed cheapest first, the order `lrfp reproduce` runs them in
    Experiment(4, 9, "alexnet", pretrained="imagenet"),
    Experiment(4, 8, "resnet18", pretrained="imagenet"),
    # not in the paper: the one transfer model whose ImageNet weights we can load offline here
    Experiment(4, None, "mobilenet_v2", pretrained="imagenet"),
    Experiment(4, 7, "vgg16", pretrained="imagenet"),
)


def select(experiments: list[int] | None = None, models: list[str] | None = None) -> list[Experiment]:
    """The configurations of the chosen experiments, cheapest first (model3 at 64 px, then 224 px)."""
    chosen = [e for e in EXPERIMENTS if (not experiments or e.experiment in experiments)]
    if models:
        chosen = [e for e in chosen if e.model in models]
    return sorted(chosen, key=lambda e: (e.input_size, e.experiment, EXPERIMENTS.index(e)))
