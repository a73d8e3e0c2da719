"""One file of `lrfp monitor` into its rows: each frame analysed (lrfp.pipeline.frames.FrameStream) becomes a row
of camera, source file, frame, time, faces by label, compliance and the faces themselves (their Detections as
Arrow: box, size, label, probability, the detector's and the face check's scores); a file that cannot be read
is one row with status "error" and its message.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from lrfp.core.errors import LrfpError
from lrfp.core.labels import COUNT_COLUMNS
from lrfp.data.images import load_image
from lrfp.pipeline.detections import DECIMALS, FACE_TYPE, Detections
from lrfp.pipeline.frames import Analysed, Analyze, Frame, FrameStream, Pacer
from lrfp.pipeline.video import probe, video_frames
from lrfp.scale.sources import Source, naive_utc, plausible

# status: "ok"; "unreadable" for a frame that could not be decoded (the others of its file are kept);
# "error" for a file that could not be read at all (one row, frame empty, the reason in `error`)
SCHEMA = pa.schema(
    [
        ("camera", pa.string()),
        ("source", pa.string()),
        ("kind", pa.string()),
        ("frame", pa.int64()),
        ("offset_s", pa.float64()),
        ("time", pa.timestamp("ms")),
        *((c, pa.int64()) for c in COUNT_COLUMNS),
        ("compliance", pa.float64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("face_rows", pa.list_(FACE_TYPE)),
    ]
)


def _photo_time(image) -> datetime | None:
    """When a photo was taken, from its EXIF (DateTimeOriginal, else DateTime), as the camera's clock."""
    exif = image.getexif()
    text = exif.get_ifd(0x8769).get(36867) or exif.get(306)
    try:
        return plausible(datetime.strptime(str(text).strip(), "%Y:%m:%d %H:%M:%S")) if text else None
    except ValueError:
        return None


def counts_row(faces: Detections) -> dict:
    """An analysed frame's columns: counts by label, compliance, status and its faces (FACE_TYPE)."""
    counts = faces.counts()
    compliance = counts.pop("compliance")
    return counts | {
        "compliance": None if compliance is None else round(compliance, DECIMALS),
        "status": "ok",
        "face_rows": faces.rows(),
    }


def frame_record(item: Analysed) -> dict:
    """A frame's row (without camera, source and kind): where it is, then what was found in it."""
    frame = item.frame
    where = {"frame": frame.index, "offset_s": frame.offset_s, "time": frame.time}
    return where | (counts_row(item.faces) if item.faces is not None else {"status": "unreadable"})


def _video(source: Source) -> Iterator[Frame]:
    import av

    path = Path(source.path)
    probe(path)  # unreadable, no video stream, frames over the pixel limit: refused from the header
    with av.open(str(path)) as container:
        start = naive_utc(source.start) or naive_utc(container.metadata.get("creation_time"))
        yield from video_frames(path, container, container.streams.video[0], start)


def _photo(source: Source) -> Iterator[Frame]:
    image = load_image(source.path)
    with Image.open(source.path) as original:  # load_image gives the pixels; the EXIF time is in the file
        taken = _photo_time(original)
    yield Frame(0, 0.0, image, naive_utc(source.start) or taken)


def analyse_source(source: Source, analyse: Analyze, every: float = 0.0) -> pa.Table:
    """The rows of one file, one frame every EVERY seconds of video (0: all); a file that cannot be read is one
    "error" row naming the reason."""
    import av

    base = {"camera": source.camera, "source": source.path, "kind": source.kind}
    rows: list[dict] = []
    frames = FrameStream(analyse, Pacer(every)).add_sink(lambda item: rows.append(frame_record(item)))
    try:
        frames.drain(_video(source) if source.kind == "video" else _photo(source))
        frames.counts.check(source.path)
    except (LrfpError, OSError, av.FFmpegError, EOFError) as exc:
        rows = [{"status": "error", "error": str(exc) or type(exc).__name__}]
    return pa.Table.from_pylist([base | r for r in rows], schema=SCHEMA)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
