"""The whole pipeline on whole photos, as users send them: detector + classifier against labelled boxes.

Matching rule: for each photo, detected boxes and labelled faces are paired one to one, highest
IoU first; a pair needs IoU >= 0.3 (the detector's boxes hold more hair and chin than the
labels, so the usual 0.5 undercounts found faces). A labelled face of a class the model does not
know (mask_weared_incorrect for a two-class model) is left out of every figure, and a detection
paired with it is not counted as unmatched.

Views: the same labelled photos as other cameras would give them, so that no setting can be tuned to
one data set's face sizes: `1x` (as they are), `enlarged-K` (each photo K times bigger: bigger faces),
`tiled-KxK` (K x K photos side by side in one frame: the same faces in a bigger frame, as an HD or 4K
camera), `phone` (each photo resized to a 12 MP phone photo's 4032 px long side), `closeup` (the photos
holding a face of 128 px or more, at 4032 px), and `pasted` (the biggest whole face of 64 px or more of
each photo that has one, pasted alone at
8, 16, 32, ... 2048 and 3000 px, once on grey and once on its own photo stretched behind it, its faces
painted over). `recall_by_size` bins faces in the photo's own
pixels, so a view's figures compare face by face; `recall_by_frame_size` bins them in the frame's pixels,
as the detector saw them.

Figures: recall by the labelled face's size (< 16, 16-32, >= 32 px, shorter side); accuracy and
balanced accuracy of the found faces that could be judged (not too small, not "can't tell"), with 95 %
intervals; the end-to-end rate (labelled faces found AND labelled right, over all labelled faces);
detections that match no labelled face, per photo, and those of them answered "can't tell"; found faces
answered "can't tell"; milliseconds per photo (median). The pasted view also counts the boxes on its one
face at each size (`boxes_per_face`: a box mostly inside the pasted crop, or holding most of the face): one
face should get exactly one box, never a box for its upper half beside the whole face.
Every frame's labelled faces and kept boxes, each with its detector score and look, are kept in the record
(`frames`), so that a higher score can be judged without running the detector again (lrfp.evaluation.thresholds).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageStat

from lrfp.core.metrics import FACE_SIZE_BINS, FRAME_FACE_BINS, balanced_accuracy, size_bin, wilson_interval
from lrfp.core.progress import bar
from lrfp.data.voc import IOU_MATCH, match, read_labelled_photo
from lrfp.pipeline.boxes import inside
from lrfp.pipeline.inference import TOO_SMALL, UNSURE
from lrfp.pipeline.scene import analyze

VIEWS = ("1x", "enlarged-2", "enlarged-3", "enlarged-4", "tiled-2x2", "tiled-3x3", "phone", "closeup", "pasted")
PHONE_SIDE = 4032  # the long side of a 12 MP phone photo
CLOSEUP_FACE = 128  # the closeup view: photos holding a face of at least this many px
PASTED_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3000)
PASTED_MIN_FACE = 64  # the pasted view uses photos holding a face of this many px or more (own photo px)
PASTED_MARGIN = 0.25  # the pasted crop reaches this share of the face beyond each side of its box (hair, chin)


@dataclass
class Frame:
    """What the pipeline is given: one image, its labelled faces in its pixels, and each face's size in
    its own photo's pixels (for the size bins)."""

    image: Image.Image
    objects: list  # (class, box in frame pixels, shorter side in the photo's own pixels)
    photos: int


def view_frames(photos, view: str):
    """The frames of one view of a sequence of LabelledPhotos (a generator: one frame in memory at a time)."""
    if view == "1x":
        for photo in photos:
            yield Frame(photo.image, _own(photo), 1)
    elif view.startswith("enlarged-"):
        k = float(view.split("-", 1)[1])
        for photo in photos:
            yield _resized(photo, k)
    elif view in ("phone", "closeup"):
        for photo in photos:
            if view == "phone" or max(side for _, _, side in _own(photo)) >= CLOSEUP_FACE:
                yield _resized(photo, PHONE_SIDE / max(photo.image.size))
    elif view == "pasted":
        for photo in photos:
            if _pasted_face(photo) is None:
                continue
            for size in PASTED_SIZES:
                for background in ("grey", "own photo"):
                    yield pasted(photo, size, background)
    elif view.startswith("tiled-"):
        k = int(view.split("-", 1)[1].split("x")[0])
        group = []
        for photo in photos:
            group.append(photo)
            if len(group) == k * k:
                yield _tiled(group, k)
                group = []
        if group:
            yield _tiled(group, k)
    else:
        raise ValueError(f"unknown view {view!r}; known: {', '.join(VIEWS)} (enlarged-K, tiled-KxK)")


def _own(photo) -> list:
    """(class, box in the image's pixels, shorter side in the photo's own pixels) of each labelled face."""
    return [
        (label, box, min(box[2] - box[0], box[3] - box[1]) / photo.scale)
        for (label, _), box in zip(photo.objects, photo.boxes)
    ]


def _resized(photo, k: float) -> Frame:
    image = photo.image.resize((round(photo.image.width * k), round(photo.image.height * k)), Image.Resampling.BICUBIC)
    return Frame(image, [(label, tuple(v * k for v in box), side) for label, box, side in _own(photo)], 1)


