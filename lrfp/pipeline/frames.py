"""The one loop of analysed frames: a source of frames -> pacing and drop counting -> analysis -> sinks.

Every way lrfp meets frames runs through FrameStream: a video file or a photo (`lrfp scene`, `lrfp monitor`'s
files: lrfp.pipeline.video.video_frames), a live stream (lrfp.scale.live) and the webcam (lrfp.app.live,
one frame pushed at a time). A source yields Frames (None: nothing new this moment, a live source's way to
let the sinks write on time); the stream leaves out the frames its Pacer says are not due (counted as
dropped), hands the others to the analysis, a batch at a time, and calls the sinks registered for each
analysed frame in the order they were added (a tracker before the table that keeps its track ids).

The analysis is any callable from frames to one Detections each (`Analyze`; it gets decodable frames only,
with their camera, number and time, a batch at a time): scene_analysis() runs the detector and classifier on
every frame; lrfp.pipeline.interval.CameraGroup (the detector on every k-th frame of each camera, its faces
followed between) plugs in in its place, the one Settings.analyser picks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from PIL import Image

from lrfp.core.errors import LrfpError
from lrfp.pipeline.detections import Detections
from lrfp.pipeline.scene import analyze

if TYPE_CHECKING:
    from lrfp.pipeline.detect import FaceDetector
    from lrfp.pipeline.inference import Classifier

# frames in (each with its image), one Detections per frame out, in their order
Analyze = Callable[[list["Frame"]], list[Detections]]
Event = Literal["frame", "idle", "end"]
Sink = Callable[..., None]  # "frame": called with the Analysed frame; "idle", "end": with nothing


class VideoError(LrfpError):
    """A video that cannot be read or written."""


def scene_analysis(classifier: Classifier, detector: FaceDetector | None) -> Analyze:
    """The analysis of lrfp.pipeline.scene.analyze on every frame: faces found, checked and classified."""

    def analyse(frames: list[Frame]) -> list[Detections]:
        return [Detections.from_scene(analyze(image_of(f), classifier, detector, mode="scene")) for f in frames]

    return analyse


def image_of(frame: Frame) -> Image.Image:
    """A frame's image; ValueError for one with none (FrameStream hands on decodable frames only)."""
    if frame.image is None:
        raise ValueError(f"frame {frame.index} has no image to analyse")  # FrameStream hands on decodable ones only
    return frame.image


@dataclass
class Frame:
    """A frame of a source: its number there, its time in seconds from the source's first frame (video time,
    or from a live run's start), its wall-clock time where known, and its image (None: not decodable)."""

    index: int
    offset_s: float
    image: Image.Image | None
    time: datetime | None = None
    camera: str = ""


@dataclass
class Analysed:
    frame: Frame
    faces: Detections | None  # None for a frame that could not be decoded


@dataclass
class Counts:
    """What became of a source's frames."""

    read: int = 0  # frames the source gave
    dropped: int = 0  # left out by the pacing
    unreadable: int = 0  # could not be decoded
    analysed: int = 0

    def check(self, name: str) -> None:
        """VideoError when a source gave nothing to analyse: no frame, or none decodable."""
        kept = self.read - self.dropped
        if not kept:
            raise VideoError(f"{name}: holds no frame (empty or truncated)")
        if not self.analysed:
            raise VideoError(f"{name}: none of its {kept} frames could be decoded (corrupt, or not a video)")


class Pacer:
    """Which frames are due, per camera, by their time T: one every EVERY_S seconds (0: every frame).

    Strict (files' --every): the next is due EVERY_S after the last kept. Steady (a live --rate, by the time a
    frame came): one a beat of EVERY_S, a frame less than half a beat early or late kept for its beat (a later one
    moves the beat on with it), so a camera sending at the rate keeps every frame through its jitter, and a
    faster one is kept at the rate, never two frames in one beat."""

    def __init__(self, every_s: float = 0.0, steady: bool = False):
        self.every_s, self.steady = every_s, steady
        self.next: dict[str, float] = {}

    def due(self, camera: str, t: float) -> bool:
        if camera not in self.next:
            return True
        return t > self.next[camera] - self.every_s / 2 if self.steady else t >= self.next[camera]

    def took(self, camera: str, t: float) -> None:
        if self.steady:  # the beat moves on by one, or, after a frame late by over half a beat, with it
            beat = self.next.get(camera, t)
            self.next[camera] = max(beat, t - self.every_s / 2) + self.every_s
        else:
            self.next[camera] = t + self.every_s if self.every_s else 0.0


@dataclass
class FrameStream:
    """Frames in, analysed frames out, each handed to the sinks (see the module's docstring)."""

    analyse: Analyze
    pacer: Pacer = field(default_factory=Pacer)
    batch: int = 1  # frames analysed in one call of ANALYSE
    counts: Counts = field(default_factory=Counts)
    sinks: dict[Event, list[Sink]] = field(default_factory=lambda: {"frame": [], "idle": [], "end": []})
    pending: list[Frame] = field(default_factory=list)

    def add_sink(self, sink: Sink, on: Event = "frame") -> FrameStream:
        """Call SINK with each analysed frame ("frame"), when a source has nothing new ("idle"), or once when
        it has ended ("end"; the last two with no argument)."""
        self.sinks[on].append(sink)
        return self

    def run(self, source: Iterable[Frame | None]) -> Iterator[Analysed]:
        """Each frame of SOURCE that is due, analysed and handed to the sinks, as it is done."""
        for frame in source:  # lrfp's one frame loop
            if frame is None:
                yield from self.flush()
                self._emit("idle")
            else:
                yield from self.push(frame)
        yield from self.flush()
        self._emit("end")

    def push(self, frame: Frame) -> list[Analysed]:
        """One frame in; the frames analysed with it (none while a batch is still filling)."""
        self.counts.read += 1
        if not self.pacer.due(frame.camera, frame.offset_s):
            self.counts.dropped += 1
            return []
        self.pacer.took(frame.camera, frame.offset_s)
        self.pending.append(frame)
        return self.flush() if len(self.pending) >= self.batch else []

    def flush(self) -> list[Analysed]:
        """The frames waiting for a batch, analysed and handed to the sinks."""
        frames, self.pending = self.pending, []
        readable = [f for f in frames if f.image is not None]
        found = iter(self.analyse(readable) if readable else [])
        done = [Analysed(f, next(found) if f.image is not None else None) for f in frames]
        for item in done:
            if item.faces is None:
                self.counts.unreadable += 1
            else:
                self.counts.analysed += 1
            for sink in self.sinks["frame"]:
                sink(item)
        return done

    def _emit(self, event: Event) -> None:
        for sink in self.sinks[event]:
            sink()

    def drain(self, source: Iterable[Frame | None]) -> Counts:
        """Run SOURCE through to its end, for the sinks alone; the counts."""
        for _ in self.run(source):
            pass
        return self.counts
