"""The whole pipeline on whole photos, as users send them: detector + classifier against labelled boxes.

Matching rule: for each photo, detected boxes and labelled faces are paired one to one, highest
IoU first; a pair needs IoU >= 0.3 (the detector's boxes hold more hair and chin than the
labels, so the usual 0.5 undercounts found faces). A labelled face of a class the model does not
know (mask_weared_incorrect for a two-class model) is left out of every figure, and a detection
paired with it is not counted as unmatched.

Views: the same labelled photos as other cameras would give them, so that no setting can be tuned to
one data set's face sizes: `1x` (as they are), `enlarged-K` (each photo K times bigger: bigger faces),
`tiled-KxK` (K x K photos side by side in one frame: the same faces in a bigger frame, as an HD or 4K
camera). Sizes are always binned in the photo's own pixels, so a view's figures compare face by face.

Figures: recall by the labelled face's size (< 16, 16-32, >= 32 px, shorter side); accuracy and
balanced accuracy of the found faces that could be judged, with 95 % intervals; the end-to-end
rate (labelled faces found AND labelled right, over all labelled faces); detections that match no
labelled face, per photo; milliseconds per photo (median).
"""
from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from lrfp.core.metrics import wilson_interval
from lrfp.core.progress import bar
from lrfp.data.voc import IOU_MATCH, match, read_labelled_photo
from lrfp.pipeline.inference import TOO_SMALL
from lrfp.pipeline.scene import analyze

SIZE_BINS = (("<16", 0, 16), ("16-32", 16, 32), (">=32", 32, 10**9))


VIEWS = ("1x", "enlarged-2", "enlarged-3", "tiled-2x2", "tiled-3x3")


@dataclass
class Frame:
    """What the pipeline is given: one image, its labelled faces in its pixels, and each face's size in
    its own photo's pixels (for the size bins)."""

    image: Image.Image
    objects: list  # (class, box in frame pixels, shorter side in the photo's own pixels)
    photos: int


def view_frames(photos, view: str):
    """The frames of one view of a sequence of LabelledPhotos (a generator: one frame in memory at a time)."""
    def own(photo):
        return [(label, box, min(box[2] - box[0], box[3] - box[1]) / photo.scale)
                for (label, _), box in zip(photo.objects, photo.boxes)]  # fmt: skip

    if view == "1x":
        for photo in photos:
            yield Frame(photo.image, own(photo), 1)
    elif view.startswith("enlarged-"):
        k = float(view.split("-", 1)[1])
        for photo in photos:
            image = photo.image.resize((round(photo.image.width * k), round(photo.image.height * k)), Image.BICUBIC)
            yield Frame(image, [(label, tuple(v * k for v in box), side) for label, box, side in own(photo)], 1)
    elif view.startswith("tiled-"):
        k = int(view.split("-", 1)[1].split("x")[0])
        group = []
        for photo in photos:
            group.append(photo)
            if len(group) == k * k:
                yield _tiled(group, k, own)
                group = []
        if group:
            yield _tiled(group, k, own)
    else:
        raise ValueError(f"unknown view {view!r}; known: {', '.join(VIEWS)} (enlarged-K, tiled-KxK)")


def _tiled(group, k: int, own) -> Frame:
    cell_w, cell_h = max(p.image.width for p in group), max(p.image.height for p in group)
    frame = Image.new("RGB", (cell_w * k, cell_h * k), (128, 128, 128))
    objects = []
    for i, photo in enumerate(group):
        dx, dy = (i % k) * cell_w, (i // k) * cell_h
        frame.paste(photo.image, (dx, dy))
        objects += [(label, (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy), side) for label, box, side in own(photo)]
    return Frame(frame, objects, len(group))


def scene_benchmark(xml_files: list[Path], classifier, detector, view: str = "1x") -> dict:
    """Run the pipeline on each annotated photo and score it (see the module's matching rule)."""
    classes = list(classifier.classes)
    found_by_bin, labelled_by_bin = Counter(), Counter()
    truth, predicted = [], []
    end_to_end = unmatched = labelled = 0
    ms = []
    photos = (read_labelled_photo(x) for x in bar(xml_files, desc="photos", unit="photo"))
    for frame in view_frames(photos, view):
        t0 = time.perf_counter()
        result = analyze(frame.image, classifier, detector, "scene")
        ms.append((time.perf_counter() - t0) * 1000 / frame.photos)
        faces = [(f.box.x0, f.box.y0, f.box.x1, f.box.y1) for f in result.faces]
        boxes = [box for _, box, _ in frame.objects]
        pairing = match(boxes, faces)
        unmatched += len(faces) - len(pairing)
        for i, (label, _, side) in enumerate(frame.objects):
            if label not in classes:  # not scored; its detection is not a false one either
                continue
            labelled += 1
            name = next(n for n, lo, hi in SIZE_BINS if lo <= side < hi)
            labelled_by_bin[name] += 1
            if i in pairing:
                found_by_bin[name] += 1
                got = result.faces[pairing[i]].label
                if got != TOO_SMALL:
                    truth.append(label)
                    predicted.append(got)
                    end_to_end += got == label
    return summarize(classes, found_by_bin, labelled_by_bin, truth, predicted, end_to_end, labelled, unmatched,
                     len(xml_files), ms)  # fmt: skip


def summarize(classes, found_by_bin, labelled_by_bin, truth, predicted, end_to_end, labelled, unmatched, photos, ms) -> dict:
    judged = len(truth)
    correct = sum(t == p for t, p in zip(truth, predicted))
    recalls = [sum(t == p == c for t, p in zip(truth, predicted)) / max(1, truth.count(c)) for c in classes if truth.count(c)]
    found = sum(found_by_bin.values())
    return {
        "photos": photos,
        "labelled_faces": labelled,
        "found_faces": found,
        "recall": found / labelled if labelled else None,
        "recall_by_size": {n: {"found": found_by_bin[n], "labelled": labelled_by_bin[n],
                               "recall": found_by_bin[n] / labelled_by_bin[n] if labelled_by_bin[n] else None}
                           for n, _, _ in SIZE_BINS},  # fmt: skip
        "found_judged": judged,
        "accuracy": correct / judged if judged else None,
        "accuracy_interval": list(wilson_interval(correct, judged)),
        "balanced_accuracy": sum(recalls) / len(recalls) if recalls else None,
        "end_to_end": end_to_end / labelled if labelled else None,
        "end_to_end_interval": list(wilson_interval(end_to_end, labelled)),
        "unmatched_per_photo": unmatched / photos if photos else None,
        "ms_per_photo_median": statistics.median(ms) if ms else None,
        "iou_match": IOU_MATCH,
    }
