"""Fine-tuning CenterFace on labelled photos (lrfp.data.face_boxes' crops): a resumable run with a record.

Loss (CenterNet's, as CenterFace was trained): a focal loss on the heat map (each face's centre cell a
positive; the other cells negatives, weighed down near a face by its Gaussian and not at all where
`weight` is 0), L1 on the log size and on the offset at the centre cells. The neck's three batch norms
keep the statistics they shipped with (batches of 8 crops are too few to re-estimate them).

A run folder holds record.json (command, data fingerprint, commit, every epoch's losses and the held-out
photos' figures), last.pt (weights, optimizer, schedule, epoch: a killed run resumes from it and ends
with the same weights as an uninterrupted one, since each crop depends only on seed, epoch and index)
and, at the end, final.pt.
"""

from __future__ import annotations

import logging
import math
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from lrfp.core.device import resolve_device, use_bf16
from lrfp.core.errors import RunError
from lrfp.core.progress import bar
from lrfp.core.records import environment
from lrfp.data.face_boxes import CROP, BoxedPhoto, FaceCrops, NegativeSpot
from lrfp.data.voc import match
from lrfp.models.centerface import CenterFace, Floats, Outputs, decode, encode, padded, pretrained
from lrfp.models.checkpoint import atomic_save
from lrfp.training.run_folder import (
    LAST_NAME,
    check_same_run,
    finish,
    history_until,
    open_run_folder,
    resumes,
    save_epoch,
)

log = logging.getLogger(__name__)

FINAL_NAME = "final.pt"
SIZE_WEIGHT, OFFSET_WEIGHT = 1.0, 1.0
DEV_SCALES = (1.0, 2.0)  # the held-out photos are scored at the looks CenterFace takes in the pyramid
DEV_SCORE = 0.5


@dataclass(frozen=True)
class DetectorConfig:
    run_id: str = "centerface-masks"
    epochs: int = 24
    crops_per_epoch: int = 1024
    batch_size: int = 8
    crop: int = CROP
    lr: float = 3e-4
    weight_decay: float = 1e-4
    seed: int = 0
    precision: str = "auto"  # bf16 autocast where the device has it natively (lrfp.core.device.use_bf16)
    device: str = "auto"  # a CUDA GPU when torch sees one, else the CPU (a run resumes on either)
    dev_every: int = 4  # score the held-out photos every this many epochs (and at the last)
    negative_share: float = 0.0  # of the crops, those of things that are not faces (when negatives are given)
    start: str = ""  # the weights it starts from: a graph `lrfp detector export` wrote ("": the generic CenterFace)


