"""Face-crop datasets on disk: safe image loading, split manifests, transform presets.

A dataset is an ImageFolder (`ROOT/<class>/*.png|jpg`). `lrfp data build` writes
`ROOT/manifest.json` beside it with the train/val/test file lists; every model reads the same
lists, so every model sees the same test set.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from lrfp.core.errors import LrfpError
from lrfp.core.records import file_sha256
from lrfp.data.formats import ACCEPTED_FORMATS, IMAGE_SUFFIXES

# Hard limit on an image's size, checked from its header before any pixel is decoded: 50 MP holds
# every phone photo (48 MP sensors) and refuses decompression bombs (a 12 KB PNG of 100 MP).
MAX_PIXELS = 50_000_000
# An image this small (shorter side, px) is taken as one face crop: the Classify page's auto mode, and
# `lrfp predict`, which searches bigger images for several faces.
FACE_CROP_MAX_SIDE = 128
# Pillow only warns above its limit and raises above twice it. lrfp's own check (in load_image,
# from the header) refuses everything above MAX_PIXELS with the image's size in the message;
# Pillow's limit is set to the same figure, so its error stays a backstop for any other opener,
# and its warning, which lrfp's refusal makes moot, is silenced.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
# ImageNet statistics for every model: required by the pretrained ones, harmless for the rest.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MANIFEST_NAME = "manifest.json"
SPLITS = ("train", "val", "test")


class DatasetError(LrfpError):
    """A dataset folder or manifest that cannot be used as it is."""


class BadImageError(LrfpError):
    """A file that is not a readable image, or one too large to accept."""


def load_image(source, formats=ACCEPTED_FORMATS, name: str | None = None, max_side: int | None = None) -> Image.Image:
    """Open a path or file-like object as an 8-bit RGB image, honouring EXIF orientation.

    Any mode (1-bit, RGBA, P, CMYK, 16-bit) comes back as RGB; a GIF or TIFF gives its first
    frame. `max_side` shrinks the image so its longer side is at most that many px, decoding
    JPEGs at a reduced scale (draft mode) so a big photo never exists in memory at full size.
    A file that is not an image of `formats` (judged by content), is truncated, or has more than
    MAX_PIXELS pixels raises BadImageError naming it; the size check reads only the header.
    """
    name = name or getattr(source, "name", source)
    try:
        with Image.open(source, formats=formats) as opened:
            img: Image.Image = opened
            w, h = img.size
            if w * h > MAX_PIXELS:  # Pillow's own check would catch it too; this one says why
                raise BadImageError(
                    f"{name}: image too large ({w}x{h} px = {w * h:,} pixels; the limit is {MAX_PIXELS:,})"
                )
            if max_side and max(w, h) > max_side:
                img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            ImageOps.exif_transpose(img, in_place=True)  # not a copy of the decoded photo (200 MB at 50 MP)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                # 16/32-bit grey: scale to 8 bits instead of clipping
                img = img.point(lambda v: v / 256).convert("L")
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, rgba)
            img.load()  # the pixels stay once the file is closed
            return img if img.mode == "RGB" else img.convert("RGB")  # no second copy of a big photo
    except BadImageError:  # lrfp's own refusal, raised inside the block
        raise
    except Image.DecompressionBombError as exc:  # over twice the limit: Pillow refuses it while opening
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels; " if found else ""
        raise BadImageError(f"{name}: image too large ({size}the limit is {MAX_PIXELS:,})") from exc
    except UnidentifiedImageError as exc:
        if _empty(source):  # a failed upload or copy: "not a readable image" sent people looking at its format
            raise BadImageError(f"{name}: an empty file (0 bytes), no image in it") from exc
        raise BadImageError(f"{name}: not a readable image of the accepted formats ({', '.join(formats)})") from exc
    except FileNotFoundError as exc:
        raise BadImageError(f"{name}: no such file") from exc
    except OSError as exc:
        if exc.errno is None:  # Pillow's decoding errors carry no errno
            raise BadImageError(f"{name}: not a readable image (truncated or corrupt: {exc})") from exc
        # the file system's (a looping link, a folder, no permission): not the image's fault
        raise BadImageError(f"{name}: cannot be read ({exc.strerror})") from exc
    except (SyntaxError, ValueError, EOFError) as exc:
        raise BadImageError(f"{name}: not a readable image (truncated or corrupt: {exc})") from exc


def _empty(source) -> bool:
    """Whether SOURCE (a path or a seekable file-like object) holds no byte; False where that cannot be told."""
    try:
        if isinstance(source, str | Path):
            return Path(source).stat().st_size == 0
        at = source.tell()
        end = source.seek(0, 2)
        source.seek(at)
        return end == 0
    except (OSError, AttributeError, ValueError):
        return False


def list_images(root: Path) -> dict[str, list[Path]]:
    """Class name -> sorted image paths of an ImageFolder. Raises DatasetError when unusable."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DatasetError(
            f"{root}: expected one folder per class (e.g. with_mask/ and without_mask/), found {classes or 'none'}"
        )
    files = {c: sorted(p for p in (root / c).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) for c in classes}
    empty = [c for c, fs in files.items() if not fs]
    if empty:
        raise DatasetError(f"{root}: class folder(s) {empty} hold no images")
    return files


@dataclass(frozen=True)
class Sample:
    path: str  # relative to the dataset root
    label: str
    face_px: int | None = None  # shorter side of the face box in the source image


