"""How many times a frame is enlarged beyond the detail it holds: a small picture resized to a phone photo's
4032 px has no edge sharper than the enlargement spreads it over.

A frame's steepest edges (the STEEP_SHARE steepest steps between neighbouring pixels) are measured on the
frame reduced k times. While k is under the enlargement, an edge spans more than k pixels, so each reduction
makes its steps k times steeper; once k passes it, the steps stop growing. The enlargement is the largest k
(a power of 2) whose steps are still at least STEEP_KEPT of what that growth predicts.
"""

from __future__ import annotations

from PIL import Image, ImageChops

# A frame enlarged ENLARGED_FROM times or more is searched reduced to SEARCHED_AT times its detail, where a
# real face is as big as the enlarged-2 view's (2-4 times its photo's), whose faces the pyramid finds (92 %).
# Regions of photos with no face (val 19, train 27) got 1 and 5 boxes enlarged 4 times, 8 and 21 at 16 times,
# 21 and 49 at 4032 px (23-40 times): results/noface/regions_enlarged_*.txt.
ENLARGED_FROM = 16
SEARCHED_AT = 2
STEEP_SHARE = 0.001  # the steepest 0.1 % of neighbour steps: the sharpest edges anywhere in the frame
# Chosen on the no-face set's val and train pictures resized to 4032 px and 150 of the test photos' val and
# train photos in the phone view (docs/detection.md, "Enlarged pictures"; results/noface/steep_*.txt): 71 of
# the 73 regions of photos (enlarged 18-40 times) keep 0.78-1.03 of the growth at a 16th, the photos
# (enlarged about 10 times) 0.36-0.73.
STEEP_KEPT = 0.76
BASE = 2  # the first reduction, the reference (it also halves the cost of the rest)
LARGEST = 64
MIN_SIDE = 16  # a reduction with a shorter side under this many px has too few edges to measure


def _steepest(gray: Image.Image) -> int:
    """The step between neighbours (the larger of across and down) that STEEP_SHARE of the pixels reach."""
    w, h = gray.size
    across = ImageChops.difference(gray.crop((1, 0, w, h - 1)), gray.crop((0, 0, w - 1, h - 1)))
    down = ImageChops.difference(gray.crop((0, 1, w - 1, h)), gray.crop((0, 0, w - 1, h - 1)))
    counts = ImageChops.lighter(across, down).histogram()  # all in C: no per-pixel work in Python
    left = sum(counts) * STEEP_SHARE
    for step in range(255, -1, -1):
        left -= counts[step]
        if left < 0:
            return step
    return 0


def enlargement(image: Image.Image) -> int:
    """The largest power of 2, from 2*BASE to LARGEST, that IMAGE is enlarged beyond its detail by; 1 when
    it is not enlarged twice that (or is too small, or flat, to tell)."""
    if min(image.size) < MIN_SIDE * 2 * BASE:
        return 1
    # green carries most of the luminance, and is taken without converting the whole frame
    gray = (image.getchannel("G") if image.mode == "RGB" else image.convert("L")).reduce(BASE)
    base = _steepest(gray)
    if base <= 0:
        return 1
    found, k, reduced = 1, BASE, gray
    while k * 2 <= LARGEST and min(reduced.size) >= MIN_SIDE * 2:
        reduced, k = reduced.reduce(2), k * 2
        if _steepest(reduced) < STEEP_KEPT * base * k / BASE:
            break
        found = k
    return found
