"""Self-describing checkpoints: weights plus everything needed to use them, plain data only.

A checkpoint loads with `torch.load(path, weights_only=True)`: it holds tensors, numbers,
strings, lists and dicts, never pickled objects. Before torch reads a file, its zip directory
must promise no more than an lrfp checkpoint holds; once read, its description of the model
must pass `check_metadata` before anything is built from it.
"""

from __future__ import annotations

import math
import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeGuard

import torch
from torch import nn

from lrfp.core.errors import LrfpError
from lrfp.core.records import atomic_path
from lrfp.models.registry import MAX_INPUT, MODEL_NAMES, PRETRAINED, create_model, min_input_size, model_kwargs, spec

# A checkpoint as torch.save writes and torch.load reads it: plain data (tensors, numbers, strings, lists,
# dicts) under the keys make_checkpoint writes, plus a resume state's keys in a run's last.pt; its model
# description is checked by check_metadata, the rest is as its writer left it
Checkpoint = dict[str, Any]

FORMAT = "lrfp-checkpoint"
VERSION = 1


class CheckpointError(LrfpError):
    """A file that is not a usable lrfp checkpoint."""


HOW_TO_GET = "make one with `lrfp train`, or pass a name from weights/ (`lrfp predict --model model3 …`)"
# what a refused `lrfp train --init-from FILE` is told instead: that flag takes a path, never a name
INIT_FROM_HINT = (
    "--init-from takes a checkpoint lrfp wrote: a run's epochNNN.pt or a file of weights/ (weights/model3.pt)"
)

# The largest checkpoint lrfp writes is vgg16's last.pt: 134 M fp32 weights plus Adam's two moments,
# about 1.6 GB. No file that unpacks to more is one lrfp can use, so torch is never asked to unpack it.
MAX_UNPACKED_BYTES = 2 * 2**30
# torch.save stores its entries uncompressed, and weights hardly compress (deflate shrinks the shipped
# checkpoints 1.1-fold): a file that unpacks to more than 10 times its size was made to inflate.
MAX_INFLATION = 10
# The pickled part (metadata, tensor references, optimizer bookkeeping) is 2-36 KB in the shipped
# checkpoints; a pickle builds Python objects several times its own size.
MAX_PICKLE_BYTES = 16 * 2**20
# lrfp's data sets have 2 or 3 classes; 1000 (an ImageNet-sized head) costs at most 16 MB (vgg16's).
MAX_CLASSES = 1000
MAX_CLASS_NAME = 100  # characters


def atomic_save(obj: object, path: Path) -> None:
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
    kwargs: Mapping[str, object],
    classes: list[str],
    input_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    metrics: dict[str, Any] | None = None,
    command: str = "",
    extra: dict[str, Any] | None = None,
) -> Checkpoint:
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


