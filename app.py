"""lrfp dashboard entry point: `streamlit run app.py`."""
import streamlit as st

from lrfp.ui import model_picker

st.set_page_config(page_title="lrfp: face masks at low resolution", page_icon="😷", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon="🏠", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon="🖼️"),
    st.Page("pages/results.py", title="Results", icon="📊"),
    st.Page("pages/classify.py", title="Classify", icon="🔎"),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
]
navigation = st.navigation(pages)
st.sidebar.caption("The model below is used by the Classify page.")
model_picker()
navigation.run()
