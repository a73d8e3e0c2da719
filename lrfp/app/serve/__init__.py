"""The folder `lrfp app` hands to `streamlit run`: main.py alone, since Streamlit puts it first on sys.path."""
