"""`lrfp scene`: annotate an image or a video, with a per-frame CSV of faces and mask compliance.

Videos are read and written with PyAV (FFmpeg), not OpenCV: it reports the frame size from the
container before any frame is decoded, tells a frame that cannot be decoded from the end of the
stream (OpenCV's read() answers False for both), and raises on a failed write (a full disk),
where OpenCV's VideoWriter only returns False, or nothing in OpenCV 4.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PIL import Image

from lrfp.core.errors import ConfigError
from lrfp.core.progress import bar
from lrfp.core.records import atomic_path
from lrfp.data import images as data
from lrfp.data.formats import IMAGE_SUFFIXES
from lrfp.data.images import BadImageError, load_image
from lrfp.pipeline.frame_rows import CsvRow, frame_row, unreadable_row, write_csv
from lrfp.pipeline.frames import Analysed, Analyze, Frame, FrameStream, VideoError, scene_analysis
from lrfp.pipeline.scene import annotate

if TYPE_CHECKING:
    from av.container import InputContainer, OutputContainer
    from av.packet import Packet
    from av.video.stream import VideoStream

    from lrfp.pipeline.detect import FaceDetector
    from lrfp.pipeline.inference import Classifier

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
# What --out may be: containers that hold H.264 and MPEG-4 Part 2 video, and the image formats Pillow writes in
# full colour. Each output is written under a temporary name, so its format is named, not taken from its suffix.
VIDEO_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}
IMAGE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
VIDEO_OUT_SUFFIXES = tuple(VIDEO_CONTAINERS)
IMAGE_OUT_SUFFIXES = tuple(IMAGE_FORMATS)
DEFAULT_OUT = {"image": ".png", "video": ".mp4"}  # INPUT-annotated.png | INPUT-annotated.mp4
# The annotated video is H.264 in 4:2:0 (what browsers play) with the first software encoder of it this
# PyAV build has; else MPEG-4 Part 2 (OpenCV's "mp4v", the codec of earlier releases), which every
# player but the browsers plays. Hardware encoders (h264_nvenc, h264_v4l2m2m...) are left out: they
# fail without their device. Each encoder's name for users, and the most pixels a side it takes.
EncoderName = Literal["libx264", "libopenh264", "mpeg4"]
H264_ENCODERS: tuple[EncoderName, ...] = ("libx264", "libopenh264")
FALLBACK_ENCODER: EncoderName = "mpeg4"
ENCODER_NAMES = {"libx264": "H.264", "libopenh264": "H.264", "mpeg4": "MPEG-4"}
MAX_SIDE = {"libx264": 16384, "mpeg4": 8191}


# VideoError lives in lrfp.pipeline.frames (a source that gave nothing to analyse raises it); callers import it here too
FALLBACK_RATE = 25  # frames a second of a video whose container gives none


def _check_size(path: Path, width: int, height: int) -> None:
    """Frames get the images' pixel limit: an MJPEG file of 10000x10000 frames took 3 GB, to write no video."""
    if width * height > data.MAX_PIXELS:
        raise VideoError(
            f"{path}: frames too large ({width}x{height} px = {width * height:,} pixels; "
            f"the limit is {data.MAX_PIXELS:,}, as for images)"
        )


def process_image(
    path: Path, out: str | Path, analyse: Analyze, suffix: str = ".png", keep_rejected: bool = False
) -> list[CsvRow]:
    image = load_image(path)
    rows: list[CsvRow] = []

    def save(item: Analysed) -> None:
        assert item.faces is not None  # a loaded image is decodable
        annotate(image, item.faces.scene(), rejected=keep_rejected).save(out, IMAGE_FORMATS[suffix.lower()])
        rows.append(frame_row(0, 0.0, item.faces))

    FrameStream(analyse).add_sink(save).drain([Frame(0, 0.0, image)])
    return rows


def _packets(container: InputContainer, stream: VideoStream) -> Iterator[Packet[VideoStream]]:
    """The stream's packets, up to its end or to where the file cannot be read any further (cut, scrambled)."""
    import av

    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except (StopIteration, av.FFmpegError):  # frames the container counts beyond this are lost
            return
        yield packet


