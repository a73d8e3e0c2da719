"""Monitor: a `lrfp monitor` table of many cameras: compliance over time, faces per hour, the worst moments."""
from pathlib import Path

import streamlit as st

from lrfp.app import monitor_view as view
from lrfp.app.ui import ensure_navigation

ensure_navigation()

st.title("Monitor")
st.caption("Many cameras, hours of footage: when and where did mask use drop? The tables come from "
           "`lrfp monitor FOLDERS… --out RESULTS` (see the README); compliance is the faces with a mask among "
           "the faces that could be judged, summed over the frames of each period.")  # fmt: skip

# the shipped tables by what they are (results/monitor/example: the demo footage's cameras)
examples = {("shipped example (demo footage)" if p.name == "example" else f"shipped: {p.name}"): p
            for p in view.example_tables()}  # fmt: skip
source = st.radio("Table", [*examples, "a table of mine"], horizontal=True)
if source == "a table of mine":
    typed = st.text_input("Results folder of `lrfp monitor` (or its frames.parquet)", placeholder="runs/monitor",
                          help="the --out folder of a `lrfp monitor` run, on the machine that serves this page")  # fmt: skip
    if not typed:
        st.stop()
    folder = Path(typed).expanduser()
else:
    folder = examples[source]
try:
    frames, errors = view.load(folder)
except (OSError, ValueError) as exc:  # a missing folder, not a Parquet file, not a monitor table
    st.error(f"Cannot read {folder}: {exc}")
    st.stop()
if frames.empty:
    st.warning(f"{folder}: no frame was analysed" + (f" ({len(errors)} file(s) in error, below)" if len(errors) else ""))
    st.dataframe(errors, hide_index=True, width="stretch")
    st.stop()

left, middle, right = st.columns([2, 2, 1])
cameras = left.multiselect("Cameras", sorted(frames["camera"].unique()), default=sorted(frames["camera"].unique()))
first, last = frames["when"].min().to_pydatetime(), frames["when"].max().to_pydatetime()
span = middle.slider("Time", min_value=first, max_value=last, value=(first, last), format="YYYY-MM-DD HH:mm") \
    if last > first else (first, last)  # fmt: skip
period = right.selectbox("Period", list(view.PERIODS), index=2)
min_faces = right.number_input("At least N faces in a frame", min_value=0, value=0)
shown = view.filtered(frames, cameras, span[0], span[1], int(min_faces))
if frames["time"].isna().any():
    st.caption("Files with no known start time are placed from 1970-01-01 by their own timestamps: give their "
               "start in a mapping file (`--mapping`).")  # fmt: skip

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

st.subheader("The worst moments")
worst = view.worst_moments(shown)
if worst.empty:
    st.caption("No frame with a face without a mask in this selection.")
for column, (_, row) in zip(st.columns(3) * 2, worst.iterrows()):
    image = view.annotated(row)
    caption = (f"{row['camera']} · {row['when']:%Y-%m-%d %H:%M:%S} · {int(row['without_mask'] + row['incorrect'])} of "
               f"{int(row['faces'])} face(s) without a mask · {Path(row['source']).name}, frame {int(row['frame'])}")
    if image is None:
        column.caption(f"{caption} (the file is no longer at {row['source']})")
    else:
        column.image(image, caption=caption, width="stretch")

st.subheader("The rows")
st.dataframe(shown.drop(columns=["when", "face_rows"]).assign(source=shown["source"].map(view.shown_path)),
             hide_index=True, width="stretch")  # fmt: skip
st.download_button("Download these rows (CSV)", view.csv_bytes(shown), file_name=f"{folder.name}-frames.csv",
                   mime="text/csv")  # fmt: skip
if len(errors):
    st.subheader("Files in error")
    st.dataframe(errors, hide_index=True, width="stretch")
