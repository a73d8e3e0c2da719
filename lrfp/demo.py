"""The small demo set shipped in demo/: made from the public source by `lrfp data demo`, never copied.

demo/fmd853-lr is the default build (`lrfp data build` with default options); demo/scenes holds a
few whole photos of that build's TEST split, re-encoded as JPEG at their own size, each with a
PASCAL VOC file written here from the source's boxes. So no model trained on that build has seen
them, and the Dataset page can draw the manifest's boxes on them.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .data import DatasetError, load_image, read_manifest
from .records import atomic_path
from .sources import BuildOptions, build_dataset, parse_voc

DEMO_SCENES = ("maksssksksss52", "maksssksksss71", "maksssksksss389", "maksssksksss477", "maksssksksss723",
               "maksssksksss787")  # fmt: skip
JPEG_QUALITY = 90


def build_demo(source: Path, out: Path, scenes=DEMO_SCENES, opts: BuildOptions | None = None) -> dict:
    """Write OUT/fmd853-lr (the crop build) and OUT/scenes/{images,annotations}; return the build's stats."""
    source, out = Path(source), Path(out)
    stats = build_dataset(source, out / "fmd853-lr", opts)
    test_photos = {Path(e["source"]).stem for e in read_manifest(out / "fmd853-lr")["splits"]["test"]}
    outside = [name for name in scenes if name not in test_photos]
    if outside:
        raise DatasetError(f"demo scenes {outside} are not in the test split of {out / 'fmd853-lr'}; "
                           "pick test-split photos, so that no shipped model was trained on them")  # fmt: skip
    for name in scenes:
        filename, objects = parse_voc(source / "annotations" / f"{name}.xml")
        image = load_image(source / "images" / filename)
        with atomic_path(out / "scenes" / "images" / f"{name}.jpg") as tmp:
            image.save(tmp, "JPEG", quality=JPEG_QUALITY)
        with atomic_path(out / "scenes" / "annotations" / f"{name}.xml") as tmp:
            voc_tree(f"{name}.jpg", image.size, objects).write(tmp, encoding="unicode")
    return stats


def voc_tree(filename: str, size: tuple[int, int], objects) -> ET.ElementTree:
    """A minimal PASCAL VOC annotation: file name, size, and one object (class, box) per face."""
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = filename
    size_el = ET.SubElement(root, "size")
    for key, value in zip(("width", "height", "depth"), (*size, 3)):
        ET.SubElement(size_el, key).text = str(value)
    for label, box in objects:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = label
        bnd = ET.SubElement(obj, "bndbox")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            ET.SubElement(bnd, key).text = str(value)
    ET.indent(root)
    return ET.ElementTree(root)
