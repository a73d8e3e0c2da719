"""Where the tags of an annotated photo go: beside their face's box, never on another tag, and on no other
face's box where there is room.

In a crowd the faces' boxes touch, and a tag drawn at the same place above every box lands on its
neighbours' (a 49-face photo hid numbers under others, and a tag beside its own face covered the next
face). Each tag takes the first place around its box that covers neither another tag nor another face;
the tags shrink, down to a floor, until every one has such a place touching its box; past the floor a
tag goes to the nearest such place around, and annotate() joins it to its box by a line; only where
there is none does it cover another face, touching its own box.
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

    A tag prefers a place touching its own box that covers no other face's box; with `far`, then the nearest
    place around that covers none; then a place touching its box (with `far`, the nearest) that covers
    another face. None where no place is free of other tags.
    """
    placed: list[Rect] = []
    out: list[Rect | None] = []
    for i, ((w, h), box) in enumerate(zip(sizes, boxes)):
        best = _best_spot(_clamped(_spots(box, w, h, far=False), w, h, width, height), i, boxes, placed, far)
        if far and (best is None or best[0]):  # no place by the box clear of other faces: look around it
            around = _best_spot(_clamped(_spots(box, w, h, far=True), w, h, width, height), i, boxes, placed, far)
            best = around if best is None or (around is not None and around < best) else best
        rect = best[-1] if best is not None else None
        if rect is not None:
            placed.append(rect)
        out.append(rect)
    return out


def _clamped(spots: list[tuple[int, int]], w: int, h: int, width: int, height: int) -> list[Rect]:
    """The tag's rectangles at SPOTS, each moved inside the image."""
    rects = []
    for x, y in spots:
        x, y = min(max(0, x), max(0, width - w)), min(max(0, y), max(0, height - h))
        rects.append((x, y, x + w, y + h))
    return rects


def _best_spot(
    rects: list[Rect], own: int, boxes: list[Rect], placed: list[Rect], far: bool
) -> tuple[bool, int, int, Rect] | None:
    """(covers another face, pixels from its box, rank, rectangle) of the best of RECTS for the tag of
    boxes[OWN]: free of the tags PLACED, touching its box unless `far`; None when none is."""
    box = boxes[own]
    # only what lies where the tag may go is compared (a 500-face crowd: 500 neighbours per spot otherwise)
    reach = (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))
    others = [b for j, b in enumerate(boxes) if j != own and overlaps(b, reach)]
    tags_near = [p for p in placed if overlaps(p, reach)]
    best = None
    for rank, rect in enumerate(rects):
        distance = gap(rect, box)
        if (distance and not far) or any(overlaps(rect, p) for p in tags_near):
            continue
        key = (any(overlaps(rect, b) for b in others), distance, rank, rect)
        if best is None or key < best:
            best = key
    return best


def covering(spots: list[Rect | None], boxes: list[Rect]) -> int:
    """How many of the tags at SPOTS (one per box of BOXES) cover a face's box other than their own."""
    return sum(
        1
        for i, spot in enumerate(spots)
        if spot is not None and any(overlaps(spot, b) for j, b in enumerate(boxes) if j != i)
    )


# A phone shows an annotated photo about 360 px wide (a 390 px screen less the page's margins): the number
# tags must be read at that width, so their font is a share of the image's width, not of its longer side.
PHONE_SHOWN_WIDTH = 358
TAG_MIN_SHOWN_PX = 12  # the smallest tag text on a screen, in CSS px (Streamlit's captions are 14)


def shown_floor(width: int, shown_width: int) -> int:
    """The font size, in pixels of a WIDTH-wide image, that is TAG_MIN_SHOWN_PX once the image is shown SHOWN_WIDTH
    wide (0 for an image not shown at a known width)."""
    return -(-width * TAG_MIN_SHOWN_PX // shown_width) if shown_width else 0


def number_font_px(width: int, height: int) -> tuple[int, int]:
    """(largest, smallest) font size, in pixels of the annotated image, of the number tags of a WIDTH x HEIGHT
    image: at least TAG_MIN_SHOWN_PX once the image is shown PHONE_SHOWN_WIDTH wide, and never smaller
    than the earlier sizes (1/35 and 1/55 of the longer side, 11 px at least), which a desktop keeps."""
    return _font_px(width, height, 35, 55, PHONE_SHOWN_WIDTH)


def label_font_px(width: int, height: int, shown_width: int = 0) -> tuple[int, int]:
    """(largest, smallest) font size of the label tags ("without mask 91%"): long, so smaller than numbers to
    keep a crowd readable (1/75 and 1/110 of the longer side, 11 px at least); an image a page shows
    SHOWN_WIDTH wide (CSS px) gets them TAG_MIN_SHOWN_PX high there at least."""
    return _font_px(width, height, 75, 110, shown_width)


def _font_px(width: int, height: int, largest_share: int, smallest_share: int, shown_width: int) -> tuple[int, int]:
    """(largest, smallest) font size: 1/LARGEST_SHARE and 1/SMALLEST_SHARE of the longer side, 11 px at least,
    and the smallest readable where the image is shown SHOWN_WIDTH wide (shown_floor)."""
    long_side = max(width, height)
    smallest = max(11, round(long_side / smallest_share), shown_floor(width, shown_width))
    return max(smallest, round(long_side / largest_share)), smallest
