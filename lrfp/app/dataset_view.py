"""Queries over a dataset manifest for the Dataset page: filtered samples and source scenes, drawn with every
labelled face."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from lrfp.app.plain import plain
from lrfp.core import labels
from lrfp.data.demo import DEMO_TITLES, labelled_faces
from lrfp.data.images import IMAGE_SUFFIXES, load_image
from lrfp.data.voc import Box
from lrfp.pipeline.scene import COLORS

# a source photo (the demo's are 400 px wide) is drawn at least this big, so that solid and dashed boxes read
DRAWN_SIDE = 800


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


@dataclass(frozen=True)
class SourceScene:
    """A source photo with its faces: every one labelled in it, and which of them the build cut."""

    photo: Path
    faces: list[tuple[str, Box, bool]]  # (class, box, in the build) of every labelled face
    labels_known: bool  # False: the photo's labels are not on this machine, FACES holds the build's only


def source_scene(photo: Path, kept: list[dict]) -> SourceScene:
    """PHOTO's faces: those its labels list (lrfp.data.demo.labelled_faces), each marked whether it is one of
    KEPT, the manifest's entries of the photo; without its labels, KEPT's alone."""
    try:
        labelled = labelled_faces(photo)
    except (OSError, ValueError):  # a damaged annotation or labels file: the build's faces still show
        labelled = None
    if labelled is None:
        return SourceScene(photo, [(e["label"], _box(e["box"]), True) for e in kept], labels_known=False)
    in_build = Counter((e["label"], _box(e["box"])) for e in kept)
    faces = []
    for label, box in labelled:
        faces.append((label, box, in_build[(label, box)] > 0))
        in_build[(label, box)] -= 1
    return SourceScene(photo, faces, labels_known=True)


def left_out_reason(label: str, box: Box, manifest: dict) -> str:
    """Why the build has no crop of a labelled face: a class it leaves out, a face under its minimum, or balance."""
    options = manifest.get("options", {})
    if label not in manifest["classes"]:
        return f"{labels.text(label)} (a class this build leaves out)"
    if min(box[2] - box[0], box[3] - box[1]) < options.get("min_face", 0):
        return f"under {options['min_face']} px"
    return "to balance the classes" if options.get("balance") else "not in this build"


def scene_caption(scene: SourceScene, split: str, manifest: dict) -> str:
    """What the numbers of a drawn source photo are: its labelled faces by class, how many the build's split
    holds (solid boxes), and why the others (dashed) are not there. An example photo is named as the other
    pages name it, with its file."""
    title = DEMO_TITLES.get(scene.photo.stem)
    name = f"**{title}** ({plain(scene.photo.name)})" if title else f"**{plain(scene.photo.name)}**"
    kept = sum(1 for *_, in_build in scene.faces if in_build)
    if not scene.labels_known:
        return (
            f"{name}: the {kept} face(s) of this build's {split} split (the photo's labels are not on this "
            "machine: faces the build left out are not drawn)"
        )
    by_class = Counter(label for label, *_ in scene.faces)
    classes = ", ".join(f"{n} {labels.text(label)}" for label, n in sorted(by_class.items(), key=lambda kv: -kv[1]))
    reasons = Counter(left_out_reason(label, box, manifest) for label, box, in_build in scene.faces if not in_build)
    left = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
    return (
        f"{name}: {len(scene.faces)} labelled faces ({classes}); the build's {split} split holds {kept} of them "
        "(solid boxes)" + (f"; left out (dashed): {left}" if left else "")
    )


def draw_scene(scene: SourceScene) -> Image.Image:
    """The photo (enlarged to DRAWN_SIDE when smaller) with every face boxed in its class colour: solid where
    the build has its crop, dashed where it left the face out."""
    image = load_image(scene.photo)
    factor = max(1, DRAWN_SIDE // max(image.size))
    if factor > 1:
        image = image.resize((image.width * factor, image.height * factor), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 300))
    for label, box, in_build in scene.faces:
        x0, y0, x1, y1 = (v * factor for v in box)
        colour = COLORS.get(label, (255, 200, 0))
        if in_build:
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour, width=width)
        else:
            _dashed_rectangle(draw, (x0, y0, x1 - 1, y1 - 1), colour, width)
    return image


def _dashed_rectangle(draw: ImageDraw.ImageDraw, box: Box, colour: tuple[int, int, int], width: int) -> None:
    x0, y0, x1, y1 = box
    dash = 3 * width
    for start, end in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        length = max(abs(end[0] - start[0]), abs(end[1] - start[1]))
        for at in range(0, length, 2 * dash):
            a, b = at / length, min(at + dash, length) / length
            draw.line(
                [(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t) for t in (a, b)],
                fill=colour,
                width=width,
            )


def _box(values) -> Box:
    x0, y0, x1, y1 = (int(v) for v in values)
    return (x0, y0, x1, y1)
