"""ONNX export of a checkpoint and an onnxruntime classifier with the same interface as the torch one.

The exported file is self-contained: the graph (dynamic batch size) plus the checkpoint's
description (classes, input size, normalization) as ONNX metadata.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, load_model

META_KEY = "lrfp"
CACHE_DIR = Path(os.environ.get("LRFP_CACHE", Path.home() / ".cache" / "lrfp" / "onnx"))


class ExportError(ValueError):
    """A checkpoint whose graph the ONNX exporter cannot express."""


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


class MatrixPool(torch.nn.Module):
    """Adaptive average pooling for one fixed input size, written as a matrix product.

    The ONNX exporter refuses adaptive pools whose output grid does not divide the feature map
    (model1/model2 at 64 px, say). For a known map size the pool is a fixed linear map, which
    ONNX expresses as MatMul; the parity test checks the logits stay the same.
    """

    def __init__(self, height: int, width: int, grid: int):
        super().__init__()
        basis = torch.eye(height * width).view(height * width, 1, height, width)
        self.register_buffer("weight", torch.nn.functional.adaptive_avg_pool2d(basis, grid).view(height * width, -1))
        self.grid = grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        return (x.flatten(2) @ self.weight).view(n, c, self.grid, self.grid)


def _exportable(model: torch.nn.Module, size: int) -> torch.nn.Module:
    """The paper models with their adaptive pool replaced by an equivalent MatrixPool."""
    from .models import PaperCNN

    if isinstance(model, PaperCNN):
        with torch.no_grad():
            h, w = model.features(torch.zeros(1, 3, size, size)).shape[-2:]
        model.pool = MatrixPool(h, w, model.pool.output_size if isinstance(model.pool.output_size, int)
                                else model.pool.output_size[0])  # fmt: skip
    return model


def export_onnx(checkpoint_path, out_path) -> Path:
    """Write CHECKPOINT as a single-file ONNX model with a dynamic batch dimension."""
    import onnx

    model, ckpt = load_model(checkpoint_path)
    size = ckpt["input_size"]
    model = _exportable(model, size)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp.onnx")
    try:
        torch.onnx.export(
            model, (torch.zeros(1, 3, size, size),), str(tmp), dynamo=False, input_names=["image"],
            output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
        )  # fmt: skip
    except torch.onnx.errors.OnnxExporterError as exc:
        # e.g. an adaptive pool whose output grid does not divide the feature map at this input size
        raise ExportError(f"{checkpoint_path}: cannot be exported to ONNX at {size} px ({str(exc).splitlines()[0]})") from exc
    graph = onnx.load(str(tmp))
    meta = {k: ckpt[k] for k in ("model", "classes", "input_size", "normalization")}
    graph.metadata_props.add(key=META_KEY, value=json.dumps(meta))
    onnx.save(graph, str(tmp))
    os.replace(tmp, out_path)
    return out_path


def cached_export(checkpoint_path) -> Path:
    """The ONNX file of a checkpoint, exported once into the cache (keyed by the checkpoint's bytes)."""
    digest = hashlib.sha256(Path(checkpoint_path).read_bytes()).hexdigest()[:16]
    path = CACHE_DIR / f"{Path(checkpoint_path).stem}-{digest}.onnx"
    return path if path.is_file() else export_onnx(checkpoint_path, path)


class OnnxSession:
    """An onnxruntime session over an lrfp ONNX file; `logits(batch)` mirrors the torch model."""

    def __init__(self, path):
        import onnxruntime as ort

        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise CheckpointError(f"{self.path}: not a loadable ONNX model ({exc})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if meta is None:
            raise CheckpointError(f"{self.path}: an ONNX model without lrfp metadata; export it with `lrfp export`")
        self.meta = json.loads(meta)
        self._lock = threading.Lock()

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.session.run(["logits"], {"image": np.ascontiguousarray(batch.numpy(), dtype=np.float32)})[0]
        return torch.from_numpy(out)
