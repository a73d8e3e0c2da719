"""What the detector is shown that is not a face (issue 35): the no-face set's TRAIN pictures and the hard
negatives tools/hard_negatives.py mined (NEGATIVES_CSV in the no-face folder: the boxes today's detectors
give on those pictures and, matching no labelled face, on the train photos).

A box on a no-face picture is never a face. A box on a train photo may be a face nobody labelled: only
those a person looked at and answered `no` (LOOKED_CSV's verdicts: crop, looks_like_face = yes / no /
unsure) become negatives; `yes` and `unsure` ones are kept out of the loss like the teacher's unlabelled
faces, and so is every box no one looked at. The no-face set's val and test pictures are never read here:
val chooses, test reports.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lrfp.core.errors import RunError
from lrfp.core.records import file_sha256
from lrfp.data.face_boxes import PHONE_SIDE, BoxedPhoto, NegativeSpot
from lrfp.data.images import load_image
from lrfp.data.noface import read_noface
from lrfp.data.voc import match

NEGATIVES_CSV = Path("negatives") / "negatives.csv"
TRAIN_SPLIT = "train"  # the only split of the no-face set training reads
FACE_VERDICTS = ("yes", "unsure")  # a box looked at and answered so is kept out of the loss


@dataclass
class Negatives:
    """The no-face windows and hard negatives to train with, and what the train photos' mined boxes are."""

    spots: list[NegativeSpot] = field(default_factory=list)
    not_faces: dict[str, list] = field(default_factory=dict)  # train photo -> boxes looked at: not faces
    kept_out: dict[str, list] = field(default_factory=dict)  # train photo -> boxes that may be faces
    record: dict = field(default_factory=dict)  # what the run's record says of them


def read_verdicts(path: Path) -> dict[str, str]:
    """crop -> looks_like_face of a CSV of a person's answers; RunError when it is not one."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        verdicts = {r["crop"]: r["looks_like_face"].strip() for r in rows}
    except (OSError, KeyError, csv.Error, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: not a CSV of crop,looks_like_face ({exc})") from exc
    odd = sorted({v for v in verdicts.values()} - {"yes", "no", "unsure"})
    if odd:
        raise RunError(f"{path}: looks_like_face is yes, no or unsure, not {', '.join(odd)}")
    return verdicts


def mined_negatives(noface: Path, looked: Path, train_photos: set[str]) -> Negatives:
    """The negatives of the no-face folder `noface` (its train split) and of the train photos named in
    `train_photos` (the ones the detector trains on), with `looked`'s verdicts."""
    pictures = {r["id"]: r for r in read_noface(noface, TRAIN_SPLIT)}
    mined = noface / NEGATIVES_CSV
    if not mined.is_file():
        raise RunError(f"{mined}: no hard negatives; make them with tools/hard_negatives.py")
    with mined.open(newline="") as f:
        rows = list(csv.DictReader(f))
    verdicts = read_verdicts(looked)
    out = Negatives()
    loaded: dict[str, BoxedPhoto] = {}
    for pid, row in pictures.items():
        image = load_image(noface / row["path"]).convert("RGB")
        loaded[pid] = BoxedPhoto(pid, image, np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32))
        out.spots.append(NegativeSpot(loaded[pid], None, PHONE_SIDE / max(image.size)))
    counts: Counter = Counter()
    for row in rows:
        box = tuple(float(row[k]) for k in ("x0", "y0", "x1", "y1"))
        if row["origin"] == "noface" and row["source"] in loaded:
            image = loaded[row["source"]].image
            scale = PHONE_SIDE / max(image.size) if row["view"] == "phone" else 1.0
            out.spots.append(NegativeSpot(loaded[row["source"]], box, scale))  # type: ignore[arg-type]
            counts[f"noface {row['view']}"] += 1
        elif row["origin"] == "train-photo" and row["source"] in train_photos:
            verdict = verdicts.get(row["crop"], "not looked at")
            counts[f"train-photo {verdict}"] += 1
            (out.not_faces if verdict == "no" else out.kept_out).setdefault(row["source"], []).append(list(box))
    out.record = {
        "noface_folder": str(noface),
        "noface_fingerprint": file_sha256(noface / "manifest.csv"),
        "noface_train_pictures": len(loaded),
        "mined_boxes": str(mined),
        "looked_at": str(looked),
        "boxes": dict(sorted(counts.items())),
    }
    return out


def photo_spots(photos: list[BoxedPhoto], not_faces: dict[str, list]) -> list[NegativeSpot]:
    """The train photos' boxes looked at and found not faces, as hard negatives at the photo's own size."""
    by_name = {p.name: p for p in photos}
    return [NegativeSpot(by_name[name], tuple(b), 1.0) for name, boxes in not_faces.items() for b in boxes]


def ignore_boxes(teacher: dict, negatives: Negatives) -> dict[str, list]:
    """Boxes kept out of the loss: the teacher's unlabelled faces, less those looked at and found not to be
    faces (IoU 0.3 or more with a `no` box), plus the mined boxes that may be faces."""
    out: dict[str, list] = {}
    for name in set(teacher) | set(negatives.kept_out):
        boxes = list(teacher.get(name, []))
        wrong = negatives.not_faces.get(name, [])
        if wrong and boxes:
            boxes = [b for j, b in enumerate(boxes) if j not in match(boxes, wrong)]
        boxes += negatives.kept_out.get(name, [])
        if boxes:
            out[name] = boxes
    return out


def negatives_digest(record: dict) -> str:
    """sha256 of what decides the negatives: the no-face set, the mined boxes and the verdicts."""
    digest = hashlib.sha256(record["noface_fingerprint"].encode())
    for key in ("mined_boxes", "looked_at"):
        digest.update(file_sha256(Path(record[key])).encode())
    return digest.hexdigest()