def _pasted_face(photo):
    """The photo's biggest face of PASTED_MIN_FACE px or more whose crop (with its margin) is whole inside the
    photo, or None: a face cut by the photo's edge, or one so small that its enlargement is mostly blur,
    tests nothing a camera would show."""

    def whole(box):
        m = PASTED_MARGIN * min(box[2] - box[0], box[3] - box[1])
        return (
            box[0] - m >= 0 and box[1] - m >= 0 and box[2] + m <= photo.image.width and box[3] + m <= photo.image.height
        )

    faces = [f for f in _own(photo) if f[2] >= PASTED_MIN_FACE and whole(f[1])]
    return max(faces, key=lambda f: f[2]) if faces else None


def pasted(photo, size: int, background: str, frame_size: tuple[int, int] | None = None) -> Frame:
    """The photo's biggest face (_pasted_face), its shorter side resized to `size`, alone in a frame of
    `frame_size` (default: 4:3, its height a quarter more than the face's, at least 640x480), on grey or
    on its own photo stretched to the frame with every labelled face painted over in the photo's mean
    colour (a street with no face of its own)."""
    label, (x0, y0, x1, y1), _ = _pasted_face(photo)
    k = size / min(x1 - x0, y1 - y0)
    height = max(480, round(max(x1 - x0, y1 - y0) * k * 1.25))
    width, height = frame_size or (round(height * 4 / 3), height)
    if background == "grey":
        frame = Image.new("RGB", (width, height), (128, 128, 128))
    else:
        street = photo.image.convert("RGB")
        draw, mean = ImageDraw.Draw(street), tuple(round(v) for v in ImageStat.Stat(street).mean)
        for box in photo.boxes:
            draw.rectangle(box, fill=mean)
        frame = street.resize((width, height), Image.Resampling.BICUBIC)
    m = PASTED_MARGIN * min(x1 - x0, y1 - y0)
    crop = photo.image.crop((round(x0 - m), round(y0 - m), round(x1 + m), round(y1 + m))).convert("RGB")
    crop = crop.resize((max(1, round(crop.width * k)), max(1, round(crop.height * k))), Image.Resampling.BICUBIC)
    left, top = (width - crop.width) // 2 + width // 10, (height - crop.height) // 2  # off centre, as people stand
    frame.paste(crop, (left, top))
    box = (left + m * k, top + m * k, left + m * k + (x1 - x0) * k, top + m * k + (y1 - y0) * k)
    return Frame(frame, [(label, box, min(x1 - x0, y1 - y0))], 1)