def timed_frames(
    path: Path, container: InputContainer, stream: VideoStream
) -> Iterator[tuple[float | None, Image.Image | None]]:
    """(time, image) for each frame: its time in seconds from the stream's own timestamps (None where
    the file gives none) and the frame as an upright RGB image, or None for one that cannot be decoded;
    then (None, None) for each frame the container counts that the file no longer holds (a truncated file)."""
    import av

    seen = 0
    for packet in _packets(container, stream):
        try:
            frames = packet.decode()
        except av.FFmpegError:  # corrupt data: this frame is lost, the next one may be fine
            seen += 1
            yield (float(packet.pts * packet.time_base) if packet.pts is not None else None), None
            continue
        for frame in frames:
            seen += 1
            _check_size(path, frame.width, frame.height)  # a frame may differ from the container's size
            image = frame.to_image()  # type: ignore[no-untyped-call]  # PyAV's stub leaves it unannotated
            # a phone's portrait video: upright as players show it (OpenCV turned it as well)
            yield frame.time, (image.rotate(frame.rotation, expand=True) if getattr(frame, "rotation", 0) else image)
    for _ in range(stream.frames - seen):
        yield None, None


def frame_rate(stream: VideoStream) -> Fraction:
    """A video's frame rate: its container's average, else FFmpeg's guess, else FALLBACK_RATE."""
    return Fraction(stream.average_rate or stream.guessed_rate or FALLBACK_RATE).limit_denominator(1001)


def video_frames(
    path: Path, container: InputContainer, stream: VideoStream, start: datetime | None = None, camera: str = ""
) -> Iterator[Frame]:
    """Each frame of the video as a Frame: its time from the first frame's (the stream's own timestamps, else
    its number over the frame rate), and from START, the file's start, when known; see timed_frames."""
    fps, first = float(frame_rate(stream)), None
    for index, (moment, image) in enumerate(timed_frames(path, container, stream)):
        moment = index / fps if moment is None else moment
        first = moment if first is None else first
        offset = round(moment - first, 3)  # from the first frame: a stream may start past 0
        yield Frame(index, offset, image, start + timedelta(seconds=offset) if start else None, camera)


@functools.cache
def video_encoder() -> EncoderName:
    """The encoder annotated videos are written with (see H264_ENCODERS)."""
    import av

    for name in H264_ENCODERS:
        try:
            av.Codec(name, "w")
        except ValueError:  # av's UnknownCodecError: this build has no such encoder
            continue
        return name
    return FALLBACK_ENCODER


class _Encoder:
    """The annotated video of SOURCE at its frame rate, opened at the first frame's size."""

    def __init__(self, container: OutputContainer, source: Path, rate: Fraction):
        self.container, self.source, self.rate = container, source, rate
        self.codec = video_encoder()
        self.stream: VideoStream | None = None
        self.size = (0, 0)  # the first frame's, set with the stream; later frames are fitted to it

    def _open(self, size: tuple[int, int]) -> VideoStream:
        width, height = size
        if self.codec in H264_ENCODERS:  # H.264 in 4:2:0 takes even sizes only: one black column or row more
            width, height = width + width % 2, height + height % 2
        stream = self.container.add_stream(self.codec, rate=self.rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        # one bit per pixel and frame, as OpenCV's mp4v writer used
        stream.bit_rate = min(int(width * height * self.rate), 2**31 - 1)
        return stream

    def write(self, image: Image.Image) -> None:
        import av

        if self.stream is None:
            self.size = image.size
            self.stream = self._open(image.size)
        elif image.size != self.size:  # MJPEG frames may change size: fit the video's
            image = image.resize(self.size)
        if image.size != (self.stream.width, self.stream.height):
            image = image.crop((0, 0, self.stream.width, self.stream.height))  # beyond the image: black
        try:
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]  # unannotated in PyAV's stub
            packets = self.stream.encode(frame)
        except av.FFmpegError as exc:
            if isinstance(exc, OSError):
                raise
            name, side = ENCODER_NAMES[self.codec], MAX_SIDE.get(self.codec)
            raise VideoError(
                f"{self.source}: the {name} encoder of the annotated video refused its "
                f"{self.size[0]}x{self.size[1]} frames ({exc.strerror})"
                + (f"; {name} takes at most {side} px a side" if side else "")
            ) from exc
        self.container.mux(packets)  # a failed write (a full disk) raises OSError

    def finish(self) -> None:
        if self.stream is not None:
            self.container.mux(self.stream.encode())  # the frames the encoder still holds


