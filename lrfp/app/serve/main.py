"""The dashboard as `lrfp app` serves it: the pages that come with this lrfp (lrfp.core.paths.VIEWS_DIR).

Like the checkout's app.py: imported once as the server (st.App with lrfp.app.server_start's lifespan), run as
__main__ for each visitor's page run."""

import streamlit as st

if __name__ == "__main__":  # a visitor's page run; importing it (the server) shows nothing
    from lrfp.app.frame import STARTING, show_pages
    from lrfp.core.paths import VIEWS_DIR

    navigation = show_pages(VIEWS_DIR)  # named at once, before the slow imports below
    with st.spinner(STARTING):
        from lrfp.app.navigation import main
    main(navigation)
else:  # the server, imported once by `streamlit run` (lrfp app)
    from lrfp.app.server_start import server_start

    app = st.App(__file__, lifespan=server_start)