def _check_archive(path: Path, hint: str = HOW_TO_GET) -> None:
    """Refuse, from the zip directory alone, a file torch would unpack to more than any lrfp checkpoint (HINT:
    where to get one, said after a file that is none)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as exc:
        # torch.save writes a zip; torch's legacy format (never lrfp's) allocates the storages its
        # pickle declares before reading them, so it is refused unread as well
        raise CheckpointError(f"{path}: not an lrfp checkpoint (not a PyTorch zip file, or truncated); {hint}") from exc
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    unpacked = sum(e.file_size for e in entries)
    pickled = sum(e.file_size for e in entries if e.filename.endswith(".pkl"))
    size = path.stat().st_size
    refused = f"{path}: refused: it would unpack to {unpacked / 1e6:,.0f} MB"
    if unpacked > MAX_UNPACKED_BYTES:
        raise CheckpointError(f"{refused}, more than any lrfp checkpoint ({MAX_UNPACKED_BYTES / 1e6:,.0f} MB at most)")
    if unpacked > MAX_INFLATION * size:
        raise CheckpointError(
            f"{refused} from {size / 1e6:,.1f} MB; torch.save stores checkpoints uncompressed, "
            f"and lrfp loads none compressed more than {MAX_INFLATION}-fold"
        )
    if pickled > MAX_PICKLE_BYTES:
        raise CheckpointError(
            f"{path}: refused: its pickled part is {pickled / 1e6:,.0f} MB; an lrfp checkpoint's "
            f"is under {MAX_PICKLE_BYTES / 1e6:.0f} MB"
        )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (isinstance(value, float) and math.isfinite(value)) or _is_int(value)


def _three_numbers(value: object) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(map(_is_number, value))


def _class_names(classes: list[object]) -> bool:
    """Distinct printable names (a label is printed on terminals and drawn on photos)."""
    fit = all(isinstance(c, str) and 0 < len(c) <= MAX_CLASS_NAME and c.isprintable() for c in classes)
    return fit and len(set(classes)) == len(classes)


def check_metadata(meta: Mapping[str, Any], where: str | Path) -> None:
    """The one contract on what a checkpoint (or an ONNX graph exported from one) says about its model.

    Types and ranges are checked before anything is built or allocated from them: a known
    architecture with only its own keyword arguments, an input size it supports, 2 to MAX_CLASSES
    outputs with as many distinct class names, and a usable normalization.
    """

    def refuse(field: str, problem: str, value: object) -> NoReturn:
        raise CheckpointError(f"{where}: unusable checkpoint: {field} {problem}, got {value!r:.80}")

    described = meta.get("model")
    if not (
        isinstance(described, dict)
        and described.get("name") in MODEL_NAMES
        and isinstance(described.get("kwargs"), dict)
    ):
        refuse("model", f"must name one of {', '.join(MODEL_NAMES)} with its kwargs", described)
    name, kwargs = described["name"], described["kwargs"]
    allowed = set(model_kwargs(name))
    if not set(kwargs) <= allowed:
        refuse("model.kwargs", f"may hold only {sorted(allowed)} for {name}", sorted(map(str, kwargs)))
    if "norm" in allowed:
        norms = spec(name).accepted_norms
        if kwargs.get("norm") not in norms:
            refuse("model.kwargs.norm", f"must be one of {norms} for {name}", kwargs.get("norm"))
    else:
        pretrained = kwargs.get("pretrained", "none")
        if pretrained not in PRETRAINED:
            refuse("model.kwargs.pretrained", f"must be one of {PRETRAINED}", pretrained)
    outputs = kwargs.get("num_classes", 2)
    if not (_is_int(outputs) and 2 <= outputs <= MAX_CLASSES):
        refuse("model.kwargs.num_classes", f"must be an integer from 2 to {MAX_CLASSES}", outputs)
    classes = meta.get("classes")
    if not (isinstance(classes, list) and len(classes) == outputs):
        refuse("classes", f"must list one name per model output ({outputs})", classes)
    if not _class_names(classes):
        refuse("classes", f"must be distinct printable names of 1 to {MAX_CLASS_NAME} characters", classes)
    size, low = meta.get("input_size"), min_input_size(name)
    if not (_is_int(size) and low <= size <= MAX_INPUT):
        refuse("input_size", f"must be an integer from {low} to {MAX_INPUT} px for {name}", size)
    norm = meta.get("normalization")
    if not (
        isinstance(norm, dict)
        and _three_numbers(norm.get("mean"))
        and _three_numbers(norm.get("std"))
        and min(norm["std"]) > 0
    ):
        refuse("normalization", "must hold a mean and a std of 3 finite numbers each, std above 0", norm)


def read_checkpoint(path: str | Path, hint: str = HOW_TO_GET) -> Checkpoint:
    """Load and validate a checkpoint file (weights_only); CheckpointError says what is wrong, and for a file that
    is no lrfp checkpoint, HINT: where to get one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    _check_archive(path, hint)
    try:
        ckpt: object = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused a pickled object: never load it
        raise CheckpointError(
            f"{path}: not an lrfp checkpoint (it holds Python objects, which lrfp never unpickles); {hint}"
        ) from exc
    except Exception as exc:  # zip/format errors of any kind mean "not a PyTorch file", or a truncated one
        raise CheckpointError(f"{path}: not an lrfp checkpoint (not a PyTorch file, or truncated); {hint}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an lrfp checkpoint (a plain state_dict or another tool's file); {hint}")
    version = ckpt.get("version", 0)
    if not _is_int(version):
        raise CheckpointError(f"{path}: unusable checkpoint: version must be an integer, got {version!r:.80}")
    if version > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {version} is newer than this lrfp ({VERSION})")
    check_metadata(ckpt, path)
    state = ckpt.get("state_dict")
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{path}: unusable checkpoint: state_dict must map parameter names to tensors")
    return ckpt


def model_from_checkpoint(ckpt: Checkpoint, where: str | Path = "checkpoint") -> nn.Module:
    """Rebuild the model and load its weights. Transfer models are built without downloading.

    Its output layer has one unit per class: check_metadata made num_classes equal len(classes),
    and the strict load refuses weights of any other shape."""
    described = ckpt["model"]
    kwargs = dict(described["kwargs"])
    if "pretrained" in kwargs:
        kwargs["pretrained"] = "none"  # the checkpoint's own weights replace any pretrained ones
    model = create_model(described["name"], **kwargs)
    try:
        model.load_state_dict(ckpt["state_dict"], strict=True)
    except RuntimeError as exc:
        reason = " ".join(str(exc).split())  # torch lists every mismatch on lines of its own
        raise CheckpointError(
            f"{where}: its weights do not fit model {described['name']} {described['kwargs']}: "
            f"{reason[:300]}{'…' if len(reason) > 300 else ''}"
        ) from exc
    return model.eval()


def load_model(path: str | Path) -> tuple[nn.Module, Checkpoint]:
    ckpt = read_checkpoint(path)
    return model_from_checkpoint(ckpt, path), ckpt


def _architecture(name: str, kwargs: Mapping[str, object]) -> str:
    """What decides a model's weights' shapes, in words: its name and norm (pretrained weights do not)."""
    norm = kwargs.get("norm")
    return f"{name} with {norm}" if norm not in (None, "none") else name


def initial_weights(path: str | Path, name: str, kwargs: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """The weights of the checkpoint at PATH for a run of model NAME built with KWARGS to start from (`lrfp train
    --init-from`); CheckpointError, in one line, for a file that is none or one of another model or classes."""
    ckpt = read_checkpoint(path, INIT_FROM_HINT)
    theirs = ckpt["model"]
    if _architecture(theirs["name"], theirs["kwargs"]) != _architecture(name, kwargs):
        raise CheckpointError(
            f"{path}: weights of {_architecture(theirs['name'], theirs['kwargs'])}; this run trains "
            f"{_architecture(name, kwargs)} (--init-from takes a checkpoint of the model it trains)"
        )
    outputs = kwargs.get("num_classes", 2)
    if len(ckpt["classes"]) != outputs:
        raise CheckpointError(
            f"{path}: weights for {len(ckpt['classes'])} classes ({', '.join(ckpt['classes'])}); "
            f"this run's data has {outputs}"
        )
    state: dict[str, torch.Tensor] = ckpt["state_dict"]
    return state
