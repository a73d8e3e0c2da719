"""A run's data: the recipe's datasets, checked, and the shuffled training batches, by one of three paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import torch
from torch.utils.data import DataLoader

from lrfp.core.errors import ConfigError
from lrfp.data.images import DatasetError, FaceDataset
from lrfp.training.device_data import DeviceBatches
from lrfp.training.recipe import Batch, FaceSet, recipe_of

if TYPE_CHECKING:
    from lrfp.training.config import ResolvedConfig

DATA_PATHS = ("loader", "loader+workers", "device")


class Batches(Protocol):
    """A run's shuffled training batches, which know how many they are (a DataLoader, DeviceBatches)."""

    def __iter__(self) -> Iterator[Batch]: ...

    def __len__(self) -> int: ...


def build_datasets(cfg: ResolvedConfig) -> dict[str, FaceSet]:
    """train/val/test datasets of a resolved config, as its recipe makes them."""
    datasets = recipe_of(cfg.recipe).datasets(cfg)
    check_splits_nonempty(cfg.data, {s: len(d) for s, d in datasets.items()})
    return datasets


def check_splits_nonempty(root: str | Path, sizes: dict[str, int]) -> None:
    """DatasetError naming every empty split: training needs all three (val picks, test reports)."""
    empty = [s for s, n in sizes.items() if n == 0]
    if empty:
        counts = ", ".join(f"{s} {n}" for s, n in sizes.items())
        raise DatasetError(
            f"{root}: the {' and '.join(empty)} split(s) are empty (faces: {counts}); rebuild it with "
            "more images or a larger share for them (`lrfp data build --split 70,15,15`)"
        )


def default_data_path(cfg: ResolvedConfig) -> str:
    """On the CPU a plain DataLoader (worker processes would only take cores from training). On a
    GPU the recipe chooses: the paper's keeps the whole decoded set on the device and augments there
    (lrfp.training.device_data); otherwise worker processes fill pinned memory, so the copy overlaps
    the GPU's work."""
    if cfg.device != "cuda":
        return "loader"
    return recipe_of(cfg.recipe).gpu_data_path(cfg)


def train_batches(
    cfg: ResolvedConfig, dataset: FaceSet, generator: torch.Generator, path: str | None = None
) -> tuple[Batches, str]:
    """(shuffled training batches, the data path that makes them: `path`, else the default one)."""
    path = path or default_data_path(cfg)
    if path == "loader":
        return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, generator=generator), path
    if path == "device":
        # the decoded images of a dataset folder (the paper recipe's); a face bank's crops are cut per item
        if not isinstance(dataset, FaceDataset):
            raise ConfigError(f"the device data path needs a dataset folder's faces, not {type(dataset).__name__}")
        return DeviceBatches(dataset, cfg.size, cfg.batch_size, generator, cfg.device), path
    workers = max(1, min(8, (os.cpu_count() or 2) - 1))
    loader = DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=True,
        generator=generator,
        num_workers=workers,
        pin_memory=True,
        persistent_workers=True,
    )
    return loader, path
