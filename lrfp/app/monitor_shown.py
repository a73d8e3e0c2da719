"""What a visitor sees of a monitor table's rows: no secret, no server path, names as text.

The page runs in public mode for anyone who reaches the server, so every value it shows of a row (the
rows table, the files in error, a worst moment's caption, the CSV download) goes through here:
- a stream's URL with its user, password and query values masked (a run of an older lrfp stored them);
  in public mode, no stream address at all, not even masked (an internal 127.0.0.1:8093 or 10.0.0.7
  tells a visitor about the operator's network): a stream is named by its camera;
- a file named relative to the inputs its run recorded (`cams/north/clip0.mp4`), never by its server path,
  and an error message with its paths cut the same way; the operator's own server (LRFP_PUBLIC=0) shows
  paths in full;
- camera and file names escaped wherever markdown renders them (lrfp.app.plain).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from lrfp.app.plain import plain
from lrfp.core import labels, paths
from lrfp.core.records import read_json
from lrfp.core.redact import URL_IN_TEXT, mask_urls, relative_name, without_paths
from lrfp.scale.monitor import INPUTS
from lrfp.scale.table import export_csv

LIVE_SOURCE = "live stream"  # a stream's row's source in public mode (its camera is in the row)
STREAM = "the camera's stream"  # a URL in a message, in public mode
ADDRESS = "its address"  # a network address in a message, in public mode
# an IPv4 address, a bracketed IPv6 one, or a dotted host name or localhost with a port
ADDRESSES = re.compile(
    r"(?<![\w.])(?:(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?|\[[0-9A-Fa-f:.]+\](?::\d+)?"
    r"|(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):\d{1,5})(?![\w.])"
)


def is_stream(source: str) -> bool:
    """Whether a row's source is a live stream's URL (not a file)."""
    return "://" in source


def public_text(text: str) -> str:
    """TEXT for a visitor: every URL said as STREAM and every network address as ADDRESS."""
    return ADDRESSES.sub(ADDRESS, URL_IN_TEXT.sub(STREAM, text))


def recorded_inputs(folder: Path) -> list[Path]:
    """Where a table's frames may be drawn from: the inputs its `lrfp monitor` run recorded (inputs.json,
    read only when it lies inside the table's folder), and the shipped demo footage (the shipped example's,
    made on another machine, and public anyway)."""
    record = paths.file_in(Path(folder), INPUTS)
    try:
        inputs = read_json(record)["inputs"] if record else []
    except (OSError, ValueError, TypeError, KeyError):  # a broken record
        inputs = []
    return [*(Path(p) for p in inputs if isinstance(p, str)), paths.DEMO_DIR / "footage"]


def locate(source: str, roots: list[Path] | None = None) -> Path | None:
    """The file a row names; for the shipped example (made elsewhere), its copy in demo/footage. With
    ROOTS, only a file inside them, checked before the file is looked at: whether a file outside them
    exists is never told."""
    path = Path(source)
    shipped = paths.DEMO_DIR / "footage" / path.parent.name / path.name
    # another checkout's demo footage (the one that made the example, still on this machine): this one's copy
    if path.parts[-4:-2] == ("demo", "footage") and shipped.is_file():
        return shipped
    if (roots is None or paths.within(path, roots)) and path.is_file():
        return path
    return shipped if shipped.is_file() else None


def shown_path(source: str, roots: list[Path] | None = None) -> str:
    """A row's source as the page shows it: a stream's URL masked; the shipped example's footage (made
    in another checkout) as demo/footage/...; with ROOTS (public mode: the run's inputs), a file relative to
    the input holding it, or its name alone; without, as recorded. Worked out from the path alone: no file
    is looked at (a table of 20,000 files is named at once, and nothing is told of the server's files). With
    ROOTS, a stream is LIVE_SOURCE: no address."""
    if is_stream(source):
        return mask_urls(source) if roots is None else LIVE_SOURCE
    parts = Path(source).parts
    if parts[-4:-2] == ("demo", "footage"):
        return str(Path(*parts[-4:]))
    return source if roots is None else relative_name(source, roots)


def shown_error(error, source: str, roots: list[Path] | None = None):
    """A row's error message without secrets, and (with ROOTS) with its paths named as shown_path names them."""
    if not isinstance(error, str):
        return error
    error = mask_urls(error)
    return error if roots is None else public_text(without_paths(error, {source: shown_path(source, roots)}))


def shown_rows(frame: pd.DataFrame, roots: list[Path] | None = None) -> pd.DataFrame:
    """FRAME (rows, or files in error) with its sources and errors as the page shows them (each source
    worked out once: a table of 20,000 frames has a few files)."""
    if frame.empty:
        return frame
    names = {s: shown_path(s, roots) for s in frame["source"].unique()}
    shown = frame.assign(source=frame["source"].map(names))
    if roots is not None and "camera" in frame:  # public: a stream's row names its camera, never its address
        streams = frame["source"].map(is_stream)
        shown["source"] = shown["source"].where(~streams, frame["camera"])
    if "error" in frame:  # a message on the rows of files in error only
        shown["error"] = [shown_error(e, s, roots) for e, s in zip(frame["error"], frame["source"])]
    return shown


# the page's tables' headings in words; the CSV download keeps the table's own names (programs read it)
HEADINGS = {
    "source": "file or stream",
    "offset_s": "seconds in",
    "compliance": "compliance (%)",
    **labels.COLUMN_TEXT,
}


def in_words(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as shown_rows gives them, for the page's table: headings in words ("seconds in", "without mask",
    not offset_s, without_mask), compliance in percent."""
    if "compliance" in rows:
        rows = rows.assign(compliance=(100 * rows["compliance"]).round(1))
    return rows.rename(columns=HEADINGS)


def moment_caption(row, roots: list[Path] | None = None) -> str:
    """Under a worst moment's frame, as markdown: camera, time (or place in its file), faces without a mask,
    file and frame (the camera's and the file's names escaped: text from the inputs)."""
    if pd.notna(row["time"]):
        when = f"{row['time']:%Y-%m-%d %H:%M:%S}"
    else:
        when = "time unknown" if pd.isna(row["offset_s"]) else f"{row['offset_s']:.1f} s into its file"
    frame = "" if pd.isna(row["frame"]) else f", frame {int(row['frame'])}"
    name = Path(shown_path(str(row["source"]), roots)).name
    return (
        f"{plain(row['camera'])} · {when} · {int(labels.unmasked(row))} of {int(row['faces'])} "
        f"face(s) without a mask · {plain(name)}{frame}"
    )


def csv_bytes(frames: pd.DataFrame, roots: list[Path] | None = None) -> bytes:
    """The rows shown, as the CSV export of `lrfp monitor` writes them (faces as a JSON list, formulas
    escaped), their sources and errors as the page shows them."""
    return export_csv(shown_rows(frames.drop(columns=["when"]), roots)).encode()
