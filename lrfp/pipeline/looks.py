"""The pyramid's looks: the scales a frame is looked at, the tiles of each look, their cost in detector
pixels against the frame's budget, and the tiles a guided look spends them on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from PIL import Image

from lrfp.pipeline.boxes import FaceBox
from lrfp.pipeline.detectors import DetectorKind

# Each look runs in tiles of TILE detector pixels that overlap by OVERLAP (a face up to that size is
# whole in some tile), so memory is one tile at a time whatever the frame's size.
TILE = 1024
OVERLAP = 192
# A look after a coarser one that covered the whole frame need only keep whole the faces too small for
# that coarser look (under PYRAMID_STEP times the band's bottom): its tiles overlap by this many times
# the bottom of the band (69 px for CenterFace: about 6 % of extra pixels in place of 40 %).
FINE_OVERLAP = 3
# Reduced looks are 1/2, 1/4, ... of the frame. Steps of 4 cost less (the reduced looks 7 % of the look at
# the frame's own size, against 33 %) and found as many faces in most views of the train photos, but in
# the phone view (photos enlarged to 4032 px: big, blurred faces) 80 % of faces against 90 %
# (benchmarks/detection_views.py).
PYRAMID_STEP = 2
# The budget, in detector megapixels (the sum of the looks' tile areas), for a frame of F megapixels:
# BUDGET_PER_MP * F (every look over the whole frame: the reduced ones a third of it, the enlarged one
# four times it, and the tiles' overlaps), at least BUDGET_MIN_MP and at most BUDGET_MAX_MP. About 45-50
# ms per detector MP for int8 CenterFace and for RetinaFace in tiles of 640-1024 px on a 2-core AMD EPYC:
# a photo of up to 3 MP gets every look; a 4K frame its reduced looks, its own size and enlarged tiles
# around its small faces; a 12 MP photo its reduced looks and its own size; a 32-50 MP photo its reduced
# looks and tiles around what they found. (With a budget that grew more slowly, 1.5 F + 4 MP, frames of
# 3x3 train photos lost 5 points of faces found.)
BUDGET_PER_MP = 6.3
BUDGET_MIN_MP = 2.0
BUDGET_MAX_MP = 20.0
# Footage (`lrfp monitor`): a frame whose enlarged look is under this many px on its shorter side gets one
# more look, enlarged to it (a 320x240 frame: 3x beside its 2x, about 1.1 detector MP in all, less than a
# 640x480 frame's looks). The faces of 5-13 px at the back of such frames score under the enlarged look's 0.5
# at 2x and over it at 3x; at 4x fewer were found than at 3x (benchmarks/people_misses.py, the demo clips).
FOOTAGE_FINEST_SIDE = 720


def budget_mp(width: int, height: int) -> float:
    """Detector megapixels the pyramid may spend on a frame of this size."""
    frame = width * height / 1e6
    return min(BUDGET_MAX_MP, max(BUDGET_MIN_MP, BUDGET_PER_MP * frame))


@dataclass(frozen=True)
class Look:
    """One pass over a frame: resized by `scale`, keeping faces of `min_face` to `max_face` detector px
    (no bound when None) scored `min_score` or more, over `regions` (frame boxes; None: all of it), in
    tiles overlapping by `overlap`, with the detector `kind` (None: the FaceDetector's own)."""

    scale: float
    min_score: float
    min_face: float | None = None
    max_face: float | None = None
    regions: tuple[tuple[int, int, int, int], ...] | None = None
    overlap: int = OVERLAP
    kind: DetectorKind | None = None


def tiles(
    width: int,
    height: int,
    scale: float,
    tile: int = TILE,
    overlap: int = OVERLAP,
    region: tuple[int, int, int, int] | None = None,
) -> list[tuple[int, int, int, int]]:
    """Frame boxes (x0, y0, x1, y1) whose resizing by `scale` is at most `tile` px a side, overlapping by
    `overlap` detector px, covering `region` (default: the whole frame)."""
    x0, y0, x1, y1 = region or (0, 0, width, height)
    side = max(1, int(tile / scale))
    step = max(1, side - int(overlap / scale))
    out = []
    for top in range(y0, max(y0 + 1, y1 - side + step), step):
        for left in range(x0, max(x0 + 1, x1 - side + step), step):
            out.append((left, top, min(width, left + side), min(height, top + side)))
    return out


def pyramid_scales(
    width: int,
    height: int,
    fine: DetectorKind,
    reduced: DetectorKind,
    enlarge: float,
    step: int = PYRAMID_STEP,
    finest_side: int | None = None,
) -> list[float]:
    """The looks' scales, coarse to fine: 1/step, 1/step² ... of the frame until a face that fills the
    frame (its shorter side) is within the band of the coarsest look's detector (`reduced` below 1,
    `fine` at 1), then 1, then `enlarge` (when above 1), then, where the finest of these leaves the frame's
    shorter side under `finest_side` px, the scale that brings it there."""
    scales = [1.0]
    while min(width, height) * scales[0] > (reduced if scales[0] < 1 else fine).band[1]:
        scales.insert(0, scales[0] / step)
    scales += [enlarge] if enlarge > 1 else []
    if finest_side is not None and min(width, height) * scales[-1] < finest_side:
        scales.append(finest_side / min(width, height))
    return scales


# a frame box: x0, y0, x1, y1 in frame pixels
Region = tuple[int, int, int, int]


def cost_mp(boxes: Iterable[tuple[float, float, float, float]], scale: float) -> float:
    """Detector megapixels of looking at these frame boxes resized by `scale`."""
    return sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) * scale * scale / 1e6


