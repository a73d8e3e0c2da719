"""The small demo set shipped in demo/: made from the public source by `lrfp data demo`, never copied.

demo/fmd853-lr is the default build (`lrfp data build` with default options); demo/scenes/images
holds a few example photos of that build's TEST split, re-encoded as JPEG at their own size. So no
model trained on that build has seen them, and the Dataset page can draw the manifest's boxes on
them. The source's annotation files stay out: the full labelled set is built from the source.
"""

from __future__ import annotations

from pathlib import Path

from lrfp.core.records import atomic_path
from lrfp.data.build import BuildOptions, build_dataset
from lrfp.data.images import DatasetError, load_image, read_manifest
from lrfp.data.voc import parse_voc

# what the Classify page calls each example (the source's file names are numbers); faces as labelled
# in the source's annotations, in the order the page offers them
DEMO_TITLES = {
    "maksssksksss389": "Commuters in masks (12 labelled faces)",
    "maksssksksss787": "Queue of travellers (8 labelled faces)",
    "maksssksksss477": "Station hall from above (13 labelled faces)",
    "maksssksksss723": "Lion dance in an arrivals hall (13 labelled faces)",
    "maksssksksss71": "Street, close-up faces (6 labelled faces)",
    "maksssksksss52": "Dense crowd (51 labelled faces)",
}
DEMO_SCENES = tuple(DEMO_TITLES)
JPEG_QUALITY = 90


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
    for name in scenes:
        filename, _ = parse_voc(source / "annotations" / f"{name}.xml")
        image = load_image(source / "images" / filename)
        with atomic_path(out / "scenes" / "images" / f"{name}.jpg") as tmp:
            image.save(tmp, "JPEG", quality=JPEG_QUALITY)
    return stats
