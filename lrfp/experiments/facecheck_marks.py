"""What a person said of the detector's boxes, for the face check's data: faces nobody labelled (kept out of
every split) and boxes looked at and found not to be faces (taught as `not_face`).

Marks are kept in photo pixels, so that they still find their box when the detector changes: a box the
current detector gives in any view of the photo is the marked one when, brought back to the photo's own
size, it overlaps the mark by MARK_IOU or more.

- `results/facecheck/marked_faces.json`: {"faces": [{"photo", "view", "box"}]}, boxes in the view's pixels;
- a looked-at CSV (crop,looks_like_face) of the mined boxes the no-face set lists in NEGATIVES_CSV (origin
  train-photo, view 1x): `no` is a non-face, `yes` and `unsure` are kept out as faces.
"""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image

from lrfp.core.records import read_json
from lrfp.data.voc import match
from lrfp.evaluation.scene_bench import PHONE_SIDE
from lrfp.experiments.detector_negatives import NEGATIVES_CSV, read_verdicts

MARK_IOU = 0.3  # as the detector's boxes are matched to labelled faces
PHOTO_ORIGIN = "train-photo"  # the mined boxes of NEGATIVES_CSV that lie on labelled photos


def view_scale(view: str, photo_size: tuple[int, int]) -> float:
    """Frame pixels per photo pixel in one of the builder's views (1x, enlarged-K, phone)."""
    if view == "phone":
        return PHONE_SIDE / max(photo_size)
    if view.startswith("enlarged-"):
        return float(view.split("-", 1)[1])
    if view == "1x":
        return 1.0
    raise ValueError(f"the face check's builder has no view {view!r}")


class PhotoSizes:
    """Each labelled photo's size, read from its header once."""

    def __init__(self, images: Path):
        self.images = images
        self.sizes: dict[str, tuple[int, int]] = {}

    def __call__(self, photo: str) -> tuple[int, int]:
        if photo not in self.sizes:
            with Image.open(self.images / photo) as image:
                self.sizes[photo] = image.size
        return self.sizes[photo]


def to_photo(box, view: str, size: tuple[int, int]) -> list[float]:
    k = view_scale(view, size)
    return [v / k for v in box]


def marked_faces(path: Path, sizes: PhotoSizes) -> dict[str, list]:
    """photo -> marked faces (photo pixels) of a marked_faces.json."""
    out: dict[str, list] = {}
    for face in read_json(path)["faces"]:
        out.setdefault(face["photo"], []).append(to_photo(face["box"], face["view"], sizes(face["photo"])))
    return out


def looked_at(noface: Path, looked: Path) -> tuple[dict[str, list], dict[str, list]]:
    """(photo -> boxes found not faces, photo -> boxes found faces or unsure), in photo pixels (the mined
    boxes are at a photo's own size)."""
    verdicts = read_verdicts(looked)
    not_faces: dict[str, list] = {}
    faces: dict[str, list] = {}
    with (noface / NEGATIVES_CSV).open(newline="") as f:
        for row in csv.DictReader(f):
            verdict = verdicts.get(row["crop"])
            if row["origin"] != PHOTO_ORIGIN or verdict is None:
                continue
            box = [float(row[k]) for k in ("x0", "y0", "x1", "y1")]
            (not_faces if verdict == "no" else faces).setdefault(row["source"], []).append(box)
    return not_faces, faces


def is_marked(entry: dict, marks: dict[str, list], sizes: PhotoSizes) -> bool:
    """Whether a builder entry (a detector box of a labelled photo, kind box-VIEW) is one of MARKS."""
    photo = Path(entry["source"]).name
    if not entry["kind"].startswith("box-") or "box" not in entry or photo not in marks:
        return False
    box = to_photo(entry["box"], entry["kind"][len("box-") :], sizes(photo))
    return bool(match([box], marks[photo], MARK_IOU))
