"""Checkpoint -> classifier for face crops; finding checkpoints by name."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import nn

from lrfp.core import labels, paths
from lrfp.core.device import resolve_device
from lrfp.core.errors import ConfigError
from lrfp.data.images import preset_transform
from lrfp.models.checkpoint import CheckpointError, load_model
from lrfp.models.onnx_backend import open_session


def resolve_checkpoint(name_or_path: str | Path, weights_dir: Path | None = None) -> Path:
    """A path as given, or the name of a checkpoint in weights/ (with or without .pt)."""
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    path = Path(name_or_path)
    if path.is_file():
        return path
    for candidate in (weights_dir / f"{name_or_path}.pt", weights_dir / str(name_or_path)):
        if candidate.is_file():
            return candidate
    known = sorted(p.stem for p in weights_dir.glob("*.pt")) if weights_dir.is_dir() else []
    raise CheckpointError(
        f"{name_or_path}: no such checkpoint file, nor a name in {weights_dir} (known: {known or 'none'})"
    )


log = logging.getLogger("lrfp")
# A face (or image) whose shorter side is under this many px is answered "too small to judge":
# below it the crop holds too little of a face for any label to mean something (our training
# faces start at 8 px; the resolution study measured accuracy down to 8 px).
MIN_FACE_PX = 6
TOO_SMALL = labels.TOO_SMALL  # defined with the other answers in lrfp.core.labels
# "Can't tell": a face whose mouth and nose cannot be seen (behind another head, cut by the frame's edge,
# turned away, or a box on the top of a head) says nothing about a mask. The visibility check, a small
# CNN trained on visible against hidden lower faces (`lrfp data occlusion`, weights/checks/), answers
# UNSURE when it gives "hidden" HIDDEN_AT or more, both to the face as given and to its centre (CENTRE_SHARE of
# its width and height): a margin around a face (a loose box, a crop cut wide) reads to the check as a cut
# face, its centre does not, while the centre of a covered or cut face stays hidden. Chosen on the validation
# photos (never test) as the lowest threshold under which fewer than 1 % of their 140 labelled (visible) faces
# are answered "can't tell" cut tight, cut loose (10 % and 25 % of the face beyond each side) and at every
# size from 8 to 512 px (benchmarks/unsure.py --labelled val --choose; figures in weights/checks/visibility.md).
UNSURE = labels.UNSURE
VISIBILITY_CHECKPOINT = Path("checks") / "visibility.pt"  # in weights/
HIDDEN_CLASS = "hidden"
HIDDEN_AT = 0.78
CENTRE_SHARE = 0.8
# "Not a face": the detector also boxes text, textures, lamps and stickers. The face check, a small CNN
# trained on the default detector's boxes of the train photos (faces, and boxes matching none) and on
# no-face pictures (`lrfp data facecheck`, weights/checks/face.md), drops a box it gives "not_face"
# NOT_FACE_AT or more before it is counted or drawn. Chosen on the held-out train photos: see face.md.
FACE_CHECKPOINT = Path("checks") / "face.pt"  # in weights/
FACE_CLASS, NOT_FACE_CLASS = "face", "not_face"
NOT_FACE_AT = 0.9


@dataclass
class Prediction:
    label: str  # a class name, TOO_SMALL or UNSURE
    probability: float | None  # of the predicted label (UNSURE: of "hidden"); None when too small to judge
    probabilities: dict[str, float]


BACKENDS = ("auto", "torch", "onnx")


class Classifier:
    """A loaded checkpoint that classifies face images. Safe to share between threads.

    backend: "torch" runs the PyTorch model; "onnx" runs onnxruntime on the checkpoint's ONNX
    graph (the one shipped beside it, else one exported once into a cache, or a .onnx file given
    directly); "auto" tries onnx (several times faster on small batches) and, when any part of it
    is missing or fails, uses PyTorch with one warning line.

    device: "auto" runs PyTorch on a CUDA GPU when torch sees one (ONNX here is CPU-only), else
    as the backend says; "cuda" insists on the GPU; "cpu" never uses it.
    """

    def __init__(
        self,
        checkpoint: str | Path,
        backend: str = "auto",
        device: str = "auto",
        unsure: bool = True,
        check_faces: bool = True,
    ):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}")
        self.path = resolve_checkpoint(checkpoint)
        if self.path.suffix == ".onnx":
            backend = "onnx"
        self.device = resolve_device(device)
        if self.device == "cuda":
            if backend == "onnx":
                raise ConfigError("the ONNX backend runs on the CPU; use --backend torch (or auto) with --device cuda")
            backend = "torch"
        self.model: nn.Module | None = None
        self.checkpoint: dict[str, Any]  # the checkpoint's metadata: classes, input_size, normalization, ...
        self.backend = "torch"
        if backend in ("auto", "onnx"):
            try:
                self._session = open_session(self.path)
                self.checkpoint = self._session.meta
                self.backend = "onnx"
            except Exception as exc:  # noqa: BLE001 - auto must survive any failure of the optional path
                if backend == "onnx":
                    raise
                log.warning(
                    "%s: the ONNX backend is unavailable (%s: %s); using PyTorch",
                    self.path.name,
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                )
        if self.backend == "torch":
            self.model, self.checkpoint = load_model(self.path)
            self.model.to(self.device)
        self.classes: list[str] = list(self.checkpoint["classes"])
        self.input_size: int = self.checkpoint["input_size"]
        norm = self.checkpoint["normalization"]
        self.transform = preset_transform(self.input_size, train=False, mean=norm["mean"], std=norm["std"])
        self._lock = threading.Lock()
        # unsure: faces whose mouth and nose cannot be seen are answered UNSURE (see HIDDEN_AT)
        self.visibility = visibility_check(backend, device) if unsure else None
        # check_faces: a scene's boxes that hold no face are dropped (see NOT_FACE_AT)
        self.face_check = face_check(backend, device) if check_faces else None

    @property
    def name(self) -> str:
        return self.path.stem

    @torch.no_grad()
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of a preprocessed batch (N, 3, S, S)."""
        if self.model is None:
            return self._session.logits(batch)
        with self._lock:  # module state (BatchNorm buffers, threads) is not re-entrant
            logits: torch.Tensor = self.model(batch.to(self.device))
            return logits.float().cpu()

    __call__ = logits  # so engine.evaluate takes a Classifier like a model

    def probabilities(self, images: list[Image.Image]) -> torch.Tensor:
        """Class probabilities, one row per image, all images in one batch."""
        if not images:
            return torch.zeros(0, len(self.classes))
        # convert() copies even an RGB image: the crop of a face that fills a 50 MP photo is 45 MB
        batch = torch.stack([self.transform(img if img.mode == "RGB" else img.convert("RGB")) for img in images])
        return self.logits(batch).softmax(1)

    def predict(self, images: list[Image.Image]) -> list[Prediction]:
        """One prediction per image; an image under MIN_FACE_PX on its shorter side is TOO_SMALL, one whose
        mouth and nose the visibility check cannot see is UNSURE, never a label."""
        judged = [i for i, img in enumerate(images) if min(img.size) >= MIN_FACE_PX]
        out = [Prediction(TOO_SMALL, None, {}) for _ in images]
        crops = [images[i] for i in judged]
        hidden = self.hidden(crops)
        for i, row, p_hidden in zip(judged, self.probabilities(crops).tolist(), hidden):
            best = max(range(len(row)), key=row.__getitem__)
            probabilities = dict(zip(self.classes, row)) | ({HIDDEN_CLASS: p_hidden} if self.visibility else {})
            if p_hidden >= HIDDEN_AT:
                out[i] = Prediction(UNSURE, p_hidden, probabilities)
            else:
                out[i] = Prediction(self.classes[best], row[best], probabilities)
        return out

    def hidden(self, images: list[Image.Image]) -> list[float]:
        """The visibility check's probability that each face's mouth and nose cannot be seen (0 without it)."""
        if self.visibility is None or not images:
            return [0.0] * len(images)
        return hidden_probabilities(self.visibility, images)

    def not_faces(self, images: list[Image.Image]) -> list[bool]:
        """Which images the face check finds no face in (none without it; an image too small to judge is
        kept: too small to tell a face from anything else)."""
        return [p is not None and p >= NOT_FACE_AT for p in self.not_face_probabilities(images)]

    def not_face_probabilities(self, images: list[Image.Image]) -> list[float | None]:
        """The face check's probability that each image holds no face; None where it did not look (no face
        check, or an image too small to judge). A box is rejected at NOT_FACE_AT or more."""
        judged = [i for i, img in enumerate(images) if min(img.size) >= MIN_FACE_PX]
        out: list[float | None] = [None] * len(images)
        if self.face_check is None or not judged:
            return out
        column = self.face_check.classes.index(NOT_FACE_CLASS)
        p = self.face_check.probabilities([images[i] for i in judged])[:, column].tolist()
        for i, p_not in zip(judged, p):
            out[i] = p_not
        return out


