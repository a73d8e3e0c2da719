"""lrfp dashboard entry point: `streamlit run app.py` (an installed lrfp: `lrfp app`)."""

from pathlib import Path

import streamlit as st

from lrfp.app.frame import STARTING, VIEWS, show_pages

navigation = show_pages(Path(__file__).parent / VIEWS)  # named at once, before the slow imports below
with st.spinner(STARTING):
    from lrfp.app.navigation import main
main(navigation)
