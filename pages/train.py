"""Train: launch a short run in the background and follow it; results join the model picker."""
import streamlit as st

from lrfp.app import charts
from lrfp import paths
from lrfp.data import DatasetError, read_manifest
from lrfp.app.launcher import launch, list_runs
from lrfp.models import NORMS, PAPER_ARCHITECTURES, min_input_size
from lrfp.app.ui import ensure_navigation

ensure_navigation()

APP_RUNS = paths.RUNS_DIR / "app"
st.title("Train")
try:
    read_manifest(paths.DATA_DIR)
    have_data = True
except DatasetError:
    have_data = False
    st.info(f"No dataset at {paths.DATA_DIR}. Build one first: `lrfp data build --source PATH/TO/face-mask-detection "
            "--out data/fmd853-lr`. Finished runs are still listed below.")  # fmt: skip

with st.form("launch"):
    c1, c2, c3, c4 = st.columns(4)
    model = c1.selectbox("Model", list(PAPER_ARCHITECTURES) + ["mobilenet_v2"], index=2)
    norm = c2.selectbox("Normalization (model1/2)", NORMS)
    epochs = c3.number_input("Epochs", 1, 80, 5)
    size = c4.select_slider("Input size (px)", [16, 24, 32, 48, 64, 96, 128, 224], value=32)
    submitted = st.form_submit_button("Start training", disabled=not have_data)
if submitted:
    if size < min_input_size(model):
        st.error(f"{model} needs at least {min_input_size(model)} px input")
    else:
        run_id = launch(model, str(paths.DATA_DIR), APP_RUNS, int(epochs), int(size),
                        norm=norm if model in ("model1", "model2") else None,
                        pretrained="none" if model == "mobilenet_v2" else None)  # fmt: skip
        st.success(f"Started {run_id}. It runs in the background: you may close this tab.")


@st.fragment(run_every=2.0)
def runs_panel():
    runs = list_runs(APP_RUNS)
    if not runs:
        st.caption("No runs launched from the app yet.")
        return
    for run in runs:
        with st.expander(f"{run['run_id']} · {run['status']} · epoch {run['epochs_done']}/{run['epochs']}",
                         expanded=run["status"] == "running"):  # fmt: skip
            st.progress(run["epochs_done"] / run["epochs"])
            if run["history"]:
                st.plotly_chart(charts.training_curves(run["record"]), key=f"curves-{run['run_id']}")
            if run["status"] == "finished":
                test = next(iter(run["record"]["milestones"].values()))["test"]
                st.success(f"Test accuracy {test['accuracy']:.2%}; the checkpoint is in the sidebar's model picker.")
            if run["status"] == "failed":
                st.error("The run stopped before finishing. Its log:")
            st.code(run["log_tail"] or "(no output yet)")


runs_panel()
