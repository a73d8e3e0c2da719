"""The per-person table beside a monitor's per-frame one (people.parquet), and compliance over people.

Each video (or live stream) is followed on its own: a person is a track within one source, never
matched across files or cameras. A photo is one frame: each face found in it is a person there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lrfp.core import labels
from lrfp.core.cells import safe_cells
from lrfp.core.labels import COUNT_COLUMNS
from lrfp.core.paths import within
from lrfp.core.records import atomic_path
from lrfp.pipeline.detections import Detections, FaceRow
from lrfp.pipeline.people import CONFIDENT, MIN_FRAMES, REACH, REJOIN_S, RESUME_S, PeopleTracker

log = logging.getLogger(__name__)

# how a person is counted, as the Monitor page says it (docs/monitoring.md says the same)
PEOPLE_COUNTED = (
    "A person is a face followed across the frames of one video or stream, seen in "
    f"{MIN_FRAMES} frames or more (in a photo, each face). A face unseen for up to {REJOIN_S:g} s that comes back near where it was "
    f"(within {REACH:g} face sizes) is the same person: a live run writes a person once unseen that long, and "
    f"a restarted run goes on with the people the last one left in view (for {RESUME_S:g} s). Over a period, "
    "a person counts once, in the period it was first seen; an alert's last minutes count the people seen in them."
)
PEOPLE_TABLE = "people.parquet"
PEOPLE_CSV = "people.csv"
PEOPLE_SCHEMA = pa.schema(
    [
        ("camera", pa.string()),
        ("source", pa.string()),
        ("track", pa.int64()),
        ("first_s", pa.float64()),
        ("last_s", pa.float64()),
        ("first_seen", pa.timestamp("ms")),
        ("last_seen", pa.timestamp("ms")),
        ("frames", pa.int64()),
        ("label", pa.string()),
        ("share", pa.float64()),
        ("votes", pa.int64()),
        ("best_frame", pa.int64()),
        *((c, pa.int64()) for c in ("best_x0", "best_y0", "best_x1", "best_y1")),
    ]
)


def _faces(cell: Iterable[FaceRow] | None) -> list[FaceRow]:
    """A face_rows cell (faces as read from the table) as a list of the faces' own dicts."""
    return [] if cell is None else [FaceRow(**f) for f in cell]


def track_source(rows: pd.DataFrame, tracker: str = "bytetrack", **options) -> list[dict]:
    """The people of one source's frame rows (those with status ok, in frame order)."""
    follower = PeopleTracker(tracker, **options)
    for frame, offset, when, faces in zip(rows["frame"], rows["offset_s"], rows["time"], rows["face_rows"]):
        follower.see(int(frame), float(offset), None if pd.isna(when) else when, Detections.from_rows(faces))
    return follower.finished()


def _photo_people(rows: pd.DataFrame) -> list[dict]:
    """A photo's faces as people of one sighting each (there is nothing to follow)."""
    found = []
    for frame, when, faces in zip(rows["frame"], rows["time"], rows["face_rows"]):
        for n, face in enumerate(_faces(faces), 1):
            probability = face["probability"]
            sure = probability is not None and not pd.isna(probability) and probability >= CONFIDENT
            found.append(
                {
                    "track": n,
                    "first_s": 0.0,
                    "last_s": 0.0,
                    "first_seen": None if pd.isna(when) else when,
                    "last_seen": None if pd.isna(when) else when,
                    "frames": 1,
                    "label": face["label"],
                    "share": 1.0,
                    "votes": 1 if sure else 0,
                    "best_frame": int(frame),
                    **{f"best_{k}": int(face[k]) for k in ("x0", "y0", "x1", "y1")},
                }
            )
    return found


def people_of(frames: pd.DataFrame, tracker: str = "bytetrack", **options) -> pa.Table:
    """The per-person table of a monitor table's frames (a DataFrame of its rows)."""
    ok = frames[frames["status"] == "ok"].sort_values(["camera", "source", "frame"], kind="stable")
    rows = []
    for (camera, source), group in ok.groupby(["camera", "source"], sort=False):
        found = _photo_people(group) if (group["kind"] == "image").all() else track_source(group, tracker, **options)
        rows += [{"camera": camera, "source": source} | person for person in found]
    return pa.Table.from_pylist(rows, schema=PEOPLE_SCHEMA)


def write_people(frames: pd.DataFrame, out) -> pa.Table:
    """OUT/people.parquet and its CSV export, each written atomically, from a monitor table's frames."""
    people = people_of(frames)
    with atomic_path(Path(out) / PEOPLE_TABLE) as tmp:
        pq.write_table(people, tmp)
    with atomic_path(Path(out) / PEOPLE_CSV) as tmp:
        safe_cells(people.to_pandas()).to_csv(tmp, index=False)
    return people


def people_counts(people: pd.DataFrame, keys: list) -> pd.DataFrame:
    """Per KEYS (columns or pandas Groupers): people by label (COUNT_COLUMNS, "faces" being people) and
    compliance over people."""
    counted = people.assign(
        faces=1, **{label.column: (people["label"] == label.name).astype(int) for label in labels.LABELS}
    )
    sums = counted.groupby(keys)[list(COUNT_COLUMNS)].sum().reset_index()
    sums = sums[sums["faces"] > 0].rename(columns={"faces": "people"})
    sums["compliance"] = labels.compliance(sums.assign(faces=sums["people"]))
    return sums


def resume_people(trackers: dict[str, PeopleTracker], open_people: Path) -> int:
    """Hand each camera's tracker the people a stopped or killed live run on the same folder left in view
    (OPEN_PEOPLE, people-open.parquet), so that a restarted run goes on with them rather than count them
    again; how many. A file that is a link leading out of its folder is not read."""
    if not open_people.is_file() or not within(open_people, [open_people.parent]):
        return 0
    try:
        rows = pq.read_table(open_people, schema=PEOPLE_SCHEMA).to_pylist()
    except (OSError, pa.ArrowException) as error:  # written whole then renamed, so only a foreign file
        log.warning("%s: not read (%s): the people in view are counted anew", open_people.name, error)
        return 0
    now = datetime.now()
    for camera, tracker in trackers.items():
        tracker.resume([r for r in rows if r["camera"] == camera], now)
    return sum(r["camera"] in trackers for r in rows)
