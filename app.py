"""lrfp dashboard: `streamlit run app.py` (an installed lrfp: `lrfp app`).

Streamlit imports this file once as the server (st.App, lrfp.app.server_start: what is bounded before any
visitor connects), and runs it as __main__ for each visitor's page run: the pages."""

from pathlib import Path

import streamlit as st

if __name__ == "__main__":  # a visitor's page run
    from lrfp.app.frame import STARTING, VIEWS, show_pages

    navigation = show_pages(Path(__file__).parent / VIEWS)  # named at once, before the slow imports below
    with st.spinner(STARTING):
        from lrfp.app.navigation import main
    main(navigation)
else:  # the server, imported once by `streamlit run app.py`
    from lrfp.app.server_start import server_start

    app = st.App(__file__, lifespan=server_start)
