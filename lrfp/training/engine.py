"""Training and evaluation: train_one_epoch / evaluate / fit, with milestones and exact resume.

Reproducibility contract: the seed fixes model init, shuffling and augmentation; evaluation
never touches the training random streams (its loaders own a separate generator and its
transforms are deterministic). So one 80-epoch run yields the same 30- and 50-epoch results as
separate 30- and 50-epoch runs, and a run killed mid-way and resumed from `last.pt` ends with
the same weights as an uninterrupted one.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from lrfp.core.device import PRECISIONS, resolve_device, use_bf16
from lrfp.core.errors import ConfigError, RunError
from lrfp.core.locks import folder_lock
from lrfp.core.metrics import accuracy_by_face_size, classification_metrics
from lrfp.core.records import command_line, environment, file_sha256, read_json, remove_stale_temps, write_json_atomic
from lrfp.data.bank_crops import FaceBankDataset, eval_transform, production_transform
from lrfp.data.degrade import degrade_preset
from lrfp.data.facebank import ALL_CLASSES, FaceBank
from lrfp.data.folds import fold_faces
from lrfp.data.images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    DatasetError,
    FaceDataset,
    manifest_hash,
    preset_transform,
    split_samples,
)
from lrfp.data.voc import PAPER_CLASSES
from lrfp.models import checkpoint as ckpt_io
from lrfp.models.registry import (
    check_name,
    create_model,
    default_input_size,
    is_paper_model,
    min_input_size,
    model_kwargs,
    spec,
    variant_of,
)
from lrfp.training.device_data import DeviceBatches

RECIPES = ("paper", "production")
OPTIMIZERS = ("sgd", "adam", "adamw")
RECORD_NAME = "record.json"
LAST_NAME = "last.pt"
# Settings that may change between a run and its resumption; everything else must match.
RESUMABLE_CHANGES = {"epochs", "milestones", "out", "run_id", "device"}
# The production recipe (see lrfp.data.bank_crops): weighted cross entropy with label smoothing, AdamW
# with a one-cycle schedule over the whole run. The schedule depends on the epoch count, so a
# production run cannot be resumed with another one.
LABEL_SMOOTHING = 0.1
CLASS_WEIGHTS = ("inverse", "sqrt")
WEIGHT_DECAY = 0.05


@dataclass
class TrainConfig:
    model: str
    data: str  # a dataset folder (paper recipe) or a face bank file (production recipe)
    norm: str | None = None
    pretrained: str | None = None
    epochs: int = 80
    milestones: tuple[int, ...] = (30, 50, 80)
    optimizer: str | None = None  # None: the paper's (adam for model3, sgd otherwise); adamw for production
    lr: float = 0.001
    momentum: float = 0.9  # SGD only; the paper gives none, 0.9 is the common choice
    batch_size: int = 64
    input_size: int | None = None
    seed: int = 0
    precision: str = "auto"
    out: str = "runs"
    run_id: str | None = None
    degrade: str | None = None  # name of a low-resolution simulation preset, or None
    recipe: str = "paper"
    fold: int | None = None  # production: hold out this fold of the train+val photos as validation
    folds: int = 5
    include_incorrect: bool = False  # production: also learn mask_weared_incorrect
    device: str = "auto"
    class_weights: str = "inverse"  # production: weigh each class by 1/share, or by 1/sqrt(share)

    def resolved(self) -> "TrainConfig":
        """Fill the defaults and check every value, with errors that say what is allowed."""
        check_name(self.model)
        kwargs = model_kwargs(self.model, self.norm, self.pretrained)
        cfg = TrainConfig(**asdict(self))
        cfg.norm = kwargs.get("norm") if is_paper_model(self.model) else None
        cfg.pretrained = kwargs.get("pretrained")
        if self.recipe not in RECIPES:
            raise ConfigError(f"recipe must be one of {RECIPES}, got {self.recipe!r}")
        production = self.recipe == "production"
        cfg.optimizer = self.optimizer or ("adamw" if production else spec(self.model).optimizer)
        if cfg.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {cfg.optimizer!r}")
        cfg.input_size = self.input_size or default_input_size(self.model)
        if not min_input_size(self.model) <= cfg.input_size <= 512:
            raise ConfigError(f"{self.model} needs an input size from {min_input_size(self.model)} to 512 px")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("epochs, batch size and learning rate must be positive")
        if not production and (self.fold is not None or self.include_incorrect):
            raise ConfigError("--fold and --include-incorrect belong to the production recipe (--recipe production)")
        if self.fold is not None and not (self.folds >= 2 and 0 <= self.fold < self.folds):
            raise ConfigError(f"fold must be from 0 to {self.folds - 1} (of {self.folds} folds), got {self.fold}")
        if self.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(f"class weights must be one of {CLASS_WEIGHTS}, got {self.class_weights!r}")
        if production and self.degrade:
            raise ConfigError("the production recipe has its own low-resolution augmentation; leave --degrade unset")
        cfg.device = resolve_device(self.device)
        cfg.milestones = tuple(sorted({m for m in self.milestones if 1 <= m <= self.epochs} | {self.epochs}))
        cfg.run_id = self.run_id or default_run_id(cfg)
        return cfg


def default_run_id(cfg: TrainConfig) -> str:
    variant = variant_of(cfg.model, {"norm": cfg.norm, "pretrained": cfg.pretrained})
    parts = [cfg.model] + ([variant] if variant != "-" else []) + [cfg.optimizer, f"{cfg.input_size}px", f"s{cfg.seed}"]
    if cfg.degrade:
        parts.append(cfg.degrade)
    if cfg.recipe == "production":
        parts.insert(0, "prod")
        parts += (["3class"] if cfg.include_incorrect else []) + (["sqrtw"] if cfg.class_weights == "sqrt" else [])
        parts += [f"fold{cfg.fold}of{cfg.folds}"] if cfg.fold is not None else []
    return "-".join(parts)


def _autocast(bf16: bool, device: str = "cpu"):
    return torch.autocast(device, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def _to_input(x: torch.Tensor, device: str = "cpu") -> torch.Tensor:
    # channels_last measured 1.2-1.4x faster than contiguous for fp32 training on this CPU too
    return x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)


def _batches(loader, desc: str, progress: bool):
    # tqdm's disable=None: a bar on a terminal, none in a log file
    return tqdm(loader, desc=desc, unit="batch", leave=False, disable=None if progress else True)


def train_one_epoch(model, loader, optimizer, loss_fn, bf16: bool, desc: str = "train", progress=True,
                    scheduler=None, device: str = "cpu") -> dict:  # fmt: skip
    """One pass over the loader. Loss and hits are summed on the device and read once at the end,
    so a GPU is never made to wait for the host inside the loop."""
    model.train()
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    n = 0
    for images, targets in _batches(loader, desc, progress):
        targets = targets.to(device, non_blocking=True)
        with _autocast(bf16, device):
            logits = model(_to_input(images, device))
            loss = loss_fn(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.detach() * len(targets)
        correct += (logits.argmax(1) == targets).sum()
        n += len(targets)
    return {"loss": total_loss.item() / max(n, 1), "accuracy": correct.item() / max(n, 1)}


@torch.no_grad()
def predict_batches(model, loader, bf16: bool = False, progress: bool = False, desc: str = "eval", device: str = "cpu"):
    """(targets, probabilities, summed cross entropy) over a loader, in loader order, on the CPU.

    `model` is a torch module or any callable from an image batch to logits (an ONNX session).
    """
    if isinstance(model, nn.Module):
        model.eval()
    targets_all, probs_all, loss_sum = [], [], 0.0
    for images, targets in _batches(loader, desc, progress):
        with _autocast(bf16, device):
            logits = model(_to_input(images, device)).float().cpu()
        loss_sum += nn.functional.cross_entropy(logits, targets, reduction="sum").item()
        targets_all.append(targets)
        probs_all.append(logits.softmax(1))
    if not targets_all:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, 0), 0.0
    return torch.cat(targets_all), torch.cat(probs_all), loss_sum


def evaluate(model, dataset, batch_size: int = 64, bf16: bool = False, progress=False, desc="eval", device="cpu") -> dict:
    """Metrics of a model (or logits callable) on a dataset; face-size bins when samples carry sizes."""
    loader = eval_loader(dataset, batch_size)
    targets, probs, loss_sum = predict_batches(model, loader, bf16, progress, desc, device)
    n = len(targets)
    result = classification_metrics(targets.numpy(), probs.numpy(), dataset.classes, loss_sum / n if n else None)
    sizes = [s.face_px for s in dataset.samples]
    if n and any(s is not None for s in sizes):
        result["by_face_size"] = accuracy_by_face_size(targets.numpy(), probs.numpy(), sizes)
    return result


def eval_loader(dataset, batch_size: int) -> DataLoader:
    # its own generator: creating the iterator must not draw from the global (training) RNG
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, generator=torch.Generator())


def build_datasets(cfg: TrainConfig) -> dict:
    """train/val/test datasets of a resolved config: the built dataset's splits (paper recipe) or
    the face bank's (production recipe, see lrfp.data.bank_crops)."""
    if cfg.recipe == "production":
        datasets = _facebank_datasets(cfg)
    else:
        datasets = _folder_datasets(cfg)
    check_splits_nonempty(cfg.data, {s: len(d) for s, d in datasets.items()})
    return datasets


