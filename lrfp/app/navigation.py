"""The dashboard's frame: page settings, the page list and the sidebar model picker.

Run by the checkout's app.py (`streamlit run app.py`) and by the installed entry script that
`lrfp app` serves; each passes the pages/ folder that belongs to it.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from lrfp.app.server_process import prepare_server_process
from lrfp.app.ui import model_picker
from lrfp.core import paths
from lrfp.core import server_settings as settings
from lrfp.core.errors import ConfigError


def main(pages_dir: Path) -> None:
    prepare_server_process()
    st.set_page_config(page_title="lrfp: face masks at low resolution", page_icon="😷", layout="wide")
    try:  # a bad LRFP_HOME or server setting stops here with its message, before any page reads it
        paths.check_home()
        settings.current()
    except ConfigError as exc:
        st.error(f"This server's settings cannot be used: {exc}")
        st.stop()
    pages_dir = Path(pages_dir).resolve()  # absolute: st.Page takes it as is, wherever the main script is
    pages = [
        st.Page(pages_dir / "overview.py", title="Overview", icon=":material/home:", default=True),
        st.Page(pages_dir / "dataset.py", title="Dataset", icon=":material/photo_library:"),
        st.Page(pages_dir / "results.py", title="Results", icon=":material/bar_chart:"),
        st.Page(pages_dir / "classify.py", title="Classify", icon=":material/search:"),
        st.Page(pages_dir / "monitor.py", title="Monitor", icon=":material/videocam:"),
        st.Page(pages_dir / "train.py", title="Train", icon=":material/model_training:"),
    ]
    navigation = st.navigation(pages)
    st.sidebar.caption("The model below is used by the Classify page.")
    model_picker()
    navigation.run()
