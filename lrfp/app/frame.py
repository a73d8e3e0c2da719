"""What a visitor sees first: the page's title and the pages by their names, before anything slow.

The first visit after a start imports PyTorch, plotly and the pipeline (6 s on two cores); until
then the page was blank and its sidebar listed the pages/ folder's raw file names (app, classify,
...). The entry scripts call show_pages first, then import the rest under STARTING's spinner. This
module imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

STARTING = "Starting the server: loading PyTorch and the models (the first visit after a start only)…"


def show_pages(pages_dir: Path) -> StreamlitPage:
    """Set the page's title and list the pages of PAGES_DIR by name; the page to run."""
    st.set_page_config(page_title="lrfp: face masks at low resolution", page_icon="😷", layout="wide")
    # Streamlit lists the pages/ folder by raw file names until a run calls st.navigation; the served config
    # hides that list (client.showSidebarNavigation = false), which would hide st.navigation's list too
    st.set_option("client.showSidebarNavigation", True)
    pages_dir = Path(pages_dir).resolve()  # absolute: st.Page takes it as is, wherever the main script is
    return st.navigation(
        [
            st.Page(pages_dir / "overview.py", title="Overview", icon=":material/home:", default=True),
            st.Page(pages_dir / "dataset.py", title="Dataset", icon=":material/photo_library:"),
            st.Page(pages_dir / "results.py", title="Results", icon=":material/bar_chart:"),
            st.Page(pages_dir / "classify.py", title="Classify", icon=":material/search:"),
            st.Page(pages_dir / "monitor.py", title="Monitor", icon=":material/videocam:"),
            st.Page(pages_dir / "train.py", title="Train", icon=":material/model_training:"),
        ]
    )
