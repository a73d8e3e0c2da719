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
from typing import TYPE_CHECKING, Any

from lrfp.core import labels
from lrfp.pipeline.detections import Detections, FaceRow
from lrfp.pipeline.view_motion import common_step

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
# for 13 by hand, 14 one-frame tracks). GIoU over -0.5 is loose enough to let a track take a neighbour's
# face when a pan turns: see() undoes that (each face goes first to the person it stands nearest).
MATCH, MIN_IOU = "giou", -0.5
# The library ends a track it has not matched for LOST_S, and at 2 frames/s its Kalman guess runs ahead
# of a face that stops or turns (a pan served forth and back): the face comes back as a new track, or a
# row of faces each takes its neighbour's track; so does a face that leaves the view for a moment. So each
# face goes first to the person seen less than REJOIN_S ago (a pass of the demo's forth-and-back streams
# is 7 s) whose face, when last seen, it stands nearest: its centre within REACH face sizes, the two
# sizes within SIZE_RATIO; the library's track decides for the rest. Chosen on north-gate/clip0's
# hand-marked tracks, checked on the other marked clips (benchmarks/people_tracking.py). A person ends
# (is written) only once unseen for REJOIN_S.
REJOIN_S, REACH, SIZE_RATIO = 8.0, 2.5, 2.0
# A panning camera moves every face at once, by about the faces' spacing in a crowd at 2 frames/s: each face
# would stand nearest its neighbour's last place. So the view's steps are summed (lrfp.pipeline.view_motion),
# and a person's last place is taken as moved by the view's moves since it was last seen.
# ByteTrack's score thresholds (high, activate): a box scored under HIGH is matched only to a track already
# there (its second, low-score association); one under ACTIVATE starts none. With the library's (0.6, 0.7) a
# face the detector scored 0.5 to 0.7 (173 of the 639 on the demo clips) started no track: north-gate/clip0
# counted 7 of its 8 found people, and forth and back 11 for 9 (IDF1 0.71); at 0.5, the score every detector
# keeps a box at (lrfp.pipeline.detectors), 9 and 9 (IDF1 0.86), as without scores. Its second association
# then waits for a detector that keeps boxes under 0.5 (benchmarks/people_tracking.py).
SURE: tuple[float, float] | None = (0.5, 0.5)
# People a stopped or killed run left in view (resume) are held this long: a restart loads the model and
# reconnects first (the live soak's kill -9 and restart left a 31 s gap)
RESUME_S = 60.0


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


def _make(
    name: str, lost_s: float, confirm: int, match: str, min_iou: float | None, sure: tuple[float, float] | None
) -> BaseTracker:
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
    if name == "bytetrack" and sure is not None:
        common |= {"high_conf_det_threshold": sure[0], "track_activation_threshold": sure[1]}
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
    last_frame: int = -1
    last_box: tuple[int, int, int, int] | None = None
    last_view: tuple[float, float] = (0.0, 0.0)  # where the view stood when this face was last seen
    held_s: float | None = None  # how long it is kept unseen, when not the tracker's REJOIN_S (resumed people)

    def see(self, frame: int, offset: float, when: datetime | None, face: FaceRow) -> None:
        box = _box(face)
        if frame == self.last_frame:  # two tracks joined into one person: one sighting a frame
            return
        self.last_frame, self.last_box, self.held_s = frame, box, None
        self.frames += 1
        self.last_s, self.last_time = offset, when
        probability = face.get("probability")
        sure = probability is not None and not _nan(probability) and probability >= CONFIDENT
        (self.votes if sure else self.doubtful)[face["label"]] += 1
        rank = (int(face["size"]), -1.0 if probability is None or _nan(probability) else float(probability))
        if rank > self.best:
            self.best, self.best_frame, self.best_box = rank, frame, box

    def near(self, box: tuple[int, int, int, int], shift: tuple[float, float] = (0.0, 0.0)) -> float | None:
        """How far BOX's centre lies, in face sizes, from this person's face when last seen moved by SHIFT
        (the whole view's motion since: not where this face would be had it kept moving, at a turn that is a
        neighbour's place); None when the sizes are too far apart to be one face."""
        if self.last_box is None:
            return None
        size, last = _side(box), _side(self.last_box)
        if max(size, last) > SIZE_RATIO * max(1, min(size, last)):
            return None
        x, y = _centre(self.last_box)
        return math.dist(_centre(box), (x + shift[0], y + shift[1])) / max(size, last, 1)

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


def _box(face: FaceRow) -> tuple[int, int, int, int]:
    return int(face["x0"]), int(face["y0"]), int(face["x1"]), int(face["y1"])


