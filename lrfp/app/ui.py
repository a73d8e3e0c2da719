"""Streamlit helpers shared by the pages: cached models, the model picker, the live webcam."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileManager

from lrfp.app import narrow, upload_bounds
from lrfp.app.analysis import Analysis
from lrfp.app.catalog import list_checkpoints, picker_name
from lrfp.app.live import ice_servers
from lrfp.app.plain import plain
from lrfp.app.waiting import DRAWING, STARTED, Tell, classifying_line, waiting_line
from lrfp.core import paths, settings
from lrfp.core.bytecache import ByteCache
from lrfp.core.errors import ConfigError
from lrfp.core.records import read_json
from lrfp.core.redact import relative_name, without_paths
from lrfp.data.images import BadImageError
from lrfp.models.checkpoint import CheckpointError
from lrfp.pipeline.detect import DEFAULT_DETECTOR, LIVE_DETECTOR, LIVE_SCALE, DetectorUnavailableError, FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze_upload
from lrfp.pipeline.upload_limits import UPLOAD_SLOTS
from lrfp.publishing.index import WeightsIndexError, default_model, read_index

MODEL_KEY = "model_path"


@st.cache_resource(show_spinner="Loading model…")
def get_classifier(path: str, backend: str = "auto") -> Classifier:
    # shared by every session: onnxruntime sessions are thread-safe, the torch path holds a lock
    return Classifier(path, backend=backend)


@st.cache_resource(show_spinner="Loading face detector…")
def get_detector(scale: float | None = None) -> FaceDetector | None:
    """The scale pyramid with the default detector; with `scale`, the live webcam's single look (LIVE_DETECTOR)."""
    try:
        return FaceDetector(scale=scale) if scale is None else FaceDetector(LIVE_DETECTOR, scale=scale)
    except DetectorUnavailableError:
        return None


def live_policy(record: Path | None = None) -> str:
    """What the webcam does for speed, with the frame rate benchmarks/pipeline_fps.py measured (if recorded)."""
    record = record or paths.RESULTS_DIR / "benchmarks" / "pipeline_fps.json"
    measured = ""
    if record.is_file():
        figures = read_json(record)
        rate = next(
            (r for r in figures.get("live", []) if r["detector"] == LIVE_DETECTOR and r["scale"] == LIVE_SCALE), None
        )
        if rate:
            measured = f" ({rate['frames_per_s']:.0f} frames per second at {LIVE_SCALE:g} for 640x480, measured on {figures['cpu']})"
    return (
        f"For speed the webcam looks at each frame once, at the chosen scale, with {LIVE_DETECTOR}{measured}. "
        f"Photos, uploads, snapshots and videos get the full detection ({DEFAULT_DETECTOR}): a scale pyramid, the "
        "frame reduced, at its own size and enlarged, in tiles and within a time budget, so that faces from "
        "8 px to a whole phone photo are found."
    )


# Every widget click reruns a page, and each rerun asks again for the photos it shows (the example, every
# file in the uploader). Analyses are kept by content, model and mode, so a rerun, or another visitor
# opening the same example, costs nothing. What is kept is what the page shows, never the decoded photo
# (150 MB at 50 MP: sixteen kept 7000x7000 PNGs held 2.6 GB for as long as the server ran), and the
# recent ones only, up to LRFP_ANALYSIS_CACHE_MB in all.
ANALYSES: ByteCache[Analysis] = ByteCache(
    settings.positive_int("LRFP_ANALYSIS_CACHE_MB", 64) * 1_000_000, lambda a: a.nbytes
)
# Photos are shown this many px on their longer side: small ones enlarged so boxes and tags read, big
# ones shrunk (the analysis used every pixel), sent as JPEG (a PNG of a 2048 px photo took 0.7 s to encode).
DISPLAY_SIDE = 1400


