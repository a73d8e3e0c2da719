"""Train: launch a short run in the background and follow it; results join the model picker."""

import streamlit as st

from lrfp.app import charts
from lrfp.app.launcher import (
    LaunchRefused,
    launch,
    list_runs,
    log_shown,
    resume,
    run_name,
    stop,
    stopped_line,
    watch,
)
from lrfp.app.plain import plain, plain_message
from lrfp.core import paths
from lrfp.core import server_settings as settings
from lrfp.core.device import resolve_device
from lrfp.core.errors import describe_os_error
from lrfp.core.redact import without_paths
from lrfp.data.images import DatasetError, read_manifest
from lrfp.models.registry import REGISTRY, min_input_size

APP_RUNS = paths.RUNS_DIR / "app"
LIMITS = settings.current()
st.title("Train")
manifest: dict | None
try:
    manifest = read_manifest(paths.DATA_DIR)
except DatasetError:
    manifest = None
    st.info(
        f"No dataset at {plain(paths.DATA_DIR.name)} on this server. Build one first: `lrfp data build --source PATH/TO/face-mask-detection "
        "--out data/fmd853-lr`. Finished runs are still listed below."
    )
if manifest:
    sizes = {s: len(manifest["splits"][s]) for s in ("train", "val", "test")}
    st.caption(
        f"Trains on {paths.DATA_DIR.name} ({sizes['train']} train / {sizes['val']} validation / "
        f"{sizes['test']} test faces) with the paper's recipe on the {resolve_device('auto').upper()}; runs go to "
        "the model picker when they finish. "
        + (
            "This server trains one run at a time."
            if LIMITS.max_app_runs == 1
            else f"This server trains {LIMITS.max_app_runs} runs at a time."
        )
    )
if LIMITS.public:
    st.caption(
        "A run can be stopped only from the tab that started it. It keeps training when that tab closes or "
        "reloads (a reload is a new visit): it then finishes on its own, and only the server's operator can "
        "stop it."
    )


def keep_watching(run_id: str) -> None:
    """Hold the new run's watch lock while this session lives (no other visitor's launch prunes it), and
    let go of the previous one's: a visitor keeps one run from pruning, however many they start."""
    if "watching" in st.session_state:
        st.session_state.pop("watching").release()
    st.session_state["watching"] = watch(APP_RUNS / run_id)


def may_stop(run: dict) -> bool:
    """Whether this visitor sees Stop on a running run: their own, or any for the operator (LRFP_PUBLIC=0)."""
    return not LIMITS.public or run["run_id"] in st.session_state.get("my_runs", ())


# plain widgets and a button, not a form: Enter in a field never starts a run
c1, c2, c3, c4 = st.columns(4)
# the models small enough to train in a browser session: those shipped in weights/
trainable = [name for name, m in REGISTRY.items() if m.published]
model = c1.selectbox("Model", trainable, index=trainable.index("model3"))
norms = REGISTRY[model].norms
# a model without variants shows the slot greyed out, so the row keeps its place and says why
norm: str | None = c2.selectbox(
    "Normalization", norms or [f"none for {model}"], help="model1 and model2 only", disabled=not norms
)
norm = norm if norms else None
epochs = c3.number_input("Epochs", 1, 80, 5)
smallest = min_input_size(model)
size = c4.select_slider(
    "Input size (px)", [s for s in (16, 24, 32, 48, 64, 96, 128, 224) if s >= smallest], value=max(32, smallest)
)
if st.button("Start training", type="primary", disabled=manifest is None):
    try:
        run_id = launch(
            model,
            str(paths.DATA_DIR),
            APP_RUNS,
            int(epochs),
            int(size),
            norm=norm,
            pretrained="none" if REGISTRY[model].pretrained_source else None,
            mine=st.session_state.get("my_runs", ()),
        )
        st.session_state.setdefault("my_runs", set()).add(run_id)
        keep_watching(run_id)
        st.success("Started. It runs in the background: you may close this tab.")
    except LaunchRefused as exc:
        st.warning(str(exc))
    except OSError as exc:  # runs folder read-only, full, or not allowed
        st.error(f"Cannot start a run: {plain_message(describe_os_error(exc) or exc)}")


def resume_run(run: dict) -> None:
    """Start a stopped run again, and follow it as a run this visitor started."""
    try:
        resume(run["folder"])
    except LaunchRefused as exc:
        st.warning(str(exc))
        return
    except OSError as exc:  # runs folder read-only, full, or not allowed
        st.error(f"Cannot resume the run: {plain_message(describe_os_error(exc) or exc)}")
        return
    st.session_state.setdefault("my_runs", set()).add(run["run_id"])
    st.rerun(scope="app")  # follow its progress


def mine_training(runs: list[dict]) -> bool:
    """Whether a run this visitor started is training."""
    return any(r["status"] == "running" and r["run_id"] in st.session_state.get("my_runs", ()) for r in runs)


runs = list_runs(APP_RUNS)
# the panel follows progress every 2 s only while a run this visitor started is training: idle tabs cost nothing
following = mine_training(runs)
if not following and any(r["status"] == "running" for r in runs):
    st.button("Refresh", help="Another visitor's run is training; its progress shows when you refresh")


@st.fragment(run_every=2.0 if following else None)
def runs_panel():
    runs = list_runs(APP_RUNS)
    if not runs:
        st.caption("No runs launched from the app yet.")
        return
    finished = {r["run_id"] for r in runs if r["status"] == "finished"}
    if finished - st.session_state.setdefault("finished_runs", finished) or (following and not mine_training(runs)):
        st.session_state["finished_runs"] = finished
        st.rerun(scope="app")  # a run just ended: rebuild the sidebar's model picker with it, stop following
    for i, run in enumerate(runs):
        done, total = run["epochs_done"], run["epochs"]
        with st.expander(f"{run['name']} · {run['status']}", expanded=i == 0 or run["status"] == "running"):
            if run["status"] == "running":
                st.progress(done / total, text=f"epoch {min(done + 1, total)} of {total} training · {done} done")
                if may_stop(run) and st.button("Stop this run", key=f"stop-{run['run_id']}"):
                    stop(run["folder"])
            if run["history"]:
                st.plotly_chart(charts.training_curves(run["record"]), key=f"curves-{run['run_id']}")
            if run["status"] == "finished":
                test = next(iter(run["record"]["milestones"].values()))["test"]
                left, right = st.columns(2)
                left.metric("Test accuracy", f"{test['accuracy']:.2%}", help=f"{test['n']} test faces")
                left.caption(f"In the sidebar's model picker as **{run_name(run)}**.")
                right.plotly_chart(
                    charts.confusion_heatmap(test["confusion_matrix"], test["classes"]), key=f"cm-{run['run_id']}"
                )
            if run["status"] == "failed":
                st.error("The run stopped before finishing. Its log:")
            elif run["status"] == "stopped":  # asked for: not an error
                st.info(stopped_line(run))
                if may_stop(run) and st.button("Resume this run", key=f"resume-{run['run_id']}"):
                    resume_run(run)
            if run["status"] != "finished":
                st.code(without_paths(log_shown(run)))  # the server's folders cut off


runs_panel()
