"""Face detection in whole scenes with one of the detectors of lrfp.pipeline.detectors.

Every photo gets a scale pyramid (FaceDetector): looks at 1/2, 1/4, ... of the frame for big faces, the
frame's own size, and the frame enlarged for the smallest faces, each keeping the faces in the band
of sizes its detector finds reliably, within a budget of detector pixels that grows with the frame.

The detectors (lrfp.pipeline.detectors), their backends (lrfp.pipeline.backends) and the boxes and their
merge (lrfp.pipeline.boxes) live in modules of their own; their names most callers use are importable
from here too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from lrfp.models.centerface import DetectorUnavailableError
from lrfp.pipeline.backends import (
    FINE_TUNED_GRAPH,
    CenterFaceBackend,
    FineTunedCenterFaceBackend,
    RetinaFaceBackend,
    session_options,
)
from lrfp.pipeline.boxes import FaceBox, LookBoxes, drop_unseen_pieces, inside, merge
from lrfp.pipeline.detail import ENLARGED_FROM, SEARCHED_AT, enlargement
from lrfp.pipeline.detectors import (
    DEFAULT_DETECTOR,
    DETECTORS,
    LIVE_DETECTOR,
    LIVE_SCALE,
    MAX_SIDE,
    UPSCALE,
    DetectorKind,
)
from lrfp.pipeline.looks import (
    BUDGET_MAX_MP,
    BUDGET_MIN_MP,
    BUDGET_PER_MP,
    FINE_OVERLAP,
    OVERLAP,
    PYRAMID_STEP,
    TILE,
    Look,
    Region,
    Search,
    budget_mp,
    cost_mp,
    guided_regions,
    pyramid_scales,
    tiles,
)

__all__ = [  # re-exported for callers of lrfp.pipeline.detect
    "BUDGET_MAX_MP",
    "BUDGET_MIN_MP",
    "OVERLAP",
    "PYRAMID_STEP",
    "TILE",
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "FINE_TUNED_GRAPH",
    "LIVE_DETECTOR",
    "LIVE_SCALE",
    "MAX_SIDE",
    "UPSCALE",
    "CenterFaceBackend",
    "DetectorKind",
    "DetectorUnavailableError",
    "FaceBox",
    "FaceDetector",
    "FineTunedCenterFaceBackend",
    "Look",
    "RetinaFaceBackend",
    "Search",
    "budget_mp",
    "cost_mp",
    "inside",
    "merge",
    "pyramid_scales",
    "session_options",
    "tiles",
]


class FaceDetector:
    """Finds faces in an RGB image of any size, with one of DETECTORS (default DEFAULT_DETECTOR).

    By default (`scale` None) a scale pyramid (pyramid_scales): coarse looks first, each over the whole
    frame while the budget (budget_mp; `budget_mp` overrides it) allows, then the finer looks only over
    the tiles around faces the coarser looks found near the bottom of their band (crowds of small
    faces), most crowded first, as many as the rest of the budget allows. Each look keeps the faces of
    its band (coarser looks find the bigger ones, a finer full look the smaller ones), and one merge keeps
    one box per face. `scale` (the live webcam's 0.5, say): one look at that scale, tiled, every face
    kept. `max_side` with `scale` gives the single look of earlier releases (retinaface, scale 3,
    max_side 2048), for comparisons. `min_score` / `enlarged_min_score` / `reduced_min_score` / `enlarge`: the
    confidence the looks at the frame's size, the enlarged looks and the reduced looks (the detector of
    `reduced_looks`) ask, and the finest look's enlargement (default: the detectors' own);
    `band`: another band of face sizes for the detector's own looks (comparisons); `finest_side`: small frames
    get one more enlarged look, to this many px on their shorter side (pyramid_scales; footage:
    FOOTAGE_FINEST_SIDE); `at_detail` (the pyramid's default): a frame enlarged ENLARGED_FROM times or more
    beyond its detail (lrfp.pipeline.detail) is searched reduced to SEARCHED_AT times its detail.
    """

    def __init__(
        self,
        detector: str = DEFAULT_DETECTOR,
        min_score: float | None = None,
        scale: float | None = None,
        min_size: int = 4,
        max_side: int | None = None,
        enlarged_min_score: float | None = None,
        enlarge: float | None = None,
        budget_mp: float | None = None,
        step: int = PYRAMID_STEP,
        band: tuple[int, int] | None = None,
        finest_side: int | None = None,
        at_detail: bool = True,
        reduced_min_score: float | None = None,
    ):
        if detector not in DETECTORS:
            raise ValueError(f"unknown face detector {detector!r}; known: {', '.join(DETECTORS)}")
        self.kind = DETECTORS[detector] if band is None else replace(DETECTORS[detector], band=(band[0], band[1]))
        self.reduced_kind = DETECTORS[self.kind.reduced_looks or detector]
        kinds = {k.name: k for k in (self.kind, self.reduced_kind)}
        self._backends = {name: kind.backend() for name, kind in kinds.items()}
        self.min_score = self.kind.min_score if min_score is None else min_score
        self.enlarged_min_score = self.kind.enlarged_min_score if enlarged_min_score is None else enlarged_min_score
        self.reduced_min_score = self.reduced_kind.min_score if reduced_min_score is None else reduced_min_score
        self.enlarge = self.kind.enlarge if enlarge is None else enlarge
        self.scale = scale
        self.min_size = min_size
        self.max_side = max_side
        self.budget_mp = budget_mp
        self.step = step
        self.finest_side = finest_side
        self.at_detail = at_detail

    def describe(self) -> dict[str, object]:
        """The settings, as records state them."""
        graph = {"graph": getattr(self._backends[self.kind.name], "precision", "fp32")}
        if self.scale is not None:
            return {
                "detector": self.kind.name,
                "looks": "one",
                "scale": self.scale,
                "max_side": self.max_side,
                "min_score": self.min_score,
            } | graph
        budget = (
            {"budget_mp": self.budget_mp}
            if self.budget_mp is not None
            else {"budget": {"per_mp": BUDGET_PER_MP, "min_mp": BUDGET_MIN_MP, "max_mp": BUDGET_MAX_MP}}
        )
        return (
            {
                "detector": self.kind.name,
                "looks": "pyramid",
                "band": list(self.kind.band),
                "enlarge": self.enlarge,
                "reduced_looks": self.reduced_kind.name,
                "reduced_band": list(self.reduced_kind.band),
                "step": self.step,
                "tile": TILE,
                "overlap": OVERLAP,
                "min_score": self.min_score,
                "enlarged_min_score": self.enlarged_min_score,
                "reduced_min_score": self.reduced_min_score,
            }
            | ({"finest_side": self.finest_side} if self.finest_side is not None else {})
            | ({"at_detail": {"enlarged_from": ENLARGED_FROM, "searched_at": SEARCHED_AT}} if self.at_detail else {})
            | budget
            | graph
        )

    def detect(self, image: Image.Image) -> list[FaceBox]:
        """Boxes in the image's own pixels, sorted left to right; [] for an empty or tiny image."""
        return self.search(image).boxes

    def search(self, image: Image.Image) -> Search:
        """detect(), with what it cost (Search)."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        search = Search(rgb, budget_mp(*image.size) if self.budget_mp is None else self.budget_mp)
        w, h = image.size
        if w < 8 or h < 8:
            return search
        if self.scale is not None and self.max_side is not None:  # the earlier single look, untiled
            s = min(self.scale, self.max_side / max(w, h))
            search.spent_mp = cost_mp([(0, 0, w, h)], s)
            found = self._look_at(search.image, 1.0, (0, 0, w, h), s, Look(s, self.min_score))
        elif self.scale is not None:
            found = merge(self._look(search, Look(self.scale, self.min_score)))
        else:
            found = self._at_detail(search) if self.at_detail else self._merged(search)
        search.boxes = sorted((b for b in found if b.size >= self.min_size), key=lambda b: (b.x0, b.y0))
        search.forget_reductions()  # a quarter of the frame's memory, no longer needed while its faces are classified
        return search

    def _at_detail(self, search: Search) -> list[FaceBox]:
        """The pyramid's faces, searched on the frame reduced to SEARCHED_AT times its detail where it is
        enlarged ENLARGED_FROM times or more: a small picture blown up to a phone photo's size showed the
        finer looks blurred blobs (hands, bags, folds) at a size no photo of a real face has, and they boxed
        them as faces, however sure the face check was (docs/detection.md, "Enlarged pictures")."""
        enlarged = enlargement(search.image)
        if enlarged < ENLARGED_FROM:
            return self._merged(search)
        k = enlarged // SEARCHED_AT
        small = search.image.reduce(k)
        inner = Search(small, budget_mp(*small.size) if self.budget_mp is None else self.budget_mp)
        found = self._merged(inner)
        search.spent_mp, search.looks, search.reduced_by = inner.spent_mp, [s / k for s in inner.looks], k
        search.look_mp = {s / k: mp for s, mp in inner.look_mp.items()}
        w, h = search.image.size
        return [
            FaceBox(b.x0 * k, b.y0 * k, min(w, b.x1 * k), min(h, b.y1 * k), b.score, b.look) for b in found
        ]  # fmt: skip

    def _merged(self, search: Search) -> list[FaceBox]:
        """The pyramid's boxes of every look as one face each: merged, and the pieces of a face that no coarser
        look saw dropped (lrfp.pipeline.boxes)."""
        looks = self._pyramid(search)
        return drop_unseen_pieces(merge([b for look in looks for b in look.boxes]), looks)

    def _pyramid(self, search: Search) -> list[LookBoxes]:
        w, h = search.image.size
        scales = pyramid_scales(w, h, self.kind, self.reduced_kind, self.enlarge, self.step, self.finest_side)
        kinds = [self.reduced_kind if s < 1 else self.kind for s in scales]
        overlaps = [OVERLAP] + [FINE_OVERLAP * k.band[0] for k in kinds[1:]]
        # the coarse looks that fit the budget together cover the whole frame; the finer ones are guided
        full, total = 0, 0.0
        for s, overlap in zip(scales, overlaps):
            total += cost_mp(tiles(w, h, s, overlap=overlap), s)
            if total > search.budget_mp and full:
                break
            full += 1
        for s in sorted(scales):  # the reductions, each from the last (Search.reduced)
            search.reduced(s)
        found: list[FaceBox] = []
        looks: list[LookBoxes] = []
        for i, (s, kind, overlap) in enumerate(zip(scales, kinds, overlaps)):
            own = self.min_score if kind is self.kind else self.reduced_min_score
            score = self.enlarged_min_score if s > 1 else own
            lo, hi = kind.band
            # the coarsest look keeps any big face; a look keeps faces under its band only when no finer
            # look covers the whole frame after it
            look = Look(s, score, lo if i + 1 < full else None, hi if i else None, None, overlap, kind)
            if i >= full:
                regions = guided_regions(
                    w, h, s, scales[i - 1], kinds[i - 1], found, search.budget_mp - search.spent_mp, overlap
                )
                if not regions:
                    break
                look = Look(s, score, None, hi, regions, overlap, kind)
            before = search.spent_mp
            looks.append(LookBoxes(s, kind.band, look.regions is None, self._look(search, look)))
            found += looks[-1].boxes
            search.looks.append(s)
            search.look_mp[s] = search.spent_mp - before
        return looks

    def _look(self, search: Search, look: Look) -> list[FaceBox]:
        """Faces of one look, in frame pixels. A reduced look works on the frame reduced by a power of 2
        (Search.reduced), in tiles of that reduced image."""
        source, factor = search.reduced(look.scale)
        scale = look.scale * factor  # source px -> detector px
        regions: list[Region | None] = [None]
        if look.regions is not None:
            regions = [
                (round(x0 / factor), round(y0 / factor), round(x1 / factor), round(y1 / factor))
                for x0, y0, x1, y1 in look.regions
            ]
        boxes: list[FaceBox] = []
        boxes_of = (tiles(source.width, source.height, scale, overlap=look.overlap, region=r) for r in regions)
        for tile in dict.fromkeys(t for boxes in boxes_of for t in boxes):
            search.spent_mp += cost_mp([tile], scale)
            boxes += self._look_at(source, factor, tile, scale, look)
        return boxes

    def _look_at(self, source: Image.Image, factor: float, box: Region, scale: float, look: Look) -> list[FaceBox]:
        """Faces in one box of `source` resized by `scale`, in frame pixels (`factor` of them per source px)."""
        x0, y0, x1, y1 = box
        work = source.crop(box) if (x1 - x0, y1 - y0) != source.size else source
        if abs(scale - 1.0) > 1e-6:
            work = work.resize(
                (max(8, round(work.width * scale)), max(8, round(work.height * scale))), Image.Resampling.BILINEAR
            )
        sx, sy = work.width / (x1 - x0) / factor, work.height / (y1 - y0) / factor  # detector px per frame px
        left, top, right, bottom = x0 * factor, y0 * factor, x1 * factor, y1 * factor
        out = []
        detect = self._backends[(look.kind or self.kind).name]
        for dx0, dy0, dx1, dy1, score in detect(np.asarray(work), look.min_score).tolist():
            size = min(dx1 - dx0, dy1 - dy0)
            if (look.max_face is not None and size > look.max_face) or (
                look.min_face is not None and size < look.min_face
            ):
                continue
            out.append(
                FaceBox(
                    round(max(left, left + dx0 / sx)),
                    round(max(top, top + dy0 / sy)),
                    round(min(right, left + dx1 / sx)),
                    round(min(bottom, top + dy1 / sy)),
                    score,
                    look.scale,
                )
            )
        return out