def _folder_datasets(cfg: TrainConfig) -> dict:
    root = Path(cfg.data)
    splits = {}
    for split in ("train", "val", "test"):
        samples, classes = split_samples(root, split)
        train = split == "train"
        degrade = degrade_preset(cfg.degrade) if (train and cfg.degrade) else None
        splits[split] = FaceDataset(root, samples, classes, preset_transform(cfg.input_size, train, degrade=degrade))
    return splits


def _facebank_datasets(cfg: TrainConfig) -> dict:
    bank = FaceBank(cfg.data)
    classes = list(ALL_CLASSES if cfg.include_incorrect else PAPER_CLASSES)
    train, val = fold_faces(bank, classes, cfg.fold, cfg.folds, cfg.seed)
    test = bank.select(("test",), classes)
    return {
        "train": FaceBankDataset(bank, train, classes, "train", production_transform(cfg.input_size)),
        "val": FaceBankDataset(bank, val, classes, "label", eval_transform(cfg.input_size)),
        "test": FaceBankDataset(bank, test, classes, "label", eval_transform(cfg.input_size)),
    }


def data_fingerprint(cfg: TrainConfig) -> str:
    """sha256 of the dataset manifest, or of the face bank file."""
    return file_sha256(cfg.data) if cfg.recipe == "production" else manifest_hash(cfg.data)


