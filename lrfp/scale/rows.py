"""One file of `lrfp monitor` into its rows: each frame analysed (lrfp.pipeline.scene.analyze) becomes a row of
camera, source file, frame, time, faces by label, compliance and the faces themselves (box, label,
probability, size); a file that cannot be read is one row with status "error" and its message.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from lrfp.core.errors import LrfpError
from lrfp.core.labels import COUNT_COLUMNS
from lrfp.data.images import load_image
from lrfp.pipeline.detect import DEFAULT_DETECTOR, FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.interval import DETECT_EVERY, IntervalAnalyzer
from lrfp.pipeline.scene import analyze
from lrfp.pipeline.video import probe, timed_frames
from lrfp.scale.sources import Source, naive_utc, plausible

# decimals kept of probabilities and compliance: the same frame gives the same table in any process
DECIMALS = 4
FACE_TYPE = pa.struct(
    [
        ("x0", pa.int32()),
        ("y0", pa.int32()),
        ("x1", pa.int32()),
        ("y1", pa.int32()),
        ("size", pa.int32()),
        ("label", pa.string()),
        ("probability", pa.float64()),
    ]
)
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


@dataclass(frozen=True)
class Settings:
    """What makes a table: a rerun into the same folder must use the same, or its rows would mix."""

    model: str
    backend: str = "auto"
    device: str = "auto"
    detector: str = DEFAULT_DETECTOR
    detector_scale: float | None = None
    min_score: float | None = None
    every: float = 0.0
    detect_every: int = DETECT_EVERY  # the detector on every this many-th frame analysed (lrfp.pipeline.interval)

    def load(self, device: str | None = None):
        """(classifier, detector) as these settings make them."""
        classifier = Classifier(self.model, backend=self.backend, device=device or self.device)
        return classifier, FaceDetector(self.detector, min_score=self.min_score, scale=self.detector_scale)


def _photo_time(image) -> datetime | None:
    """When a photo was taken, from its EXIF (DateTimeOriginal, else DateTime), as the camera's clock."""
    exif = image.getexif()
    text = exif.get_ifd(0x8769).get(36867) or exif.get(306)
    try:
        return plausible(datetime.strptime(str(text).strip(), "%Y:%m:%d %H:%M:%S")) if text else None
    except ValueError:
        return None


def counts_row(result) -> dict:
    counts = result.counts()
    compliance = counts.pop("compliance")
    faces = [
        {
            "x0": f.box.x0,
            "y0": f.box.y0,
            "x1": f.box.x1,
            "y1": f.box.y1,
            "size": f.box.size,
            "label": f.label,
            "probability": None if f.probability is None else round(f.probability, DECIMALS),
        }
        for f in result.faces
    ]
    return counts | {
        "compliance": None if compliance is None else round(compliance, DECIMALS),
        "status": "ok",
        "face_rows": faces,
    }


def _video_rows(source: Source, classifier, detector, every: float, detect_every: int):
    import av

    analyzer = IntervalAnalyzer(classifier, detector, detect_every)
    path = Path(source.path)
    probe(path)  # unreadable, no video stream, frames over the pixel limit: refused from the header
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = naive_utc(source.start) or naive_utc(container.metadata.get("creation_time"))
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        first, due = None, 0.0
        for index, (moment, image) in enumerate(timed_frames(path, container, stream)):
            moment = index / fps if moment is None else moment
            first = moment if first is None else first
            offset = round(moment - first, 3)  # from the first frame: a stream may start past 0
            if offset < due:  # --every: this frame is skipped, it is not a row
                continue
            due = offset + every if every else 0.0
            row = {"frame": index, "offset_s": offset, "time": start + timedelta(seconds=offset) if start else None}
            yield row | (counts_row(analyzer.next(image)) if image is not None else {"status": "unreadable"})


def _image_rows(source: Source, classifier, detector):
    image = load_image(source.path)
    with Image.open(source.path) as original:  # load_image gives the pixels; the EXIF time is in the file
        taken = _photo_time(original)
    start = naive_utc(source.start) or taken
    yield {"frame": 0, "offset_s": 0.0, "time": start} | counts_row(analyze(image, classifier, detector, mode="scene"))


def analyse_source(
    source: Source, classifier, detector, every: float = 0.0, detect_every: int = DETECT_EVERY
) -> pa.Table:
    """The rows of one file; a file that cannot be read is one "error" row naming the reason. DETECT_EVERY:
    a video's detector runs on every this many-th frame analysed, its faces followed between."""
    import av

    base = {"camera": source.camera, "source": source.path, "kind": source.kind}
    try:
        rows = list(
            _video_rows(source, classifier, detector, every, detect_every)
            if source.kind == "video"
            else _image_rows(source, classifier, detector)
        )
        if not rows:
            raise LrfpError(f"{source.path}: holds no frame (empty or truncated)")
        if not any(r["status"] == "ok" for r in rows):
            raise LrfpError(f"{source.path}: none of its {len(rows)} frames could be decoded (corrupt, or not a video)")
    except (LrfpError, OSError, av.FFmpegError, EOFError) as exc:
        rows = [{"status": "error", "error": str(exc) or type(exc).__name__}]
    return pa.Table.from_pylist([base | r for r in rows], schema=SCHEMA)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
