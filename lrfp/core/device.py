"""Where and in which precision torch works: the device asked for, checked, and bf16 where it is native."""

from __future__ import annotations

import torch

from lrfp.core.errors import ConfigError
from lrfp.core.records import cpu_has_native_bf16

PRECISIONS = ("auto", "bf16", "fp32")


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> str:
    """auto: CUDA when torch sees a GPU, else the CPU. Asking for CUDA without one is an error."""
    if name not in DEVICES:
        raise ConfigError(f"device must be one of {DEVICES}, got {name!r}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: this torch sees no CUDA GPU (torch.cuda.is_available() is False)")
    return name


def use_bf16(precision: str, device: str = "cpu") -> bool:
    if precision != "auto":
        return precision == "bf16"
    if device == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_native_bf16()
