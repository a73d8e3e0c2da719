"""PASCAL VOC face-mask sources: annotation files read safely, their photos, and labelled boxes paired
with found ones.

Matching rule: for each photo, detected boxes and labelled faces are paired one to one, highest
IoU first; a pair needs IoU >= 0.3 (the detector's boxes hold more hair and chin than the
labels, so the usual 0.5 undercounts found faces).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torchvision.ops import box_iou

from lrfp.core import labels
from lrfp.data.images import DatasetError, load_image, read_manifest

PAPER_CLASSES = (labels.WITH_MASK, labels.WITHOUT_MASK)


INCORRECT_CLASS = labels.INCORRECT  # spelled as in the source annotations


Box = tuple[int, int, int, int]


def parse_voc(xml_path: Path) -> tuple[str, list[tuple[str, tuple[int, int, int, int]]]]:
    """(image file name, [(class, box)]) of one PASCAL VOC file; DatasetError naming the file if bad."""
    filename, objects, _ = read_voc(xml_path)
    return filename, objects


def read_voc(xml_path: Path, strict: bool = True) -> tuple[str, list[tuple[str, Box | str]], int | None]:
    """parse_voc's answer plus the image width the boxes were drawn on (VOC <size>; None if absent).

    DatasetError (a ValueError) naming the file when it cannot be read, or names a photo outside
    images/. `strict`: so does an object without a class or a usable box; otherwise such an
    object comes back with the reason (a str) in place of its box, for the caller to skip alone.
    """
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        raise DatasetError(f"{xml_path}: not a readable PASCAL VOC annotation ({exc})") from exc
    except OSError as exc:  # a looping link, a folder, no permission
        raise DatasetError(f"{xml_path}: cannot be read ({exc.strerror or exc})") from exc
    filename = (root.findtext("filename") or f"{xml_path.stem}.png").strip()
    # The photo is read as images/<filename>, and a VOC <filename> is a plain name (<path> holds
    # the rest). A name with a folder in it is refused rather than cut to its base name: '../x.jpg'
    # or '/x.jpg' would read a file outside images/, and a base name could pick a different photo.
    if filename in ("", ".", "..") or "/" in filename or "\\" in filename:
        raise DatasetError(
            f"{xml_path}: <filename> {filename!r} must be the plain name of a file in images/, without folders"
        )
    objects = []
    for obj in root.iter("object"):
        label = (obj.findtext("name") or "").strip()
        try:
            if not label:
                raise ValueError("an object without a <name>")
            box = _voc_box(obj)
        except ValueError as exc:
            if strict:
                raise DatasetError(f"{xml_path}: not a readable PASCAL VOC annotation ({exc})") from exc
            box = str(exc)
        objects.append((label, box))
    width = (root.findtext("size/width") or "").strip()
    return filename, objects, int(width) if width.isdigit() and int(width) > 0 else None


def _voc_box(obj: ET.Element) -> tuple[int, int, int, int]:
    """An object's box in whole pixels; ValueError saying what is wrong with its <bndbox>."""
    texts = [obj.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")]
    if None in texts:
        raise ValueError("a <bndbox> without all of xmin, ymin, xmax, ymax")
    try:
        values = [float(t) for t in texts]
    except ValueError:
        raise ValueError(f"box coordinates {texts} are not numbers") from None
    if not all(map(math.isfinite, values)):  # inf, nan, or 1e400 (which reads as inf)
        raise ValueError(f"box coordinates {[t.strip() for t in texts]} are not finite numbers")
    return tuple(int(round(v)) for v in values)


IOU_MATCH = 0.3


def match(labels: list, found: list, threshold: float = IOU_MATCH) -> dict[int, int]:
    """Labelled index -> detected index, one to one, highest IoU first."""
    # float64: the same IoU values, to the last bit, as Python floats give; a box of no area has no IoU
    ious = (
        box_iou(
            torch.tensor(labels, dtype=torch.float64).reshape(-1, 4),
            torch.tensor(found, dtype=torch.float64).reshape(-1, 4),
        )
        .nan_to_num(0.0)
        .tolist()
    )
    pairs = sorted(((score, i, j) for i, row in enumerate(ious) for j, score in enumerate(row)), reverse=True)
    pairing: dict[int, int] = {}
    used = set()
    for score, i, j in pairs:
        if score < threshold:
            break
        if i not in pairing and j not in used:
            pairing[i] = j
            used.add(j)
    return pairing


def photos_of(source: Path, data: Path | None = None, split: str = "test") -> list[Path]:
    """The VOC annotation files to use: every one, or those of one split's source photos."""
    xml_files = sorted((Path(source) / "annotations").glob("*.xml"))
    if not xml_files:
        raise DatasetError(f"{source}/annotations: no PASCAL VOC .xml files")
    if data is None:
        return xml_files
    wanted = {Path(e["source"]).stem for e in read_manifest(data)["splits"][split]}
    return [x for x in xml_files if x.stem in wanted]


@dataclass
class LabelledPhoto:
    """One annotated photo, read as the app reads an upload (full resolution)."""

    filename: str
    objects: list  # (class, box) in the pixels the boxes were drawn on
    image: Image.Image
    scale: float  # image pixels per annotation pixel

    @property
    def boxes(self) -> list[tuple[float, float, float, float]]:
        """The labelled boxes in the image's pixels."""
        return [tuple(v * self.scale for v in box) for _, box in self.objects]


def read_labelled_photo(xml_path: Path) -> LabelledPhoto:
    """A VOC file (parsed once) and its photo; ValueError or BadImageError naming what is wrong."""
    filename, objects, width = read_voc(xml_path)
    image = load_image(xml_path.parent.parent / "images" / filename)
    return LabelledPhoto(filename, objects, image, image.width / (width or image.width))
