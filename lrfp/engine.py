"""Training and evaluation: train_one_epoch / evaluate / fit, with milestones and exact resume.

Reproducibility contract: the seed fixes model init, shuffling and augmentation; evaluation
never touches the training random streams (its loaders own a separate generator and its
transforms are deterministic). So one 80-epoch run yields the same 30- and 50-epoch results as
separate 30- and 50-epoch runs, and a run killed mid-way and resumed from `last.pt` ends with
the same weights as an uninterrupted one.
"""
from __future__ import annotations

import contextlib
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from . import checkpoint as ckpt_io
from .data import IMAGENET_MEAN, IMAGENET_STD, DatasetError, FaceDataset, manifest_hash, preset_transform, split_samples
from .metrics import accuracy_by_face_size, classification_metrics
from .models import (
    check_name,
    create_model,
    default_input_size,
    is_paper_model,
    min_input_size,
    model_kwargs,
    variant_of,
)
from .errors import ConfigError, RunError
from .locks import folder_lock
from .records import cpu_has_native_bf16, environment, read_json, remove_stale_temps, write_json_atomic

PRECISIONS = ("auto", "bf16", "fp32")
RECORD_NAME = "record.json"
LAST_NAME = "last.pt"
# Settings that may change between a run and its resumption; everything else must match.
RESUMABLE_CHANGES = {"epochs", "milestones", "out", "run_id"}


@dataclass
class TrainConfig:
    model: str
    data: str
    norm: str | None = None
    pretrained: str | None = None
    epochs: int = 80
    milestones: tuple[int, ...] = (30, 50, 80)
    optimizer: str | None = None  # None: the paper's (adam for model3, sgd otherwise)
    lr: float = 0.001
    momentum: float = 0.9  # SGD only; the paper gives none, 0.9 is the common choice
    batch_size: int = 64
    input_size: int | None = None
    seed: int = 0
    precision: str = "auto"
    out: str = "runs"
    run_id: str | None = None
    degrade: str | None = None  # name of a low-resolution simulation preset, or None

    def resolved(self) -> "TrainConfig":
        """Fill the paper defaults and check every value, with errors that say what is allowed."""
        check_name(self.model)
        kwargs = model_kwargs(self.model, self.norm, self.pretrained)
        cfg = TrainConfig(**asdict(self))
        cfg.norm = kwargs.get("norm") if is_paper_model(self.model) else None
        cfg.pretrained = kwargs.get("pretrained")
        cfg.optimizer = self.optimizer or ("adam" if self.model == "model3" else "sgd")
        if cfg.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"optimizer must be sgd or adam, got {cfg.optimizer!r}")
        cfg.input_size = self.input_size or default_input_size(self.model)
        if not min_input_size(self.model) <= cfg.input_size <= 512:
            raise ConfigError(f"{self.model} needs an input size from {min_input_size(self.model)} to 512 px")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("epochs, batch size and learning rate must be positive")
        cfg.milestones = tuple(sorted({m for m in self.milestones if 1 <= m <= self.epochs} | {self.epochs}))
        cfg.run_id = self.run_id or default_run_id(cfg)
        return cfg


def default_run_id(cfg: TrainConfig) -> str:
    variant = variant_of(cfg.model, {"norm": cfg.norm, "pretrained": cfg.pretrained})
    parts = [cfg.model] + ([variant] if variant != "-" else []) + [cfg.optimizer, f"{cfg.input_size}px", f"s{cfg.seed}"]
    if cfg.degrade:
        parts.append(cfg.degrade)
    return "-".join(parts)


def use_bf16(precision: str) -> bool:
    return precision == "bf16" or (precision == "auto" and cpu_has_native_bf16())


def _autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def _to_input(x: torch.Tensor) -> torch.Tensor:
    # channels_last measured 1.2-1.4x faster than contiguous for fp32 training on this CPU too
    return x.contiguous(memory_format=torch.channels_last)


def _batches(loader, desc: str, progress: bool):
    # tqdm's disable=None: a bar on a terminal, none in a log file
    return tqdm(loader, desc=desc, unit="batch", leave=False, disable=None if progress else True)


