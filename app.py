"""lrfp dashboard entry point: `streamlit run app.py`."""
import streamlit as st

st.set_page_config(page_title="lrfp: face masks at low resolution", page_icon="😷", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon="🏠", default=True),
]
st.navigation(pages).run()