def check_splits_nonempty(root, sizes: dict[str, int]) -> None:
    """DatasetError naming every empty split: training needs all three (val picks, test reports)."""
    empty = [s for s, n in sizes.items() if n == 0]
    if empty:
        counts = ", ".join(f"{s} {n}" for s, n in sizes.items())
        raise DatasetError(f"{root}: the {' and '.join(empty)} split(s) are empty (faces: {counts}); rebuild it with "
                           "more images or a larger share for them (`lrfp data build --split 70,15,15`)")  # fmt: skip


def run_dir(cfg: TrainConfig) -> Path:
    return Path(cfg.out) / cfg.run_id


def with_defaults(config: dict) -> dict:
    """A recorded config with every setting added to TrainConfig after it was written at its default,
    so older runs stay resumable and comparable."""
    return {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING} | config


def _comparable(config: dict) -> dict:
    """The settings a resumed run must share with its start."""
    config = with_defaults(config)
    changeable = RESUMABLE_CHANGES - ({"epochs"} if config.get("recipe") == "production" else set())
    return {k: v for k, v in config.items() if k not in changeable}


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
    command = command or command_line()
    datasets = build_datasets(cfg)
    # one process per run folder: a second `lrfp train` on it stops here instead of overwriting it
    with folder_lock(out, "training run", log=log):
        remove_stale_temps(out)  # temp files of writes killed mid-way
        run = Run.start(cfg, out, datasets, command)
        if (out / LAST_NAME).is_file() and not fresh:
            run.resume(log)
        out.mkdir(parents=True, exist_ok=True)
        for epoch in range(run.start_epoch, cfg.epochs + 1):
            line = run.train_epoch(epoch, progress)
            if epoch in cfg.milestones:
                line += run.save_milestone(epoch)
            log(line)
            run.save_progress(epoch, resume_every_s)
            if on_epoch is not None:
                on_epoch(run.record, epoch)
        run.record["status"] = "finished"
        run.record["seconds_per_epoch"] = _mean_train_seconds(run.record["history"])
        write_json_atomic(run.record, out / RECORD_NAME)
        return run.record


def _mean_train_seconds(history: list[dict]) -> float | None:
    return sum(h["train_seconds"] for h in history) / len(history) if history else None


