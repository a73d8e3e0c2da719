"""lrfp dashboard entry point: `streamlit run app.py`."""
import streamlit as st

from lrfp.app.ui import model_picker

st.set_page_config(page_title="lrfp: face masks at low resolution", page_icon="😷", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/photo_library:"),
    st.Page("pages/results.py", title="Results", icon=":material/bar_chart:"),
    st.Page("pages/classify.py", title="Classify", icon=":material/search:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
]
navigation = st.navigation(pages)
st.sidebar.caption("The model below is used by the Classify page.")
model_picker()
navigation.run()
