"""lrfp dashboard entry point: `streamlit run app.py` (an installed lrfp: `lrfp app`)."""
from pathlib import Path

from lrfp.app.navigation import main

main(Path(__file__).parent / "pages")