def analyse(
    data: bytes,
    name: str,
    classifier: Classifier,
    detector: FaceDetector | None,
    mode: str,
    numbered: bool = False,
    tell: Tell | None = None,
) -> Analysis:
    """An uploaded file analysed (its boxes numbered as in the page's table with `numbered`), from the
    cache when the same bytes were analysed alike; in this visitor's turn for an upload slot. TELL, when
    given, hears the visitor's place in line while it waits, then each stage (lrfp.app.waiting)."""
    mode = mode if detector else "face"
    key = (hashlib.sha256(data).digest(), name, f"{classifier.path}:{classifier.backend}", mode, numbered)
    session = visitor()
    say: Tell = tell or (lambda line: None)

    def make() -> Analysis:
        # the decoded photo lives only inside the turn
        with UPLOAD_SLOTS.turn(session, lambda place: say(waiting_line(place))):
            say(STARTED)
            image, result = analyze_upload(
                data, name, classifier, detector, mode, session, lambda done, total: say(classifying_line(done, total))
            )
            say(DRAWING)
            return Analysis.of(image, result, numbered, DISPLAY_SIDE)

    return ANALYSES.get_or_make(key, make)


def visitor() -> str | None:
    """This browser session's id (uploads are bounded and queued per visitor); None outside a page run."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def upload_store() -> UploadedFileManager:
    """Streamlit's store of the files visitors upload (the running server's)."""
    return Runtime.instance().uploaded_file_mgr


def refuse_uploads(files: Sequence[UploadedFile]) -> None:
    """Drop this visitor's FILES from the server's memory now (a refused batch is never analysed)."""
    store, session = upload_store(), visitor()
    if session is not None:  # outside a page run there is no session, and the store holds nothing of one
        upload_bounds.drop(store, session, files)


def app_default_model(area=st) -> str | None:
    """The app's default model; None, with the reason shown in `area`, when weights/index.json is unusable
    (the pages still run, and the picker still offers every checkpoint)."""
    try:
        return default_model()
    except WeightsIndexError as exc:
        area.error(without_paths(str(exc), {str(paths.WEIGHTS_DIR): "weights"}))  # our words, its path cut
        return None


def model_picker() -> Path | None:
    """Sidebar select box over weights/ and local runs; the choice lives in session_state."""
    entries = list_checkpoints()
    if not entries:
        st.sidebar.warning("No checkpoints: weights/ is empty and there are no local runs.")
        return None
    labels = [e.label for e in entries]
    default = app_default_model(st.sidebar)
    shown = {e.label: picker_name(e, default) for e in entries}
    if MODEL_KEY not in st.session_state or st.session_state[MODEL_KEY] not in labels:
        st.session_state[MODEL_KEY] = f"weights/{default}" if f"weights/{default}" in labels else labels[0]
    choice = st.sidebar.selectbox(
        "Model",
        labels,
        key=MODEL_KEY,
        format_func=shown.__getitem__,
        help="The published models (weights/) and your local training runs",
    )
    return entries[labels.index(choice)].path


def default_run_id() -> str | None:
    """The run behind the app's default model (weights/index.json), for pages that open on it."""
    name = app_default_model()
    return read_index()["models"].get(name, {}).get("run_id") if name else None


def detail_choice(run_ids: list[str], default: str | None) -> tuple[int, str]:
    """Where the Results page's run picker opens, and the help that says why."""
    if default in run_ids:
        return run_ids.index(default), "Opens on the run behind the app's default model"
    return 0, "The default model's run record is not in results/: opens on the first run"


def selected_checkpoint() -> Path | None:
    """The checkpoint chosen in the sidebar picker (rendered once per run by app.py)."""
    entries = {e.label: e.path for e in list_checkpoints()}
    label = st.session_state.get(MODEL_KEY)
    if label in entries:
        return entries[label]
    return next(iter(entries.values()), None)