def guided_regions(
    w: int,
    h: int,
    scale: float,
    coarser: float,
    coarser_kind: DetectorKind,
    found: list[FaceBox],
    budget: float,
    overlap: int,
) -> tuple[Region, ...]:
    """Frame boxes for a look at `scale` over part of the frame: tiles around the faces the coarser looks
    found near the bottom of their band (under twice its bottom at the look just coarser: a crowd
    whose smaller faces only this look sees). Each tile is centred on the most such faces one tile
    can hold, most first, as many as `budget` detector MP allow."""
    side = TILE / scale  # a tile, in frame px
    reach = (TILE - overlap) / scale / 2  # a centre this near the tile's centre is well inside it
    small = [((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2) for b in found if b.size * coarser < 2 * coarser_kind.band[0]]
    regions: list[Region] = []
    while small:

        def near(c: tuple[float, float]) -> list[tuple[float, float]]:
            return [o for o in small if abs(o[0] - c[0]) <= reach and abs(o[1] - c[1]) <= reach]

        group = max((near(c) for c in small), key=len)
        cx = (min(x for x, _ in group) + max(x for x, _ in group)) / 2
        cy = (min(y for _, y in group) + max(y for _, y in group)) / 2
        x0, y0 = min(max(0, cx - side / 2), max(0, w - side)), min(max(0, cy - side / 2), max(0, h - side))
        box = (int(x0), int(y0), min(w, int(x0 + side)), min(h, int(y0 + side)))
        if cost_mp([box], scale) > budget:
            break
        budget -= cost_mp([box], scale)
        regions.append(box)
        inner = (
            box[0] + overlap / scale / 2,
            box[1] + overlap / scale / 2,
            box[2] - overlap / scale / 2,
            box[3] - overlap / scale / 2,
        )
        # the group is covered, even where the frame's edge moved its tile off its centre
        small = [
            (x, y)
            for x, y in small
            if (x, y) not in group and not (inner[0] <= x <= inner[2] and inner[1] <= y <= inner[3])
        ]
    return tuple(regions)


@dataclass
class Search:
    """One detect() call: the frame, its budget and what was spent (detector MP), the looks' scales and what
    each spent, the faces found, and the frame's reductions, made once each."""

    image: Image.Image
    budget_mp: float
    spent_mp: float = 0.0
    looks: list[float] = field(default_factory=list)  # the scales looked at
    look_mp: dict[float, float] = field(default_factory=dict)  # detector MP of each look, by scale
    boxes: list[FaceBox] = field(default_factory=list)
    reduced_by: int = 1  # a frame enlarged beyond its detail is searched this many times smaller (detect.py)
    _reductions: dict[int, Image.Image] = field(default_factory=dict)  # the frame reduced 2**k times, by k

    def forget_reductions(self) -> None:
        """Free the frame's reductions (the search is over)."""
        self._reductions.clear()

    def reduced(self, scale: float) -> tuple[Image.Image, float]:
        """(the frame halved as often as a look at `scale` allows without enlarging it, frame px per its px)."""
        halvings = 0
        while scale * 2 ** (halvings + 1) <= 1 + 1e-9:
            halvings += 1
        if halvings not in self._reductions:
            base = max((k for k in self._reductions if k < halvings), default=0)
            source = self._reductions.get(base, self.image)
            self._reductions[halvings] = source.reduce(2 ** (halvings - base)) if halvings else self.image
        source = self._reductions[halvings]
        return source, self.image.width / source.width
