"""Monitor: a `lrfp monitor` table of many cameras (or a live run): compliance over time, faces and people
per period, alerts, the worst moments."""

from pathlib import Path

import streamlit as st

from lrfp.app import monitor_people as people
from lrfp.app import monitor_view as view
from lrfp.app.plain import plain
from lrfp.core import server_settings as settings

st.title("Monitor")
st.caption(
    "Many cameras, hours of footage: when and where did mask use drop? The tables come from "
    "`lrfp monitor FOLDERS… --out RESULTS` (see docs/monitoring.md); compliance is the faces with a mask among "
    "the faces that could be judged, summed over the frames of each period."
)

LIMITS = settings.current()
MINE = "a table of mine (its path on this server)"
# public (the default): only the tables under the shipped and the operator's roots, never a typed path
choices = view.tables(list(LIMITS.monitor_roots))
source = st.selectbox(
    "Table",
    [*choices, *([] if LIMITS.public else [MINE])],
    help="the shipped tables and those "
    "under the folders the server's operator lists in LRFP_MONITOR_ROOTS (see docs/dashboard.md)",
)
if source is None:
    st.info(
        "No monitor table on this server: its operator can list folders of `lrfp monitor` tables in LRFP_MONITOR_ROOTS."
    )
    st.stop()
if source == MINE:
    typed = st.text_input(
        "Results folder of `lrfp monitor` (or its frames.parquet)",
        placeholder="runs/monitor",
        help="the --out folder of a `lrfp monitor` run, on the machine that serves this page",
    )
    if not typed:
        st.stop()
    if view.typed_problem(typed):
        st.error(view.typed_problem(typed))
        st.stop()
    folder, name = Path(typed).expanduser(), typed
else:
    folder, name = choices[source], source
try:
    frames, errors = view.load(folder)
except (OSError, ValueError) as exc:  # a missing folder, not a Parquet file, not a monitor table
    st.error(f"Cannot read {plain(name)}: {view.read_problem(exc, folder)}")  # our words, no server path
    st.stop()
# public: frames are drawn only from files inside the inputs that the table's run recorded, and files are
# named relative to them (no server path, no stream password: lrfp.app.monitor_shown)
drawable = view.recorded_inputs(folder) if LIMITS.public else None
if frames.empty:
    suffix = f" ({len(errors)} file(s) in error, below)" if len(errors) else ""
    st.warning(f"{plain(name)}: no frame was analysed{suffix}")
    st.dataframe(view.in_words(view.shown_rows(errors, drawable)), hide_index=True, width="stretch")
    st.stop()
if people.is_live(folder):
    people.live_section(folder, LIMITS.public)

left, middle, right = st.columns([2, 2, 1])
cameras = left.multiselect("Cameras", sorted(frames["camera"].unique()), default=sorted(frames["camera"].unique()))
first, last = frames["when"].min().to_pydatetime(), frames["when"].max().to_pydatetime()
span = (
    middle.slider(
        "Time",
        min_value=first,
        max_value=last,
        value=(first, last),
        step=view.time_step(first, last),
        format=view.slider_format(view.untimed(frames), first, last),
    )
    if last > first
    else (first, last)
)
period = right.selectbox("Period", list(view.PERIODS), index=list(view.PERIODS).index(view.default_period(first, last)))
min_faces = right.number_input("At least N faces in a frame", min_value=0, value=0)
shown = view.filtered(frames, cameras, span[0], span[1], int(min_faces))
if shown.empty:  # charts of nothing drew bare axes ("-1 0 1 ... minutes"): say what to change instead
    st.info(view.EMPTY_SELECTION)
    st.stop()
if view.untimed(frames):
    st.caption(
        "No file of this table has a known start time: the charts count minutes into the footage. Give "
        "the files' start times in a mapping file (`--mapping`)."
    )
elif frames["time"].isna().any():
    st.caption(
        "Files with no known start time are placed from 1970-01-01 by their own timestamps: give their "
        "start in a mapping file (`--mapping`)."
    )

share = view.compliance_share(shown) if not shown.empty else None
a, b, c, d = st.columns(4)
a.metric("Frames", f"{len(shown):,}")
b.metric("Faces seen", f"{int(shown['faces'].sum()):,}")
c.metric("Compliance", "–" if share is None else f"{share:.0%}")
d.metric("Files in error", len(errors))

st.subheader("Compliance over time, per camera")
st.plotly_chart(view.compliance_chart(shown, period), width="stretch")
st.subheader(f"Faces per {period}")
st.plotly_chart(view.faces_chart(shown, period), width="stretch")

people.people_section(folder, cameras, span, period, view.PERIODS[period], view.untimed(frames))
people.alerts_section(folder)

st.subheader("The worst moments")
run_folder = folder if folder.is_dir() else folder.parent  # a live run's stills are in its folder
worst = view.worst_moments(view.with_stills(shown, run_folder))
if worst.empty:
    st.caption("No frame with a face without a mask in this selection.")
moments = [row for _, row in worst.iterrows()]
for first in range(0, len(moments), view.STILLS_PER_ROW):  # a row of columns at a time: a phone keeps the order
    for column, row in zip(st.columns(view.STILLS_PER_ROW), moments[first : first + view.STILLS_PER_ROW]):
        image = view.annotated(row, drawable, run_folder)
        if image is None:
            column.caption(f"{view.moment_caption(row, drawable)} {view.unshown_note(row)}")
        else:
            column.image(image, caption=view.moment_caption(row, drawable), width="stretch")

st.subheader("The rows")
st.dataframe(
    view.in_words(view.shown_rows(shown.drop(columns=["when", "face_rows"]), drawable)),
    hide_index=True,
    width="stretch",
)
st.download_button(
    "Download these rows (CSV)", view.csv_bytes(shown, drawable), file_name=f"{folder.name}-frames.csv", mime="text/csv"
)
if len(errors):
    st.subheader("Files in error")
    st.dataframe(view.in_words(view.shown_rows(errors, drawable)), hide_index=True, width="stretch")
