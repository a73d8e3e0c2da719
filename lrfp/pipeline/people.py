"""People, not frames: faces followed across the frames of one video or stream, one row per person.

A tracker of the `trackers` library (Roboflow's clean-room ByteTrack, SORT and OC-SORT, Apache 2.0)
links each frame's face boxes to tracks; each track gathers its sightings, and becomes one person:
when first and last seen, in how many frames, the label most of its confident sightings got (with
that label's share of them) and the frame of its best crop (the biggest face, then the surest).

It is fed a frame's Detections (lrfp.pipeline.detections: as analysed, or read back from a monitor table's
face_rows, so any table gives its people), the detector's score as each box's confidence: ByteTrack's
second, low-score association runs on them. A table written before scores were kept has none: its boxes
count as sure detections (the detector kept only those over its own threshold anyway).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from lrfp.core import labels
from lrfp.pipeline.detections import Detections, FaceRow

if TYPE_CHECKING:
    from trackers import BaseIoU
    from trackers.core.base import BaseTracker


# a person's row: track, first_s, last_s, first_seen, last_seen, frames, label, share, votes, best_frame, best_x0...
PersonRow = dict[str, str | int | float | datetime | None]
# (frame, offset in seconds, wall-clock time, face) of a sighting with no track yet
Sighting = tuple[int, float, datetime | None, FaceRow]

# a sighting counts in the vote when its label's probability is at least this (the classifier's
# threshold is 0.5 for two classes: the doubtful middle is left out when there is anything else)
CONFIDENT = 0.75
LOST_S = 2.0  # a track not seen for this long ends (a face hidden behind another for a moment keeps its track)
MIN_FRAMES = 3  # a face seen in one or two frames only is no person: mostly a false detection or a broken track
# Tracks are matched by GIoU, which still scores boxes that do not overlap: on the demo clips (2 frames/s)
# a 9 px face moves 15 px a frame, and plain IoU cut its track at every frame (market/clip0: 3 people
# for 13 by hand, 14 one-frame tracks); GIoU over -0.5 counted 118 people for 130 by hand, plain IoU 94,
# buffered IoU 114-120, SORT 63, OC-SORT 70 (benchmarks/people_tracking.py, README)
MATCH, MIN_IOU = "giou", -0.5


def _metric(match: str) -> BaseIoU:
    """The box similarity tracks are matched by: "iou", "biou:R" (boxes widened by R of their size on each
    side first, for small faces that move more than their size between frames), "diou" or "giou"."""
    import trackers

    name, _, ratio = match.partition(":")
    metrics: dict[str, Callable[[], BaseIoU]] = {"iou": trackers.IoU, "diou": trackers.DIoU, "giou": trackers.GIoU}
    if name == "biou":
        return trackers.BIoU(buffer_ratio=float(ratio or 0.5))
    if name not in metrics:
        raise ValueError(f"match {match!r}: iou, biou:R, diou or giou")
    return metrics[name]()


def _make(name: str, lost_s: float, confirm: int, match: str, min_iou: float | None) -> BaseTracker:
    import trackers

    # lost_track_buffer counts frames at 30 frames/s; with timestamps the library turns it into seconds
    common = {
        "lost_track_buffer": max(1, round(lost_s * 30)),
        "minimum_consecutive_frames": confirm,
        "iou": _metric(match),
        **({} if min_iou is None else {"minimum_iou_threshold": min_iou}),
    }
    kinds: dict[str, Callable[..., BaseTracker]] = {
        "bytetrack": trackers.ByteTrackTracker,
        "sort": trackers.SORTTracker,
        "ocsort": trackers.OCSORTTracker,
    }
    if name not in kinds:
        raise ValueError(f"tracker {name!r}: one of {', '.join(kinds)}")
    return kinds[name](**common)


TRACKERS = ("bytetrack", "sort", "ocsort")


@dataclass
class Person:
    track: int
    first_s: float
    last_s: float
    first_time: datetime | None = None  # the frames' wall-clock times (None where the table has none)
    last_time: datetime | None = None
    frames: int = 0
    votes: Counter[str] = field(default_factory=Counter)  # confident sightings by label
    doubtful: Counter[str] = field(default_factory=Counter)  # the others (used only when there is no confident one)
    best: tuple[int, float] = (-1, -1.0)  # (face size, probability) of the best crop
    best_frame: int = -1
    best_box: tuple[int, int, int, int] = (0, 0, 0, 0)

    def see(self, frame: int, offset: float, when: datetime | None, face: FaceRow) -> None:
        self.frames += 1
        self.last_s, self.last_time = offset, when
        probability = face.get("probability")
        sure = probability is not None and not _nan(probability) and probability >= CONFIDENT
        (self.votes if sure else self.doubtful)[face["label"]] += 1
        rank = (int(face["size"]), -1.0 if probability is None or _nan(probability) else float(probability))
        if rank > self.best:
            self.best, self.best_frame = rank, frame
            self.best_box = (int(face["x0"]), int(face["y0"]), int(face["x1"]), int(face["y1"]))

    def label(self) -> tuple[str, float, int]:
        """(label, its share of the votes, votes): the confident sightings' majority; with none, all of
        them, judged labels first (a face once too small and twice judged is what it was judged)."""
        votes = self.votes or Counter({k: v for k, v in self.doubtful.items() if labels.judged(k)}) or self.doubtful
        name, n = max(votes.items(), key=lambda kv: (kv[1], labels.judged(kv[0])))
        return name, n / sum(votes.values()), sum(votes.values())

    def row(self) -> PersonRow:
        name, share, votes = self.label()
        return {
            "track": self.track,
            "first_s": round(self.first_s, 3),
            "last_s": round(self.last_s, 3),
            "first_seen": self.first_time,
            "last_seen": self.last_time,
            "frames": self.frames,
            "label": name,
            "share": round(share, 4),
            "votes": votes,
            "best_frame": self.best_frame,
            **dict(zip(("best_x0", "best_y0", "best_x1", "best_y1"), self.best_box)),
        }


def _nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


class PeopleTracker:
    """Follows the faces of one video or stream, frame by frame, in order of time."""

    def __init__(
        self,
        tracker: str = "bytetrack",
        lost_s: float = LOST_S,
        min_frames: int = MIN_FRAMES,
        confirm: int = 1,
        match: str = MATCH,
        min_iou: float | None = MIN_IOU,
    ):
        # CONFIRM: the library's own minimum of frames before a track gets an id; left at 1 so a person's
        # first sighting counts, and MIN_FRAMES drops the one-frame tracks when they end
        self.tracker = _make(tracker, lost_s, confirm, match, min_iou)
        self.lost_s, self.min_frames = lost_s, min_frames
        self.people: dict[int, Person] = {}
        self.last_s: float | None = None
        self.pending: list[Sighting] = []  # last frame's faces with no track yet

    def see(
        self, frame: int, offset: float, when: datetime | None, detections: Detections | list[FaceRow]
    ) -> list[int]:
        """Each face's track id (-1 for one not yet a track), for the faces of frame FRAME at OFFSET seconds
        (a frame's Detections, or a table's face rows)."""
        if not isinstance(detections, Detections):
            detections = Detections.from_rows(detections)
        if self.last_s is not None and offset <= self.last_s:  # the library needs time to go forward
            offset = self.last_s + 1e-3
        self.last_s = offset
        faces = detections.rows()
        tracked = self.tracker.update(detections.supervision(), timestamp=offset)
        ids = [-1] * len(faces)
        # the library may reorder the faces; for a frame with none it answers without the data column (and, as
        # for detections no tracker has seen, with tracker_id None)
        track_ids = tracked.tracker_id if len(tracked) and tracked.tracker_id is not None else ()
        for face, track in zip(tracked.data.get("face", ()), track_ids):
            ids[int(face)] = int(track)
            if track < 0:
                continue
            if int(track) not in self.people:
                self.people[int(track)] = self._start(int(track), faces[int(face)], offset, when)
            self.people[int(track)].see(frame, offset, when, faces[int(face)])
        # the library names a track from its second sighting: keep the unnamed faces for that moment
        self.pending = [(frame, offset, when, faces[i]) for i, t in enumerate(ids) if t < 0]
        return ids

    def _start(self, track: int, face: FaceRow, offset: float, when: datetime | None) -> Person:
        """A new person, with the unnamed face of the frame before nearest to FACE as its first sighting."""

        def gap(seen: Sighting) -> int:
            f = seen[3]
            return abs(f["x0"] + f["x1"] - face["x0"] - face["x1"]) + abs(f["y0"] + f["y1"] - face["y0"] - face["y1"])

        nearest = min(self.pending, key=gap, default=None)
        if nearest is None or gap(nearest) > 4 * max(1, int(face["size"])):  # none near: it starts here
            return Person(track, offset, offset, when, when)
        self.pending.remove(nearest)
        first = Person(track, nearest[1], nearest[1], nearest[2], nearest[2])
        first.see(nearest[0], nearest[1], nearest[2], nearest[3])
        return first

    def finished(self, now_s: float | None = None) -> list[PersonRow]:
        """The rows of the people not seen for LOST_S before NOW_S (all of them without it), forgotten here."""
        done = [t for t, p in self.people.items() if now_s is None or p.last_s < now_s - self.lost_s]
        ended = [self.people.pop(t) for t in sorted(done)]
        return [p.row() for p in ended if p.frames >= self.min_frames]

    def current(self) -> list[PersonRow]:
        """The rows of the people still followed, as they stand (kept here)."""
        return [p.row() for _, p in sorted(self.people.items()) if p.frames >= self.min_frames]
