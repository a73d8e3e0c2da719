"""Boxes on pictures with no face (`lrfp scene-bench --noface DIR`): the whole pipeline, detector and
classifier, over a no-face set (lrfp.data.noface), each picture at its own size (`own`) and resized to
a phone photo's 4032 px long side (`phone`, as scene-bench's phone view). Every box there is a box on
something that is not a face.

Figures per view: boxes per 100 pictures, the pictures with any box, and the same per kind; the labels
the boxes got; the pictures with the most boxes. Each picture's boxes (in its own pixels, with the
detector's score, the label and the look that found it: scene_bench.box_row) are kept in the record, so
that they can be looked at, cut out as hard negatives or judged at a higher score without running the
detector again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from PIL import Image

from lrfp.core.progress import bar
from lrfp.data.images import load_image
from lrfp.evaluation.scene_bench import PHONE_SIDE, box_row
from lrfp.pipeline.scene import analyze

NOFACE_VIEWS = ("own", "phone")
WORST_SHOWN = 10  # pictures with the most boxes, named in the record


def noface_view(image: Image.Image, view: str) -> tuple[Image.Image, float]:
    """(the picture as VIEW shows it, frame px per picture px)."""
    if view == "own":
        return image, 1.0
    if view == "phone":
        k = PHONE_SIDE / max(image.size)
        size = (round(image.width * k), round(image.height * k))
        return image.resize(size, Image.Resampling.BICUBIC), k
    raise ValueError(f"unknown no-face view {view!r}; known: {', '.join(NOFACE_VIEWS)}")


def noface_benchmark(folder: Path, rows: list[dict], classifier, detector, views=NOFACE_VIEWS) -> dict:
    """Per view: boxes on ROWS (manifest rows of a no-face set under FOLDER), per 100 pictures and per kind."""
    found: dict[str, list[dict]] = {view: [] for view in views}
    for row in bar(rows, desc="no-face pictures", unit="picture"):
        image = load_image(Path(folder) / row["path"], name=row["path"])
        for view in views:
            frame, k = noface_view(image, view)
            result = analyze(frame, classifier, detector, "scene")
            boxes = [box_row(f, k) for f in result.faces]
            found[view].append({"id": row["id"], "kind": row["kind"], "split": row["split"], "boxes": boxes})
    return {view: summarize_noface(found[view]) for view in views}


def _per_100(boxes: int, pictures: int) -> float | None:
    return round(100 * boxes / pictures, 2) if pictures else None


def _figures(pictures: list[dict]) -> dict:
    """Pictures, boxes, boxes per 100 pictures, pictures with a box, and the labels the boxes got."""
    boxes = sum(len(p["boxes"]) for p in pictures)
    return {
        "pictures": len(pictures),
        "boxes": boxes,
        "boxes_per_100": _per_100(boxes, len(pictures)),
        "pictures_with_boxes": sum(bool(p["boxes"]) for p in pictures),
        "labels": dict(Counter(box[5] for p in pictures for box in p["boxes"])),
    }


def _by_kind(pictures: list[dict]) -> dict:
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for picture in pictures:
        by_kind[picture["kind"]].append(picture)
    return {kind: _figures(members) for kind, members in sorted(by_kind.items())}


def summarize_noface(pictures: list[dict]) -> dict:
    """_figures of all PICTURES, per kind, and per split (and per kind within it); the pictures with the most
    boxes; every picture's boxes."""
    splits = sorted({p["split"] for p in pictures})
    return _figures(pictures) | {
        "by_kind": _by_kind(pictures),
        "by_split": {
            split: _figures(members) | {"by_kind": _by_kind(members)}
            for split in splits
            for members in [[p for p in pictures if p["split"] == split]]
        },
        "worst": [
            {"id": p["id"], "boxes": len(p["boxes"])}
            for p in sorted(pictures, key=lambda p: (-len(p["boxes"]), p["id"]))[:WORST_SHOWN]
            if p["boxes"]
        ],
        "per_picture": pictures,
    }


def noface_table(report: dict) -> str:
    """The printed table: per kind and view, boxes per 100 pictures (pictures with a box), then the labels."""
    views = list(report)
    kinds = sorted({k for view in views for k in report[view]["by_kind"]})
    lines = [f"{'no-face kind':<14}{'pictures':>9}" + "".join(f"{view + ': boxes/100 (with)':>28}" for view in views)]
    for kind in [*kinds, "all"]:
        cells = []
        for view in views:
            figures = report[view] if kind == "all" else report[view]["by_kind"].get(kind)
            cells.append(f"{figures['boxes_per_100']:>18.1f} ({figures['pictures_with_boxes']:>3})" if figures else "")
        pictures = report[views[0]]["pictures"] if kind == "all" else report[views[0]]["by_kind"][kind]["pictures"]
        lines.append(f"{kind:<14}{pictures:>9}" + "".join(f"{c:>28}" for c in cells))
    for view in views:
        labels = ", ".join(f"{n} {label}" for label, n in sorted(report[view]["labels"].items())) or "none"
        splits = ", ".join(f"{s} {f['boxes_per_100']:.1f}" for s, f in report[view]["by_split"].items())
        lines.append(f"{view}: boxes labelled {labels}; boxes per 100 pictures by split: {splits}")
    return "\n".join(lines)
