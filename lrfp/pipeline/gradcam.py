"""Grad-CAM: which part of the face drove the model's decision (Selvaraju et al., 2017)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image
from torch import nn

from lrfp.pipeline.inference import Classifier

if TYPE_CHECKING:
    from lrfp.pipeline.detect import FaceBox


def last_conv(model: nn.Module) -> nn.Conv2d:
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("Grad-CAM needs a model with a convolutional layer")
    return convs[-1]


def gradcam(
    classifier: Classifier, image: Image.Image, target: int | None = None
) -> tuple[npt.NDArray[np.float32], int]:
    """(heatmap in [0, 1] at the model's input size, class index explained; the predicted one by default)."""
    if classifier.model is None:
        raise ValueError("Grad-CAM needs the PyTorch backend (Classifier(..., backend='torch'))")
    model = classifier.model
    layer = last_conv(model)
    saved: dict[str, torch.Tensor] = {}

    def keep(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        saved["act"] = output.clone()  # a copy: the in-place ReLU that follows must not touch it
        # torch leaves Tensor.register_hook unannotated
        output.register_hook(lambda grad: saved.__setitem__("grad", grad))  # type: ignore[no-untyped-call]

    x = classifier.transform(image.convert("RGB")).unsqueeze(0).to(classifier.device)
    # The model is shared by every session of a server (st.cache_resource): hooks, the in-place flags and
    # gradients are module state, so one explanation at a time holds the model, start to finish.
    with classifier._lock:
        relus = [m for m in model.modules() if isinstance(m, nn.ReLU) and m.inplace]
        hooks = [layer.register_forward_hook(keep)]
        try:
            for m in relus:  # in-place ReLU would overwrite the hooked conv output before backward
                m.inplace = False
            with torch.enable_grad():
                model.zero_grad(set_to_none=True)
                logits = model(x.requires_grad_(True))
                target = int(logits.argmax(1)) if target is None else target
                logits[0, target].backward()
        finally:
            for m in relus:
                m.inplace = True
            for h in hooks:
                h.remove()
            model.zero_grad(set_to_none=True)
    weights = saved["grad"].mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * saved["act"]).sum(1, keepdim=True))
    cam = nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    cam = cam - cam.min()
    peak = cam.max()
    return (cam / peak if peak > 0 else cam).detach().cpu().numpy(), target


def overlay(image: Image.Image, heatmap: npt.NDArray[np.float32], alpha: float = 0.65) -> Image.Image:
    """The face (resized to the heatmap) with the heatmap blended in: untinted where the model did not
    look, a dull red tint through orange to yellow where it looked most (COLOUR_SCALE_CAPTION)."""
    h, w = heatmap.shape
    base = np.asarray(image.convert("RGB").resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
    color = np.stack([np.ones_like(heatmap), heatmap, np.zeros_like(heatmap)], axis=-1) * 255
    mixed = base * (1 - alpha * heatmap[..., None]) + color * (alpha * heatmap[..., None])
    return Image.fromarray(mixed.clip(0, 255).astype(np.uint8))


# what colour_scale() shows, in words: the tint on mid grey runs grey, dull red, orange, yellow
COLOUR_SCALE_CAPTION = (
    "Grad-CAM: grey on this bar (the face's own colours) = the model ignored it; a dull red "
    "tint through orange to yellow = where the model looked most"
)


def colour_scale(width: int = 256, height: int = 16) -> Image.Image:
    """The overlay's colour scale on mid grey, from 0 (left) to 1 (right), to show beside heatmaps."""
    ramp = np.tile(np.linspace(0, 1, width, dtype=np.float32), (height, 1))
    return overlay(Image.new("RGB", (width, height), (128, 128, 128)), ramp)


def explain_faces(classifier: Classifier, image: Image.Image, boxes: Iterable[FaceBox]) -> list[Image.Image]:
    """Grad-CAM overlays of the faces (boxes with x0, y0, x1, y1) of an image; the caller picks which."""
    return explain_crops(classifier, [image.crop((b.x0, b.y0, b.x1, b.y1)) for b in boxes])


def explain_crops(classifier: Classifier, faces: list[Image.Image]) -> list[Image.Image]:
    """Grad-CAM overlays of face crops."""
    out = []
    for face in faces:
        heatmap, _ = gradcam(classifier, face)
        out.append(overlay(face, heatmap))
    return out
