"""Where the tags of an annotated photo go: beside their face's box, never on another tag.

In a crowd the faces' boxes touch, and a tag drawn at the same place above every box lands on its
neighbours' (a 49-face photo hid numbers under others). Each tag takes the first free place around
its box; the tags shrink, down to a floor, until every one has a place touching its box; past the
floor a tag goes to the nearest free place, and annotate() joins it to its box by a line.
"""

from __future__ import annotations

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 excluded)


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def gap(a: Rect, b: Rect) -> int:
    """Pixels between two rectangles (0 when they touch or overlap), the larger of the two axes'."""
    return max(0, a[0] - b[2], b[0] - a[2], a[1] - b[3], b[1] - a[3])


def _spots(box: Rect, w: int, h: int, far: bool) -> list[tuple[int, int]]:
    """Top-left corners to try, best first: above, below, beside, then inside the box; with `far`, a
    grid around the box as well."""
    x0, y0, x1, y1 = box
    spots = [
        (x0, y0 - h),
        (x0, y1),
        (x1 - w, y0 - h),
        (x1 - w, y1),
        (x0 - w, y0),
        (x1, y0),
        (x0 - w, y1 - h),
        (x1, y1 - h),
        (x0, y0),
    ]
    if far:
        step_x, step_y = max(1, w // 2), max(1, h // 2)
        spots += [(x0 + i * step_x, y0 - h + j * step_y) for i in range(-8, 9) for j in range(-8, 9)]
    return spots


def place(
    sizes: list[tuple[int, int]], boxes: list[Rect], width: int, height: int, far: bool = False
) -> list[Rect | None]:
    """A rectangle for each tag (w, h) of sizes[i], by boxes[i], inside the image, overlapping no other tag.

    A tag prefers a place touching its own box that covers no face; then one that covers a face;
    with `far`, the nearest free place anywhere around. None where none is free.
    """
    placed: list[Rect] = []
    out: list[Rect | None] = []
    for (w, h), box in zip(sizes, boxes):
        best, best_key = None, None
        for order, (x, y) in enumerate(_spots(box, w, h, far)):
            x, y = min(max(0, x), max(0, width - w)), min(max(0, y), max(0, height - h))
            rect = (x, y, x + w, y + h)
            if any(overlaps(rect, p) for p in placed):
                continue
            distance = gap(rect, box)
            if distance and not far:
                continue
            key = (distance, any(overlaps(rect, b) for b in boxes), order)
            if best_key is None or key < best_key:
                best, best_key = rect, key
        if best is not None:
            placed.append(best)
        out.append(best)
    return out


# A phone shows an annotated photo about 360 px wide (a 390 px screen less the page's margins): the number
# tags must be read at that width, so their font is a share of the image's width, not of its longer side.
PHONE_SHOWN_WIDTH = 358
NUMBER_MIN_SHOWN_PX = 12  # the smallest number on that phone, in CSS px (Streamlit's captions are 14)


def number_font_px(width: int, height: int) -> tuple[int, int]:
    """(largest, smallest) font size, in pixels of the annotated image, of the number tags of a WIDTH x HEIGHT
    image: at least NUMBER_MIN_SHOWN_PX once the image is shown PHONE_SHOWN_WIDTH wide, and never smaller
    than the earlier sizes (1/35 and 1/55 of the longer side, 11 px at least), which a desktop keeps."""
    long_side = max(width, height)
    smallest = max(11, round(long_side / 55), -(-width * NUMBER_MIN_SHOWN_PX // PHONE_SHOWN_WIDTH))
    return max(smallest, round(long_side / 35)), smallest
