"""The two recipes: the paper's and the production one (registered under "paper" and "production")."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from lrfp.core.errors import ConfigError
from lrfp.core.records import file_sha256
from lrfp.data.bank_crops import FaceBankDataset, eval_transform, production_transform
from lrfp.data.degrade import degrade_preset
from lrfp.data.facebank import ALL_CLASSES, FaceBank
from lrfp.data.folds import fold_faces
from lrfp.data.images import FaceDataset, manifest_hash, preset_transform, split_samples
from lrfp.data.voc import PAPER_CLASSES
from lrfp.models.registry import spec
from lrfp.training.recipe import FaceSet, Recipe, register

if TYPE_CHECKING:
    from torch.optim.lr_scheduler import LRScheduler

    from lrfp.training.recipe import RecipeConfig

# The production recipe (see lrfp.data.bank_crops): weighted cross entropy with label smoothing, AdamW
# with a one-cycle schedule over the whole run.
LABEL_SMOOTHING = 0.1


class PaperRecipe(Recipe):
    """The paper's: a built dataset folder's splits, its transforms (and an optional low-resolution
    degradation), the model's own optimizer at a constant rate, plain cross entropy."""

    name = "paper"

    def default_optimizer(self, model: str) -> str:
        return spec(model).optimizer

    def check(self, cfg: RecipeConfig) -> None:
        if cfg.fold is not None or cfg.include_incorrect:
            raise ConfigError("--fold and --include-incorrect belong to the production recipe (--recipe production)")
        super().check(cfg)

    def datasets(self, cfg: RecipeConfig) -> dict[str, FaceSet]:
        root = Path(cfg.data)
        splits: dict[str, FaceSet] = {}
        for split in ("train", "val", "test"):
            samples, classes = split_samples(root, split)
            train = split == "train"
            degrade = degrade_preset(cfg.degrade) if (train and cfg.degrade) else None
            splits[split] = FaceDataset(root, samples, classes, preset_transform(cfg.size, train, degrade=degrade))
        return splits

    def fingerprint(self, cfg: RecipeConfig) -> str:
        return manifest_hash(cfg.data)  # sha256 of the dataset manifest

    def gpu_data_path(self, cfg: RecipeConfig) -> str:
        # the whole decoded set kept and augmented on the GPU (lrfp.training.device_data); a degradation
        # preset runs on the CPU, so it keeps the loader
        return "device" if not cfg.degrade else super().gpu_data_path(cfg)


class ProductionRecipe(Recipe):
    """The production one: a face bank's crops (lrfp.data.bank_crops), a fold of its train+val photos
    held out for validation, AdamW with one cycle, class-weighted cross entropy with label smoothing."""

    name = "production"
    # the shipped production model (weights/prod-mobilenet_v2.md): `lrfp train --recipe production` alone
    # trains it again; milestones: the last epoch only
    defaults = Recipe.defaults | {
        "model": "mobilenet_v2",
        "data": "data/fmd853-faces.json",
        "input_size": 64,
        "epochs": 15,
        "milestones": (),
        "optimizer": "adamw",
        "precision": "fp32",  # as it was trained: bf16 would give other weights
    }
    # the one-cycle schedule is fitted to the epoch count: a resume cannot change it
    resumable_changes = Recipe.resumable_changes - {"epochs"}

    def check(self, cfg: RecipeConfig) -> None:
        super().check(cfg)
        if cfg.degrade:
            raise ConfigError("the production recipe has its own low-resolution augmentation; leave --degrade unset")

    def run_id_parts(self, cfg: RecipeConfig, parts: list[str]) -> list[str]:
        parts = ["prod", *parts]
        parts += (["3class"] if cfg.include_incorrect else []) + (["sqrtw"] if cfg.class_weights == "sqrt" else [])
        return parts + ([f"fold{cfg.fold}of{cfg.folds}"] if cfg.fold is not None else [])

    def classes(self, cfg: RecipeConfig) -> list[str]:
        return list(ALL_CLASSES if cfg.include_incorrect else PAPER_CLASSES)

    def datasets(self, cfg: RecipeConfig) -> dict[str, FaceSet]:
        bank = FaceBank(cfg.data)
        classes = self.classes(cfg)
        train, val = fold_faces(bank, classes, cfg.fold, cfg.folds, cfg.seed)
        test = bank.select(("test",), classes)
        return {
            "train": FaceBankDataset(bank, train, classes, "train", production_transform(cfg.size)),
            "val": FaceBankDataset(bank, val, classes, "label", eval_transform(cfg.size)),
            "test": FaceBankDataset(bank, test, classes, "label", eval_transform(cfg.size)),
        }

    def fingerprint(self, cfg: RecipeConfig) -> str:
        return file_sha256(cfg.data)  # sha256 of the face bank file

    def optimizer(
        self, cfg: RecipeConfig, model: nn.Module, steps_per_epoch: int
    ) -> tuple[torch.optim.Optimizer, LRScheduler | None]:
        optimizer, _ = super().optimizer(cfg, model, steps_per_epoch)
        total = cfg.epochs * steps_per_epoch
        return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total)

    def loss(self, cfg: RecipeConfig, train_set: FaceSet) -> nn.Module:
        """Each class weighed by the inverse of its share (or its square root), so that every training
        face is used and the rarer class still counts."""
        counts = torch.bincount(torch.tensor(train_set.targets), minlength=len(train_set.classes)).float()
        weights = counts.sum() / (len(counts) * counts.clamp(min=1))
        if cfg.class_weights == "sqrt":  # milder: a rare third class is not pushed onto the common ones
            weights = weights.sqrt()
        return nn.CrossEntropyLoss(weight=weights, label_smoothing=LABEL_SMOOTHING)


PAPER = register(PaperRecipe())
PRODUCTION = register(ProductionRecipe())