def process_video(
    path: Path, out: str | Path, analyse: Analyze, suffix: str = ".mp4", keep_rejected: bool = False
) -> list[CsvRow]:
    """The rows of a video that check() accepted, its annotated frames written to OUT (a SUFFIX file)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = frame_rate(stream)
        fps = float(rate)
        rows: list[CsvRow] = []
        output = av.open(str(out), "w", format=VIDEO_CONTAINERS[suffix.lower()])
        with output, bar(total=stream.frames or None, desc="frames", unit="frame") as frames_bar:
            encoder = _Encoder(output, path, rate)

            def keep(item: Analysed) -> None:
                if item.faces is None or item.frame.image is None:
                    rows.append(unreadable_row(item.frame.index, fps))
                else:
                    encoder.write(annotate(item.frame.image, item.faces.scene(), rejected=keep_rejected))
                    rows.append(frame_row(item.frame.index, fps, item.faces))
                frames_bar.update()

            frames = FrameStream(analyse).add_sink(keep).add_sink(encoder.finish, on="end")
            frames.drain(video_frames(path, container, stream))
    frames.counts.check(str(path))
    return rows


def _kind(path: Path) -> str:
    if path.is_dir():
        raise BadImageError(
            f"{path}: is a folder; give one image ({', '.join(IMAGE_SUFFIXES)}) "
            f"or video ({', '.join(VIDEO_SUFFIXES)}) file"
        )
    if not path.is_file():
        raise BadImageError(f"{path}: no such file")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "video"
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "image"
    raise BadImageError(f"{path}: unknown kind of file; images {IMAGE_SUFFIXES}, videos {VIDEO_SUFFIXES}")


def output_path(path: Path, out: str | Path | None, kind: str) -> Path:
    """--out, checked before anything is read or written: a suffix lrfp writes, never the input itself."""
    if not out:
        return path.with_name(f"{path.stem}-annotated{DEFAULT_OUT[kind]}")
    out = Path(out)
    allowed = VIDEO_OUT_SUFFIXES if kind == "video" else IMAGE_OUT_SUFFIXES
    if out.suffix.lower() not in allowed:
        raise ConfigError(f"{out}: an annotated {kind} is written as {', '.join(allowed)}; give --out such a name")
    if out.is_dir():
        raise ConfigError(f"{out}: is a folder; give --out a file name")
    if out.resolve() == path.resolve() or (out.exists() and os.path.samefile(out, path)):
        raise ConfigError(
            f"{out}: is the input itself; the annotated {kind} needs another name "
            f"(default {path.stem}-annotated{DEFAULT_OUT[kind]})"
        )
    return out


def probe(path: Path) -> None:
    """Refuse a video lrfp cannot read, or whose frames are over the limit, from its header alone."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: holds no video stream")
            context = container.streams.video[0].codec_context
            _check_size(path, context.width, context.height)
    except av.FFmpegError as exc:
        raise VideoError(f"{path}: not a readable video ({exc.strerror})") from exc


def check(path: str | Path, out: str | Path | None = None) -> tuple[str, Path]:
    """("image" or "video", the output path) for INPUT and --out, or the error `process` would raise for
    them: cheap (a video's header, no frame), so a command can check before it loads a model."""
    path = Path(path)
    kind = _kind(path)
    out = output_path(path, out, kind)
    if kind == "video":
        probe(path)
    return kind, out


def process(
    path: str | Path,
    out: str | Path | None,
    classifier: Classifier,
    detector: FaceDetector | None = None,
    keep_rejected: bool = False,
    analyse: Analyze | None = None,
) -> tuple[Path, Path, list[CsvRow]]:
    """Annotate INPUT (image or video) to OUT and write OUT's .csv beside it; returns (out, csv, rows).
    `keep_rejected`: the boxes the face check dropped are drawn too, in grey (never counted). `analyse`: in
    place of the classifier and detector on every frame (lrfp.pipeline.frames.Analyze).

    Rows are one per frame, with status "unreadable" for a frame that could not be decoded. Both
    files appear only when everything was written.
    """
    path = Path(path)
    kind, out = check(path, out)
    csv_path = out.with_suffix(".csv")
    analyse = analyse or scene_analysis(classifier, detector)
    # both files appear only when complete: a failure (a full disk, no readable frame) leaves neither
    with atomic_path(out) as out_tmp:
        rows = (
            process_video(path, out_tmp, analyse, out.suffix, keep_rejected)
            if kind == "video"
            else process_image(path, out_tmp, analyse, out.suffix, keep_rejected)
        )
        with atomic_path(csv_path) as csv_tmp:
            write_csv(csv_tmp, rows)
    return out, csv_path, rows
