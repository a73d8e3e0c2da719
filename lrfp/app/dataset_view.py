"""Queries over a dataset manifest for the Dataset page: filtered samples and source scenes."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw

from ..data import load_image
from ..scene import COLORS


def filter_samples(manifest: dict, split: str, label: str, min_px: int, max_px: int) -> list[dict]:
    return [s for s in manifest["splits"][split]
            if s["label"] == label and min_px <= (s.get("face_px") or 0) <= max_px]  # fmt: skip


def scenes_with_faces(manifest: dict, split: str) -> list[tuple[str, list[dict]]]:
    """Source photos of a split with their faces, the photos with most faces of both classes first."""
    by_source = defaultdict(list)
    for s in manifest["splits"][split]:
        if "source" in s and "box" in s:
            by_source[s["source"]].append(s)
    return sorted(by_source.items(), key=lambda kv: (-len({f["label"] for f in kv[1]}), -len(kv[1]), kv[0]))


def draw_boxes(path: Path, faces: list[dict]) -> Image.Image:
    image = load_image(path)
    draw = ImageDraw.Draw(image)
    for f in faces:
        draw.rectangle(f["box"], outline=COLORS.get(f["label"], (255, 200, 0)), width=2)
    return image
