"""Self-describing checkpoints: weights plus everything needed to use them, plain data only.

A checkpoint loads with `torch.load(path, weights_only=True)`: it holds tensors, numbers,
strings, lists and dicts, never pickled objects.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from .errors import LrfpError
from .models import create_model
from .records import atomic_path

FORMAT = "lrfp-checkpoint"
VERSION = 1


class CheckpointError(LrfpError):
    """A file that is not a usable lrfp checkpoint."""


HOW_TO_GET = "make one with `lrfp train`, or pass a name from weights/ (`lrfp predict --model model3 …`)"


def atomic_save(obj, path: Path) -> None:
    """torch.save through a temporary file: a killed process never leaves half a checkpoint.

    It writes through a Python file object, so a full or read-only disk raises OSError naming the
    path (torch's own file writer reports it as an opaque RuntimeError).
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        try:
            torch.save(obj, f)
        except RuntimeError as exc:  # torch wraps a failed write while closing its archive
            cause = exc.__context__
            while cause is not None and not isinstance(cause, OSError):
                cause = cause.__context__
            if cause is None:
                raise
            raise cause from exc


def make_checkpoint(
    model: nn.Module,
    *,
    name: str,
    kwargs: dict,
    classes: list[str],
    input_size: int,
    mean,
    std,
    metrics: dict | None = None,
    command: str = "",
    extra: dict | None = None,
) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": {"name": name, "kwargs": dict(kwargs)},
        "classes": list(classes),
        "input_size": int(input_size),
        "normalization": {"mean": [float(m) for m in mean], "std": [float(s) for s in std]},
        "metrics": metrics or {},
        "command": command,
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        **(extra or {}),
    }


def ship_copy(src: Path, dst: Path) -> None:
    """Copy a checkpoint for weights/ with its weights stored in half precision: half the bytes in
    the repository, and the same predictions (loading casts them back to fp32; measured on the
    production model's 594 test faces: every accuracy identical). Training keeps fp32 throughout."""
    ckpt = read_checkpoint(src)
    ckpt["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    ckpt["stored_dtype"] = "float16"
    atomic_save(ckpt, dst)


def read_checkpoint(path) -> dict:
    """Load and validate a checkpoint file (weights_only); CheckpointError says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused a pickled object: never load it
        raise CheckpointError(f"{path}: not an lrfp checkpoint (it holds Python objects, which lrfp never "
                              f"unpickles); {HOW_TO_GET}") from exc  # fmt: skip
    except Exception as exc:  # zip/format errors of any kind mean "not a PyTorch file", or a truncated one
        raise CheckpointError(f"{path}: not an lrfp checkpoint (not a PyTorch file, or truncated); {HOW_TO_GET}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an lrfp checkpoint (a plain state_dict or another tool's file); {HOW_TO_GET}")
    if ckpt.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {ckpt['version']} is newer than this lrfp ({VERSION})")
    return ckpt


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """Rebuild the model and load its weights. Transfer models are built without downloading."""
    spec = ckpt["model"]
    kwargs = dict(spec["kwargs"])
    if "pretrained" in kwargs:
        kwargs["pretrained"] = "none"  # the checkpoint's own weights replace any pretrained ones
    model = create_model(spec["name"], **kwargs)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"weights do not fit model {spec['name']} {spec['kwargs']}: {exc}") from exc
    return model.eval()


def load_model(path) -> tuple[nn.Module, dict]:
    ckpt = read_checkpoint(path)
    return model_from_checkpoint(ckpt), ckpt
