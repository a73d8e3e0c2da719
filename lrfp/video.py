"""`lrfp scene`: annotate an image or a video, with a per-frame CSV of faces and mask compliance."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .data import IMAGE_SUFFIXES, BadImageError, load_image
from .errors import LrfpError
from .scene import analyze, annotate

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
CSV_FIELDS = ["frame", "time_s", "faces", "with_mask", "without_mask", "incorrect", "too_small", "compliance",
              "detect_ms", "classify_ms"]


class VideoError(LrfpError):
    """A video that cannot be read."""


def _row(index: int, fps: float, result) -> dict:
    counts = result.counts()
    return {"frame": index, "time_s": round(index / fps, 3) if fps else 0.0, **counts,
            "compliance": "" if counts["compliance"] is None else round(counts["compliance"], 4),
            "detect_ms": round(result.detect_ms, 2), "classify_ms": round(result.classify_ms, 2)}  # fmt: skip


def process_image(path: Path, out: Path, classifier, detector) -> list[dict]:
    image = load_image(path)
    result = analyze(image, classifier, detector, mode="scene")
    annotate(image, result).save(out)
    return [_row(0, 0.0, result)]


def process_video(path: Path, out: Path, classifier, detector, progress: bool = True) -> list[dict]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: not a readable video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    writer, rows = None, []
    try:
        with tqdm(total=total, desc="frames", unit="frame", disable=not progress) as bar:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                if frame is None or frame.size == 0:
                    continue
                image = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                result = analyze(image, classifier, detector, mode="scene")
                drawn = cv2.cvtColor(np.asarray(annotate(image, result)), cv2.COLOR_RGB2BGR)
                if writer is None:
                    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (image.width, image.height))
                writer.write(drawn)
                rows.append(_row(len(rows), fps, result))
                bar.update()
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if not rows:
        raise VideoError(f"{path}: no frame could be decoded (empty, truncated or not a video)")
    return rows


def process(path, out=None, classifier=None, detector=None, progress: bool = True) -> tuple[Path, Path, list[dict]]:
    """Annotate INPUT (image or video) to OUT and write OUT's .csv beside it; returns (out, csv, rows)."""
    path = Path(path)
    if not path.is_file():
        raise BadImageError(f"{path}: no such file")
    is_video = path.suffix.lower() in VIDEO_SUFFIXES
    if not is_video and path.suffix.lower() not in IMAGE_SUFFIXES:
        raise BadImageError(f"{path}: unknown kind of file; images {IMAGE_SUFFIXES}, videos {VIDEO_SUFFIXES}")
    out = Path(out) if out else path.with_name(f"{path.stem}-annotated{'.mp4' if is_video else '.png'}")
    rows = (process_video(path, out, classifier, detector, progress) if is_video
            else process_image(path, out, classifier, detector))  # fmt: skip
    csv_path = out.with_suffix(".csv")
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return out, csv_path, rows
