"""The Monitor page's people, alerts and live runs: what `lrfp monitor` writes beside its frames.

A folder of `lrfp monitor FILES` holds people.parquet (one row per person followed across frames); a
folder of `lrfp monitor --live` holds time slices (slices/frames-*.parquet, slices/people-*.parquet,
people-open.parquet), live.json and, with --alert, alerts.parquet. Compliance over people is masked
people over the people judged (lrfp.scale.people.people_counts): a person in view for a minute counts once.

A live run's panel refreshes itself (a Streamlit fragment with run_every) only while the run is writing
and a viewer has the page open: the timer runs in the viewer's browser, so nothing polls on the server
when nobody watches, and a stopped run's panel does not refresh at all.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import pyarrow.parquet as pq
import streamlit as st

from lrfp.app import narrow
from lrfp.app.monitor_shown import public_text
from lrfp.app.plain import chart_text, plain
from lrfp.core.errors import ConfigError
from lrfp.core.labels import COLUMN_TEXT
from lrfp.core.paths import file_in
from lrfp.core.records import read_json
from lrfp.core.redact import mask_urls
from lrfp.scale.alerts import ALERTS_TABLE, parse_rule
from lrfp.scale.defaults import SLICE_S
from lrfp.scale.live import STATUS, read_slices
from lrfp.scale.people import PEOPLE_COUNTED, PEOPLE_TABLE, people_counts
from lrfp.scale.table import TABLE, compliance_share, to_frame

STREAM_COLUMNS = "camera read analysed skipped dropped delay_s refused reconnects last_frame error url".split()
STREAM_HEADINGS = {"delay_s": "delay (s)", "last_frame": "last frame"}  # the streams table's columns as shown
REFRESH_S = 5  # a live panel's refresh, while its run writes and a viewer watches
LAST_S = 60  # a live run's "last minute"
EPOCH = pd.Timestamp(0)  # where people of a file with no known start time are placed (as frames are)


def is_live(folder: Path) -> bool:
    """Whether FOLDER is the output of `lrfp monitor --live` (it has live.json and no frames.parquet)."""
    folder = Path(folder)
    return (folder / STATUS).is_file() and not (folder / TABLE).is_file()


def live_frames(folder: Path) -> pd.DataFrame:
    """A live run's frames, every complete slice, as a monitor table's DataFrame."""
    return to_frame(read_slices(folder, "frames"))


def status(folder: Path) -> dict | None:
    """A live run's live.json (frames read, analysed, dropped, refused, reconnects per stream), None if
    unreadable (or a link leading out of FOLDER)."""
    path = file_in(Path(folder), STATUS)
    try:
        found = read_json(path) if path else None
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def running(found: dict | None, now: datetime | None = None) -> bool:
    """Whether a live run still writes: not ended, and its last slice under three slices old (and a minute)."""
    if not isinstance(found, dict) or found.get("running") is False:
        return False
    try:
        updated = datetime.fromisoformat(found["updated"])
        slice_s = float(found.get("slice_s") or SLICE_S)
    except (TypeError, KeyError, ValueError):
        return False
    age = ((now or datetime.now()) - updated).total_seconds()
    return -60 <= age <= 3 * slice_s + 60


def people(folder: Path) -> pd.DataFrame | None:
    """The people of a monitor folder (people.parquet, or a live run's slices and those in view), each
    with `when`: first seen, or its seconds into the footage counted from 1970-01-01; None without any (a
    people.parquet that is a link leading out of FOLDER is not read)."""
    folder = Path(folder)
    table_file = file_in(folder, PEOPLE_TABLE)
    if is_live(folder):
        table = read_slices(folder, "people")
    elif table_file:
        table = pq.read_table(table_file)
    else:
        return None
    found = table.to_pandas()
    found["when"] = found["first_seen"].where(found["first_seen"].notna(), pd.to_datetime(found["first_s"], unit="s"))
    return found


def filtered(found: pd.DataFrame, cameras: list[str], start=None, end=None) -> pd.DataFrame:
    keep = found["camera"].isin(cameras)
    if start is not None:
        keep &= found["when"] >= pd.Timestamp(start)
    if end is not None:
        keep &= found["when"] <= pd.Timestamp(end)
    return found[keep]


def per_period(found: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Per camera and period (by when a person was first seen): people by label and compliance over people."""
    if found.empty:
        return pd.DataFrame(columns=["camera", "when", "people", "compliance"])
    return people_counts(found, ["camera", pd.Grouper(key="when", freq=freq)])


def share(found: pd.DataFrame) -> float | None:
    """Compliance over all of FOUND's people."""
    if found.empty:
        return None
    counted = people_counts(found.assign(all="all"), ["all"])
    return compliance_share(counted.assign(faces=counted["people"]))


def people_chart(counted: pd.DataFrame, period: str, untimed: bool) -> go.Figure:
    data = counted.assign(camera=counted["camera"].map(chart_text))  # a camera's name is text, not plotly's HTML
    data = data.assign(when=(data["when"] - EPOCH).dt.total_seconds() / 60) if untimed else data
    return px.bar(
        data,
        x="when",
        y="people",
        color="camera",
        barmode="group",
        height=300,
        hover_data=["compliance"],
        labels={"people": f"people per {period}", "when": "minutes into the footage" if untimed else ""},
    )


def alerts(folder: Path) -> pd.DataFrame | None:
    """The alerts a run raised (alerts.parquet), newest first; None when it has none (or only a link to a
    file outside FOLDER)."""
    path = file_in(Path(folder), ALERTS_TABLE)
    if path is None:
        return None
    found = pq.read_table(path).to_pandas().sort_values("time", ascending=False, kind="stable")
    found["rule"] = found["rule"].map(rule_words)
    return found[["time", "camera", "message", "rule", "kind", "value", "people"]].round({"value": 1})


def rule_words(text: object) -> object:
    """An alert's rule as its command-line form ("compliance:90:1:3") in words; a text that is no rule (another
    lrfp's, or a hand-edited table) as it is."""
    try:
        return parse_rule(str(text)).words
    except ConfigError:
        return text


def last_minute(frames: pd.DataFrame, seconds: float = LAST_S) -> pd.DataFrame:
    """Per camera over the newest SECONDS of a live run's frames: frames, faces by label and compliance."""
    ok = frames[frames["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=["camera", "frames", "faces", "compliance"])
    recent = ok[ok["time"] >= ok["time"].max() - pd.Timedelta(seconds=seconds)]
    rows = []
    for camera, group in recent.groupby("camera"):
        rows.append(
            {
                "camera": camera,
                "frames": len(group),
                "faces": int(group["faces"].sum()),
                "compliance": compliance_share(group),
                "from": group["time"].min(),
                "to": group["time"].max(),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------
# the page's sections


def _percent(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.0%}"


def people_section(folder: Path, cameras: list[str], span, period: str, freq: str, untimed: bool) -> None:
    """People counted and compliance over people, per camera and period, for the page's selection."""
    found = people(folder)
    st.subheader("People")
    if found is None:
        st.caption(
            "This table has no people.parquet of its own (made by an older `lrfp monitor`, or a link to a file "
            "elsewhere, which is not read): run it again to count people."
        )
        return
    shown = filtered(found, cameras, *span)
    st.caption(f"{PEOPLE_COUNTED} Compliance over people is the people with a mask among the people judged.")
    a, b = st.columns(2)
    a.metric("People", f"{len(shown):,}")
    b.metric("Compliance over people", _percent(share(shown)))
    counted = per_period(shown, freq)
    if counted.empty:
        return
    st.plotly_chart(people_chart(counted, period, untimed), width="stretch")
    table = counted.assign(compliance=[_percent(v) for v in counted["compliance"]])
    first = ["camera", "when", "people", "compliance"]  # on a phone, what matters before the labels
    ordered = table[first + [c for c in table.columns if c not in first]].rename(columns=COLUMN_TEXT)  # words
    narrow.table(ordered, "people_per_period", partial(st.dataframe, ordered, hide_index=True, width="stretch"))


def alerts_section(folder: Path) -> None:
    found = alerts(folder)
    if found is None:
        return
    st.subheader(f"Alerts ({len(found)})")
    narrow.table(found, "alerts", partial(st.dataframe, found, hide_index=True, width="stretch"))


def stream_rows(found: dict, public: bool) -> pd.DataFrame:
    """A live run's streams (live.json) as the page shows them: for a visitor (PUBLIC), by camera name with no
    address in any cell (lrfp.app.monitor_shown.public_text); for the operator, with their URLs masked."""
    # delay_s: a frame's median seconds from its arrival to its analysis (lrfp.scale.ages; held frames wait)
    rows = [s | {"delay_s": (s.get("age_s") or {}).get("p50")} for s in found.get("streams", [])]
    streams = pd.DataFrame(rows, columns=STREAM_COLUMNS)
    # an older lrfp stored the URLs whole: their passwords and tokens are masked here too
    hide = public_text if public else mask_urls
    streams[["url", "error"]] = streams[["url", "error"]].map(lambda v: hide(v) if isinstance(v, str) else v)
    # an older lrfp did not count refused or skipped frames, nor their delay: a dash, not "None"; times as the
    # rest of the page
    for counted in ("refused", "skipped", "delay_s"):
        streams[counted] = streams[counted].astype(object).where(streams[counted].notna(), "–")
    streams["last_frame"] = streams["last_frame"].map(lambda v: v[:19].replace("T", " ") if isinstance(v, str) else v)
    return streams.drop(columns="url") if public else streams


def live_section(folder: Path, public: bool) -> None:
    """A live run's streams and last minute; refreshed every REFRESH_S seconds while the run writes. PUBLIC:
    a visitor's page, which names the streams by camera only."""
    live = running(status(folder))

    @st.fragment(run_every=REFRESH_S if live else None)
    def panel() -> None:
        found = status(folder)
        now_live = running(found)
        if live and not now_live:  # the run stopped while watched: redraw the page once, without the timer
            st.rerun()
        st.subheader("Live: the last minute" + (" (refreshing)" if now_live else " (the run has stopped)"))
        if found is None:
            st.caption("live.json cannot be read.")
            return
        slice_s = found.get("slice_s")
        # the caption goes under the table: above it, a phone's table toolbar covers it
        # stacked by camera on a phone (lrfp.app.narrow)
        streams = stream_rows(found, public).rename(columns=STREAM_HEADINGS)
        narrow.table(streams, "live_streams", partial(st.dataframe, streams, hide_index=True, width="stretch"))
        st.caption(
            f"Last written {plain(str(found.get('updated', '?'))[:19].replace('T', ' '))}: "
            f"{plain(found.get('slices', '?'))} time slice(s) of {slice_s:g} s {'so far' if now_live else 'written'}, "
            f"{plain(found.get('alerts', 0))} alert(s)."
            if isinstance(slice_s, int | float)
            else "live.json says no slice length."
        )
        recent = last_minute(live_frames(folder))
        st.caption(f"The newest {LAST_S} s of frames per camera (compliance over faces, as above):")
        recent = recent.assign(compliance=[_percent(v) for v in recent["compliance"]])
        narrow.table(recent, "live_recent", partial(st.dataframe, recent, hide_index=True, width="stretch"))

    panel()