class Run:
    """One training run's state: model, optimizer, schedule, loader, record; and its steps."""

    def __init__(self, cfg: TrainConfig, out: Path, datasets: dict, command: str):
        self.cfg, self.out, self.datasets, self.command = cfg, out, datasets, command
        self.classes = datasets["train"].classes
        self.device = cfg.device
        self.bf16 = use_bf16(cfg.precision, self.device)
        self.start_epoch = 1
        self._last_saved = time.perf_counter()

    @classmethod
    def start(cls, cfg: TrainConfig, out: Path, datasets: dict, command: str) -> "Run":
        run = cls(cfg, out, datasets, command)
        torch.manual_seed(cfg.seed)  # model init, then shuffling and augmentation draw from here
        run.kwargs = model_kwargs(cfg.model, cfg.norm, cfg.pretrained, num_classes=len(run.classes))
        run.model = create_model(cfg.model, **run.kwargs).to(run.device, memory_format=torch.channels_last)
        run.shuffle_gen = torch.Generator().manual_seed(cfg.seed)
        run.train_loader, run.data_path = train_batches(cfg, datasets["train"], run.shuffle_gen)
        run.optimizer, run.scheduler = make_optimizer(cfg, run.model, len(run.train_loader))
        run.loss_fn = make_loss(cfg, datasets["train"]).to(run.device)
        run.config = asdict(cfg) | {"milestones": list(cfg.milestones), "bf16": run.bf16, "channels_last": True,
                                    "model_kwargs": run.kwargs}  # fmt: skip
        run.environment = environment(run.device) | {"data_path": run.data_path}
        run.record = {
            "run_id": cfg.run_id,
            "config": run.config,
            "command": command,
            "data": {
                "root": str(cfg.data),
                "manifest_sha256": data_fingerprint(cfg),
                "classes": run.classes,
                "sizes": {s: len(d) for s, d in datasets.items()},
            },
            "history": [],
            "milestones": {},
            "environment": run.environment,
            "status": "running",
        }
        return run

    def resume(self, log) -> None:
        """Continue from last.pt: weights, optimizer, schedule and every random stream."""
        state = ckpt_io.read_checkpoint(self.out / LAST_NAME)
        if _comparable(state["train_config"]) != _comparable(self.config):
            raise RunError(
                f"{self.out} holds a run with other settings; pass --fresh to overwrite it or --run-id to start another"
            )
        if state["data_manifest_sha256"] != self.record["data"]["manifest_sha256"]:
            raise RunError(f"{self.out}: the dataset changed since this run started; use --fresh")
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        self.shuffle_gen.set_state(state["rng"]["shuffle"])
        if self.device == "cuda" and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        previous = read_json(self.out / RECORD_NAME)
        self.record["history"] = [h for h in previous["history"] if h["epoch"] <= state["epoch"]]
        self.record["milestones"] = {k: v for k, v in previous["milestones"].items() if int(k) <= state["epoch"]}
        self.start_epoch = state["epoch"] + 1
        log(f"resuming {self.cfg.run_id} after epoch {state['epoch']}")

    def evaluate(self, split: str) -> dict:
        return evaluate(self.model, self.datasets[split], self.cfg.batch_size, self.bf16, device=self.device)

    def train_epoch(self, epoch: int, progress: bool) -> str:
        """Train one epoch, score the validation split, add both to the record; the log line."""
        cfg = self.cfg
        t0 = time.perf_counter()
        train = train_one_epoch(self.model, self.train_loader, self.optimizer, self.loss_fn, self.bf16,
                                f"epoch {epoch}/{cfg.epochs}", progress, self.scheduler, self.device)  # fmt: skip
        train_seconds = time.perf_counter() - t0
        self.val = self.evaluate("val")
        entry = {
            "epoch": epoch,
            "train_loss": train["loss"],
            "train_accuracy": train["accuracy"],
            "val_loss": self.val["avg_loss"],
            "val_accuracy": self.val["accuracy"],
            "val_balanced_accuracy": self.val["balanced_accuracy"],
            "train_seconds": train_seconds,
            "seconds": time.perf_counter() - t0,
        }
        self.record["history"].append(entry)
        return (
            f"epoch {epoch:3d}/{cfg.epochs}  train loss {train['loss']:.4f} acc {train['accuracy']:.4f}  "
            f"val loss {self.val['avg_loss']:.4f} acc {self.val['accuracy']:.4f}  {entry['seconds']:.1f}s"
        )

    def checkpoint(self, metrics: dict, extra: dict | None = None) -> dict:
        return ckpt_io.make_checkpoint(
            self.model,
            name=self.cfg.model,
            kwargs=self.kwargs,
            classes=self.classes,
            input_size=self.cfg.input_size,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            metrics=metrics,
            command=self.command,
            extra=extra,
        )

    def save_milestone(self, epoch: int) -> str:
        """Score the test split and keep the weights as epochNNN.pt; the log line's tail."""
        test = self.evaluate("test")
        name = f"epoch{epoch:03d}.pt"
        ckpt_io.atomic_save(self.checkpoint({"test": test, "val": self.val, "epoch": epoch}), self.out / name)
        self.record["milestones"][str(epoch)] = {"test": test, "checkpoint": name}
        return f"  | test acc {test['accuracy']:.4f} loss {test['avg_loss']:.4f} -> {name}"

    def save_progress(self, epoch: int, resume_every_s: float) -> None:
        """record.json every epoch; last.pt at milestones and at most every `resume_every_s` s otherwise."""
        if epoch in self.cfg.milestones or time.perf_counter() - self._last_saved >= resume_every_s:
            rng = {"torch": torch.get_rng_state(), "shuffle": self.shuffle_gen.get_state(),
                   "cuda": torch.cuda.get_rng_state_all() if self.device == "cuda" else None}  # fmt: skip
            resume_state = {
                "epoch": epoch,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "rng": rng,
                "train_config": self.config,
                "data_manifest_sha256": self.record["data"]["manifest_sha256"],
            }
            ckpt_io.atomic_save(self.checkpoint({"val": self.val, "epoch": epoch}, resume_state), self.out / LAST_NAME)
            self._last_saved = time.perf_counter()
        self.record["seconds_per_epoch"] = _mean_train_seconds(self.record["history"])
        write_json_atomic(self.record, self.out / RECORD_NAME)