def selected_classifier() -> Classifier | None:
    """The classifier picked in the sidebar, or None with an error shown."""
    path = selected_checkpoint()
    if path is None:
        return None
    try:
        return get_classifier(str(path))
    except CheckpointError as exc:
        # named as the project names it (weights/x.pt, runs/...), once: the message starts with the path
        name = relative_name(path, [paths.WEIGHTS_DIR, paths.RUNS_DIR])
        problem = without_paths(str(exc).removeprefix(f"{path}: "), {str(path): name})
        st.error(f"Cannot load {plain(name)}: {problem}")
        return None


def figures_table(table, key: str) -> None:
    """A table of benchmark figures: percentages and per-photo numbers with one decimal; its first column
    (what each row is) stays in view while the others scroll; on a phone, its rows stacked (lrfp.app.narrow)."""
    formats = {c: "%.1f" for c in table.columns if "(%)" in c or "/ photo" in c}
    config = {c: st.column_config.NumberColumn(format=f) for c, f in formats.items()}
    narrow.table(
        table,
        key,
        lambda: st.dataframe(table, hide_index=True, width="stretch", column_config=config | pinned_first(table)),
        formats,
    )


def pinned_first(table) -> dict:
    """column_config keeping a table's first column in view when the others scroll sideways, wide enough for a
    model's name ("mobilenet_v2" was cut at the default width)."""
    return {table.columns[0]: st.column_config.Column(pinned=True, width="medium")}


def human_size(n_bytes: int) -> str:
    """A file's size as people write it: '812 bytes', '41 KB', '3.2 MB'."""
    if n_bytes < 1000:
        return f"{n_bytes} bytes"
    if n_bytes < 1_000_000:
        return f"{n_bytes / 1000:.0f} KB"
    return f"{n_bytes / 1e6:.1f} MB"


# Grad-CAM takes a backward pass per face: a crowd's faces are explained a few at a time, chosen on the page
GRADCAM_FACES = 8


def gradcam_note(chosen: list[int], total: int) -> str:
    """What the Grad-CAM row shows, said on the page: 'faces 1–8 of 48' when not every face."""
    if len(chosen) == total:
        return f"Grad-CAM of every face ({total})."
    if not chosen:
        return f"No face chosen for Grad-CAM (of {total})."
    listed = (
        f"faces {chosen[0]}–{chosen[-1]}"
        if chosen == list(range(chosen[0], chosen[-1] + 1)) and len(chosen) > 2
        else "faces " + ", ".join(map(str, chosen))
        if len(chosen) > 1
        else f"face {chosen[0]}"
    )
    return f"Grad-CAM of {listed} of {total}; choose others above (up to {GRADCAM_FACES} at a time)."


def live_webcam(processor):
    """The streamlit-webrtc player, its frames run through `processor`; its context, or None where it cannot run."""
    from streamlit_webrtc import webrtc_streamer

    def on_frame(frame):  # runs in a worker thread: no st.* calls here
        import av

        return av.VideoFrame.from_image(processor.process(frame.to_image()))

    try:
        servers = ice_servers()
    except ConfigError as exc:
        st.error(f"The live webcam is not configured correctly: {exc}")
        return None
    try:
        ctx = webrtc_streamer(
            key="live",
            video_frame_callback=on_frame,
            rtc_configuration={"iceServers": servers},
            media_stream_constraints={"video": True, "audio": False},
            async_processing=True,
        )
    except AttributeError:  # streamlit.testing's stand-in runtime has no session manager for WebRTC
        st.info("The live webcam needs the real server: `streamlit run app.py`.")
        return None
    if ctx.state.signalling and not ctx.state.playing:
        st.warning(
            "Connecting the webcam… If the video does not start within a few seconds, your browser cannot "
            "reach this server over WebRTC: the server's operator can add a TURN server (LRFP_TURN_URL, see "
            "docs/dashboard.md) or, on a local network, set LRFP_ICE_SERVERS='[]'."
        )
    return ctx


__all__ = [
    "BadImageError",
    "human_size",
    "gradcam_note",
    "figures_table",
    "pinned_first",
    "analyse",
    "get_classifier",
    "get_detector",
    "live_policy",
    "live_webcam",
    "model_picker",
    "selected_classifier",
]
