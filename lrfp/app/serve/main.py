"""The dashboard as `lrfp app` serves it: the pages that come with this lrfp (lrfp.core.paths.PAGES_DIR)."""
from lrfp.app.navigation import main
from lrfp.core.paths import PAGES_DIR

if __name__ == "__main__":  # Streamlit runs this file as __main__; importing it shows nothing
    main(PAGES_DIR)
