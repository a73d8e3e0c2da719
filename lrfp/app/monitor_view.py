"""The Monitor page's logic: a `lrfp monitor` table filtered, summed over time, its worst moments drawn.

Compliance is always faces with a mask over the faces that could be judged, summed over the frames of
a period (a frame with 10 faces weighs 10 times one with 1), never a mean of per-frame shares.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from PIL import Image

from lrfp.app.moments import worst_moments  # noqa: F401 (the page's)
from lrfp.app.monitor_people import is_live, live_frames
from lrfp.app.monitor_shown import (  # noqa: F401 (the page's)
    csv_bytes,
    in_words,
    locate,
    moment_caption,
    recorded_inputs,
    shown_path,
    shown_rows,
)
from lrfp.app.plain import chart_text
from lrfp.core import labels, paths
from lrfp.core.errors import LrfpError
from lrfp.core.labels import COUNT_COLUMNS
from lrfp.core.redact import without_paths
from lrfp.data.images import load_image
from lrfp.pipeline.detections import Detections
from lrfp.pipeline.scene import SceneResult, annotate
from lrfp.pipeline.tags import PHONE_SHOWN_WIDTH
from lrfp.pipeline.video import timed_frames
from lrfp.scale.live import STATUS, STILLS, still_name
from lrfp.scale.monitor import INPUTS  # noqa: F401 (the name of inputs.json, as the page knows it)
from lrfp.scale.rows import SCHEMA
from lrfp.scale.table import TABLE, compliance_share, read_table  # noqa: F401 (the page's share)

# shipped tables are results/monitor/<name>/frames.parquet; the example's footage is demo/footage
# (python -m lrfp.data.footage); both looked up when used, so tests can move paths.RESULTS_DIR
# time buckets a user may pick, as pandas frequencies
PERIODS = {"10 seconds": "10s", "1 minute": "1min", "10 minutes": "10min", "1 hour": "1h", "1 day": "1D"}
BUCKETS = 6  # the period a table opens with gives its time span at least this many points
# the worst moments' stills: drawn at least STILL_SIDE px long, shown STILLS_PER_ROW to a row on a wide screen
# and one under another on a phone, where each is narrowest (PHONE_SHOWN_WIDTH): their tags are drawn to be read there
STILL_SIDE = 640
STILLS_PER_ROW = 2
EMPTY_SELECTION = (
    "No frame in this selection: choose at least one camera, widen the time span or lower "
    "'At least N faces in a frame'."
)


def default_period(first: datetime, last: datetime) -> str:
    """The longest period that cuts FIRST..LAST into BUCKETS or more (a 2-minute live run: 10 seconds; a day
    of footage: 1 hour), else the shortest."""
    fitting = [name for name, freq in PERIODS.items() if (last - first) >= BUCKETS * pd.Timedelta(freq)]
    return fitting[-1] if fitting else next(iter(PERIODS))


def time_step(first: datetime, last: datetime) -> timedelta:
    """The Time slider's step: a hundredth of the span in whole seconds (Streamlit's default, 15 minutes
    under a day, leaves a 2-minute run one position)."""
    return timedelta(seconds=max(1, round((last - first).total_seconds() / 100)))


def slider_format(untimed_footage: bool, first: datetime, last: datetime) -> str:
    """The Time slider's labels (moment.js): the time of day for a span under a day or footage without start
    times, else date and minute. Streamlit (1.67) keeps a label inside the slider unless it reads as a ':00:'
    shortcode ('08:00:00' was cut at both edges of a phone): an invisible word joiner (U+2060) breaks that."""
    return "HH:mm\u2060:ss" if untimed_footage or last - first < timedelta(days=1) else "YYYY-MM-DD HH:mm"


EPOCH = pd.Timestamp(0)  # where the frames of a file with no known start time are placed


class MonitorTableError(LrfpError):
    """A file that is not a `lrfp monitor` table."""


SHIPPED = {"example": "shipped example (demo footage)", "live-example": "shipped live example (demo footage as MJPEG)"}


def example_tables(folder: Path | None = None) -> list[Path]:
    root = Path(folder or paths.RESULTS_DIR / "monitor")
    return sorted({p.parent for name in (TABLE, STATUS) for p in root.glob(f"*/{name}")})


def tables(roots: list[Path]) -> dict[str, Path]:
    """The monitor tables a visitor may open, by name: the shipped ones, then each root's (the root itself
    or its subfolders holding a table; one whose link leads out of its root is left out)."""
    found = {SHIPPED.get(p.name, f"shipped: {p.name}"): p for p in example_tables()}
    for root in roots:
        marks = [m for name in (TABLE, STATUS) for m in [root / name, *root.glob(f"*/{name}")]]
        for folder in sorted({p.parent for p in marks if p.is_file()}):
            if all(paths.within(folder / name, [root]) for name in (TABLE, STATUS) if (folder / name).exists()):
                name = root.name if folder == root else f"{root.name}/{folder.name}"
                found[name if name not in found else f"{name} ({len(found)})"] = folder
    return found


def load(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(frames analysed, files in error) of a monitor table (or a live run's slices); frames get `when`: their time, or, where the
    file's start is unknown, the seconds from its first frame counted from 1970-01-01 (order kept).
    MonitorTableError when a column of `lrfp monitor`'s tables is missing."""
    path = Path(path)
    table_file = path / TABLE if path.is_dir() else path
    if not is_live(path) and table_file.exists() and not paths.within(table_file, [table_file.parent]):
        raise MonitorTableError(f"{TABLE} is a link to a file outside its folder: not read")
    table = live_frames(path) if is_live(path) else read_table(path)
    missing = [c for c in SCHEMA.names if c not in table.columns]
    if missing:
        raise MonitorTableError(f"not a table of `lrfp monitor`: no column {', '.join(missing)}")
    errors = table[table["status"] == "error"][["camera", "source", "error"]]
    frames = table[table["status"] != "error"].copy()
    frames["when"] = frames["time"].where(frames["time"].notna(), pd.to_datetime(frames["offset_s"], unit="s"))
    return frames, errors