def train_one_epoch(model, loader, optimizer, loss_fn, bf16: bool, desc: str = "train", progress=True) -> dict:
    model.train()
    total_loss, correct, n = 0.0, 0, 0
    for images, targets in _batches(loader, desc, progress):
        with _autocast(bf16):
            logits = model(_to_input(images))
            loss = loss_fn(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(targets)
        correct += (logits.argmax(1) == targets).sum().item()
        n += len(targets)
    return {"loss": total_loss / max(n, 1), "accuracy": correct / max(n, 1)}


@torch.no_grad()
def predict_batches(model, loader, bf16: bool = False, progress: bool = False, desc: str = "eval"):
    """(targets, probabilities, summed cross entropy) over a loader, in loader order.

    `model` is a torch module or any callable from an image batch to logits (an ONNX session).
    """
    if isinstance(model, nn.Module):
        model.eval()
    targets_all, probs_all, loss_sum = [], [], 0.0
    for images, targets in _batches(loader, desc, progress):
        with _autocast(bf16):
            logits = model(_to_input(images)).float()
        loss_sum += nn.functional.cross_entropy(logits, targets, reduction="sum").item()
        targets_all.append(targets)
        probs_all.append(logits.softmax(1))
    if not targets_all:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, 0), 0.0
    return torch.cat(targets_all), torch.cat(probs_all), loss_sum


def evaluate(model, dataset: FaceDataset, batch_size: int = 64, bf16: bool = False, progress=False, desc="eval") -> dict:
    """Metrics of a model (or logits callable) on a dataset; face-size bins when samples carry sizes."""
    loader = eval_loader(dataset, batch_size)
    targets, probs, loss_sum = predict_batches(model, loader, bf16, progress, desc)
    n = len(targets)
    result = classification_metrics(targets.numpy(), probs.numpy(), dataset.classes, loss_sum / n if n else None)
    sizes = [s.face_px for s in dataset.samples]
    if n and any(s is not None for s in sizes):
        result["by_face_size"] = accuracy_by_face_size(targets.numpy(), probs.numpy(), sizes)
    return result


def eval_loader(dataset, batch_size: int) -> DataLoader:
    # its own generator: creating the iterator must not draw from the global (training) RNG
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, generator=torch.Generator())


def build_datasets(cfg: TrainConfig):
    from .degrade import degrade_preset

    root = Path(cfg.data)
    splits = {}
    for split in ("train", "val", "test"):
        samples, classes = split_samples(root, split)
        train = split == "train"
        degrade = degrade_preset(cfg.degrade) if (train and cfg.degrade) else None
        splits[split] = FaceDataset(root, samples, classes, preset_transform(cfg.input_size, train, degrade=degrade))
    check_splits_nonempty(root, {s: len(d) for s, d in splits.items()})
    return splits


def check_splits_nonempty(root, sizes: dict[str, int]) -> None:
    """DatasetError naming every empty split: training needs all three (val picks, test reports)."""
    empty = [s for s, n in sizes.items() if n == 0]
    if empty:
        counts = ", ".join(f"{s} {n}" for s, n in sizes.items())
        raise DatasetError(f"{root}: the {' and '.join(empty)} split(s) are empty (faces: {counts}); rebuild it with "
                           "more images or a larger share for them (`lrfp data build --split 70,15,15`)")  # fmt: skip


def run_dir(cfg: TrainConfig) -> Path:
    return Path(cfg.out) / cfg.run_id


def _comparable(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in RESUMABLE_CHANGES}


def fit(
    cfg: TrainConfig,
    progress: bool = True,
    log=print,
    command: str | None = None,
    fresh: bool = False,
    on_epoch=None,
    resume_every_s: float = 60.0,
) -> dict:
    """Train to cfg.epochs, evaluating the test split at each milestone; returns the run record.

    Resumes from RUN_DIR/last.pt when it exists (unless `fresh`); writes RUN_DIR/record.json
    after every epoch and RUN_DIR/epochNNN.pt at every milestone. last.pt is rewritten at
    milestones (the last epoch is one) and otherwise only once `resume_every_s` seconds have
    passed since the previous one: a big model's resume state (1.1 GB for VGG-16) is not worth
    writing after every short epoch, and a resume from an older one still ends bit-identical.
    `on_epoch(record, epoch)` is called after each epoch is saved (progress displays,
    publishing milestone results).
    """
    cfg = cfg.resolved()
    out = run_dir(cfg)
    command = command or " ".join(shlex.quote(a) for a in ["lrfp"] + sys.argv[1:])
    datasets = build_datasets(cfg)
    classes = datasets["train"].classes
    bf16 = use_bf16(cfg.precision)

    # one process per run folder: a second `lrfp train` on it stops here instead of overwriting it
    with folder_lock(out, "training run", log=log):
        remove_stale_temps(out)  # temp files of writes killed mid-way
        return _fit_locked(cfg, out, command, datasets, classes, bf16, progress, log, fresh, on_epoch, resume_every_s)


