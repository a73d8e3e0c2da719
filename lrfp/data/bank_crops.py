"""The production recipe's data: face-bank crops that look like what the app will classify.

Training crops: half the time the detector's own box (when it found the face), else the labelled
box; either one jittered (shift, margin, aspect) as boxes of other detectors and cameras would
be. Then flips, a small affine, colour jitter, 20 % greyscale (so a black or patterned mask is
still a mask by its shape), and half the time a shrink to 8-48 px and back (the low-resolution
camera). Evaluation crops are the exact labelled or detector box, resized as the app resizes.
"""

from __future__ import annotations

import torch
from PIL import Image
from torchvision.transforms import v2

from lrfp.data.degrade import DownUp
from lrfp.data.facebank import Face, FaceBank
from lrfp.data.images import IMAGENET_MEAN, IMAGENET_STD, load_image, preset_transform
from lrfp.data.voc import Box

BOXES = ("label", "detector", "train")
# Context kept around each face, in face sizes per side: room for the jitter and a wider detector box.
CONTEXT = 0.6
DETECTOR_BOX_SHARE = 0.5
SHIFT = 0.08  # centre shift, fraction of the box side
SCALE = (0.9, 1.25)  # each side's length, times the box's


def production_transform(input_size: int):
    """Training augmentation applied after the crop (at the model's input size, so it is cheap)."""
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize((input_size, input_size), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomAffine(degrees=10, translate=(0.03, 0.03), scale=(0.95, 1.05)),
            v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03),
            v2.RandomGrayscale(0.2),
            v2.RandomApply([DownUp(8, 48)], p=0.5),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _jitter(box, width: int, height: int) -> tuple[int, int, int, int]:
    """A random box near `box` (torch's RNG, so a resumed run draws the same), kept inside the image."""
    x0, y0, x1, y1 = box
    r = torch.rand(4).tolist()
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2 + (r[0] * 2 - 1) * SHIFT * w
    cy = (y0 + y1) / 2 + (r[1] * 2 - 1) * SHIFT * h
    w *= SCALE[0] + r[2] * (SCALE[1] - SCALE[0])
    h *= SCALE[0] + r[3] * (SCALE[1] - SCALE[0])
    out = (
        max(0, round(cx - w / 2)),
        max(0, round(cy - h / 2)),
        min(width, round(cx + w / 2)),
        min(height, round(cy + h / 2)),
    )
    return out if out[2] - out[0] >= 2 and out[3] - out[1] >= 2 else tuple(box)


class FaceBankDataset(torch.utils.data.Dataset):
    """Faces of a bank as (image tensor, class index).

    `boxes`: "label" crops the labelled box, "detector" the detector's box (faces it missed are
    left out), "train" draws a jittered box per access (see the module doc). Each face's
    surroundings are cut from its photo once and held in memory; photos are read one at a time.
    """

    def __init__(self, bank: FaceBank, faces: list[Face], classes: list[str], boxes: str, transform):
        if boxes not in BOXES:
            raise ValueError(f"boxes must be one of {BOXES}")
        if boxes == "detector":
            faces = [f for f in faces if f.detected]
        self.faces, self.classes, self.boxes, self.transform = faces, list(classes), boxes, transform
        self.targets = [self.classes.index(f.label) for f in faces]
        self.samples = faces  # engine.evaluate reads face sizes from .samples
        by_photo: dict[str, list[int]] = {}
        for i, f in enumerate(faces):
            by_photo.setdefault(f.photo, []).append(i)
        # per face: its surroundings as a small image, and that region's offset in the photo
        contexts: dict[int, tuple[Image.Image, tuple[int, int]]] = {}
        for photo, members in by_photo.items():
            image = load_image(bank.source / photo)
            for i in members:
                contexts[i] = self._context(image, faces[i])
        self._contexts = [contexts[i] for i in range(len(faces))]

    def _context(self, image: Image.Image, face: Face) -> tuple[Image.Image, tuple[int, int]]:
        """The face's surroundings as a small image, and the offset of that region in the photo."""
        region: tuple[float, float, float, float] = _union(face.box, face.detected) if face.detected else face.box
        if self.boxes != "train":  # evaluation crops are exact: keep just the box (a "detector" face has one)
            region = face.detected if self.boxes == "detector" and face.detected is not None else face.box
        else:
            side = max(region[2] - region[0], region[3] - region[1])
            pad = CONTEXT * side
            region = (region[0] - pad, region[1] - pad, region[2] + pad, region[3] + pad)
        x0, y0, x1, y1 = (
            round(v)
            for v in (max(0, region[0]), max(0, region[1]), min(image.width, region[2]), min(image.height, region[3]))
        )
        return image.crop((x0, y0, x1, y1)), (x0, y0)

    def __len__(self) -> int:
        return len(self.faces)

    def crop(self, i: int) -> Image.Image:
        context, (ox, oy) = self._contexts[i]
        if self.boxes != "train":
            return context
        face = self.faces[i]
        box = face.detected if face.detected is not None and torch.rand(()).item() < DETECTOR_BOX_SHARE else face.box
        local = (box[0] - ox, box[1] - oy, box[2] - ox, box[3] - oy)
        return context.crop(_jitter(local, context.width, context.height))

    def __getitem__(self, i: int):
        return self.transform(self.crop(i)), self.targets[i]


def eval_transform(input_size: int, face_px: int | None = None):
    """What the app does to a crop (resize to the input, normalize); `face_px` first shrinks it to that size."""
    return preset_transform(input_size, degrade=DownUp(face_px) if face_px else None)
