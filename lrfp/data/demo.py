"""The small demo set shipped in demo/: made from the public source by `lrfp data demo`, never copied.

demo/fmd853-lr is the default build (`lrfp data build` with default options); demo/scenes/images
holds a few example photos of that build's TEST split, re-encoded as JPEG at their own size. So no
model trained on that build has seen them. demo/scenes/labels.json lists every face labelled in each
of them (the build keeps only some: a balanced build drops faces of the larger class, and the third
class and faces under its minimum size stay out), so that the pages count and draw the labelled faces
as the source has them; the source's annotation files stay out, and the full labelled set is built
from the source.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lrfp.core.records import atomic_path, read_json, write_json_atomic
from lrfp.data.build import BuildOptions, build_dataset
from lrfp.data.images import DatasetError, load_image, read_manifest
from lrfp.data.voc import Box, parse_voc, read_voc

# what the pages call each example (the source's file names are numbers), in the order the Classify page
# offers them; lrfp.app.catalog.example_title adds the count of labelled faces from SCENE_LABELS
DEMO_TITLES = {
    "maksssksksss389": "Commuters in masks",
    "maksssksksss787": "Queue of travellers",
    "maksssksksss477": "Station hall from above",
    "maksssksksss723": "Lion dance in an arrivals hall",
    "maksssksksss71": "Street, close-up faces",
    "maksssksksss52": "Dense crowd",
}
DEMO_SCENES = tuple(DEMO_TITLES)
JPEG_QUALITY = 90
# beside scenes/images/: {photo file name: [{"label", "box"}, ...]}, every face labelled in the source
SCENE_LABELS = "labels.json"


def build_demo(source: Path, out: Path, scenes=DEMO_SCENES, opts: BuildOptions | None = None) -> dict:
    """Write OUT/fmd853-lr (the crop build) and OUT/scenes/images; return the build's stats."""
    source, out = Path(source), Path(out)
    stats = build_dataset(source, out / "fmd853-lr", opts)
    test_photos = {Path(e["source"]).stem for e in read_manifest(out / "fmd853-lr")["splits"]["test"]}
    outside = [name for name in scenes if name not in test_photos]
    if outside:
        raise DatasetError(
            f"demo scenes {outside} are not in the test split of {out / 'fmd853-lr'}; "
            "pick test-split photos, so that no shipped model was trained on them"
        )
    labelled = {}
    for name in scenes:
        filename, objects, drawn_width = read_voc(source / "annotations" / f"{name}.xml")
        image = load_image(source / "images" / filename)
        with atomic_path(out / "scenes" / "images" / f"{name}.jpg") as tmp:
            image.save(tmp, "JPEG", quality=JPEG_QUALITY)
        scale = image.width / (drawn_width or image.width)  # the boxes in the shipped photo's pixels
        labelled[f"{name}.jpg"] = [{"label": label, "box": [round(v * scale) for v in box]} for label, box in objects]
    if scenes:
        write_json_atomic(dict(sorted(labelled.items())), out / "scenes" / SCENE_LABELS)
    return stats


def labelled_faces(photo: Path) -> list[tuple[str, Box]] | None:
    """Every face labelled in PHOTO (class, box in its pixels), in the order of its annotation: from
    annotations/STEM.xml beside its images/ folder (a PASCAL VOC source), else from the demo's
    SCENE_LABELS there; None when neither knows the photo."""
    photo = Path(photo)
    root = photo.parent.parent
    xml = root / "annotations" / f"{photo.stem}.xml"
    if xml.is_file():
        return parse_voc(xml)[1]
    listed = root / SCENE_LABELS
    if not listed.is_file():
        return None
    faces = _scene_labels(listed, listed.stat().st_mtime_ns).get(photo.name)
    return (
        None if faces is None else [(f["label"], (f["box"][0], f["box"][1], f["box"][2], f["box"][3])) for f in faces]
    )


@functools.lru_cache(maxsize=4)
def _scene_labels(path: Path, mtime_ns: int) -> dict:
    """SCENE_LABELS read once per version of the file (the pages name every example on each run)."""
    return read_json(path)