DATA_PATHS = ("loader", "loader+workers", "device")


def default_data_path(cfg: TrainConfig) -> str:
    """On the CPU a plain DataLoader (worker processes would only take cores from training). On a
    GPU the paper recipe keeps the whole decoded set on the device and augments there
    (lrfp.training.device_data); the rest use worker processes that fill pinned memory, so the copy
    overlaps the GPU's work."""
    if cfg.device != "cuda":
        return "loader"
    return "device" if cfg.recipe == "paper" and not cfg.degrade else "loader+workers"


def train_batches(cfg: TrainConfig, dataset, generator: torch.Generator, path: str | None = None):
    """(shuffled training batches, the data path that makes them: `path`, else the default one)."""
    path = path or default_data_path(cfg)
    if path == "loader":
        return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, generator=generator), path
    if path == "device":
        return DeviceBatches(dataset, cfg.input_size, cfg.batch_size, generator, cfg.device), path
    workers = max(1, min(8, (os.cpu_count() or 2) - 1))
    loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, generator=generator, num_workers=workers,
                        pin_memory=True, persistent_workers=True)  # fmt: skip
    return loader, path


def make_optimizer(cfg: TrainConfig, model: nn.Module, steps_per_epoch: int):
    """(optimizer, per-step scheduler or None): the paper's constant rate, or production's one cycle."""
    if cfg.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    elif cfg.optimizer == "adamw":
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=WEIGHT_DECAY)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    if cfg.recipe != "production":
        return optimizer, None
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    return optimizer, scheduler


def make_loss(cfg: TrainConfig, train_set) -> nn.Module:
    """Plain cross entropy (paper); production weighs each class by the inverse of its share (or its
    square root), so that every training face is used and the rarer class still counts."""
    if cfg.recipe != "production":
        return nn.CrossEntropyLoss()
    counts = torch.bincount(torch.tensor(train_set.targets), minlength=len(train_set.classes)).float()
    weights = counts.sum() / (len(counts) * counts.clamp(min=1))
    if cfg.class_weights == "sqrt":  # milder: a rare third class is not pushed onto the common ones
        weights = weights.sqrt()
    return nn.CrossEntropyLoss(weight=weights, label_smoothing=LABEL_SMOOTHING)
