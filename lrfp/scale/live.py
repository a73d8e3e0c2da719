"""`lrfp monitor --live URL...`: live cameras into time-sliced tables of frames, people and alerts.

Each stream is read on its own thread (lrfp.scale.stream), which keeps the newest frame only; this loop
analyses one frame of each stream at most RATE times a second, as fast as the machine allows, so it never
falls behind (the frames it had no time for are dropped, and counted). Every SLICE_S seconds it writes:

    OUT/slices/frames-<time>.parquet   the slice's frames (the columns of frames.parquet)
    OUT/slices/people-<time>.parquet   the people whose track ended in the slice
    OUT/people-open.parquet            the people still in view (replaced at each slice)
    OUT/alerts.parquet, OUT/live.json  the alerts so far; frames read, analysed, dropped, reconnects
    OUT/stills/<name>.jpg              each camera's worst frame of the slice (most faces without a mask),
                                       as analysed, named by still_name(): the Monitor page draws its faces

each written whole under a temporary name then renamed: a reader sees the last complete slice, and a
killed run loses at most the slice it was gathering.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from lrfp.core import labels
from lrfp.core.errors import ConfigError
from lrfp.core.paths import within
from lrfp.core.records import atomic_path, write_json_atomic
from lrfp.pipeline.interval import CameraGroup, live_every
from lrfp.pipeline.people import PeopleTracker, PersonRow
from lrfp.scale.alerts import Alerts
from lrfp.scale.people import PEOPLE_SCHEMA
from lrfp.scale.rows import SCHEMA, counts_row
from lrfp.scale.stream import Stream, check_live

log = logging.getLogger(__name__)
SLICES, OPEN_PEOPLE, STATUS, STILLS = "slices", "people-open.parquet", "live.json", "stills"
STILL_QUALITY = 85  # JPEG: a 640x480 frame in about 50 KB, one a camera a slice (72 MB a camera a day at 60 s)
STILLS_KEEP_S = 7 * 24 * 3600  # stills older than a week are removed as new ones are written (0.5 GB a camera)


def still_name(camera: str, frame: int, offset_s: float) -> str:
    """The file name of a live frame's still: the camera by a hash (a name may hold any character), the frame
    and its offset in ms (frame numbers start again when a run is started again)."""
    return f"{_digest(camera)}-{frame}-{round(offset_s * 1000)}.jpg"


@functools.lru_cache(maxsize=1024)
def _digest(camera: str) -> str:
    return hashlib.sha1(camera.encode()).hexdigest()[:12]


def named(name: str, suffix: str) -> str:
    """NAME with SUFFIX before its extension: people-open.parquet, "-g0" -> people-open-g0.parquet."""
    stem, dot, extension = name.partition(".")
    return f"{stem}{suffix}{dot}{extension}"


def cameras_of(items: list[str]) -> list[tuple[str, str]]:
    """(camera, url) of each --live input; ConfigError for a bad one, or for two of one camera name."""
    cameras = [check_live(item) for item in items]
    names = [c for c, _ in cameras]
    if len(set(names)) < len(names):
        raise ConfigError(f"--live: two streams named {max(names, key=names.count)!r}; name them NAME=URL")
    return cameras


def _write(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _placed(camera: str, source: str, person: PersonRow) -> PersonRow:
    """A person's row with the camera and stream it was seen on first."""
    where: PersonRow = {"camera": camera, "source": source}
    return where | person


