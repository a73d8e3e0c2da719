"""A training run: fit() trains to the last epoch with milestones, exact resume and a record.

Reproducibility contract: the seed fixes model init, shuffling and augmentation; evaluation
never touches the training random streams (its loaders own a separate generator and its
transforms are deterministic). So one 80-epoch run yields the same 30- and 50-epoch results as
separate 30- and 50-epoch runs, and a run killed mid-way and resumed from `last.pt` ends with
the same weights as an uninterrupted one.

What a run does is said twice: its messages through `logging` (the command line prints them) and
its events (lrfp.core.events) to the subscribers given to fit().
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from lrfp.core.device import use_bf16
from lrfp.core.events import EpochEnd, Event, JSONDict, Milestone, RunEnd, Subscriber, emit
from lrfp.core.records import command_line, environment, read_json
from lrfp.data.images import IMAGENET_MEAN, IMAGENET_STD
from lrfp.models import checkpoint as ckpt_io
from lrfp.models.registry import ModelKwargs, create_model, model_kwargs
from lrfp.training.config import ResolvedConfig, TrainConfig, comparable
from lrfp.training.data import Batches, build_datasets, train_batches
from lrfp.training.loop import evaluate, train_one_epoch
from lrfp.training.recipe import FaceSet, recipe_of
from lrfp.training.run_folder import (
    LAST_NAME,
    RECORD_NAME,
    check_same_run,
    finish,
    history_until,
    open_run_folder,
    resumes,
    save_epoch,
)

if TYPE_CHECKING:
    from torch.optim.lr_scheduler import LRScheduler

log = logging.getLogger(__name__)


def run_dir(cfg: ResolvedConfig) -> Path:
    return Path(cfg.out) / cfg.run_id


def fit(
    cfg: TrainConfig,
    command: str | None = None,
    fresh: bool = False,
    subscribers: Iterable[Subscriber] = (),
    resume_every_s: float = 60.0,
) -> JSONDict:
    """Train to cfg.epochs, evaluating the test split at each milestone; returns the run record.

    Resumes from RUN_DIR/last.pt when it exists (unless `fresh`); writes RUN_DIR/record.json
    after every epoch and RUN_DIR/epochNNN.pt at every milestone. last.pt is rewritten at
    milestones (the last epoch is one) and otherwise only once `resume_every_s` seconds have
    passed since the previous one: a big model's resume state (1.1 GB for VGG-16) is not worth
    writing after every short epoch, and a resume from an older one still ends bit-identical.
    Each subscriber gets an EpochEnd after each epoch is saved, a Milestone after it at
    milestones, and a RunEnd when the final record is written.
    """
    cfg = cfg.resolved()
    out = run_dir(cfg)
    command = command or command_line()
    datasets = build_datasets(cfg)
    initial = None  # a fine-tune's starting weights, checked before the run's folder is made; a resume needs none
    if cfg.init_from and not resumes(out, fresh):
        initial = ckpt_io.initial_weights(cfg.init_from, cfg.model, run_kwargs(cfg, datasets["train"].classes))
    subscribers = (log_epoch, *subscribers)
    with open_run_folder(out, "training run"):
        run = Run.start(cfg, out, datasets, command, initial)
        if resumes(out, fresh):
            run.resume()
        for epoch in range(run.start_epoch, cfg.epochs + 1):
            entry = run.train_epoch(epoch)
            milestone = run.save_milestone(epoch) if epoch in cfg.milestones else None
            run.save_progress(epoch, resume_every_s)
            emit(EpochEnd(cfg.run_id, epoch, cfg.epochs, entry, milestone, run.record), subscribers)
            if milestone is not None:
                emit(Milestone(cfg.run_id, epoch, milestone["test"], milestone["checkpoint"], run.record), subscribers)
        run.record["seconds_per_epoch"] = _mean_train_seconds(run.record["history"])
        finish(out, run.record)
        emit(RunEnd(cfg.run_id, run.record), subscribers)
        return run.record


def log_epoch(event: Event) -> None:
    """The console's line of each epoch (and its milestone)."""
    if not isinstance(event, EpochEnd):
        return
    e = event.entry
    line = (
        f"epoch {event.epoch:3d}/{event.epochs}  train loss {e['train_loss']:.4f} acc {e['train_accuracy']:.4f}  "
        f"val loss {e['val_loss']:.4f} acc {e['val_accuracy']:.4f}  {e['seconds']:.1f}s"
    )
    if event.milestone is not None:
        test = event.milestone["test"]
        line += f"  | test acc {test['accuracy']:.4f} loss {test['avg_loss']:.4f} -> {event.milestone['checkpoint']}"
    log.info(line)


