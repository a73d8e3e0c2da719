"""Whole-scene analysis: detect faces, classify them a batch at a time, draw the result.

The Classify page (uploads, camera snapshots, live webcam), `lrfp scene` and `lrfp monitor` (video frames,
live streams) share this code, so the bound on faces per image (MAX_FACES) holds for each of them.
"""

from __future__ import annotations

import ctypes
import io
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

from lrfp.core import labels
from lrfp.data.formats import ACCEPTED_FORMATS
from lrfp.data.images import FACE_CROP_MAX_SIDE, load_image
from lrfp.pipeline import tags
from lrfp.pipeline.detect import FaceBox, FaceDetector
from lrfp.pipeline.inference import NOT_FACE_AT, UNSURE, Classifier
from lrfp.pipeline.upload_limits import MAX_FACES, UPLOAD_SLOTS

MODES = (
    "auto",
    "scene",
    "face",
)  # auto: an image of at most data.FACE_CROP_MAX_SIDE that the face check finds a face in is one face crop
# Scenes (uploads, `lrfp scene`, the scene benchmark) are read at their full resolution, up to
# data.MAX_PIXELS: the detection stage works tile by tile (lrfp.pipeline.detect), every face is cropped from
# the full image, and only what is shown is shrunk.
INCORRECT = labels.INCORRECT  # the third class, as the source annotations spell it
# Faces classified at once: their crops are made a batch at a time and the classifier's buffers hold one
# batch. All 4,661 faces of a 10,000-face mosaic in one batch took the server from 0.8 to 5.8 GB, and it
# held 5.4 GB a minute later (benchmarks/upload_memory.py).
FACE_BATCH = 64
COLORS = {label.name: label.color for label in labels.LABELS}
REJECTED_TEXT, REJECTED_COLOR = "not a face", (128, 128, 128)  # a box the face check dropped, drawn on request


@dataclass
class FaceResult:
    box: FaceBox
    label: str
    probability: float | None  # None: too small to judge
    face_score: float | None = None  # the face check's probability of a face; None where it did not look


@dataclass
class SceneResult:
    mode: str  # "face" (the whole image is one face) or "scene"
    faces: list[FaceResult] = field(default_factory=list)  # the faces analysed
    # faces the detector found beyond the MAX_FACES analysed (only those it was surest of are)
    unanalysed: int = 0
    rejected: list[FaceBox] = field(default_factory=list)  # boxes the face check found no face in: not counted
    detect_ms: float = 0.0
    classify_ms: float = 0.0  # the face check's time included
    detect_mp: float = 0.0  # detector megapixels looked at (the detection stage's budget counts them)

    @property
    def total_ms(self) -> float:
        return self.detect_ms + self.classify_ms

    @property
    def found(self) -> int:
        """Faces the detector found, analysed or not."""
        return len(self.faces) + self.unanalysed

    def counts(self) -> dict[str, int | float | None]:
        """Faces found, by label (lrfp.core.labels.COUNT_COLUMNS); compliance is the share of the faces that
        could be judged (neither too small nor "can't tell") that wear a mask properly (a mask worn incorrectly
        does not count)."""
        counts = labels.count(f.label for f in self.faces)
        return counts | {"compliance": labels.compliance(counts)}


# what analyze() reports after each batch: (faces classified so far, faces to classify)
Progress = Callable[[int, int], object]


