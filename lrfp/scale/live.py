"""`lrfp monitor --live URL...`: live cameras into time-sliced tables of frames, people and alerts.

Each stream is read on its own thread (lrfp.scale.stream), which keeps the stream's frames at most RATE a
second (the others are skipped, and counted) and holds the newest of them, up to HOLD_S seconds' worth; this
loop takes the oldest frame each stream holds, a pass over the streams at a time, as fast as the machine
allows, so a stretch of slow analysis is worked off after it, and the loop never falls behind by more than
HOLD_S (the frames it had no time for are dropped, counted, and put down to a cause: lrfp.scale.drops). A
frame keeps the time it came; its age when its analysis is done is counted per stream (lrfp.scale.ages).
Every SLICE_S seconds it writes:

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
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from lrfp.core import labels
from lrfp.core.paths import within
from lrfp.core.records import atomic_path, write_json_atomic
from lrfp.pipeline.frames import Analysed, Analyze, Frame, FrameStream
from lrfp.pipeline.people import PeopleTracker, PersonRow
from lrfp.scale.ages import Ages
from lrfp.scale.alerts import Alerts
from lrfp.scale.drops import DropLog, Timeline
from lrfp.scale.people import PEOPLE_SCHEMA, resume_people
from lrfp.scale.rows import SCHEMA, frame_record
from lrfp.scale.settings import LiveSettings
from lrfp.scale.stream import Stream, Taken
from lrfp.scale.webhook import Webhook
from lrfp.scale.writer import SliceWriter

log = logging.getLogger(__name__)
SLICES, OPEN_PEOPLE, STATUS, STILLS = "slices", "people-open.parquet", "live.json", "stills"
STILL_QUALITY = 85  # JPEG: a 640x480 frame in about 50 KB, one a camera a slice (72 MB a camera a day at 60 s)
WARM_UP, WARM_UP_SIZE = "(warm-up)", (640, 480)  # the blank frame the analysis first runs on, and its camera
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


def _write(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _placed(camera: str, source: str, person: PersonRow) -> PersonRow:
    """A person's row with the camera and stream it was seen on first."""
    where: PersonRow = {"camera": camera, "source": source}
    return where | person