def _tiled(group, k: int) -> Frame:
    cell_w, cell_h = max(p.image.width for p in group), max(p.image.height for p in group)
    frame = Image.new("RGB", (cell_w * k, cell_h * k), (128, 128, 128))
    objects = []
    for i, photo in enumerate(group):
        dx, dy = (i % k) * cell_w, (i // k) * cell_h
        frame.paste(photo.image, (dx, dy))
        objects += [
            (label, (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy), side) for label, box, side in _own(photo)
        ]
    return Frame(frame, objects, len(group))


def scene_benchmark(xml_files: list[Path], classifier, detector, view: str = "1x") -> dict:
    """Run the pipeline on each annotated photo and score it (see the module's matching rule)."""
    classes = list(classifier.classes)
    found_by_bin: Counter[str] = Counter()  # faces by size bin
    labelled_by_bin: Counter[str] = Counter()
    found_by_frame_bin: Counter[str] = Counter()
    labelled_by_frame_bin: Counter[str] = Counter()
    ms_by_frame_bin: dict[str, list[float]] = {}
    truth, predicted = [], []
    end_to_end = unmatched = labelled = seen = found_unsure = unmatched_unsure = 0
    ms = []
    boxes_on_face: dict[int, list[int]] = {}  # the pasted view: pasted size -> boxes on the face, per frame
    kept: list[dict] = []  # every frame's labelled faces and boxes (frame_record)
    photos = (read_labelled_photo(x) for x in bar(xml_files, desc="photos", unit="photo"))
    for frame in view_frames(photos, view):
        t0 = time.perf_counter()
        result = analyze(frame.image, classifier, detector, "scene")
        ms.append((time.perf_counter() - t0) * 1000 / frame.photos)
        seen += frame.photos
        faces = [(f.box.x0, f.box.y0, f.box.x1, f.box.y1) for f in result.faces]
        boxes = [box for _, box, _ in frame.objects]
        pairing = match(boxes, faces)
        if view == "pasted":
            size = round(min(boxes[0][2] - boxes[0][0], boxes[0][3] - boxes[0][1]))
            boxes_on_face.setdefault(size, []).append(_on_face(boxes[0], faces))
        kept.append(frame_record(frame, result))
        unmatched += len(faces) - len(pairing)
        paired = set(pairing.values())
        unmatched_unsure += sum(f.label == UNSURE for j, f in enumerate(result.faces) if j not in paired)
        for i, (label, box, side) in enumerate(frame.objects):
            if label not in classes:  # not scored; its detection is not a false one either
                continue
            labelled += 1
            name, frame_name = size_bin(side), size_bin(min(box[2] - box[0], box[3] - box[1]), FRAME_FACE_BINS)
            labelled_by_bin[name] += 1
            labelled_by_frame_bin[frame_name] += 1
            ms_by_frame_bin.setdefault(frame_name, []).append(ms[-1])
            if i in pairing:
                found_by_bin[name] += 1
                found_by_frame_bin[frame_name] += 1
                got = result.faces[pairing[i]].label
                found_unsure += got == UNSURE
                if got not in (TOO_SMALL, UNSURE):
                    truth.append(label)
                    predicted.append(got)
                    end_to_end += got == label
    report = summarize(
        classes, found_by_bin, labelled_by_bin, truth, predicted, end_to_end, labelled, unmatched, seen, ms
    )
    # faces answered "can't tell" are found but not judged; unmatched boxes so answered are still boxes
    report["found_unsure"] = found_unsure
    report["classes"] = classes  # the labels scored (lrfp.evaluation.thresholds needs them)
    report["unmatched_unsure_per_photo"] = unmatched_unsure / seen if seen else None
    report["recall_by_frame_size"] = _recall_by_bin(found_by_frame_bin, labelled_by_frame_bin, FRAME_FACE_BINS)
    report["ms_by_frame_size_median"] = {n: statistics.median(v) for n, v in ms_by_frame_bin.items()}
    if view == "pasted":
        report["boxes_per_face"] = _boxes_per_face(boxes_on_face)
    report["frames"] = kept
    return report


def box_row(face, k: float = 1.0) -> list:
    """A kept face as records keep it: x0, y0, x1, y1 (frame px divided by K), the detector's score, the label,
    and the scale of the pyramid's look that found it (frame px to detector px)."""
    b = face.box
    corners = [round(v / k, 1) for v in (b.x0, b.y0, b.x1, b.y1)]
    return [*corners, round(b.score, 4), face.label, b.look]


def frame_record(frame: Frame, result) -> dict:
    """A frame as the record keeps it (`frames`): the photos in it, its labelled faces (class, x0, y0, x1, y1
    in frame px, shorter side in the photo's px) and the boxes kept (box_row), so that the figures at a higher
    score can be had without running the detector again (lrfp.evaluation.thresholds)."""
    return {
        "photos": frame.photos,
        "faces": [[label, *box, round(side, 2)] for label, box, side in frame.objects],
        "boxes": [box_row(f) for f in result.faces],
    }


def _on_face(face, found) -> int:
    """How many of the boxes found lie on the pasted face: mostly inside its crop (the face and PASTED_MARGIN
    around it: a piece of the face, an upper half, a second box at another look) or holding most of it."""
    x0, y0, x1, y1 = face
    m = PASTED_MARGIN * min(x1 - x0, y1 - y0)
    crop = (x0 - m, y0 - m, x1 + m, y1 + m)
    return sum(inside(b, crop) >= 0.5 or inside(face, b) >= 0.5 for b in found)


def _boxes_per_face(by_size: dict[int, list[int]]) -> dict:
    """Per pasted size: frames, how many got no box on the face, exactly one, more than one, and the boxes."""
    return {
        str(size): {
            "frames": len(counts),
            "none": sum(c == 0 for c in counts),
            "one": sum(c == 1 for c in counts),
            "more": sum(c > 1 for c in counts),
            "boxes": sum(counts),
        }
        for size, counts in sorted(by_size.items())
    }


def _recall_by_bin(found: Counter, labelled: Counter, bins) -> dict:
    """Per bin: faces found and labelled, the share found and its 95 % interval."""
    return {
        n: {
            "found": found[n],
            "labelled": labelled[n],
            "recall": found[n] / labelled[n] if labelled[n] else None,
            "interval": list(wilson_interval(found[n], labelled[n])) if labelled[n] else None,
        }
        for n, _, _ in bins
    }


def summarize(
    classes, found_by_bin, labelled_by_bin, truth, predicted, end_to_end, labelled, unmatched, photos, ms
) -> dict:
    judged = len(truth)
    correct = sum(t == p for t, p in zip(truth, predicted))
    found = sum(found_by_bin.values())
    return {
        "photos": photos,
        "labelled_faces": labelled,
        "found_faces": found,
        "recall": found / labelled if labelled else None,
        "recall_interval": list(wilson_interval(found, labelled)) if labelled else None,
        "recall_by_size": _recall_by_bin(found_by_bin, labelled_by_bin, FACE_SIZE_BINS),
        "found_judged": judged,
        "accuracy": correct / judged if judged else None,
        "accuracy_interval": list(wilson_interval(correct, judged)),
        "balanced_accuracy": balanced_accuracy(truth, predicted) if judged else None,
        "end_to_end": end_to_end / labelled if labelled else None,
        "end_to_end_interval": list(wilson_interval(end_to_end, labelled)),
        "unmatched_per_photo": unmatched / photos if photos else None,
        "ms_per_photo_median": statistics.median(ms) if ms else None,
        "iou_match": IOU_MATCH,
    }
