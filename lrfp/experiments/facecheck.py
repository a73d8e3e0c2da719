"""The face check's data set: the default detector's boxes, `face` or `not_face`, as the pipeline crops them.

The fine-tuned detector learnt faces from a few hundred photos and was never shown what is not one: it puts
boxes on text, textures, lamps and stickers. The face check (lrfp.pipeline.inference.face_check) answers, for
each box, whether it holds a face. It learns from:
- `face`: the detector's boxes that match a labelled face (IoU >= 0.3) in three views of each photo (as it
  is, enlarged 2x, at a phone's 4032 px), and each labelled face's box jittered at a random size from 8 to
  64 px, some of them blurred;
- `not_face`: the detector's boxes that match no labelled face, and random squares of the photo away from
  every face; with `noface` (a set of `lrfp data noface`), each picture's boxes and two random squares, in
  the picture's own split;
- kept out (under `aside/`, in no split, listed for a look): unmatched boxes that lie mostly inside a
  labelled face (a piece or a double of it: the merge's job, not the check's), those the generic CenterFace
  also finds with TEACHER_SCORE (most are faces the annotators left out), and those `marked` faces by hand.

Splits: the detector's own train photos train, its held-out train photos choose the threshold (val), the
build's val photos test. The build's test photos are never read. How each crop is cut and written:
lrfp.experiments.facecheck_crops.

    lrfp data facecheck --source ../shared/data/fmd853 --data demo/fmd853-lr --out data/facecheck \
        [--noface NOFACE_DIR] [--marked results/facecheck/marked_faces.json]
    lrfp train --model model3 --data data/facecheck --input-size 32 ...
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
from collections import Counter
from pathlib import Path

from PIL import Image

from lrfp.core.progress import bar
from lrfp.core.records import read_json, write_json_atomic
from lrfp.core.resumable import Resumable
from lrfp.data.images import MANIFEST_NAME, load_image
from lrfp.data.voc import match, photos_of, read_labelled_photo
from lrfp.evaluation.scene_bench import PHONE_SIDE, view_frames
from lrfp.experiments.detector import TEACHER_SCORE, split_train_photos
from lrfp.experiments.facecheck_crops import (
    ASIDE,
    CLASSES,
    FACE_COPIES,
    MIN_FACE,
    RANDOM_SQUARES,
    Writer,
    clip,
    face_copy,
    random_squares,
)
from lrfp.experiments.facecheck_marks import PhotoSizes, is_marked, looked_at, marked_faces
from lrfp.pipeline.detect import FaceDetector, inside

VIEWS = ("1x", "enlarged-2", "phone")
PHONE_EVERY = 3  # the phone view (4032 px, the slowest) of every 3rd train photo; every held-out one
# the no-face kinds the default detector still puts boxes on (a screen at its own size, a region of a photo
# enlarged to 4032 px): every train picture of them at three sizes, the other kinds every PHONE_EVERY-th
ENLARGED_KINDS = ("photo-region", "screen")
MID_STEP = 1.3  # a train no-face picture gets a view halfway to 4032 px when that is 1.3x from both ends
PIECE = 0.3  # an unmatched box this much inside a labelled or teacher's face is a piece of it: aside
NOFACE_PART = "noface_part.json"  # the no-face set's crops, mined once
# the two parts' progress while they are mined (lrfp.core.resumable): a killed build goes on from there
PHOTOS_PROGRESS, NOFACE_PROGRESS = "photos_progress.json", "noface_progress.json"


def mine_photo(xml: Path, split: str, views: tuple, detectors: tuple[FaceDetector, FaceDetector], writer, rng):
    """One labelled photo's crops: its detector boxes in each view, its faces' copies, its random squares."""
    detector, teacher = detectors
    photo = read_labelled_photo(xml)
    source = f"images/{photo.filename}"
    image = photo.image.convert("RGB")
    found = [(b.x0, b.y0, b.x1, b.y1) for b in teacher.detect(image) if b.score >= TEACHER_SCORE]
    faces = [clip(b, *image.size) for b in photo.boxes]
    for box in faces:
        if min(box[2] - box[0], box[3] - box[1]) >= MIN_FACE:
            for _ in range(FACE_COPIES):
                writer.add(face_copy(image, box, rng), "face", split, source, "copy")
    for square in random_squares(image, faces + found, rng):
        writer.add(image.crop(square), "not_face", split, source, "square")
    photo.image = image
    for view in views:
        for frame in view_frames([photo], view):
            k = frame.image.width / image.width
            labelled = [box for _, box, _ in frame.objects]
            known = labelled + [tuple(v * k for v in b) for b in found]
            boxes = [(b.x0, b.y0, b.x1, b.y1) for b in detector.detect(frame.image)]
            paired = set(match(labelled, boxes).values())
            for j, box in enumerate(boxes):
                piece = max((inside(box, f) for f in known), default=0) >= PIECE
                label = "face" if j in paired else ASIDE if piece else "not_face"
                writer.add(frame.image.crop(box), label, split, source, f"box-{view}", box)


def mine_photos(source: Path, data: Path, detectors: tuple[FaceDetector, FaceDetector], writer, progress) -> None:
    """The photos' part: the detector's train photos (train), its held-out ones (val), the build's val photos
    (test), each by mine_photo; those PROGRESS (a Resumable) has done skipped, the others saved as they go."""
    train, held_out = split_train_photos(source, data)
    parts = {"train": train, "val": held_out, "test": photos_of(source, data, "val")}
    photos = [(split, i, xml) for split, xml_files in parts.items() for i, xml in enumerate(xml_files)]
    if progress.state is not None:
        writer.restore(progress.state)
    for n in bar(range(progress.done, len(photos)), desc="photos", unit="photo", initial=progress.done):
        split, i, xml = photos[n]
        views = VIEWS if split != "train" or i % PHONE_EVERY == 0 else VIEWS[:-1]
        mine_photo(xml, split, views, detectors, writer, progress.rng)
        progress.step(n + 1, writer.state())


def noface_sides(long_side: int, enlarged: bool) -> tuple[tuple[str, float], ...]:
    """(view, scale) of a train no-face picture: its own size, and when `enlarged` also a phone photo's 4032 px
    and the size halfway between (geometric mean) where that is a step of its own: the check then sees a
    screen or a photo region at the sizes the detector meets it at."""
    if not enlarged:
        return (("own", 1.0),)
    phone = PHONE_SIDE / long_side
    middle = (("mid", math.sqrt(phone)),) if phone > MID_STEP**2 else ()
    return (("own", 1.0), *middle, ("phone", phone))


def mine_noface(folder: Path, detector: FaceDetector, writer, progress: Resumable) -> None:
    """A no-face set's train pictures (its manifest.csv: path, kind, split), the kinds ENLARGED_KINDS first:
    each one's detector boxes in its noface_sides and two random squares; those PROGRESS has done skipped."""
    rng = progress.rng
    with open(folder / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    rows.sort(key=lambda r: r["kind"] not in ENLARGED_KINDS)
    if progress.state is not None:
        writer.restore(progress.state)
    for i in bar(range(progress.done, len(rows)), desc="no-face train", unit="picture", initial=progress.done):
        row = rows[i]
        image = load_image(folder / row["path"], name=row["path"]).convert("RGB")
        source = f"noface/{row['path']}"
        for square in random_squares(image, [], rng, 2):
            writer.add(image.crop(square), "not_face", "train", source, "noface-square")
        for view, k in noface_sides(max(image.size), row["kind"] in ENLARGED_KINDS or i % PHONE_EVERY == 0):
            size = (round(image.width * k), round(image.height * k))
            frame = image if k == 1.0 else image.resize(size, Image.Resampling.BICUBIC)
            for box in detector.detect(frame):
                crop = frame.crop((box.x0, box.y0, box.x1, box.y1))
                writer.add(crop, "not_face", "train", source, f"noface-{view}", (box.x0, box.y0, box.x1, box.y1))
        progress.step(i + 1, writer.state())


def noface_part(folder: Path, out: Path, detector: FaceDetector, seed: int) -> Writer:
    """The no-face set's crops (its train pictures: val chooses the threshold with scene-bench, test gives the
    final figures), mined once: kept in out/NOFACE_PART and reused while the set's manifest is the same."""
    views = f"own,mid {MID_STEP},phone {PHONE_SIDE},{ENLARGED_KINDS}".encode()  # a change of views mines again
    fingerprint = hashlib.sha256((folder / "manifest.csv").read_bytes() + views).hexdigest()
    writer = Writer(out)
    cached = read_json(out / NOFACE_PART) if (out / NOFACE_PART).is_file() else {}
    if cached.get("manifest_sha256") == fingerprint:
        writer.splits, writer.counts = cached["splits"], Counter(cached["counts"])
        return writer
    rng = random.Random(seed + 1)  # its own stream: the same crops whether or not the photos' part ran first
    progress = Resumable(out / NOFACE_PROGRESS, f"{fingerprint} seed {seed}", rng)
    mine_noface(folder, detector, writer, progress)
    part = {"manifest_sha256": fingerprint, "splits": writer.splits, "counts": writer.counts}
    write_json_atomic(part, out / NOFACE_PART)
    progress.finish()
    return writer


def person_looks(writer: Writer, source: Path, data: Path, paths: tuple, previous: dict) -> dict:
    """What a look found, applied: the marked faces and the mined boxes looked at and found faces or unsure
    moved aside, the mined boxes found not faces added as `not_face` (kind `looked-no`) in their photo's
    split, once. paths: (noface, marked, looked). Returns the manifest's options on them."""
    noface, marked, looked = paths
    sizes = PhotoSizes(source / "images")
    marks = marked_faces(marked, sizes) if marked else {}
    not_faces: dict[str, list] = {}
    if looked is not None:
        if noface is None:
            raise ValueError("--looked needs --noface: the mined boxes are listed in the no-face set")
        not_faces, faces = looked_at(noface, looked)
        for photo, boxes in faces.items():
            marks.setdefault(photo, []).extend(boxes)
    moved = writer.move_aside(lambda entry: is_marked(entry, marks, sizes))
    added = 0
    if not_faces and not previous.get("looked"):
        train, held_out = split_train_photos(source, data)
        split_of = {xml.stem: split for split, files in (("train", train), ("val", held_out)) for xml in files}
        for photo, boxes in sorted(not_faces.items()):
            if Path(photo).stem not in split_of:  # not one of the detector's train photos: never read
                continue
            image = load_image(source / "images" / photo, name=photo).convert("RGB")
            for box in boxes:
                writer.add(
                    image.crop(clip(box, *image.size)),
                    "not_face",
                    split_of[Path(photo).stem],
                    f"images/{photo}",
                    "looked-no",
                    box,
                )
                added += 1
    return {
        "marked": marked.name if marked else previous.get("marked"),
        "marked_faces": sum(len(v) for v in marks.values()) or previous.get("marked_faces", 0),
        "moved_aside": moved + previous.get("moved_aside", 0),
        "looked": looked.name if looked else previous.get("looked"),
        "looked_not_faces": added or previous.get("looked_not_faces", 0),
    }


def build_facecheck(
    source: Path,
    data: Path,
    out: Path,
    noface: Path | None = None,
    seed: int = 0,
    marked: Path | None = None,
    looked: Path | None = None,
) -> dict:
    """Write the face check's crops (see the module's docstring) and their manifest. The photos' part, once
    written, is kept when the command runs again with the same source and build (the no-face set, or marks,
    added later); a run killed while mining either part goes on from the last photo or picture saved, to the
    same crops. `marked`: a JSON of {"faces": [{"photo", "view", "box"}]}, the detector's boxes matching no
    labelled face that a look found to be faces: moved aside. `looked`: a person's verdicts on the no-face set's
    mined boxes (see facecheck_marks)."""
    rng = random.Random(seed)  # the photos' part's stream (saved and restored with its progress)
    detector = FaceDetector()
    origin = {
        "path": str(source),
        "build": str(data),
        "build_manifest_sha256": hashlib.sha256((data / MANIFEST_NAME).read_bytes()).hexdigest(),
    }
    writer = Writer(out)
    previous = read_json(out / MANIFEST_NAME) if (out / MANIFEST_NAME).is_file() else {}
    if {k: v for k, v in previous.get("source", {}).items() if k != "noface"} == origin:
        writer.splits, writer.aside, writer.counts = previous["splits"], previous["aside"], Counter(previous["counts"])
    else:
        progress = Resumable(out / PHOTOS_PROGRESS, json.dumps(origin | {"seed": seed}, sort_keys=True), rng)
        mine_photos(source, data, (detector, FaceDetector("centerface")), writer, progress)
    if noface is not None and not previous.get("source", {}).get("noface"):
        part = noface_part(noface, out, detector, seed)
        for split, entries in part.splits.items():
            writer.splits[split] += entries
        writer.counts += part.counts
    looks = person_looks(writer, source, data, (noface, marked, looked), previous.get("options", {}))
    manifest = {
        "version": 1,
        "classes": list(CLASSES),
        "splits": writer.splits,
        "aside": writer.aside,
        "counts": dict(sorted(writer.counts.items())),
        "source": origin | {"noface": str(noface) if noface else previous.get("source", {}).get("noface")},
        "options": {
            "seed": seed,
            "detector": detector.describe(),
            "views": list(VIEWS),
            "phone_every": PHONE_EVERY,
            "teacher_score": TEACHER_SCORE,
            "piece": PIECE,
            "face_copies": FACE_COPIES,
            "random_squares": RANDOM_SQUARES,
        }
        | looks,
    }
    write_json_atomic(manifest, out / MANIFEST_NAME)
    (out / PHOTOS_PROGRESS).unlink(missing_ok=True)  # the manifest keeps the photos' part now
    return manifest