def analyze(
    image: Image.Image,
    classifier: Classifier,
    detector: FaceDetector | None,
    mode: str = "auto",
    progress: Progress | None = None,
) -> SceneResult:
    """Classify one image: as a single face crop, or the faces a detector finds in it, at most MAX_FACES
    (strongest()), FACE_BATCH at a time; PROGRESS, when given, hears after the detection and each batch."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    image = image if image.mode == "RGB" else image.convert("RGB")  # convert copies even an RGB image: 150 MB at 50 MP
    whole_checked = None  # the face check's answer on the whole image, where "auto" asked it: not asked again
    if mode == "auto":
        mode, whole_checked = _auto_mode(image, classifier, detector)
    result = SceneResult(mode)
    if mode == "face":
        boxes = [FaceBox(0, 0, image.width, image.height, 1.0)]
    else:
        if detector is None:
            raise ValueError("scene mode needs a face detector")
        t0 = time.perf_counter()
        search = detector.search(image)  # tile by tile: memory bounded whatever the image's size
        boxes, result.detect_mp = strongest(search.boxes, MAX_FACES), search.spent_mp
        result.unanalysed = len(search.boxes) - len(boxes)
        result.detect_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    for start in range(0, len(boxes), FACE_BATCH):
        if progress:
            progress(start, len(boxes))
        batch = boxes[start : start + FACE_BATCH]
        crops = [_crop(image, b) for b in batch]  # this batch's crops only
        checked: list[float | None] = [None] * len(batch)
        if mode == "scene":  # a box the face check finds no face in is neither counted nor drawn
            not_face = classifier.not_face_probabilities(crops)
            no_face = [p is not None and p >= NOT_FACE_AT for p in not_face]
            result.rejected += [b for b, no in zip(batch, no_face) if no]
            kept = [i for i, no in enumerate(no_face) if not no]
            batch, crops = [batch[i] for i in kept], [crops[i] for i in kept]
            checked = [None if not_face[i] is None else 1.0 - not_face[i] for i in kept]  # type: ignore[operator]
        else:  # one face crop, as asked: answered all the same, the check's doubt kept for the page to say
            not_face = whole_checked or classifier.not_face_probabilities(crops)  # one crop: the image itself
            checked = [None if p is None else 1.0 - p for p in not_face]
        preds = classifier.predict(crops) if crops else []
        result.faces += [FaceResult(b, p.label, p.probability, s) for b, p, s in zip(batch, preds, checked)]
    if progress:
        progress(len(boxes), len(boxes))
    result.classify_ms = (time.perf_counter() - t0) * 1000 if boxes else 0.0  # the face check's time included
    return result


def _auto_mode(
    image: Image.Image, classifier: Classifier, detector: FaceDetector | None
) -> tuple[str, list[float | None] | None]:
    """How "auto" takes IMAGE, "face" (one face crop) or "scene", and the face check's answer on it where it
    asked: a small image is one face crop, unless the face check finds no face in it (a small picture of a
    sign or a jacket); then the detector looks for faces in it like any scene."""
    if detector is None:
        return "face", None
    if min(image.size) > FACE_CROP_MAX_SIDE:
        return "scene", None
    not_face = classifier.not_face_probabilities([image])
    return ("face" if not_face[0] is None or not_face[0] < NOT_FACE_AT else "scene"), not_face


def strongest(boxes: list[FaceBox], most: int) -> list[FaceBox]:
    """The MOST boxes the detector scored highest (of equal scores, the earlier), in their own order: what
    an image with more faces than MAX_FACES gets analysed."""
    if len(boxes) <= most:
        return boxes
    kept = set(sorted(range(len(boxes)), key=lambda i: -boxes[i].score)[:most])
    return [box for i, box in enumerate(boxes) if i in kept]


def cap_note(analysed: int, found: int) -> str:
    """What the Classify page and `lrfp scene` say of images with more faces found than were analysed."""
    return (
        f"{analysed:,} of {found:,} faces analysed: at most {MAX_FACES:,} per image, those the detector was surest of"
    )


def _crop(image: Image.Image, box: FaceBox) -> Image.Image:
    """The box's part of the image; the image itself when the box is all of it (a crop would copy it)."""
    if (box.x0, box.y0, box.x1, box.y1) == (0, 0, image.width, image.height):
        return image
    return image.crop((box.x0, box.y0, box.x1, box.y1))


def analyze_upload(
    data: bytes,
    name: str,
    classifier: Classifier,
    detector: FaceDetector | None,
    mode: str = "auto",
    visitor: Hashable | None = None,
    progress: Progress | None = None,
) -> tuple[Image.Image, SceneResult]:
    """An uploaded file, decoded at full resolution and analysed, holding one of UPLOAD_SLOTS in
    VISITOR's turn (the app's browser session; without one, the call is a visitor of its own).

    BadImageError (naming the file) for anything that is not an accepted image or is over the
    pixel limit; the limit is checked from the header, before any pixel is decoded.
    """
    with UPLOAD_SLOTS.turn(visitor):
        try:
            image = load_image(io.BytesIO(data), formats=ACCEPTED_FORMATS, name=name)
            return image, analyze(image, classifier, detector, mode, progress)
        finally:
            _release_freed_memory()


