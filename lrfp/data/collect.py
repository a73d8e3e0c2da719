"""Reading a face-mask source into face crops, the first job of a dataset build (lrfp.data.build).

A PASCAL VOC set (`images/` + `annotations/*.xml`): every box of a kept class whose shorter side is
at least `min_face` px, cropped at native resolution; a class-folder set (`<class>/*.png|jpg`): each
image whole. Files and boxes that cannot be used are described in the caller's lists, not raised.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from lrfp.core.progress import bar
from lrfp.data.images import BadImageError, DatasetError, list_images, load_image
from lrfp.data.voc import PAPER_CLASSES, read_voc

log = logging.getLogger(__name__)


@dataclass
class Crop:
    source: str  # source image, relative to the source folder
    index: int  # object index within the source image
    label: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 as annotated
    face_px: int
    image: Image.Image | None = field(default=None, repr=False)
    stem: str = ""  # the file name's first part: the source's stem, unless another source shares it

    @property
    def path(self) -> str:
        return f"{self.label}/{self.stem or Path(self.source).stem}_{self.index:03d}.png"


def name_crops(crops: list[Crop]) -> None:
    """Give the crops of photos that share a stem in one class folder (x.jpg and x.png) distinct names.

    Those get STEM-HASH, HASH from the photo's path in the source; every other crop keeps plain
    STEM, so the manifest (and the data fingerprint run records name) of a source without such
    clashes stays what it was.
    """
    sources_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for crop in crops:
        sources_of[(crop.label, Path(crop.source).stem)].add(crop.source)
    for crop in crops:
        stem = Path(crop.source).stem
        if len(sources_of[(crop.label, stem)]) > 1:
            crop.stem = f"{stem}-{hashlib.sha256(crop.source.encode()).hexdigest()[:8]}"


@dataclass
class BuildOptions:
    min_face: int = 8
    margin: float = 0.0
    balance: bool = True
    seed: int = 0
    split: tuple[float, float, float] = (80, 4, 16)
    include_incorrect: bool = False
    groups_file: Path | None = None


def _warn(msg: str) -> None:
    log.warning(msg)


def _overlaps(box, size) -> bool:
    """Whether any of the box lies inside an image of this size (a box partly outside is cropped to it)."""
    x0, y0, x1, y1 = box
    return min(x1, size[0]) > max(x0, 0) and min(y1, size[1]) > max(y0, 0)


def _crop(image: Image.Image, box, margin: float) -> Image.Image:
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    w, h = image.size
    region = (max(0, round(x0 - dx)), max(0, round(y0 - dy)), min(w, round(x1 + dx)), min(h, round(y1 + dy)))
    return image.crop(region)


def _skip(skipped: list[str], message: str, consequence: str = "skipped") -> None:
    skipped.append(message)
    _warn(f"{message}; {consequence}")


def collect_voc(
    source: Path, classes: tuple[str, ...], opts: BuildOptions, skipped: list[str], skipped_boxes: list[str]
) -> list[Crop]:
    """The crops of every usable box; files and boxes that cannot be used are described in the two lists."""
    xml_files = sorted((source / "annotations").glob("*.xml"))
    if not xml_files:
        raise DatasetError(f"{source}/annotations: no PASCAL VOC .xml files")
    crops: list[Crop] = []
    annotated_by: dict[str, Path] = {}
    for xml_path in bar(xml_files, desc="reading source", unit="img", leave=False):
        try:
            filename, objects, _ = read_voc(xml_path, strict=False)
        except ValueError as exc:
            _skip(skipped, str(exc))
            continue
        if filename in annotated_by:  # its crops would take the names (and perhaps another split) of the first's
            _skip(skipped, f"{xml_path}: annotates images/{filename}, which {annotated_by[filename].name} already does")
            continue
        annotated_by[filename] = xml_path
        kept = []
        for index, (label, box) in enumerate(objects):
            if label and label not in classes:  # a class this build does not export
                continue
            face_px = min(box[2] - box[0], box[3] - box[1]) if isinstance(box, tuple) else 0
            if isinstance(box, str) or face_px <= 0:
                _skip(
                    skipped_boxes,
                    f"{xml_path}: object {index + 1} ({label or 'no class'}): "
                    + (box if isinstance(box, str) else f"box {list(box)} is empty or inverted"),
                )
            elif face_px >= opts.min_face:
                kept.append(Crop(f"images/{filename}", index, label, box, face_px))
        if not kept:
            continue
        image_path = source / "images" / filename
        try:
            image = load_image(image_path, name=str(image_path))
        except BadImageError as exc:
            _skip(skipped, str(exc), f"its {len(kept)} face(s) skipped")
            continue
        for crop in kept:
            if _overlaps(crop.box, image.size):
                crop.image = _crop(image, crop.box, opts.margin)
                crops.append(crop)
            else:
                _skip(
                    skipped_boxes,
                    f"{xml_path}: object {crop.index + 1} ({crop.label}): box {list(crop.box)} "
                    f"lies outside the {image.width}x{image.height} photo",
                )
    return crops


def collect_folders(source: Path, classes: tuple[str, ...], skipped: list[str]) -> list[Crop]:
    files = list_images(source)
    missing = [c for c in PAPER_CLASSES if c not in files]
    if missing:
        raise DatasetError(f"{source}: class folder(s) {missing} missing; found {list(files)}")
    crops = []
    for label in classes:
        for path in bar(files.get(label, []), desc=f"reading {label}", unit="img", leave=False):
            try:
                image = load_image(path, name=str(path))
            except BadImageError as exc:
                _skip(skipped, str(exc))
                continue
            w, h = image.size
            crops.append(Crop(f"{label}/{path.name}", 0, label, (0, 0, w, h), min(w, h), image))
    return crops