def _fit_locked(cfg, out, command, datasets, classes, bf16, progress, log, fresh, on_epoch, resume_every_s) -> dict:
    torch.manual_seed(cfg.seed)
    kwargs = model_kwargs(cfg.model, cfg.norm, cfg.pretrained, num_classes=len(classes))
    model = create_model(cfg.model, **kwargs)
    model = model.to(memory_format=torch.channels_last)
    if cfg.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    loss_fn = nn.CrossEntropyLoss()
    shuffle_gen = torch.Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(datasets["train"], batch_size=cfg.batch_size, shuffle=True, generator=shuffle_gen)

    config = asdict(cfg) | {"milestones": list(cfg.milestones), "bf16": bf16, "channels_last": True, "model_kwargs": kwargs}
    record = {
        "run_id": cfg.run_id,
        "config": config,
        "command": command,
        "data": {
            "root": str(cfg.data),
            "manifest_sha256": manifest_hash(cfg.data),
            "classes": classes,
            "sizes": {s: len(d) for s, d in datasets.items()},
        },
        "history": [],
        "milestones": {},
        "environment": environment(),
        "status": "running",
    }
    start_epoch = 1
    last_path = out / LAST_NAME
    if last_path.is_file() and not fresh:
        state = ckpt_io.read_checkpoint(last_path)
        if _comparable(state["train_config"]) != _comparable(config):
            raise RunError(
                f"{out} holds a run with other settings; pass --fresh to overwrite it or --run-id to start another"
            )
        if state["data_manifest_sha256"] != record["data"]["manifest_sha256"]:
            raise RunError(f"{out}: the dataset manifest changed since this run started; use --fresh")
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        shuffle_gen.set_state(state["rng"]["shuffle"])
        previous = read_json(out / RECORD_NAME)
        record["history"] = [h for h in previous["history"] if h["epoch"] <= state["epoch"]]
        record["milestones"] = {k: v for k, v in previous["milestones"].items() if int(k) <= state["epoch"]}
        start_epoch = state["epoch"] + 1
        log(f"resuming {cfg.run_id} after epoch {state['epoch']}")
    out.mkdir(parents=True, exist_ok=True)

    def checkpoint(metrics: dict, extra: dict | None = None) -> dict:
        return ckpt_io.make_checkpoint(
            model,
            name=cfg.model,
            kwargs=kwargs,
            classes=classes,
            input_size=cfg.input_size,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            metrics=metrics,
            command=command,
            extra=extra,
        )

    last_saved = time.perf_counter()
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        train = train_one_epoch(model, train_loader, optimizer, loss_fn, bf16, f"epoch {epoch}/{cfg.epochs}", progress)
        train_seconds = time.perf_counter() - t0
        val = evaluate(model, datasets["val"], cfg.batch_size, bf16)
        entry = {
            "epoch": epoch,
            "train_loss": train["loss"],
            "train_accuracy": train["accuracy"],
            "val_loss": val["avg_loss"],
            "val_accuracy": val["accuracy"],
            "train_seconds": train_seconds,
            "seconds": time.perf_counter() - t0,
        }
        record["history"].append(entry)
        line = (
            f"epoch {epoch:3d}/{cfg.epochs}  train loss {train['loss']:.4f} acc {train['accuracy']:.4f}  "
            f"val loss {val['avg_loss']:.4f} acc {val['accuracy']:.4f}  {entry['seconds']:.1f}s"
        )
        if epoch in cfg.milestones:
            test = evaluate(model, datasets["test"], cfg.batch_size, bf16)
            name = f"epoch{epoch:03d}.pt"
            ckpt_io.atomic_save(checkpoint({"test": test, "val": val, "epoch": epoch}), out / name)
            record["milestones"][str(epoch)] = {"test": test, "checkpoint": name}
            line += f"  | test acc {test['accuracy']:.4f} loss {test['avg_loss']:.4f} -> {name}"
        log(line)
        resume_state = {
            "epoch": epoch,
            "optimizer": optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "shuffle": shuffle_gen.get_state()},
            "train_config": config,
            "data_manifest_sha256": record["data"]["manifest_sha256"],
        }
        if epoch in cfg.milestones or time.perf_counter() - last_saved >= resume_every_s:
            ckpt_io.atomic_save(checkpoint({"val": val, "epoch": epoch}, resume_state), last_path)
            last_saved = time.perf_counter()
        record["seconds_per_epoch"] = sum(h["train_seconds"] for h in record["history"]) / len(record["history"])
        write_json_atomic(record, out / RECORD_NAME)
        if on_epoch is not None:
            on_epoch(record, epoch)

    record["status"] = "finished"
    write_json_atomic(record, out / RECORD_NAME)
    return record
