"""One live input (RTSP, HTTP MJPEG, a camera device) read through PyAV on a thread of its own.

The thread reads every frame the source sends, skips (and counts) those over the run's --rate by the time
each came (lrfp.pipeline.frames.Pacer: a camera at the rate keeps every frame through its jitter, however slow
the analysis was), and holds the newest of the others, up to HOLD_S seconds of them at the rate (at least
MIN_HELD frames, at most HOLD_BYTES): the analysis takes the oldest when it is ready for one, so a stretch of
slow analysis (a crowd in view: the face check and classifier on many crops) that falls up to HOLD_S behind
loses no frame, and is worked off once it ends; a frame is at most about HOLD_S old when taken. A frame pushed out
by newer ones before it was taken is dropped, and counted (memory stays bounded on a machine too slow for
its cameras). An MJPEG frame is kept as its JPEG bytes and
decoded only when taken: most frames of an overloaded run are pushed out before they are taken, and decoding each cost about 2.8 ms of CPU (a third of a loaded live
run's). Another codec's frames depend on the ones before, so they are decoded as they come. When the source
fails or ends, the thread reconnects with doubling waits (up to MAX_WAIT_S). A frame over MAX_PIXELS (the
files' limit) is refused and counted, the stream kept: an MJPEG frame by its JPEG header, before it is
decoded; another codec's right after decoding, before it becomes an image.
"""

from __future__ import annotations

import io
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from lrfp.core.errors import ConfigError
from lrfp.core.redact import mask_url, without_secrets
from lrfp.data.images import MAX_PIXELS
from lrfp.pipeline.frames import Pacer

log = logging.getLogger(__name__)
SCHEMES = ("rtsp", "rtsps", "http", "https")
FIRST_WAIT_S, MAX_WAIT_S = 0.5, 30.0
OPEN_TIMEOUT_S = 10.0  # FFmpeg's wait for a connection and for each read
# A stream holds up to HOLD_S seconds of frames at its --rate for the analysis: the bursts of slow analysis
# measured (4 cameras at 5 frames/s on 2 cores: a crowd in view for a minute, dropping 1.4 frames a second
# with two frames held) fit in it, and a frame's age at analysis stays under it. MIN_HELD whatever the rate
# (one slow pass drops none); HOLD_BYTES bounds the memory of a stream whose frames are held decoded (a
# 1920x1080 RGB frame is 6 MB; an MJPEG frame is held as its JPEG, about 50 KB at 640x480)
HOLD_S, MIN_HELD, HOLD_BYTES = 10.0, 2, 64 * 2**20


def frames_held(every_s: float) -> int:
    """The most frames a stream paced one every EVERY_S seconds holds (0: not paced, MIN_HELD)."""
    return max(MIN_HELD, math.ceil(HOLD_S / every_s)) if every_s > 0 else MIN_HELD


def held_bytes(item: Image.Image | bytes) -> int:
    """The memory a held frame takes: a JPEG's bytes, or a decoded image's pixels."""
    if isinstance(item, bytes):
        return len(item)
    return item.width * item.height * len(item.getbands())


@dataclass
class Taken:
    """A frame taken from a stream: its image (None: it did not decode) and when it came (time.monotonic())."""

    image: Image.Image | None
    arrived: float


def check_live(item: str, number: int = 1) -> tuple[str, str]:
    """(camera, url) of a --live input: URL or NAME=URL, where URL is rtsp://, http(s):// or /dev/videoN;
    ConfigError naming the problem otherwise. An unnamed stream is "camera-<number>", never a name made
    from its address: camera names are shown to every visitor of the dashboard."""
    name, sep, url = item.partition("=") if re.match(r"^[\w.-]+=", item) else ("", "", item)
    parts = urlsplit(url)
    if parts.scheme in SCHEMES:
        if not parts.hostname:
            raise ConfigError(f"--live {mask_url(item)}: {mask_url(url)!r} names no host")
        camera = name or f"camera-{number}"
    elif re.fullmatch(r"/dev/video\d+", url):
        camera = name or Path(url).name
    else:
        raise ConfigError(
            f"--live {mask_url(item)}: give an rtsp://, http(s):// (MJPEG) URL or a camera device /dev/videoN, "
            f"optionally as NAME=URL"
        )
    return camera, url


