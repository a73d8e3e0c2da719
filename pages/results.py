"""Results: every experiment beside the paper's numbers, curves, confusion matrices, face sizes."""
import streamlit as st

from lrfp.app import charts
from lrfp.results import load_records, load_resolution_reports, summary_frame
from lrfp.app.ui import ensure_navigation

ensure_navigation()

st.title("Results")
records = {r["run_id"]: r for r in load_records()}
summary = summary_frame(list(records.values()))
if summary.empty:
    st.info("No run records in results/ yet. They are written by `lrfp reproduce --data data/fmd853-lr`.")
    st.stop()

experiments = sorted(summary["experiment"].dropna().unique().astype(int))
chosen = st.multiselect("Experiments", experiments, default=experiments,
                        format_func=lambda e: {1: "1: model1", 2: "2: model2", 3: "3: model3", 4: "4: transfer"}[e])  # fmt: skip
view = summary[summary["experiment"].isin(chosen)]
if view["deviation"].fillna("").str.len().any():
    st.warning("Rows with a **deviation** differ from the paper's setup (see the deviation column): on this CPU the "
               "224 px experiments ran at a smaller input, and VGG-16/ResNet18/AlexNet trained from scratch because "
               "their ImageNet weights cannot be downloaded here.")  # fmt: skip

st.subheader("Ours beside the paper (Tables 4–9)")
st.dataframe(
    view.style.format({c: "{:.2%}" for c in ["accuracy", "balanced_accuracy", "paper_accuracy"]}
                      | {c: "{:.4f}" for c in ["avg_loss", "paper_avg_loss"]}, na_rep="–"),
    hide_index=True,
)  # fmt: skip
metric = st.radio("Metric", ["accuracy", "avg_loss"], horizontal=True)
st.plotly_chart(charts.accuracy_vs_paper(view, metric))

st.subheader("Accuracy by face size")
st.plotly_chart(charts.accuracy_by_face_size(view))

st.subheader("How small can a face be? (resolution study)")
reports = load_resolution_reports()
if reports:
    st.caption("Test faces shrunk so their shorter side is N px, then resized to each model's input "
               "(`lrfp resolution`). Dotted lines: accuracy at native size.")  # fmt: skip
    st.plotly_chart(charts.resolution_curves(reports))
else:
    st.caption("No resolution study yet: `lrfp resolution --model NAME --data data/fmd853-lr`.")

st.subheader("One run in detail")
run_id = st.selectbox("Run", sorted(view["run_id"].unique()))
record = records[run_id]
st.caption(f"Command: `{record['command']}` · {record['environment']['cpu']} · "
           f"{record.get('seconds_per_epoch', 0):.1f} s per epoch")  # fmt: skip
st.plotly_chart(charts.training_curves(record))
cols = st.columns(len(record["milestones"]) or 1)
for col, (epoch, result) in zip(cols, sorted(record["milestones"].items(), key=lambda kv: int(kv[0]))):
    test = result["test"]
    col.plotly_chart(charts.confusion_heatmap(test["confusion_matrix"], test["classes"],
                                              f"epoch {epoch}: {test['accuracy']:.2%}"))  # fmt: skip