def _centre(box: tuple[int, int, int, int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _side(box: tuple[int, int, int, int]) -> int:
    return min(box[2] - box[0], box[3] - box[1])


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
        rejoin_s: float = REJOIN_S,
        reach: float = REACH,
        sure: tuple[float, float] | None = SURE,
    ):
        # CONFIRM: the library's own minimum of frames before a track gets an id; left at 1 so a person's
        # first sighting counts, and MIN_FRAMES drops the one-frame tracks when they end
        self.tracker = _make(tracker, lost_s, confirm, match, min_iou, sure)
        self.lost_s, self.min_frames = lost_s, min_frames
        # a person is written once unseen for the longer of the two: the library may still match its track
        self.rejoin_s, self.reach = max(rejoin_s, lost_s), reach
        self.people: dict[int, Person] = {}  # by person id: the library's id of the person's first track
        self.person_of: dict[int, int] = {}  # the library's track id -> the person it follows
        self.next_id = 0  # the next new person's id (after those of a resumed run)
        self.last_s: float | None = None
        self.pending: list[Sighting] = []  # last frame's faces with no track yet
        self.last_frame = -1  # the frame seen last
        self.step = (0.0, 0.0)  # the view's last step
        self.view = (0.0, 0.0)  # how far the view has moved since the first frame (the sum of its steps)

    def see(
        self, frame: int, offset: float, when: datetime | None, detections: Detections | list[FaceRow]
    ) -> list[int]:
        """Each face's person id (-1 for one not yet a track), for the faces of frame FRAME at OFFSET seconds
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
        named = [(int(face), int(track)) for face, track in zip(tracked.data.get("face", ()), track_ids) if track >= 0]
        for face, person in self._assign(named, faces, offset, when).items():
            first = self._unnamed_near(faces[face], after=self.people[person].last_frame)
            if first is not None:  # the library names a track from its second sighting: the first is this
                if self.people[person].frames == 0:
                    self.people[person].first_s, self.people[person].first_time = first[1], first[2]
                self.people[person].see(*first)
            ids[face] = person
            self.people[person].see(frame, offset, when, faces[face])
            self.people[person].last_view = self.view
        self.last_frame = frame
        # the library names a track from its second sighting: keep the unnamed faces for that moment
        self.pending = [(frame, offset, when, faces[i]) for i, t in enumerate(ids) if t < 0]
        return ids

    def _assign(
        self, named: list[tuple[int, int]], faces: list[FaceRow], offset: float, when: datetime | None
    ) -> dict[int, int]:
        """The person of each face the library named (face -> person). The library's motion guess runs
        ahead of a face that stops or turns, and at 2 frames/s a row of faces can each take a neighbour's
        track when a pan turns: so a face goes first to the person lately seen whose face it stands nearest
        (Person.near, within REACH face sizes; nearest pairs first); the library's track decides for the
        rest, and a track whose person is taken or gone starts a new person."""
        recent = {k: p for k, p in self.people.items() if offset - p.last_s <= (p.held_s or self.rejoin_s)}
        last = [_centre(p.last_box) for p in recent.values() if p.last_frame == self.last_frame and p.last_box]
        step = common_step(
            [_centre(_box(f)) for f in faces], [_side(_box(f)) for f in faces], last, self.reach, self.step
        )
        self.step = step
        self.view = (self.view[0] + step[0], self.view[1] + step[1])
        pairs = sorted(
            (gap, face, key)
            for face, _ in named
            for key, p in recent.items()
            if self.reach > 0
            and (gap := p.near(_box(faces[face]), (self.view[0] - p.last_view[0], self.view[1] - p.last_view[1])))
            is not None
            and gap <= self.reach
        )
        chosen: dict[int, int] = {}
        for _, face, key in pairs:
            if face not in chosen and key not in chosen.values():
                chosen[face] = key
        for face, track in named:
            if face not in chosen:
                person = self.person_of.get(track)
                if person is None or person not in self.people or person in chosen.values():
                    person = self._new_person(offset, when)
                chosen[face] = person
            self.person_of[track] = chosen[face]
        return chosen

    def _new_person(self, offset: float, when: datetime | None) -> int:
        key = self.next_id
        self.next_id += 1
        self.people[key] = Person(key, offset, offset, when, when)
        return key

    def _unnamed_near(self, face: FaceRow, after: int) -> Sighting | None:
        """The unnamed face of the frame before nearest to FACE (within 4 face sizes), later than frame
        AFTER, taken from pending."""

        def gap(seen: Sighting) -> int:
            f = seen[3]
            return abs(f["x0"] + f["x1"] - face["x0"] - face["x1"]) + abs(f["y0"] + f["y1"] - face["y0"] - face["y1"])

        nearest = min((s for s in self.pending if s[0] > after), key=gap, default=None)
        if nearest is None or gap(nearest) > 4 * max(1, int(face["size"])):
            return None
        self.pending.remove(nearest)
        return nearest

    def resume(self, rows: list[dict[str, Any]], now: datetime, held_s: float = RESUME_S) -> None:
        """Take on the people a stopped run of this stream left in view (its people-open rows as read from
        the table, wall-clock times): each is held for HELD_S from NOW and continued by a face found near
        its best crop, so a restarted run does not count them again; new people get ids after theirs.
        Their votes come back as their label's (the table keeps no other)."""
        for row in rows:
            first, last = row["first_seen"], row["last_seen"]
            if not isinstance(first, datetime) or not isinstance(last, datetime):
                continue
            person = Person(int(row["track"]), (first - now).total_seconds(), (last - now).total_seconds(), first, last)
            person.frames, person.held_s = int(row["frames"]), held_s
            x0, y0, x1, y1 = (int(row[f"best_{k}"]) for k in ("x0", "y0", "x1", "y1"))
            person.best_box = person.last_box = (x0, y0, x1, y1)  # its best frame is the last run's: not kept
            if row["votes"]:
                person.votes[row["label"]] = max(1, round(row["share"] * row["votes"]))
            else:
                person.doubtful[row["label"]] = person.frames
            self.people[person.track] = person
            self.next_id = max(self.next_id, person.track + 1)

    def _forget(self, done: list[int]) -> list[Person]:
        ended = [self.people.pop(key) for key in sorted(done)]
        self.person_of = {t: p for t, p in self.person_of.items() if p in self.people}
        return ended

    def finished(self, now_s: float | None = None) -> list[PersonRow]:
        """The rows of the people not seen for REJOIN_S before NOW_S (all of them without it), forgotten here."""
        done = [t for t, p in self.people.items() if now_s is None or p.last_s < now_s - (p.held_s or self.rejoin_s)]
        return [p.row() for p in self._forget(done) if p.frames >= self.min_frames]

    def current(self) -> list[PersonRow]:
        """The rows of the people still followed, as they stand (kept here)."""
        return [p.row() for _, p in sorted(self.people.items()) if p.frames >= self.min_frames]