def typed_problem(text: str) -> str | None:
    """Why a typed path cannot be a monitor folder: a stream's URL is read by `lrfp monitor --live`, never
    by the page (it shows the folder such a run writes)."""
    if "://" in text or text.startswith("/dev/video"):
        return (
            f"{text} is a stream, not a folder: the page never opens a camera. Run "
            f"`lrfp monitor --live {text} --out FOLDER` and open FOLDER here."
        )
    return None


def read_problem(exc: Exception, folder: Path) -> str:
    """Why the table of FOLDER cannot be read, without its path (the page names the table its own way;
    Parquet's messages quote the file's path)."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    for path in (Path(folder) / TABLE, Path(folder)):
        text = text.replace(f" '{path}'", "").replace(str(path), "")
    return without_paths(text)


def untimed(frames: pd.DataFrame) -> bool:
    """Whether no frame has a known time: its charts then count minutes into the footage, not dates."""
    return bool(frames["time"].isna().all())


def filtered(frames: pd.DataFrame, cameras: list[str], start=None, end=None, min_faces: int = 0) -> pd.DataFrame:
    keep = frames["camera"].isin(cameras) & (frames["faces"].fillna(0) >= min_faces)
    if start is not None:
        keep &= frames["when"] >= pd.Timestamp(start)
    if end is not None:
        keep &= frames["when"] <= pd.Timestamp(end)
    return frames[keep]


def per_period(frames: pd.DataFrame, period: str) -> pd.DataFrame:
    """Per camera and period: frames, faces by label, and compliance (None where no face was judged)."""
    ok = frames[frames["status"] == "ok"]
    sums = ok.groupby(["camera", pd.Grouper(key="when", freq=PERIODS.get(period, period))])[list(COUNT_COLUMNS)].sum()
    sums["frames"] = ok.groupby(["camera", pd.Grouper(key="when", freq=PERIODS.get(period, period))]).size()
    sums = sums.reset_index()
    sums = sums[sums["frames"] > 0]
    sums["compliance"] = labels.compliance(sums)
    return sums


def _on_time_axis(data: pd.DataFrame, frames: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Per-period DATA with the x axis's title: dates, or for a table without any time, minutes into the
    footage (on a date axis, its 1970-01-01 stand-in showed, padded to 1969-12-31)."""
    if not untimed(frames):
        return data, ""
    return data.assign(when=(data["when"] - EPOCH).dt.total_seconds() / 60), "minutes into the footage"


