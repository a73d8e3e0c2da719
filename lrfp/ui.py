"""Streamlit helpers shared by the pages: cached models, the model picker, safe uploads."""
from __future__ import annotations

import io
from pathlib import Path

import streamlit as st
from PIL import Image

from .catalog import list_checkpoints
from .checkpoint import CheckpointError
from .data import UPLOAD_FORMATS, BadImageError, load_image
from .detect import DetectorUnavailableError, FaceDetector
from .inference import Classifier
from .publish import default_model

MODEL_KEY = "model_path"


@st.cache_resource(show_spinner="Loading model…")
def get_classifier(path: str) -> Classifier:
    return Classifier(path)  # shared by every session; Classifier serializes its forward pass


@st.cache_resource(show_spinner="Loading face detector…")
def get_detector() -> FaceDetector | None:
    try:
        return FaceDetector()
    except DetectorUnavailableError:
        return None


def model_picker() -> Path | None:
    """Sidebar select box over weights/ and local runs; the choice lives in session_state."""
    entries = list_checkpoints()
    if not entries:
        st.sidebar.warning("No checkpoints: weights/ is empty and there are no local runs.")
        return None
    labels = [e.label for e in entries]
    default = default_model()
    if MODEL_KEY not in st.session_state or st.session_state[MODEL_KEY] not in labels:
        st.session_state[MODEL_KEY] = f"weights/{default}" if f"weights/{default}" in labels else labels[0]
    choice = st.sidebar.selectbox("Model", labels, key=MODEL_KEY, help="weights/ and your local training runs")
    return entries[labels.index(choice)].path


def selected_classifier() -> Classifier | None:
    """The classifier picked in the sidebar, or None with an error shown."""
    path = model_picker()
    if path is None:
        return None
    try:
        return get_classifier(str(path))
    except CheckpointError as exc:
        st.error(f"Cannot load {path}: {exc}")
        return None


def read_upload(uploaded) -> Image.Image:
    """An uploaded file as RGB, checked by content (PNG, JPEG, WEBP, BMP) and size; BadImageError if not."""
    return load_image(io.BytesIO(uploaded.getvalue()), formats=UPLOAD_FORMATS, name=uploaded.name)


def live_webcam(processor) -> bool:
    """The streamlit-webrtc player, its frames run through `processor`; False where it cannot run."""
    from streamlit_webrtc import webrtc_streamer

    def on_frame(frame):  # runs in a worker thread: no st.* calls here
        import av

        return av.VideoFrame.from_image(processor.process(frame.to_image()))

    try:
        webrtc_streamer(key="live", video_frame_callback=on_frame, rtc_configuration={"iceServers": []},
                        media_stream_constraints={"video": True, "audio": False}, async_processing=True)  # fmt: skip
    except AttributeError:  # streamlit.testing's stand-in runtime has no session manager for WebRTC
        st.info("The live webcam needs the real server: `streamlit run app.py`.")
        return False
    return True


__all__ = ["BadImageError", "get_classifier", "get_detector", "live_webcam", "model_picker", "read_upload", "selected_classifier"]