def manifest_path(root: str | Path) -> Path:
    return Path(root) / MANIFEST_NAME


def read_manifest(root: Path, name: str = MANIFEST_NAME) -> dict:
    path = Path(root) / name
    if not path.is_file():
        raise DatasetError(f"{path}: no split manifest; build the dataset with `lrfp data build`")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON, perhaps cut short ({exc})") from exc
    if (
        not isinstance(manifest, dict)
        or not all(s in manifest.get("splits", {}) for s in SPLITS)
        or "classes" not in manifest
    ):
        raise DatasetError(f"{path}: not an lrfp manifest (needs 'classes' and splits {SPLITS})")
    check_manifest_paths(manifest, path)
    return manifest


CLASS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_manifest_paths(manifest: dict, where) -> None:
    """DatasetError unless every class is a plain folder name and every file is CLASS/NAME inside the dataset.

    A manifest is data from disk: nothing it names may lead lrfp to read, write or delete outside
    the dataset folder (no separators or '..' in class names, no absolute or climbing paths).
    """
    classes = manifest.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) and CLASS_NAME.fullmatch(c) for c in classes):
        raise DatasetError(
            f"{where}: class names must be plain folder names (letters, digits, _ and -), got {classes!r}"
        )
    for split in SPLITS:
        for entry in manifest["splits"].get(split, []):
            rel = entry.get("path") if isinstance(entry, dict) else None
            parts = rel.split("/") if isinstance(rel, str) else []
            if (
                not isinstance(rel, str)
                or len(parts) != 2
                or parts[0] not in classes
                or parts[1] in ("", ".", "..")
                or "\\" in rel
            ):
                raise DatasetError(f"{where}: {split} entry {rel!r} is not CLASS/FILE inside the dataset folder")


def manifest_hash(root: str | Path) -> str:
    return file_sha256(manifest_path(root))


def split_samples(root: Path, split: str) -> tuple[list[Sample], list[str]]:
    """The samples of one split of a built dataset, and the class names in label order."""
    manifest = read_manifest(root)
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; use one of {SPLITS}")
    samples = [Sample(s["path"], s["label"], s.get("face_px")) for s in manifest["splits"][split]]
    missing = [s.path for s in samples if not (Path(root) / s.path).is_file()]
    if missing:
        raise DatasetError(f"{root}: {len(missing)} file(s) of the {split} split are missing, e.g. {missing[0]}")
    return samples, list(manifest["classes"])


def folder_samples(root: Path) -> tuple[list[Sample], list[str]]:
    """Every image of an ImageFolder (no manifest needed), and its class names."""
    files = list_images(root)
    samples = [Sample(str(p.relative_to(root)), c) for c, paths in files.items() for p in paths]
    return samples, list(files)


def preset_transform(input_size: int, train: bool = False, mean=IMAGENET_MEAN, std=IMAGENET_STD, degrade=None):
    """The transform every model uses: resize any face to `input_size` square, normalize.

    Training adds the paper's augmentation (random rotation, horizontal flip). `degrade`, if
    given, is a transform applied to the uint8 image first (low-resolution simulation).
    Inference on PIL images (neither) is `FaceTensor`, the same steps without torchvision.
    """
    if not train and degrade is None:
        return FaceTensor(input_size, mean, std)
    from torchvision.transforms import v2  # 1 s to import (torch._dynamo through torchvision.ops): only here

    # Geometric steps run on the PIL image (Pillow's C code): torchvision's tensor rotation is
    # several times slower per small image and contends with the training threads.
    steps: list = [v2.ToImage(), degrade] if degrade is not None else []
    if train:
        steps += [v2.RandomRotation(10), v2.RandomHorizontalFlip()]
    steps += [
        v2.Resize((input_size, input_size), antialias=True),
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean, std),
    ]
    return v2.Compose(steps)


class FaceTensor:
    """A PIL face image as the model's input tensor (3, S, S): the steps of preset_transform's torchvision
    pipeline (Pillow's bilinear resize, uint8 to float by 1/255, normalize), written with Pillow and torch
    alone so that classifying a face does not import torchvision. Bit for bit the same tensor
    (tests/test_images.py compares them)."""

    def __init__(self, input_size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.input_size = input_size
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        if not isinstance(image, Image.Image):
            raise TypeError(f"a face image must be a PIL image, not {type(image).__name__}")
        resized = image.resize((self.input_size, self.input_size), Image.Resampling.BILINEAR)
        pixels = torch.from_numpy(np.array(resized, dtype=np.uint8, copy=True))
        pixels = pixels.unsqueeze(-1) if pixels.ndim == 2 else pixels  # one band: L
        return pixels.permute(2, 0, 1).to(torch.float32).mul_(1.0 / 255).sub(self.mean).div_(self.std)

    def __repr__(self) -> str:
        return f"FaceTensor(input_size={self.input_size})"


class FaceDataset(torch.utils.data.Dataset):
    """Samples held in memory as decoded images (crops are tiny), transformed on access."""

    def __init__(self, root: Path, samples: list[Sample], classes: list[str], transform):
        self.root = Path(root)
        self.samples = samples
        self.classes = classes
        self.transform = transform
        unknown = sorted({s.label for s in samples} - set(classes))
        if unknown:
            raise DatasetError(f"{root}: labels {unknown} are not among the classes {classes}")
        self.targets = [classes.index(s.label) for s in samples]
        self.images = [load_image(self.root / s.path) for s in samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), self.targets[i]