class LiveRun:
    """One process's live run over the streams of LIVE (on Ray, a group of them: PART), each frame through
    lrfp.pipeline.frames.FrameStream, into OUT's slices."""

    def __init__(self, live: LiveSettings, out, analyse: Analyze | None, part: str = ""):
        self.live, self.out = live, Path(out)
        # PART: one group of a run's streams (on Ray, lrfp.scale.live_ray): its files carry "-PART"
        self.suffix = f"-{part}" if part else ""
        self.stopping = threading.Event()  # stop(): the run ends as Ctrl-C would end it
        self.timeline = Timeline()  # what the analysis thread does when: each drop is put down to a cause
        self.drops = DropLog(self.timeline)
        self.streams = {
            camera: Stream(camera, url, every_s=1 / live.rate, on_drop=self.drops.note) for camera, url in live.cameras
        }
        self.trackers = {camera: PeopleTracker() for camera in self.streams}
        self.ages = {camera: Ages() for camera in self.streams}  # each frame's age when its analysis was done
        # a restarted run goes on with the people the last one left in view (not counted again)
        resume_people(self.trackers, self.out / named(OPEN_PEOPLE, self.suffix))
        self.hook = Webhook(live.webhook) if live.webhook else None  # closed when the run ends
        self.alerts = Alerts(list(live.rules), out, self.hook, part=part)
        self.frames: list[dict] = []  # this slice's rows
        self.people: list[dict] = []  # the people ended so far (the alerts look back over them)
        self.slices = 0
        # each camera's worst frame of this slice: (faces without a mask, its row, the image)
        self.worst: dict[str, tuple[int, dict, Image.Image]] = {}
        # each pass over the streams is one batch (lrfp.pipeline.interval.CameraGroup staggers their detections)
        self.analyse = analyse or _unused
        self.writer = SliceWriter()  # the slices are written on a thread of their own
        self.stream = FrameStream(self._analysed, batch=len(self.streams))
        for sink in (self._age, self._track, self._keep, self._keep_worst, self._on_time):
            self.stream.add_sink(sink)
        self.stream.add_sink(self._on_time, on="idle")
        self.t0 = self.slice_end = 0.0

    def _frames(self, duration_s: float | None) -> Iterator[Frame | None]:
        """The oldest frame each stream holds (the reader threads keep them at --rate, drop and count the others),
        then None after each pass over the streams: the frames of a pass are analysed as one batch, and the sinks
        may then write a slice."""
        index = dict.fromkeys(self.streams, 0)
        while (duration_s is None or time.monotonic() - self.t0 < duration_s) and not self.stopping.is_set():
            busy = False
            for camera, stream in self.streams.items():
                with self.timeline.doing("decode"):
                    taken = stream.take()
                if taken is not None and taken.image is not None:
                    yield self._frame(camera, index[camera], taken)
                    index[camera], busy = index[camera] + 1, True
            yield None
            self.drops.classify()
            if not busy:
                with self.timeline.doing("idle"):
                    time.sleep(0.005)

    def _frame(self, camera: str, index: int, taken: Taken) -> Frame:
        """A taken frame with the time it came (held up to HOLD_S, it may be seconds old when taken)."""
        now = time.monotonic()
        offset, when = taken.arrived - self.t0, datetime.now() - timedelta(seconds=now - taken.arrived)
        return Frame(index, round(offset, 3), taken.image, when, camera)

    def _analysed(self, frames: list[Frame]) -> list:
        """The analysis of a batch, marked on the timeline."""
        with self.timeline.doing("analysis"):
            return self.analyse(frames)

    def _warm_up(self) -> None:
        """The analysis run once on a blank frame before the streams open: the models' first run is several
        times slower than the next, and no camera's frames wait for it."""
        with self.timeline.doing("warm-up"):
            self.analyse([Frame(0, 0.0, Image.new("RGB", WARM_UP_SIZE), camera=WARM_UP)])

    def _age(self, item: Analysed) -> None:
        self.ages[item.frame.camera].add(time.monotonic() - self.t0 - item.frame.offset_s)

    def _track(self, item: Analysed) -> None:
        """The camera's people tracker follows the frame's faces; their track ids go into its Detections."""
        frame, faces = item.frame, item.faces
        if faces is not None:
            with self.timeline.doing("tracker"):
                faces.track = np.array(self.trackers[frame.camera].see(frame.index, frame.offset_s, frame.time, faces))

    def _keep(self, item: Analysed) -> None:
        where = {"camera": item.frame.camera, "source": self.streams[item.frame.camera].shown_url, "kind": "live"}
        self.frames.append(where | frame_record(item))  # the source's secrets masked (lrfp.core.redact)

    def _keep_worst(self, item: Analysed) -> None:
        row, camera = self.frames[-1], item.frame.camera
        unmasked = labels.unmasked(row) if row["status"] == "ok" else 0
        if unmasked and item.frame.image is not None and unmasked > self.worst.get(camera, (0, {}, None))[0]:
            self.worst[camera] = (unmasked, row, item.frame.image)

    def _on_time(self, _: Analysed | None = None) -> None:
        if time.monotonic() >= self.slice_end:
            with self.timeline.doing("slice"):
                self.flush()
            self.slice_end += self.live.slice_s

    def _write_stills(self, worst: dict[str, tuple[int, dict, Image.Image]]) -> None:
        """Each camera's worst frame of the slice (WORST), as a JPEG beside the slices (written whole, then
        renamed); the stills older than STILLS_KEEP_S go (their rows stay: the page then says no still was kept)."""
        for _, row, image in worst.values():
            path = self.out / STILLS / still_name(row["camera"], row["frame"], row["offset_s"])
            with atomic_path(path) as tmp:
                image.convert("RGB").save(tmp, "JPEG", quality=STILL_QUALITY)
        too_old = time.time() - STILLS_KEEP_S
        for path in (self.out / STILLS).glob("*.jpg"):
            with contextlib.suppress(FileNotFoundError):  # another group of streams (on Ray) took it first
                if path.stat().st_mtime < too_old:
                    path.unlink()

    def flush(self, final: bool = False) -> None:
        """Hand the slice gathered since the last one to the writer's thread (lrfp.scale.writer): its rows and
        stills, the people ended and in view, the alerts and the counts. The final slice is written before
        this returns."""
        now = time.monotonic()
        now_s = now - self.t0
        ended = [
            _placed(c, self.streams[c].shown_url, p)
            for c, t in self.trackers.items()
            for p in (t.finished() if final else t.finished(self._analysed_to(c, now)))
        ]
        in_view = [_placed(c, self.streams[c].shown_url, p) for c, t in self.trackers.items() for p in t.current()]
        self.people += ended
        seen = self.people + in_view
        self._keep_recent()
        frames, worst, self.frames, self.worst = self.frames, self.worst, [], {}
        self.slices += 1
        status = {
            "running": not final,  # false once the run has ended (a killed run stays true: its age tells)
            "slices": self.slices,
            "slice_s": self.live.slice_s,
            "rate": self.live.rate,
            "seconds": round(now_s, 1),
            "streams": self._counts(),
            "drops": self.drops.summary(),  # by cause (lrfp.scale.drops)
        }
        last_frames = {c: s.last_frame for c, s in self.streams.items()}
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S.%f")
        self.writer.submit(
            functools.partial(self._write_slice, stamp, frames, worst, ended, in_view, seen, last_frames, status)
        )
        if final:
            self.writer.close()

    def _write_slice(self, stamp, frames, worst, ended, in_view, seen, last_frames, status: dict) -> None:
        """A slice handed on by flush(), written (on the writer's thread)."""
        slices = self.out / SLICES
        self._write_stills(worst)  # before the slice: a reader never meets a row whose still is still to come
        _write(pa.Table.from_pylist(frames, schema=SCHEMA), slices / f"frames-{stamp}{self.suffix}.parquet")
        _write(pa.Table.from_pylist(ended, schema=PEOPLE_SCHEMA), slices / f"people-{stamp}{self.suffix}.parquet")
        _write(pa.Table.from_pylist(in_view, schema=PEOPLE_SCHEMA), self.out / named(OPEN_PEOPLE, self.suffix))
        seen_table = pd.DataFrame(seen, columns=["camera", "label", "last_seen"])
        self.alerts.check(datetime.now(), seen_table, last_frames)
        status = {"updated": datetime.now().isoformat()} | status | {"alerts": len(self.alerts.rows)}
        write_json_atomic(status, self.out / named(STATUS, self.suffix))

    def _analysed_to(self, camera: str, now: float) -> float:
        """Seconds into the run up to which CAMERA's frames are analysed: when its oldest frame still held came
        (a person last seen before it may be in the held frames: not ended yet), else NOW."""
        return (self.streams[camera].oldest_held() or now) - self.t0

    def _counts(self) -> list[dict]:
        """Each stream's counts, with its frames' ages at analysis (seconds from arrival to the result)."""
        return [s.counts() | {"age_s": self.ages[c].summary()} for c, s in self.streams.items()]

    def _keep_recent(self) -> None:
        """Forget the ended people no rule looks back to (a day's worth would otherwise pile up)."""
        back = max((r.minutes for r in self.alerts.rules), default=0)
        cut = datetime.now() - timedelta(minutes=back)
        self.people = [p for p in self.people if p["last_seen"] is not None and p["last_seen"] >= cut]

    def run(self, duration_s: float | None = None) -> dict:
        """Read and analyse until DURATION_S seconds have passed (forever without it, until Ctrl-C)."""
        self._warm_up()
        for stream in self.streams.values():
            stream.start()
        self.t0 = self.drops.t0 = time.monotonic()
        self.slice_end = self.t0 + self.live.slice_s
        try:
            with self.drops.gc:
                self.stream.drain(self._frames(duration_s))
        except KeyboardInterrupt:
            log.info("stopped by the user: writing the slice gathered so far")
        finally:
            for stream in self.streams.values():
                stream.stop()
            self.drops.classify()
            self.flush(final=True)
            if self.hook:
                self.hook.close()
        return {
            "seconds": time.monotonic() - self.t0,
            "slices": self.slices,
            "alerts": len(self.alerts.rows),
            "streams": self._counts(),
        }


def _unused(images: list) -> list:
    raise AssertionError("a LiveRun made without an analysis cannot run")


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
