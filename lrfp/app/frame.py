"""What a visitor sees first: the page's title and the pages by their names, before anything slow.

The first visit after a start imports PyTorch, plotly and the pipeline (6 s on two cores); until
then the page was blank. The entry scripts call show_pages first, then import the rest under
STARTING's spinner. This module imports nothing heavy.

PAGES is the one list of the dashboard's pages: the entry scripts (app.py, lrfp.app.serve) build
st.navigation from it, and the tests read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from streamlit.navigation.page import StreamlitPage  # what st.navigation returns

STARTING = "Starting the server: loading PyTorch and the models (the first visit after a start only)…"
VIEWS = "views"  # the pages' folder beside app.py (installed: lrfp/shipped/views, lrfp.core.paths.VIEWS_DIR)


@dataclass(frozen=True)
class Page:
    """One page of the dashboard: its script in views/, its name and icon in the sidebar, its address."""

    file: str
    title: str
    icon: str
    url_path: str  # http://HOST/<url_path>; the first page is also the server's root
    heading: str = ""  # the page's st.title where it is not TITLE (what the browser tests wait for)

    @property
    def script(self) -> str:
        """The script's path from the folder of app.py (what AppTest.switch_page takes)."""
        return f"{VIEWS}/{self.file}"

    @property
    def address(self) -> str:
        """The page's own address on the server: the first page is at the root."""
        return "" if self == PAGES[0] else self.url_path

    @property
    def shown_title(self) -> str:
        """The heading a visitor sees on the page."""
        return self.heading or self.title


PAGES = (
    Page("overview.py", "Overview", ":material/home:", "overview", heading="Face masks at low resolution"),
    Page("dataset.py", "Dataset", ":material/photo_library:", "dataset"),
    Page("results.py", "Results", ":material/bar_chart:", "results"),
    Page("classify.py", "Classify", ":material/search:", "classify"),
    Page("monitor.py", "Monitor", ":material/videocam:", "monitor"),
    Page("train.py", "Train", ":material/model_training:", "train"),
)


def show_pages(views_dir: Path) -> StreamlitPage:
    """Set the page's title and list PAGES (their scripts in VIEWS_DIR) by name; the page to run."""
    st.set_page_config(page_title="lrfp: face masks at low resolution", page_icon="😷", layout="wide")
    views_dir = Path(views_dir).resolve()  # absolute: st.Page takes it as is, wherever the main script is
    return st.navigation(
        [
            st.Page(views_dir / p.file, title=p.title, icon=p.icon, url_path=p.url_path, default=p is PAGES[0])
            for p in PAGES
        ]
    )