def _release_freed_memory() -> None:
    """Hand memory freed by an upload back to the system (glibc only).

    Each server thread allocates from its own malloc arena, so without this the decode and
    detection buffers of uploads handled by different threads add up in the process's resident
    memory even though they never overlap in time.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def annotate(
    image: Image.Image,
    result: SceneResult,
    fps: float | None = None,
    numbered: bool = False,
    min_long_side: int = 0,
    max_long_side: int = 0,
    rejected: bool = False,
    shown_width: int = 0,
) -> Image.Image:
    """A copy of the image with each face boxed in its class colour and tagged; with `rejected`, the boxes the
    face check dropped too, in grey, tagged REJECTED_TEXT (for a look at them: they are never counted).

    The tag is the face's label and probability, or with `numbered` its number (1, 2, … as in
    the page's table), beside its box and never on another tag (lrfp.pipeline.tags): in a crowd the tags
    shrink, and one with no room by its face is drawn nearby with a line to its box.
    `min_long_side` enlarges a small photo first so boxes and tags stay readable on screen, and
    `max_long_side` shrinks a big one to what a screen shows (the analysis used every pixel); tags
    and lines are sized to the image, and with `shown_width` (the narrowest a page shows it, in CSS px)
    label tags stay readable there (lrfp.pipeline.tags.label_font_px).
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")  # convert copies even an RGB image: 150 MB at 50 MP
    side = max(image.size)
    target = (
        min_long_side
        if min_long_side and side < min_long_side
        else max_long_side
        if max_long_side and side > max_long_side
        else 0
    )
    if target:  # a new image either way: the caller's stays as it was
        factor = target / side
        out = rgb.resize(
            (round(rgb.width * factor), round(rgb.height * factor)), Image.Resampling.LANCZOS, reducing_gap=2.0
        )
    else:
        out = rgb.copy() if rgb is image else rgb
    factor = out.width / max(1, image.width)
    draw = ImageDraw.Draw(out)
    width = max(1, round(max(out.size) / 400))
    shown = [f.box for f in result.faces] + (result.rejected if rejected else [])
    boxes: list[tags.Rect] = [
        (round(b.x0 * factor), round(b.y0 * factor), round(b.x1 * factor), round(b.y1 * factor)) for b in shown
    ]
    texts = [
        str(number)
        if numbered
        else labels.text(face.label)
        if face.probability is None or face.label == UNSURE
        else f"{labels.text(face.label)} {face.probability:.0%}"
        for number, face in enumerate(result.faces, 1)
    ] + [REJECTED_TEXT] * (len(shown) - len(result.faces))
    font, spots = _tag_layout(draw, texts, boxes, out.size, numbered, shown_width)
    colors = [COLORS.get(face.label, (255, 200, 0)) for face in result.faces]
    colors += [REJECTED_COLOR] * (len(shown) - len(result.faces))
    if result.mode == "scene":
        for (x0, y0, x1, y1), color in zip(boxes, colors):
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=color, width=width)
    for text, box, spot, color in zip(texts, boxes, spots, colors):
        if spot is None:  # no free place in the whole image: the page's table still lists the face
            continue
        if tags.gap(spot, box):  # a tag pushed away from its face: a line says whose it is
            draw.line((_nearest(spot, box), _nearest(box, spot)), fill=color, width=width)
        draw.rectangle((spot[0], spot[1], spot[2] - 1, spot[3] - 1), fill=color)  # PIL includes the far edge
        left, top, _, _ = draw.textbbox((0, 0), text, font=font)
        draw.text((spot[0] + width - left, spot[1] + width - top), text, fill=(255, 255, 255), font=font)
    if fps is not None:
        draw.text((4, out.height - 4), f"{fps:.1f} FPS", fill=(255, 255, 0), font=font, anchor="ld")
    return out


def _tag_layout(
    draw: ImageDraw.ImageDraw,
    texts: list[str],
    boxes: list[tags.Rect],
    size: tuple[int, int],
    numbered: bool,
    shown_width: int = 0,
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, list[tags.Rect | None]]:
    """(font, a rectangle or None per tag): the largest font at which every tag touches its box and covers
    no other face, down to a floor still readable on screen; at the floor, tags with no such room by their
    box go nearby (lrfp.pipeline.tags.place)."""
    pad = max(1, round(max(size) / 400))
    # a number tag can be big; a label tag is long, so smaller, to keep crowds readable
    if numbered:  # numbers stay readable on a phone, where the photo is shown about 360 px wide
        largest, smallest = tags.number_font_px(*size)
    else:
        largest, smallest = tags.label_font_px(*size, shown_width)
    for px in sorted({largest, round(largest * 0.8), round(largest * 0.65), smallest}, reverse=True):
        if px < smallest:
            continue
        font = ImageFont.load_default(size=px)
        extents = [draw.textbbox((0, 0), text, font=font) for text in texts]
        # int(): a FreeType font's box is whole pixels already (Pillow types it as float)
        sizes = [(int(right - left) + 2 * pad, int(bottom - top) + 2 * pad) for left, top, right, bottom in extents]
        spots = tags.place(sizes, boxes, *size)
        if all(spots) and not tags.covering(spots, boxes):
            return font, spots
    return font, tags.place(sizes, boxes, *size, far=True)


def _nearest(a: tags.Rect, b: tags.Rect) -> tuple[int, int]:
    """The point of rectangle a nearest to rectangle b."""
    return (min(max(a[0], b[0]), a[2] - 1), min(max(a[1], b[1]), a[3] - 1))
