"""Overview: what lrfp is and the headline numbers, paper vs ours."""
import streamlit as st

from lrfp.results import RESULTS_DIR, load_records, paper_table, summary_frame

st.title("lrfp: face-mask classification for low-resolution faces")
st.write(
    "Classifies face crops from cheap outdoor cameras as **with mask** or **without mask**. "
    "It reproduces the thesis *Deep Learning Model using Transfer Learning for Face Mask detection "
    "in challenging low resolution images from public outdoor areas* on a public substitute data set."
)
ours = summary_frame(load_records(RESULTS_DIR))
if ours.empty:
    st.info("No reproduction results yet in results/. Run `lrfp reproduce --data data/fmd853-lr`.")
else:
    st.subheader("Our runs")
    st.dataframe(ours, hide_index=True)
st.subheader("The paper's results (Tables 4-9)")
st.dataframe(paper_table(), hide_index=True)
