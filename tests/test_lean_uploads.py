"""An upload's time and memory: the merge works on arrays (and needs no torchvision), and neither the decoded
photo, nor its reductions, nor a face crop is copied or kept longer than it is needed."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lrfp.pipeline import boxes
from lrfp.pipeline.boxes import FaceBox, inside, merge
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier

ROOT = Path(__file__).resolve().parents[1]


def _merge_pair_by_pair(found: list[FaceBox]) -> list[FaceBox]:
    """The rules of lrfp.pipeline.boxes written out one pair at a time, as they read in its comments."""

    def same_face(a: FaceBox, b: FaceBox) -> bool:
        inter = inside(a, b) * max(1, (a.x1 - a.x0) * (a.y1 - a.y0))
        union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
        smaller = min(max(1, (c.x1 - c.x0) * (c.y1 - c.y0)) for c in (a, b))
        return (union > 0 and inter / union >= boxes.NMS_IOU) or inter / smaller >= boxes.SAME_FACE

    def area(b: FaceBox) -> int:
        return max(1, (b.x1 - b.x0) * (b.y1 - b.y0))

    left, faces = sorted(found, key=lambda b: -b.score), []
    while left:
        best = left[0]
        group = [b for b in left if b is best or same_face(best, b)]
        left = [b for b in left if not any(b is g for g in group)]
        wholes = [
            b
            for b in group
            if b.score >= best.score - boxes.SCORE_TIE
            and area(b) >= boxes.WHOLE_OF * area(best)
            or b.size >= boxes.PART_OF * best.size
        ]
        faces.append(max(wholes, key=area) if wholes else best)
    kept: list[FaceBox] = []
    for b in sorted(faces, key=lambda b: -(b.x1 - b.x0) * (b.y1 - b.y0)):
        grown = [
            FaceBox(
                o.x0 - round((o.x1 - o.x0) * boxes.EDGE_MARGIN),
                o.y0 - round((o.y1 - o.y0) * boxes.EDGE_MARGIN),
                o.x1 + round((o.x1 - o.x0) * boxes.EDGE_MARGIN),
                o.y1 + round((o.y1 - o.y0) * boxes.EDGE_MARGIN),
                o.score,
            )
            for o in kept
        ]
        if not any(
            inside(b, o) > boxes.CONTAINED
            and o.score >= b.score
            or inside(b, o) > boxes.PART_CONTAINED
            and o.size >= boxes.PART_OF * b.size
            or o.size >= boxes.EDGE_PART_OF * b.size
            and inside(b, g) > boxes.PART_CONTAINED
            or o.size >= boxes.BIG_FACE
            and o.size >= boxes.PART_OF * b.size
            and inside(b, g) > boxes.BIG_FACE_CONTAINED
            for o, g in zip(kept, grown)
        ):
            kept.append(b)

    def covered(b: FaceBox, others: list[FaceBox]) -> float:  # pixel by pixel
        grid = np.zeros((b.y1 - b.y0, b.x1 - b.x0), bool)
        for o in others:
            grid[max(0, o.y0 - b.y0) : max(0, o.y1 - b.y0), max(0, o.x0 - b.x0) : max(0, o.x1 - b.x0)] = True
        return grid.sum() / max(1, grid.size)

    def straddles(b: FaceBox) -> bool:
        over = [o for o in kept if o.score > b.score and inside(b, o) > 0]
        return len(over) >= 2 and covered(b, over) >= boxes.STRADDLE

    kept = [b for b in kept if not straddles(b)]

    def in_column(b: FaceBox, o: FaceBox) -> bool:  # b in the column of o, o more confident
        wide = max(b.x1 - b.x0, o.x1 - o.x0)
        smaller = min(max(1, (c.x1 - c.x0) * (c.y1 - c.y0)) for c in (b, o))
        inter = inside(b, o) * max(1, (b.x1 - b.x0) * (b.y1 - b.y0))
        return (
            abs((b.x0 + b.x1) / 2 - (o.x0 + o.x1) / 2) <= boxes.COLUMN * wide
            and inter >= boxes.COLUMN_SHARE * smaller
            and max(b.size, o.size) <= boxes.PART_OF * min(b.size, o.size)
            and o.score > b.score
        )

    stacked: list[FaceBox] = []
    for b in sorted(kept, key=lambda b: -b.score):
        if any(in_column(b, o) for o in kept if o.score > b.score and not any(o is s for s in stacked)):
            stacked.append(b)
    return [b for b in kept if not any(b is s for s in stacked)]


def test_the_merge_of_hundreds_of_boxes_keeps_what_the_rules_keep_pair_by_pair():
    rng = random.Random(35)
    for _ in range(40):
        found = []
        for _ in range(rng.choice([2, 30, 300])):
            x, y, w = rng.randint(0, 800), rng.randint(0, 800), rng.choice([6, 20, 60, 200, 600])
            h = round(w * rng.uniform(0.8, 1.4))
            found.append(FaceBox(x, y, x + w, y + h, rng.choice([0.5, 0.7, 0.9, round(rng.random(), 3)])))
        assert merge(found) == _merge_pair_by_pair(found)


def test_merging_boxes_imports_no_torchvision():
    # torchvision takes a second and 130 MB to import: an upload's first merge paid for it
    child = (
        "import sys\n"
        "from lrfp.pipeline.boxes import FaceBox, merge\n"
        "merge([FaceBox(0, 0, 40, 40, 0.9), FaceBox(2, 2, 38, 30, 0.95), FaceBox(100, 0, 140, 40, 0.8)])\n"
        "print('torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split()[-1] == "False"


def test_a_decoded_photo_is_not_copied(tmp_path):
    # a 24 MP JPEG is 96 MB in Pillow (4 bytes a pixel): decoded and then copied, the process held 192 MB
    path = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), (90, 120, 150)).save(path, quality=80)
    child = (
        "from lrfp.data.images import load_image\n"
        "def kb(key):\n"
        "    return next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith(key))\n"
        "before = kb('VmRSS:')\n"
        f"image = load_image({str(path)!r})\n"
        "print(image.size, (kb('VmHWM:') - before) / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True, cwd=ROOT)
    grown_mb = float(out.stdout.split()[-1])
    assert grown_mb < 1.5 * 96, grown_mb


@pytest.mark.detector
def test_a_search_lets_go_of_the_frames_reductions():
    search = FaceDetector().search(Image.new("RGB", (2400, 1800), (128, 128, 128)))
    assert len(search.looks) > 1 and not search._reductions  # its looks ran on reductions, freed since


def test_classifying_an_rgb_face_makes_no_copy_of_it(monkeypatch):
    classifier = Classifier("model3", check_faces=False, unsure=False)
    face = Image.new("RGB", (3000, 3600), (200, 170, 150))  # a face that fills a 50 MP photo: 43 MB
    grey = face.convert("L")
    copies = []
    convert = Image.Image.convert
    monkeypatch.setattr(Image.Image, "convert", lambda self, *a, **k: copies.append(a) or convert(self, *a, **k))
    classifier.probabilities([face, grey])
    assert copies == [("RGB",)]  # the grey one only
