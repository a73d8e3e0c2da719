"""The face check's crops: how each is cut (a labelled face's jittered copy, a random square away from every
face) and where it is written (Writer: the class folders, aside/, and the manifest's entries). What is mined
from which photo is lrfp.experiments.facecheck's job."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

from PIL import Image, ImageFilter

from lrfp.data.images import SPLITS
from lrfp.pipeline.detect import inside

CLASSES = ("face", "not_face")
ASIDE = "aside"
KEEP_SIDE = 128  # crops are saved no bigger: the check reads 32 px
MIN_FACE = 8
FACE_COPIES = 2  # labelled boxes, jittered and resized, per face
BLURRED = 0.3  # the share of those copies blurred
RANDOM_SQUARES = 6  # per photo or no-face picture


class Writer:
    """Crops into CLASS/ folders (or aside/) and the manifest's entries."""

    def __init__(self, out: Path):
        self.out = out
        self.splits: dict[str, list] = {s: [] for s in SPLITS}
        self.counts: Counter[str] = Counter()
        self.aside: list = []  # kept out of every split (a look at them tells faces nobody labelled)
        for folder in (*CLASSES, ASIDE):
            (out / folder).mkdir(parents=True, exist_ok=True)

    def add(self, crop: Image.Image, label: str, split: str, source: str, kind: str, box=None) -> None:
        if min(crop.size) < 2:
            return
        face_px = min(crop.size)
        if max(crop.size) > KEEP_SIDE:
            crop = crop.copy()
            crop.thumbnail((KEEP_SIDE, KEEP_SIDE), Image.Resampling.BILINEAR)
        name = f"{label}/{Path(source).stem}_{kind}_{self.counts[label]:06d}.png"
        crop.save(self.out / name)
        self.counts[label] += 1
        self.counts[f"{split}/{label}/{kind}"] += 1
        entry = {"path": name, "label": label, "source": source, "face_px": face_px, "kind": kind}
        if box is not None:
            entry["box"] = [int(v) for v in box]
        (self.aside if label == ASIDE else self.splits[split]).append(entry)

    def state(self) -> dict:
        """What is written so far, as plain data (a Resumable's state)."""
        return {"splits": self.splits, "aside": self.aside, "counts": self.counts}

    def restore(self, state: dict) -> None:
        self.splits, self.aside, self.counts = state["splits"], state["aside"], Counter(state["counts"])

    def move_aside(self, is_face) -> int:
        """Move the not_face entries that `is_face(entry)` says are faces, and their files, aside."""
        moved = 0
        for split, entries in self.splits.items():
            for entry in [e for e in entries if e["label"] == "not_face" and is_face(e)]:
                name = f"{ASIDE}/{Path(entry['path']).name}"
                if (self.out / entry["path"]).exists():  # else moved by a run killed before its manifest
                    (self.out / entry["path"]).rename(self.out / name)
                entries.remove(entry)
                self.aside.append(entry | {"path": name, "label": ASIDE, "marked": "face", "split": split})
                moved += 1
        return moved


def clip(box, width: int, height: int) -> tuple[int, int, int, int]:
    """BOX with whole-pixel edges, inside a WIDTH x HEIGHT picture."""
    x0, y0, x1, y1 = box
    return (max(0, round(x0)), max(0, round(y0)), min(width, round(x1)), min(height, round(y1)))


def face_copy(image: Image.Image, box, rng: random.Random) -> Image.Image:
    """A labelled face as a detector might box it (up to 15 % bigger or smaller, shifted up to 10 %), at a
    random size from 8 to 64 px, sometimes blurred."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    k = rng.uniform(0.9, 1.15)
    cx, cy = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * w, (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * h
    crop = image.crop(clip((cx - w * k / 2, cy - h * k / 2, cx + w * k / 2, cy + h * k / 2), *image.size))
    side = math.exp(rng.uniform(math.log(MIN_FACE), math.log(64)))
    if side < min(crop.size):
        factor = side / min(crop.size)
        crop = crop.resize((max(2, round(crop.width * factor)), max(2, round(crop.height * factor))))
    if rng.random() < BLURRED:
        crop = crop.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.5)))
    return crop


def random_squares(image: Image.Image, faces: list, rng: random.Random, count: int = RANDOM_SQUARES) -> list:
    """Up to `count` squares of 8 px to half the shorter side that touch no face."""
    w, h = image.size
    out: list = []
    for _ in range(count * 10):
        if len(out) == count or min(w, h) < 2 * MIN_FACE:
            break
        side = round(math.exp(rng.uniform(math.log(MIN_FACE), math.log(min(w, h) / 2))))
        x, y = rng.randrange(0, w - side + 1), rng.randrange(0, h - side + 1)
        square = (x, y, x + side, y + side)
        if all(inside(f, square) == 0 and inside(square, f) == 0 for f in faces):
            out.append(square)
    return out
