"""Queries over a dataset manifest for the Dataset page: filtered samples and source scenes."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw

from lrfp.data.images import IMAGE_SUFFIXES, load_image
from lrfp.pipeline.scene import COLORS


def filter_samples(manifest: dict, split: str, label: str, min_px: int, max_px: int) -> list[dict]:
    return [s for s in manifest["splits"][split] if s["label"] == label and min_px <= (s.get("face_px") or 0) <= max_px]


def scenes_with_faces(manifest: dict, split: str) -> list[tuple[str, list[dict]]]:
    """Source photos of a split with their faces, the photos with most faces of both classes first."""
    by_source = defaultdict(list)
    for s in manifest["splits"][split]:
        if "source" in s and "box" in s:
            by_source[s["source"]].append(s)
    return sorted(by_source.items(), key=lambda kv: (-len({f["label"] for f in kv[1]}), -len(kv[1]), kv[0]))


def find_source_photo(root: Path, source: str) -> Path | None:
    """A manifest's source photo under ROOT: as named, or with the same stem in another image
    format (the shipped demo scenes are JPEG copies of the source's PNGs)."""
    path = Path(root) / source
    if path.is_file():
        return path
    return next((p for p in sorted(path.parent.glob(f"{path.stem}.*")) if p.suffix.lower() in IMAGE_SUFFIXES), None)


def draw_boxes(path: Path, faces: list[dict]) -> Image.Image:
    image = load_image(path)
    draw = ImageDraw.Draw(image)
    for f in faces:
        draw.rectangle(f["box"], outline=COLORS.get(f["label"], (255, 200, 0)), width=2)
    return image
