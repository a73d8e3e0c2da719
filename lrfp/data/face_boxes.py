"""Training crops for a face detector: labelled photos cut and scaled so that faces from 8 px to a few
hundred px, in crowds, blurred, compressed and in low light, all appear; and CenterFace's targets for them.

Each crop is drawn around one labelled face chosen at random, scaled so that this face's size is drawn
log-uniformly between MIN_FACE and MAX_FACE px, at a random place in the crop (its neighbours come with
it: crops of crowds). A crop's randomness depends only on (seed, epoch, index), so a resumed run sees
the very crops an uninterrupted one would.

Each crop comes with its labelled faces and its `ignore` boxes (faces nobody labelled), encoded as the
detector's targets by the function given (lrfp.models.centerface.encode).

Negatives (NegativeSpot): a share of the crops (`negative_share`) shows what is not a face: half of them
a window of a no-face picture anywhere, at any scale from the whole picture to its 4032 px view; half a
box a detector took for a face (a hard negative) at about the scale the detector saw it at. A no-face
picture's crop has an all-zero heat map: every cell is background. A hard negative on a labelled photo
keeps that photo's faces and unlabelled faces as targets and ignored boxes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lrfp.data.voc import read_labelled_photo

CROP = 256  # px a side: a batch of 8 costs about 1.2 s a step on a 2-core AVX-512 EPYC (bf16, channels last)
MIN_FACE, MAX_FACE = 8, 192  # the chosen face's size in the crop (geometric mean of its sides), log-uniform
MAX_ENLARGE = 6.0  # a photo is never enlarged more than this (its faces would be smears)
PAD = (104, 110, 120)  # the colour outside the photo (a mid grey-blue, not black: no edge to learn)
PHONE_SIDE = 4032  # px: a phone photo's long side, the largest view of a no-face picture a window is cut from
HARD_SHARE = 0.5  # of the negative crops, those around a detector's box (the rest: windows anywhere)
HARD_JITTER = 1.4  # a hard negative's scale: the detector's, times or divided by up to this


@dataclass
class BoxedPhoto:
    """A photo, its labelled faces and the faces it shows that nobody labelled (x0, y0, x1, y1 in its px)."""

    name: str
    image: Image.Image
    faces: np.ndarray  # (N, 4)
    ignore: np.ndarray  # (M, 4)


@dataclass
class NegativeSpot:
    """Something that is not a face: a box a detector took for a face in `photo` (x0, y0, x1, y1 in its px)
    seen at `scale`, or (box None) the whole of a no-face picture."""

    photo: BoxedPhoto
    box: tuple[float, float, float, float] | None = None
    scale: float = 1.0


def photometric() -> v2.Compose:
    """What cheap cameras do to a picture: blur, JPEG blocks, low light and noise, tints."""
    return v2.Compose(
        [
            v2.RandomApply([v2.GaussianBlur(5, sigma=(0.3, 1.6))], p=0.3),
            v2.RandomApply([v2.JPEG((15, 85))], p=0.4),
            v2.RandomApply([v2.ColorJitter(brightness=(0.2, 0.6), contrast=(0.5, 1.0))], p=0.25),  # low light
            v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.3, hue=0.03),
            v2.ToDtype(torch.float32, scale=False),
            v2.RandomApply([v2.Lambda(lambda x: x + torch.randn_like(x) * 6.0)], p=0.3),  # sensor noise, in 0-255 units
            v2.Lambda(lambda x: x.clamp(0, 255)),
        ]
    )


def item_seed(seed: int, epoch: int, index: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{epoch}/{index}".encode()).digest()[:8], "little") >> 1


class FaceCrops(torch.utils.data.Dataset):
    """`length` crops an epoch from `photos`, each (image 3xCROPxCROP floats in 0-255, encode(faces, ignore,
    crop)): `encode` turns the crop's face boxes and unlabelled boxes into a detector's targets."""

    def __init__(
        self,
        photos: list[BoxedPhoto],
        length: int,
        encode,
        seed: int = 0,
        crop: int = CROP,
        augment: bool = True,
        negatives: list[NegativeSpot] | None = None,
        negative_share: float = 0.0,
    ):
        self.photos = [p for p in photos if len(p.faces)]
        if not self.photos:
            raise ValueError("no photo with a labelled face to train on")
        self.length, self.encode, self.seed, self.crop, self.augment = length, encode, seed, crop, augment
        self.windows = [n for n in negatives or [] if n.box is None]
        self.boxes = [n for n in negatives or [] if n.box is not None]
        self.negative_share = negative_share if self.windows or self.boxes else 0.0
        self.epoch = 0
        self.colour = photometric()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        seed = item_seed(self.seed, self.epoch, index)
        rng = np.random.default_rng(seed)
        # no draw when there are no negatives: such a run sees the crops it saw before negatives existed
        if self.negative_share and rng.random() < self.negative_share:
            image, faces, ignore = self.cut_negative(rng)
        else:
            photo = self.photos[rng.integers(len(self.photos))]
            image, faces, ignore = self.cut(photo, rng)
        tensor = TF.pil_to_tensor(image)
        if self.augment:
            with torch.random.fork_rng(devices=[]):  # torchvision's transforms draw from torch's global stream
                torch.manual_seed(seed)
                tensor = self.colour(tensor)
        return tensor.float(), self.encode(faces, ignore, self.crop)

    def cut(self, photo: BoxedPhoto, rng: np.random.Generator):
        """The crop around one random face at a random size: (image, faces, ignore) in the crop's px."""
        x0, y0, x1, y1 = photo.faces[rng.integers(len(photo.faces))]
        size = math.sqrt(max(1.0, (x1 - x0) * (y1 - y0)))
        wanted = math.exp(rng.uniform(math.log(MIN_FACE), math.log(MAX_FACE)))
        return self.cut_at(photo, ((x0 + x1) / 2, (y0 + y1) / 2), min(MAX_ENLARGE, wanted / size), rng)

    def cut_negative(self, rng: np.random.Generator):
        """A crop of something that is not a face (one of the NegativeSpots, chosen as HARD_SHARE says)."""
        hard = bool(self.boxes) and (not self.windows or rng.random() < HARD_SHARE)
        spot = (self.boxes if hard else self.windows)[rng.integers(len(self.boxes if hard else self.windows))]
        image = spot.photo.image
        if spot.box is not None:
            x0, y0, x1, y1 = spot.box
            scale = spot.scale * math.exp(rng.uniform(-math.log(HARD_JITTER), math.log(HARD_JITTER)))
            return self.cut_at(spot.photo, ((x0 + x1) / 2, (y0 + y1) / 2), scale, rng)
        smallest = self.crop / max(image.size)  # the whole picture in the crop
        scale = math.exp(rng.uniform(math.log(smallest), math.log(max(smallest, PHONE_SIDE / max(image.size)))))
        centre = (rng.uniform(0, image.width), rng.uniform(0, image.height))
        return self.cut_at(spot.photo, centre, scale, rng)

    def cut_at(self, photo: BoxedPhoto, centre: tuple[float, float], scale: float, rng: np.random.Generator):
        """The crop of `photo` scaled by `scale` with `centre` anywhere in its middle 70 %: (image, faces,
        ignore) in the crop's px."""
        side = self.crop / scale  # in photo px
        # the face lands anywhere in the crop (whole when it fits)
        left = centre[0] - side * rng.uniform(0.15, 0.85)
        top = centre[1] - side * rng.uniform(0.15, 0.85)
        box = (round(left), round(top), round(left + side), round(top + side))
        image = _crop(photo.image, box).resize((self.crop, self.crop), Image.Resampling.BILINEAR, reducing_gap=3.0)
        k = self.crop / (box[2] - box[0])
        faces = (photo.faces - [box[0], box[1], box[0], box[1]]) * k
        ignore = (photo.ignore - [box[0], box[1], box[0], box[1]]) * k
        if self.augment and rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            faces = _flipped(faces, self.crop)
            ignore = _flipped(ignore, self.crop)
        return image, faces, ignore


def _crop(image: Image.Image, box) -> Image.Image:
    """image.crop(box) with PAD outside the photo."""
    x0, y0, x1, y1 = box
    out = Image.new("RGB", (x1 - x0, y1 - y0), PAD)
    inside = (max(0, x0), max(0, y0), min(image.width, x1), min(image.height, y1))
    if inside[2] > inside[0] and inside[3] > inside[1]:
        out.paste(image.crop(inside), (inside[0] - x0, inside[1] - y0))
    return out


def _flipped(boxes: np.ndarray, width: int) -> np.ndarray:
    out = boxes.copy()
    out[:, 0], out[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    return out


def boxed_photos(xml_files, ignore: dict | None = None) -> list[BoxedPhoto]:
    """The photos of these VOC files with all their labelled faces (every class is a face), and the
    unlabelled faces `ignore` gives by photo file name."""
    photos = []
    for xml in xml_files:
        photo = read_labelled_photo(xml)
        faces = np.asarray(photo.boxes, np.float32).reshape(-1, 4)
        extra = np.asarray((ignore or {}).get(photo.filename, []), np.float32).reshape(-1, 4)
        photos.append(BoxedPhoto(photo.filename, photo.image.convert("RGB"), faces, extra))
    return photos
