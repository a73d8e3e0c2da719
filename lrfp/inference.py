"""Checkpoint -> classifier for face crops; finding checkpoints by name."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .checkpoint import CheckpointError, load_model
from .data import preset_transform

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def resolve_checkpoint(name_or_path: str | Path, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """A path as given, or the name of a checkpoint in weights/ (with or without .pt)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for candidate in (weights_dir / f"{name_or_path}.pt", weights_dir / str(name_or_path)):
        if candidate.is_file():
            return candidate
    known = sorted(p.stem for p in weights_dir.glob("*.pt")) if weights_dir.is_dir() else []
    raise CheckpointError(f"{name_or_path}: no such checkpoint file, nor a name in weights/ (known: {known or 'none'})")


@dataclass
class Prediction:
    label: str
    probability: float  # of the predicted label
    probabilities: dict[str, float]


BACKENDS = ("auto", "torch", "onnx")


class Classifier:
    """A loaded checkpoint that classifies face images. Safe to share between threads.

    backend: "torch" runs the PyTorch model; "onnx" runs onnxruntime on the checkpoint exported
    once to ONNX (or on a .onnx file given directly); "auto" picks onnx where onnxruntime is
    installed (several times faster on small batches), else torch.
    """

    def __init__(self, checkpoint: str | Path, backend: str = "torch"):
        from .onnx_backend import ExportError, OnnxSession, cached_export, onnxruntime_available

        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}")
        self.path = resolve_checkpoint(checkpoint)
        if self.path.suffix == ".onnx":
            backend = "onnx"
        auto = backend == "auto"
        if auto:
            backend = "onnx" if onnxruntime_available() else "torch"
        self.backend = backend
        self.model = None
        if backend == "onnx":
            try:
                self._session = OnnxSession(self.path if self.path.suffix == ".onnx" else cached_export(self.path))
                self.checkpoint = self._session.meta
            except ExportError:
                if not auto:
                    raise
                backend = self.backend = "torch"  # auto: fall back to PyTorch for graphs ONNX cannot express
        if backend == "torch":
            self.model, self.checkpoint = load_model(self.path)
        self.classes: list[str] = list(self.checkpoint["classes"])
        self.input_size: int = self.checkpoint["input_size"]
        norm = self.checkpoint["normalization"]
        self.transform = preset_transform(self.input_size, train=False, mean=norm["mean"], std=norm["std"])
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.path.stem

    @torch.no_grad()
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of a preprocessed batch (N, 3, S, S)."""
        if self.model is None:
            return self._session.logits(batch)
        with self._lock:  # module state (BatchNorm buffers, threads) is not re-entrant
            return self.model(batch)

    __call__ = logits  # so engine.evaluate takes a Classifier like a model

    def probabilities(self, images: list[Image.Image]) -> torch.Tensor:
        """Class probabilities, one row per image, all images in one batch."""
        if not images:
            return torch.zeros(0, len(self.classes))
        batch = torch.stack([self.transform(img.convert("RGB")) for img in images])
        return self.logits(batch).softmax(1)

    def predict(self, images: list[Image.Image]) -> list[Prediction]:
        probs = self.probabilities(images)
        out = []
        for row in probs.tolist():
            best = max(range(len(row)), key=row.__getitem__)
            out.append(Prediction(self.classes[best], row[best], dict(zip(self.classes, row))))
        return out