def hidden_probabilities(check: Classifier, images: list[Image.Image]) -> list[float]:
    """A visibility check's probability that each face's mouth and nose cannot be seen: the lesser of what it
    says of the face and of its centre (see CENTRE_SHARE)."""
    column = check.classes.index(HIDDEN_CLASS)
    whole = check.probabilities(images)[:, column]
    centres = check.probabilities([centre(image) for image in images])[:, column]
    return torch.minimum(whole, centres).tolist()


def centre(image: Image.Image, share: float = CENTRE_SHARE) -> Image.Image:
    """The middle `share` of an image's width and height."""
    dx, dy = image.width * (1 - share) / 2, image.height * (1 - share) / 2
    return image.crop((round(dx), round(dy), round(image.width - dx), round(image.height - dy)))


def visibility_check(backend: str = "auto", device: str = "auto") -> Classifier | None:
    """The shipped visibility check (weights/checks/visibility.pt), loaded once per process and backend;
    None, with a warning, when the file is missing (a broken install: no face is then answered UNSURE)."""
    return _shipped_check(
        VISIBILITY_CHECKPOINT,
        (HIDDEN_CLASS, "visible"),
        "faces whose mouth and nose cannot be seen get a mask label",
        backend,
        device,
    )


def face_check(backend: str = "auto", device: str = "auto") -> Classifier | None:
    """The shipped face check (weights/checks/face.pt), loaded once per process and backend; None, with a
    warning, when the file is missing (a broken install: every detector box is then taken for a face)."""
    return _shipped_check(
        FACE_CHECKPOINT,
        (FACE_CLASS, NOT_FACE_CLASS),
        "every box the detector finds is taken for a face",
        backend,
        device,
    )


def _shipped_check(
    checkpoint: Path, classes: tuple[str, str], without: str, backend: str, device: str
) -> Classifier | None:
    """A check of weights/checks/, once per process, backend and device. CheckpointError, naming the file,
    when it is some other model (its classes are not the check's)."""
    path = paths.WEIGHTS_DIR / checkpoint
    key = (path, backend, device)
    with _checks_lock:
        if key not in _checks:
            if not path.is_file():
                log.warning("%s is missing: %s", path, without)
                _checks[key] = None
            else:
                check = Classifier(path, backend, device, unsure=False, check_faces=False)
                if sorted(check.classes) != sorted(classes):
                    raise CheckpointError(
                        f"{path}: not the {checkpoint.stem} check (its classes are {check.classes}, "
                        f"a {checkpoint.stem} check's are {list(classes)}); restore the shipped file"
                    )
                _checks[key] = check
    return _checks[key]


_checks: dict[tuple[Path, str, str], Classifier | None] = {}  # by (file, backend, device)
_checks_lock = threading.Lock()