def _jpeg_too_large(data: bytes) -> bool:
    """Whether a JPEG's header gives it more than MAX_PIXELS (read by Pillow without decoding the image); an
    unreadable header is left to the decoder, which says what is wrong with it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:  # over twice the limit: Pillow refuses it itself
        return True
    except (OSError, ValueError, SyntaxError):
        return False
    return width * height > MAX_PIXELS


class Stream:
    """The newest frame of a live input, and what the reading cost: frames read, dropped, reconnects."""

    def __init__(
        self,
        camera: str,
        url: str,
        first_wait_s: float = FIRST_WAIT_S,
        on_drop: Callable[[str, float, float], None] | None = None,
        every_s: float = 0.0,
    ):
        self.camera, self.url, self.first_wait_s = camera, url, first_wait_s
        # ON_DROP(camera, the dropped frame's arrival, the time it was pushed out), on the reader thread
        self.on_drop = on_drop
        self.pacer = Pacer(every_s, steady=True)  # one frame every EVERY_S at most (0: every frame)
        self.shown_url = mask_url(url)  # what tables, live.json and messages hold: the real URL stays here
        self.read = self.skipped = self.dropped = self.refused = self.taken = self.reconnects = 0
        self.last_frame: datetime | None = None  # wall-clock time of the newest frame
        self.error = ""
        # the newest frames not taken, oldest first, with when each came (time.monotonic()); bytes: an MJPEG
        # frame, decoded when taken
        self._held: deque[tuple[Image.Image | bytes, float]] = deque()
        self.hold, self._held_bytes = frames_held(every_s), 0  # the most frames held; the bytes held now
        self.held_peak = 0  # the most frames held at once (how deep a burst went)
        self._jpeg_decoder: Any = None  # av's CodecContext, used by take() only (the analysis's thread)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"lrfp-live-{camera}", daemon=True)

    def start(self) -> Stream:
        self.thread.start()
        return self

    def take(self) -> Taken | None:
        """The oldest frame held (an RGB image; an MJPEG frame decoded now), or None: none is held."""
        with self._lock:
            if not self._held:
                return None
            item, arrived = self._held.popleft()
            self._held_bytes -= held_bytes(item)
        image = self._decoded(item) if isinstance(item, bytes) else item
        if image is not None:
            self.taken += 1
        return Taken(image, arrived)

    def oldest_held(self) -> float | None:
        """When the oldest frame held came (time.monotonic()): the analysis has seen every frame before it; None:
        none is held."""
        with self._lock:
            return self._held[0][1] if self._held else None

    def _decoded(self, jpeg: bytes) -> Image.Image | None:
        """An MJPEG frame's image, by FFmpeg's decoder as the stream's own would (each frame stands alone);
        None, with the reason in `error`, for one that does not decode, or is bigger than its header said."""
        import av

        if self._jpeg_decoder is None:
            self._jpeg_decoder = av.CodecContext.create("mjpeg", "r")
        try:
            frames = self._jpeg_decoder.decode(av.Packet(jpeg))
        except (av.FFmpegError, ValueError) as exc:
            self.error = f"a frame could not be decoded: {exc}"
            return None
        if not frames:
            return None
        if frames[-1].width * frames[-1].height > MAX_PIXELS:
            self._refuse()
            return None
        image: Image.Image = frames[-1].to_image()
        return image

    def _open(self):
        import av

        options = {"rtsp_transport": "tcp"} if self.url.startswith("rtsp") else {}
        fmt = "v4l2" if self.url.startswith("/dev/") else None
        return av.open(self.url, format=fmt, options=options, timeout=OPEN_TIMEOUT_S)

    def _read_once(self) -> None:
        with self._open() as container:
            self.error = ""
            video = container.streams.video[0]
            for packet in container.demux(video):
                if self._stop.is_set():
                    return
                if video.codec_context.name == "mjpeg":
                    jpeg = bytes(packet)
                    if not jpeg:  # the demuxer's end-of-stream packet
                        continue
                    if _jpeg_too_large(jpeg):
                        self._refuse()
                    else:
                        self._hold(jpeg)
                    continue
                for frame in packet.decode():
                    self._keep(frame)

    def _refuse(self) -> None:
        self.refused += 1
        if self.refused == 1 or self.refused % 1000 == 0:
            log.warning(f"{self.camera}: {self.refused} frame(s) over {MAX_PIXELS:,} pixels refused (the files' limit)")

    def _keep(self, frame) -> None:
        """FRAME (decoded) as the newest image, unless it is over the pixel limit."""
        if frame.width * frame.height > MAX_PIXELS:
            self._refuse()
            return
        self._hold(frame.to_image())

    def _hold(self, image: Image.Image | bytes, now: float | None = None) -> None:
        """IMAGE (or an MJPEG frame's bytes) held as the newest frame; the oldest ones pushed out, while more than
        `hold` frames or HOLD_BYTES are held (MIN_HELD always kept), are dropped and counted. A frame over --rate
        is skipped, and counted. NOW: when it came."""
        now = time.monotonic() if now is None else now
        self.read += 1
        self.last_frame = datetime.now()
        if not self.pacer.due(self.camera, now):
            self.skipped += 1
            return
        self.pacer.took(self.camera, now)
        pushed_out = []
        with self._lock:
            self._held.append((image, now))
            self._held_bytes += held_bytes(image)
            while len(self._held) > self.hold or (len(self._held) > MIN_HELD and self._held_bytes > HOLD_BYTES):
                pushed_out.append(self._held.popleft())
                self._held_bytes -= held_bytes(pushed_out[-1][0])
            self.held_peak = max(self.held_peak, len(self._held))
        for _, arrived in pushed_out:
            self.dropped += 1
            if self.on_drop:
                self.on_drop(self.camera, arrived, now)

    def _run(self) -> None:
        import av

        wait = self.first_wait_s
        while not self._stop.is_set():
            before = self.read
            try:
                self._read_once()
                reason = "the stream ended"
            except (av.FFmpegError, OSError, ValueError) as exc:
                reason = without_secrets(str(exc), self.url) or type(exc).__name__  # FFmpeg's may quote the URL
            if self._stop.is_set():
                return
            wait = self.first_wait_s if self.read > before else min(MAX_WAIT_S, wait * 2)
            self.error = reason
            log.warning(f"{self.camera}: {reason}; reconnecting in {wait:.1f} s")
            self._stop.wait(wait)
            self.reconnects += 1

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(OPEN_TIMEOUT_S + 1)

    def counts(self) -> dict:
        return {
            "camera": self.camera,
            "url": self.shown_url,
            "read": self.read,
            "analysed": self.taken,
            "skipped": self.skipped,  # over --rate
            "dropped": self.dropped,  # no time to analyse them
            "refused": self.refused,
            "held": len(self._held),  # read, kept and not yet taken (at the end: never analysed)
            "held_peak": self.held_peak,  # the most frames held at once, of `hold`
            "hold": self.hold,
            "reconnects": self.reconnects,
            "error": self.error,
            "last_frame": self.last_frame.isoformat() if self.last_frame else None,
        }
