"""The dashboard's frame once the pages are named (lrfp.app.frame): server settings, the sidebar model picker.

Run by the checkout's app.py (`streamlit run app.py`) and by the installed entry script that
`lrfp app` serves, each after lrfp.app.frame.show_pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from lrfp.app import narrow
from lrfp.app.server_process import prepare_server_process
from lrfp.app.ui import model_picker
from lrfp.core import paths
from lrfp.core import server_settings as settings
from lrfp.core.errors import ConfigError

if TYPE_CHECKING:
    from streamlit.navigation.page import StreamlitPage  # what st.navigation returns


def main(navigation: StreamlitPage) -> None:
    """Check the server's settings, draw the sidebar's model picker and run the page NAVIGATION chose."""
    prepare_server_process()
    try:  # a bad LRFP_HOME or server setting stops here with its message, before any page reads it
        paths.check_home()
        settings.current()
    except ConfigError as exc:
        st.error(f"This server's settings cannot be used: {exc}")
        st.stop()
    narrow.use_style()  # the pages' tables stack their rows on a phone
    st.sidebar.caption("The model below is used by the Classify page.")
    model_picker()
    navigation.run()