def _mean_train_seconds(history: list[JSONDict]) -> float | None:
    return sum(h["train_seconds"] for h in history) / len(history) if history else None


def run_kwargs(cfg: ResolvedConfig, classes: list[str]) -> ModelKwargs:
    """The model's constructor arguments for a run of CFG on CLASSES, as its checkpoints store them."""
    return model_kwargs(cfg.model, cfg.norm, cfg.pretrained, num_classes=len(classes))


def _built_with(kwargs: ModelKwargs, init_from: str | None) -> ModelKwargs:
    """The constructor's arguments: a run that starts from a checkpoint's weights fetches no pretrained ones."""
    if init_from and "pretrained" in kwargs:
        return kwargs | {"pretrained": "none"}
    return kwargs


class Run:
    """One training run's state: model, optimizer, schedule, loader, record; and its steps.

    Run.start prepares every part (in the order the seed's random streams require) and then constructs
    the run, which is whole from its constructor on.
    """

    def __init__(
        self,
        cfg: ResolvedConfig,
        out: Path,
        datasets: dict[str, FaceSet],
        command: str,
        *,
        kwargs: ModelKwargs,
        model: torch.nn.Module,
        shuffle_gen: torch.Generator,
        train_loader: Batches,
        optimizer: torch.optim.Optimizer,
        scheduler: LRScheduler | None,
        loss_fn: torch.nn.Module,
        config: JSONDict,
        record: JSONDict,
        last_saved: float,
    ) -> None:
        self.cfg, self.out, self.datasets, self.command = cfg, out, datasets, command
        self.classes = datasets["train"].classes
        self.device = cfg.device
        self.bf16 = config["bf16"]
        self.kwargs, self.model, self.shuffle_gen, self.train_loader = kwargs, model, shuffle_gen, train_loader
        self.optimizer, self.scheduler, self.loss_fn = optimizer, scheduler, loss_fn
        self.config, self.record = config, record
        self.start_epoch = 1  # resume() moves it on
        self.val: JSONDict | None = None  # the last epoch's validation scores (train_epoch)
        self._last_saved = last_saved  # when last.pt was last written (or the run began)

    @classmethod
    def start(
        cls,
        cfg: ResolvedConfig,
        out: Path,
        datasets: dict[str, FaceSet],
        command: str,
        initial: dict[str, torch.Tensor] | None = None,
    ) -> Run:
        """A new run of CFG in OUT: its model, optimizer, loader and record made from the seed; its model's
        weights from INITIAL where given (a fine-tune's: ckpt_io.initial_weights)."""
        begun = time.perf_counter()
        classes, device = datasets["train"].classes, cfg.device
        bf16 = use_bf16(cfg.precision, device)
        recipe = recipe_of(cfg.recipe)
        torch.manual_seed(cfg.seed)  # model init, then shuffling and augmentation draw from here
        kwargs = run_kwargs(cfg, classes)
        model = create_model(cfg.model, **_built_with(kwargs, cfg.init_from))
        if initial is not None:  # a fine-tune: these weights replace the seed's (a resumed run's last.pt, these)
            model.load_state_dict(initial, strict=True)  # copied into the model's own dtype
        model = model.to(device).to(memory_format=torch.channels_last)
        shuffle_gen = torch.Generator().manual_seed(cfg.seed)
        train_loader, data_path = train_batches(cfg, datasets["train"], shuffle_gen)
        optimizer, scheduler = recipe.optimizer(cfg, model, len(train_loader))
        loss_fn = recipe.loss(cfg, datasets["train"]).to(device)
        config = asdict(cfg) | {
            "milestones": list(cfg.milestones),
            "bf16": bf16,
            "channels_last": True,
            "model_kwargs": kwargs,
        }
        record: JSONDict = {
            "run_id": cfg.run_id,
            "config": config,
            "command": command,
            "data": {
                "root": str(cfg.data),
                "manifest_sha256": recipe.fingerprint(cfg),
                "classes": classes,
                "sizes": {s: len(d) for s, d in datasets.items()},
            },
            "history": [],
            "milestones": {},
            "environment": environment(device) | {"data_path": data_path},
            "status": "running",
        }
        return cls(
            cfg,
            out,
            datasets,
            command,
            kwargs=kwargs,
            model=model,
            shuffle_gen=shuffle_gen,
            train_loader=train_loader,
            optimizer=optimizer,
            scheduler=scheduler,
            loss_fn=loss_fn,
            config=config,
            record=record,
            last_saved=begun,
        )

    def resume(self) -> None:
        """Continue from last.pt: weights, optimizer, schedule and every random stream."""
        state = ckpt_io.read_checkpoint(self.out / LAST_NAME)
        check_same_run(
            self.out,
            same_settings=comparable(state["train_config"]) == comparable(self.config),
            same_data=state["data_manifest_sha256"] == self.record["data"]["manifest_sha256"],
        )
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        self.shuffle_gen.set_state(state["rng"]["shuffle"])
        if self.device == "cuda" and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        previous = read_json(self.out / RECORD_NAME)
        self.record["history"] = history_until(self.out, state["epoch"])
        self.record["milestones"] = {k: v for k, v in previous["milestones"].items() if int(k) <= state["epoch"]}
        self.start_epoch = state["epoch"] + 1
        log.info("resuming %s after epoch %d", self.cfg.run_id, state["epoch"])

    def evaluate(self, split: str) -> JSONDict:
        return evaluate(self.model, self.datasets[split], self.cfg.batch_size, self.bf16, device=self.device)

    def train_epoch(self, epoch: int) -> JSONDict:
        """Train one epoch, score the validation split, add both to the record; the history entry."""
        cfg = self.cfg
        t0 = time.perf_counter()
        train = train_one_epoch(
            self.model,
            self.train_loader,
            self.optimizer,
            self.loss_fn,
            self.bf16,
            f"epoch {epoch}/{cfg.epochs}",
            self.scheduler,
            self.device,
        )
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
        return entry

    def checkpoint(self, metrics: JSONDict, extra: JSONDict | None = None) -> JSONDict:
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

    def save_milestone(self, epoch: int) -> JSONDict:
        """Score the test split and keep the weights as epochNNN.pt; the record's milestone entry."""
        test = self.evaluate("test")
        name = f"epoch{epoch:03d}.pt"
        ckpt_io.atomic_save(self.checkpoint({"test": test, "val": self.val, "epoch": epoch}), self.out / name)
        milestone: JSONDict = {"test": test, "checkpoint": name}
        self.record["milestones"][str(epoch)] = milestone
        return milestone

    def save_progress(self, epoch: int, resume_every_s: float) -> None:
        """record.json every epoch; last.pt at milestones and at most every `resume_every_s` s otherwise."""
        checkpoint = None
        if epoch in self.cfg.milestones or time.perf_counter() - self._last_saved >= resume_every_s:
            rng = {
                "torch": torch.get_rng_state(),
                "shuffle": self.shuffle_gen.get_state(),
                "cuda": torch.cuda.get_rng_state_all() if self.device == "cuda" else None,
            }
            resume_state = {
                "epoch": epoch,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "rng": rng,
                "train_config": self.config,
                "data_manifest_sha256": self.record["data"]["manifest_sha256"],
            }
            checkpoint = self.checkpoint({"val": self.val, "epoch": epoch}, resume_state)
        self.record["seconds_per_epoch"] = _mean_train_seconds(self.record["history"])
        save_epoch(self.out, self.record, checkpoint)
        if checkpoint is not None:
            self._last_saved = time.perf_counter()