def compliance_chart(frames: pd.DataFrame, period: str) -> go.Figure:
    data = per_period(frames, period).dropna(subset=["compliance"]).assign(compliance=lambda d: 100 * d["compliance"])
    data, axis = _on_time_axis(data.assign(camera=data["camera"].map(chart_text)), frames)
    fig = px.line(
        data,
        x="when",
        y="compliance",
        color="camera",
        markers=True,
        hover_data=["faces", "frames"],
        labels={"compliance": "faces with a mask (%)", "when": axis},
        range_y=[0, 105],
        height=360,
    )
    return fig


def faces_chart(frames: pd.DataFrame, period: str = "1 hour") -> go.Figure:
    """Faces seen per period and camera (a face in N frames counts N times: it is what the cameras saw)."""
    data = per_period(frames, period)
    data, axis = _on_time_axis(data.assign(camera=data["camera"].map(chart_text)), frames)
    return px.bar(
        data,
        x="when",
        y="faces",
        color="camera",
        barmode="group",
        height=320,
        labels={"faces": f"faces per {period}", "when": axis},
    )


def frame_image(path: Path, kind: str, frame: int) -> Image.Image | None:
    """Frame number FRAME of a video (decoded from the start: footage clips are short), or the photo."""
    if kind == "image":
        return load_image(path)
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for index, (_, image) in enumerate(timed_frames(path, container, stream)):
            if index == frame:
                return image
    return None


def scene_of(row) -> SceneResult:
    """A table row's faces as the SceneResult lrfp.pipeline.scene.annotate draws, with the scores the table kept."""
    return Detections.from_rows(row["face_rows"]).scene()


def live_still(row, folder: Path | None) -> Path | None:
    """The still a live run kept of the row's frame (its camera's worst of a slice) in FOLDER, the run's own
    folder, or None."""
    if folder is None or pd.isna(row["frame"]) or pd.isna(row["offset_s"]):
        return None
    return paths.file_in(folder, STILLS, still_name(str(row["camera"]), int(row["frame"]), float(row["offset_s"])))


def with_stills(frames: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """A live run's rows whose frame has a still in FOLDER, when it kept any (its worst moments are then
    pictures, not notes); the rows of any other table as they are."""
    kept = {p.name for p in (folder / STILLS).glob("*.jpg")} if (frames["kind"] == "live").any() else set()
    if not kept:
        return frames
    named = [
        still_name(str(c), int(f), float(o)) in kept if k == "live" and pd.notna(f) and pd.notna(o) else True
        for c, f, o, k in zip(frames["camera"], frames["frame"], frames["offset_s"], frames["kind"])
    ]
    return frames[named]


def annotated(row, roots: list[Path] | None = None, folder: Path | None = None) -> Image.Image | None:
    """The row's frame with its faces boxed and labelled; None when its file is not here (or, with ROOTS,
    not inside them), is no photo or video, or the frame cannot be decoded. A live row's frame is the still
    its run kept in FOLDER, when it kept one."""
    import av

    if row["kind"] == "live":
        still = live_still(row, folder)
        try:
            return _drawn(load_image(still), row) if still else None
        except (OSError, ValueError):
            return None
    path = locate(row["source"], roots)
    if path is None or row["kind"] not in ("image", "video") or pd.isna(row["frame"]):
        return None
    try:
        image = frame_image(path, row["kind"], int(row["frame"]))
    except (OSError, ValueError, av.error.FFmpegError):  # LrfpError (a bad image) is a ValueError
        return None
    return _drawn(image, row) if image is not None else None


def _drawn(image: Image.Image, row) -> Image.Image:
    """A worst moment's still: the row's faces boxed and tagged, the tags readable where the page shows it."""
    return annotate(image, scene_of(row), min_long_side=STILL_SIDE, shown_width=PHONE_SHOWN_WIDTH)


def unshown_note(row) -> str:
    """Beside a worst moment whose frame is not drawn: why."""
    if row["kind"] == "live":
        return "(a live stream's frame: `lrfp monitor --live` keeps a still of each camera's worst frame a slice only)"
    return "(its frame cannot be shown: the file is not available here, or not readable)"