def heat_loss(logit: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The focal loss of CenterNet (alpha 2, beta 4) over cells, per face."""
    positive = target >= 1.0
    p = torch.sigmoid(logit)
    pos = (1 - p) ** 2 * F.logsigmoid(logit)
    neg = (1 - target) ** 4 * p**2 * F.logsigmoid(-logit) * weight
    faces = positive.sum().clamp(min=1)
    return -(pos[positive].sum() + neg[~positive].sum()) / faces


def detector_loss(outputs: Outputs, targets: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    heat, log_size, offset, _ = (o.float() for o in outputs)
    centre = targets["centre"].expand_as(log_size)
    faces = targets["centre"].sum().clamp(min=1)
    losses = {
        "heat": heat_loss(heat, targets["heat"], targets["weight"]),
        "size": F.l1_loss(log_size[centre], targets["size"][centre], reduction="sum") / faces,
        "offset": F.l1_loss(offset[centre], targets["offset"][centre], reduction="sum") / faces,
    }
    losses["total"] = losses["heat"] + SIZE_WEIGHT * losses["size"] + OFFSET_WEIGHT * losses["offset"]
    return losses


def freeze_norms(model: CenterFace) -> CenterFace:
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    return model


@torch.no_grad()
def detect(model: CenterFace, rgb: npt.NDArray[np.uint8], min_score: float = DEV_SCORE) -> Floats:
    """One look of the torch model at an HxWx3 image: boxes (x0, y0, x1, y1, score) in its px."""
    device = next(model.parameters()).device
    heat, log_size, offset, _ = (o.float().cpu() for o in model.eval().scores(torch.from_numpy(padded(rgb)).to(device)))
    return decode(heat[0].numpy(), log_size[0].numpy(), offset[0].numpy(), min_score, rgb.shape[1], rgb.shape[0])


def dev_figures(model: CenterFace, photos: list[BoxedPhoto]) -> dict[str, dict[str, float]]:
    """Faces found (IoU >= 0.3) and boxes matching no labelled or unlabelled face, per photo, for each of
    DEV_SCALES: a quick reading of the held-out photos, not the scene benchmark."""
    out: dict[str, dict[str, float]] = {}  # by scale: found (share), labelled (count), unmatched_per_photo
    for scale in DEV_SCALES:
        found = labelled = unmatched = 0
        for photo in photos:
            image = photo.image
            if scale != 1:
                image = image.resize((round(image.width * scale), round(image.height * scale)))
            boxes = detect(model, np.asarray(image))[:, :4] / scale
            faces = photo.faces.tolist()
            pairs = match(faces, boxes.tolist())
            known = match(photo.ignore.tolist(), boxes.tolist()) if len(photo.ignore) else {}
            found += len(pairs)
            labelled += len(faces)
            unmatched += len(set(range(len(boxes))) - set(pairs.values()) - set(known.values()))
        out[f"{scale:g}x"] = {
            "found": found / max(1, labelled),
            "labelled": labelled,
            "unmatched_per_photo": unmatched / max(1, len(photos)),
        }
    return out


def fit_detector(
    cfg: DetectorConfig,
    train: list[BoxedPhoto],
    dev: list[BoxedPhoto],
    out: Path,
    command: str,
    data: dict[str, Any],
    start: CenterFace | None = None,
    fresh: bool = False,
    negatives: list[NegativeSpot] | None = None,
) -> dict[str, Any]:
    """Fine-tune `start` (default: the shipped CenterFace) on `train`'s crops, cfg.negative_share of them
    of `negatives`; `dev`: held-out photos for the record's figures; `data`: what the record says of the
    data (its fingerprint first). Resumes from out/last.pt unless `fresh`; returns the record."""
    with open_run_folder(out, "detector training run"):
        torch.manual_seed(cfg.seed)
        device = resolve_device(cfg.device)
        # Module.to moves and re-lays the weights in place; its overloads take the device and the layout one at a time
        model = (start or pretrained()).to(device).to(memory_format=torch.channels_last)
        bf16 = use_bf16(cfg.precision, device)
        steps = cfg.epochs * math.ceil(cfg.crops_per_epoch / cfg.batch_size)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=steps, pct_start=0.1)
        record: dict[str, Any] = {  # record.json
            "run_id": cfg.run_id,
            "config": asdict(cfg) | {"bf16": bf16},
            "command": command,
            "data": data,
            "environment": environment(device),
            "history": [],
            "status": "running",
        }
        first = 1
        if resumes(out, fresh):
            state = torch.load(out / LAST_NAME, map_location=device, weights_only=True)
            check_same_run(
                out,
                same_settings=_settings(state["config"]) == _settings(asdict(cfg)),
                same_data=state["data"]["fingerprint"] == data["fingerprint"],
            )
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            record["history"] = history_until(out, state["epoch"])
            first = state["epoch"] + 1
            log.info("resuming %s after epoch %d", cfg.run_id, state["epoch"])
        crops = FaceCrops(
            train,
            cfg.crops_per_epoch,
            encode,
            cfg.seed,
            cfg.crop,
            negatives=negatives,
            negative_share=cfg.negative_share,
        )
        for epoch in range(first, cfg.epochs + 1):
            entry = train_epoch(model, crops, epoch, cfg, optimizer, schedule, bf16, device)
            if dev and (epoch % cfg.dev_every == 0 or epoch == cfg.epochs):
                entry["dev"] = dev_figures(model, dev)
            record["history"].append(entry)
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "epoch": epoch,
                "config": asdict(cfg),
                "data": data,
            }
            save_epoch(out, record, state)
            log.info(_epoch_line(entry, cfg.epochs))
        _save_final(model, record, out / FINAL_NAME)
        return finish(out, record)


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    """What must match for a run to resume: everything but the device it runs on (a setting added since a
    run began counts as its default)."""
    return {k: v for k, v in (asdict(DetectorConfig()) | config).items() if k != "device"}


def _epoch_line(entry: dict[str, Any], epochs: int) -> str:
    held_out = f"  held-out: {_dev_line(entry['dev'])}" if "dev" in entry else ""
    return (
        f"epoch {entry['epoch']}/{epochs}  loss {entry['loss']:.4f} (heat {entry['heat']:.4f} "
        f"size {entry['size']:.4f} offset {entry['offset']:.4f})  {entry['seconds']:.0f}s{held_out}"
    )


def _save_final(model: CenterFace, record: dict[str, Any], path: Path) -> None:
    """final.pt: the weights (on the CPU) and what the run was."""
    atomic_save(
        {
            "model": {k: v.cpu() for k, v in model.state_dict().items()},
            "record": {k: record[k] for k in ("run_id", "config", "command", "data")},
        },
        path,
    )


def _dev_line(dev: dict[str, dict[str, float]]) -> str:
    return "  ".join(f"{k} found {v['found']:.3f} unmatched {v['unmatched_per_photo']:.2f}" for k, v in dev.items())


def train_epoch(
    model: CenterFace,
    crops: FaceCrops,
    epoch: int,
    cfg: DetectorConfig,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    bf16: bool,
    device: str = "cpu",
) -> dict[str, Any]:
    crops.set_epoch(epoch)
    freeze_norms(model.train())
    sums: dict[str, float] = {}
    t0 = time.perf_counter()
    steps = 0
    batches = torch.utils.data.DataLoader(crops, batch_size=cfg.batch_size)  # in order: a crop is its index's
    for images, targets in bar(batches, desc=f"epoch {epoch}/{cfg.epochs}", leave=False):
        images = images.to(device).contiguous(memory_format=torch.channels_last)
        targets = {k: v.to(device) for k, v in targets.items()}
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            outputs = model(images)
        losses = detector_loss(outputs, targets)
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        optimizer.step()
        schedule.step()
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        steps += 1
    means = {("loss" if k == "total" else k): v / max(1, steps) for k, v in sums.items()}
    return {"epoch": epoch, **means, "seconds": time.perf_counter() - t0}


def load_finetuned(path: Path) -> CenterFace:
    """A CenterFace from a run's final.pt or last.pt; RunError when the file is not one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = CenterFace()
        model.load_state_dict(state["model"])
    except (OSError, KeyError, RuntimeError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise RunError(f"{path}: not a CenterFace fine-tuned by `lrfp detector train` ({exc})") from exc
    return model.eval()