class LiveRun:
    def __init__(
        self,
        items: list[str],
        out,
        classifier,
        detector,
        rate: float = 10.0,
        slice_s: float = 60.0,
        alerts: Alerts | None = None,
        part: str = "",
        detect_every: int | None = None,
    ):
        if not rate > 0 or not slice_s > 0:
            raise ConfigError(f"--rate {rate:g} and --slice {slice_s:g}: give numbers over 0")
        cameras = cameras_of(items)
        self.out, self.rate, self.slice_s = Path(out), rate, slice_s
        # PART: one group of a run's streams (on Ray, lrfp.scale.live_ray): its files carry "-PART"
        self.suffix = f"-{part}" if part else ""
        self.stopping = threading.Event()  # stop(): the run ends as Ctrl-C would end it
        self.classifier, self.detector = classifier, detector
        # each stream's frames analysed with the detector on every DETECT_EVERY-th (lrfp.pipeline.interval)
        self.analyzers = CameraGroup(classifier, detector, detect_every or live_every(rate))
        self.streams = [Stream(camera, url) for camera, url in cameras]
        self.trackers = {s.camera: PeopleTracker() for s in self.streams}
        self.alerts = alerts or Alerts([], out)
        self.frames: list[dict] = []  # this slice's rows
        self.people: list[dict] = []  # the people ended so far (the alerts look back over them)
        self.index = {s.camera: 0 for s in self.streams}
        self.slices = 0
        # each camera's worst frame of this slice: (faces without a mask, its row, the image)
        self.worst: dict[str, tuple[int, dict, Image.Image]] = {}

    def _analyse(self, stream: Stream, image, t0: float) -> None:
        when, offset = datetime.now(), round(time.monotonic() - t0, 3)
        row = {
            "camera": stream.camera,
            "source": stream.shown_url,  # its secrets masked (lrfp.core.redact)
            "kind": "live",
            "frame": self.index[stream.camera],
            "offset_s": offset,
            "time": when,
        } | counts_row(self.analyzers({stream.camera: image})[stream.camera])
        self.trackers[stream.camera].see(row["frame"], offset, when, row["face_rows"])
        self.index[stream.camera] += 1
        self.frames.append(row)
        unmasked = labels.unmasked(row)
        if unmasked and unmasked > self.worst.get(stream.camera, (0, {}, None))[0]:
            self.worst[stream.camera] = (unmasked, row, image)

    def _write_stills(self) -> None:
        """Each camera's worst frame of the slice, as a JPEG beside the slices (written whole, then renamed);
        the stills older than STILLS_KEEP_S go (their rows stay: the page then says no still was kept)."""
        for _, row, image in self.worst.values():
            path = self.out / STILLS / still_name(row["camera"], row["frame"], row["offset_s"])
            with atomic_path(path) as tmp:
                image.convert("RGB").save(tmp, "JPEG", quality=STILL_QUALITY)
        self.worst = {}
        too_old = time.time() - STILLS_KEEP_S
        for path in (self.out / STILLS).glob("*.jpg"):
            with contextlib.suppress(FileNotFoundError):  # another group of streams (on Ray) took it first
                if path.stat().st_mtime < too_old:
                    path.unlink()

    def flush(self, t0: float, final: bool = False) -> None:
        """Write the slice gathered since the last one, the people in view, the alerts and the counts."""
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S.%f")
        now_s = time.monotonic() - t0
        ended = [
            _placed(c, self.streams[i].shown_url, p)
            for i, (c, t) in enumerate(self.trackers.items())
            for p in (t.finished() if final else t.finished(now_s))
        ]
        slices = self.out / SLICES
        self._write_stills()  # before the slice: a reader never meets a row whose still is still to come
        _write(pa.Table.from_pylist(self.frames, schema=SCHEMA), slices / f"frames-{stamp}{self.suffix}.parquet")
        _write(pa.Table.from_pylist(ended, schema=PEOPLE_SCHEMA), slices / f"people-{stamp}{self.suffix}.parquet")
        in_view = [
            _placed(c, self.streams[i].shown_url, p)
            for i, (c, t) in enumerate(self.trackers.items())
            for p in t.current()
        ]
        _write(pa.Table.from_pylist(in_view, schema=PEOPLE_SCHEMA), self.out / named(OPEN_PEOPLE, self.suffix))
        self.people += ended
        self.frames, self.slices = [], self.slices + 1
        seen = pd.DataFrame(self.people + in_view, columns=["camera", "label", "last_seen"])
        self.alerts.check(datetime.now(), seen, {s.camera: s.last_frame for s in self.streams})
        self._keep_recent()
        write_json_atomic(
            {
                "updated": datetime.now().isoformat(),
                "running": not final,  # false once the run has ended (a killed run stays true: its age tells)
                "slices": self.slices,
                "slice_s": self.slice_s,
                "rate": self.rate,
                "seconds": round(now_s, 1),
                "alerts": len(self.alerts.rows),
                "streams": [s.counts() for s in self.streams],
            },
            self.out / named(STATUS, self.suffix),
        )

    def _keep_recent(self) -> None:
        """Forget the ended people no rule looks back to (a day's worth would otherwise pile up)."""
        back = max((r.minutes for r in self.alerts.rules), default=0)
        cut = datetime.now() - timedelta(minutes=back)
        self.people = [p for p in self.people if p["last_seen"] is not None and p["last_seen"] >= cut]

    def run(self, duration_s: float | None = None) -> dict:
        """Read and analyse until DURATION_S seconds have passed (forever without it, until Ctrl-C)."""
        for stream in self.streams:
            stream.start()
        t0 = time.monotonic()
        due = {s.camera: t0 for s in self.streams}
        slice_end = t0 + self.slice_s
        try:
            while (duration_s is None or time.monotonic() - t0 < duration_s) and not self.stopping.is_set():
                if time.monotonic() >= slice_end:
                    self.flush(t0)
                    slice_end += self.slice_s
                busy = False
                for stream in self.streams:
                    if time.monotonic() < due[stream.camera]:
                        continue
                    image = stream.take()
                    if image is not None:
                        due[stream.camera] = max(due[stream.camera] + 1 / self.rate, time.monotonic())
                        self._analyse(stream, image, t0)
                        busy = True
                if not busy:
                    time.sleep(0.005)
        except KeyboardInterrupt:
            log.info("stopped by the user: writing the slice gathered so far")
        finally:
            for stream in self.streams:
                stream.stop()
            self.flush(t0, final=True)
        return {
            "seconds": time.monotonic() - t0,
            "slices": self.slices,
            "alerts": len(self.alerts.rows),
            "streams": [s.counts() for s in self.streams],
        }


def read_slices(out, kind: str = "frames") -> pa.Table:
    """The complete slices of a live run's KIND ("frames" or "people", with the people still in view), of
    every group of its streams; a file that is a link leading out of OUT is not read."""
    out = Path(out)
    schema = SCHEMA if kind == "frames" else PEOPLE_SCHEMA
    parts = sorted((out / SLICES).glob(f"{kind}-*.parquet"))
    if kind == "people":
        parts += sorted(out.glob(named(OPEN_PEOPLE, "*")))
    tables = [pq.read_table(p, schema=schema) for p in parts if within(p, [out])]
    return pa.concat_tables(tables) if tables else schema.empty_table()
