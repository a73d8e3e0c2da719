"""ONNX export of a checkpoint and an onnxruntime classifier with the same interface as the torch one.

The exported file is self-contained: the graph (dynamic batch size) plus the checkpoint's
description (classes, input size, normalization) as ONNX metadata.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lrfp.core.errors import LrfpError
from lrfp.core.records import atomic_path, file_sha256
from lrfp.models.checkpoint import CheckpointError, check_metadata, load_model
from lrfp.models.paper_cnn import PaperCNN

if TYPE_CHECKING:
    import onnxruntime

META_KEY = "lrfp"
CACHE_DIR = Path(os.environ.get("LRFP_CACHE", Path.home() / ".cache" / "lrfp" / "onnx"))


class ExportError(LrfpError):
    """A checkpoint whose graph the ONNX exporter cannot express."""


class MatrixPool(torch.nn.Module):
    """Adaptive average pooling for one fixed input size, written as a matrix product.

    The ONNX exporter refuses adaptive pools whose output grid does not divide the feature map
    (model1/model2 at 64 px, say). For a known map size the pool is a fixed linear map, which
    ONNX expresses as MatMul; the parity test checks the logits stay the same.
    """

    weight: torch.Tensor  # a buffer: (height * width, grid * grid)

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
    if isinstance(model, PaperCNN):
        with torch.no_grad():
            h, w = model.features(torch.zeros(1, 3, size, size)).shape[-2:]
        output_size = model.pool.output_size
        grid = output_size[0] if isinstance(output_size, tuple) else output_size
        if not isinstance(grid, int):  # the paper models pool to a fixed square grid
            raise ExportError(f"{type(model).__name__}: an adaptive pool without a fixed output grid")
        model.add_module("pool", MatrixPool(h, w, grid))  # replaces the adaptive pool, as assigning it would
    return model


def export_onnx(checkpoint_path: str | Path, out_path: str | Path, parity_atol: float = 1e-4) -> Path:
    """Write CHECKPOINT as a single-file ONNX model with a dynamic batch dimension.

    The file records the checkpoint's sha256 (so a graph beside a changed .pt is never used for
    it), and is written only once onnxruntime's logits match PyTorch's within `parity_atol` on
    random batches of 1 and 5.
    """
    import onnx

    model, ckpt = load_model(checkpoint_path)
    size = ckpt["input_size"]
    model = _exportable(model, size)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
                torch.onnx.export(
                    model,
                    (torch.zeros(1, 3, size, size),),
                    tmp,
                    dynamo=False,
                    input_names=["image"],
                    output_names=["logits"],
                    dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                    opset_version=17,
                )
        except torch.onnx.errors.OnnxExporterError as exc:
            # e.g. an adaptive pool whose output grid does not divide the feature map at this input size
            raise ExportError(
                f"{checkpoint_path}: cannot be exported to ONNX at {size} px ({str(exc).splitlines()[0]})"
            ) from exc
        graph = onnx.load(tmp)
        meta = {k: ckpt[k] for k in ("model", "classes", "input_size", "normalization")}
        meta["checkpoint_sha256"] = file_sha256(checkpoint_path)
        graph.metadata_props.add(key=META_KEY, value=json.dumps(meta))
        onnx.save(graph, tmp)
        session = OnnxSession(tmp)
        with torch.no_grad():
            for batch in (1, 5):
                x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch))
                gap = (model(x) - session.logits(x)).abs().max().item()
                if gap > parity_atol:
                    raise ExportError(f"{checkpoint_path}: the ONNX graph's logits differ from PyTorch's by {gap:.2e}")
    return out_path


def matching_session(onnx_path: str | Path, checkpoint_sha256: str) -> OnnxSession | None:
    """A session over `onnx_path` when it is a loadable lrfp graph exported from exactly the checkpoint
    whose sha256 is given, else None. Every graph used in place of a checkpoint is checked here."""
    if not Path(onnx_path).is_file():
        return None
    try:
        session = OnnxSession(onnx_path)
    except CheckpointError:
        return None
    return session if session.meta.get("checkpoint_sha256") == checkpoint_sha256 else None


def shipped_graph_matches(checkpoint_path: Path, onnx_path: Path) -> bool:
    """Whether `onnx_path` exists and was exported from exactly this checkpoint file."""
    return Path(onnx_path).is_file() and matching_session(onnx_path, file_sha256(checkpoint_path)) is not None


def open_session(checkpoint_path: str | Path) -> OnnxSession:
    """An onnxruntime session for a checkpoint (or a .onnx file given directly).

    Uses the graph shipped beside the checkpoint (X.onnx next to X.pt) when it was made from
    exactly that file, else the one in the cache (keyed by the file's sha256) when it was; any
    other graph in the cache's slot (broken, stale, another model's) is replaced by a new export.
    """
    path = Path(checkpoint_path)
    if path.suffix == ".onnx":
        return OnnxSession(path)
    digest = file_sha256(path)
    cached = CACHE_DIR / f"{path.stem}-{digest[:16]}.onnx"
    for graph in (path.with_suffix(".onnx"), cached):
        session = matching_session(graph, digest)
        if session is not None:
            return session
    return OnnxSession(export_onnx(path, cached))


def intra_op_threads() -> int:
    """onnxruntime's threads per session: $OMP_NUM_THREADS when set, else 0 (its default, one per core).

    onnxruntime ignores that variable, which Ray sets to an actor's CPUs: without this, two actors on
    two cores would each run a thread per core, four threads fighting over two cores."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS") or 0))
    except ValueError:
        return 0


def cpu_session_options() -> onnxruntime.SessionOptions:
    """The options of every onnxruntime session lrfp opens (the classifier's and the detector's)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    # idle worker threads sleep instead of spinning: on a shared CPU (a server, the webcam beside a
    # browser) spinning threads burn the cores other work needs (20 % more CPU per photo alone here)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.intra_op_num_threads = intra_op_threads()
    return options


class OnnxSession:
    """An onnxruntime session over an lrfp ONNX file; `logits(batch)` mirrors the torch model."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(
                str(self.path), cpu_session_options(), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(f"{self.path}: not a loadable ONNX model ({first})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if meta is None:
            raise CheckpointError(f"{self.path}: an ONNX model without lrfp metadata; export it with `lrfp export`")
        try:
            parsed = json.loads(meta)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise CheckpointError(
                f"{self.path}: its lrfp metadata is not a JSON object; export it again with `lrfp export`"
            )
        self.meta: dict[str, Any] = parsed  # the checkpoint's description: model, classes, input_size, ...
        check_metadata(self.meta, self.path)  # the same contract as a checkpoint's
        self._check_graph()
        self._lock = threading.Lock()

    def _check_graph(self) -> None:
        """The graph must take the images and give the logits its metadata describes."""
        size, n = self.meta["input_size"], len(self.meta["classes"])
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        if inputs.get("image", [])[1:] != [3, size, size] or outputs.get("logits", [])[1:] != [n]:
            raise CheckpointError(
                f"{self.path}: the graph does not map image[N, 3, {size}, {size}] to logits[N, {n}] "
                "as its lrfp metadata says; export it again with `lrfp export`"
            )

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.session.run(["logits"], {"image": np.ascontiguousarray(batch.numpy(), dtype=np.float32)})[0]
        return torch.from_numpy(out)
