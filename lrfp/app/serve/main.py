"""The dashboard as `lrfp app` serves it: the pages that come with this lrfp (lrfp.core.paths.VIEWS_DIR)."""

import streamlit as st

from lrfp.app.frame import STARTING, show_pages
from lrfp.core.paths import VIEWS_DIR

if __name__ == "__main__":  # Streamlit runs this file as __main__; importing it shows nothing
    navigation = show_pages(VIEWS_DIR)  # named at once, before the slow imports below
    with st.spinner(STARTING):
        from lrfp.app.navigation import main
    main(navigation)
