"""Results: ours beside the paper per experiment, a ranking with intervals, face sizes, any run in detail."""

import streamlit as st

from lrfp.app import charts, narrow, tables
from lrfp.app.headline import split_note
from lrfp.app.ui import default_run_id, detail_choice, figures_table, pinned_first
from lrfp.publishing.cards import shown_command
from lrfp.reporting.results import (
    load_cv_reports,
    load_face_reports,
    load_production_records,
    load_records,
    load_resolution_reports,
    load_scene_reports,
    load_view_reports,
    summary_frame,
)

st.title("Results")
records = {r["run_id"]: r for r in load_records()}
summary = summary_frame(list(records.values()))
if summary.empty:
    st.info("No run records in results/ yet. They are written by `lrfp reproduce --data data/fmd853-lr`.")
    st.stop()
paper = charts.paper_headline()
st.caption(
    f"{len(summary)} rows from {len(records)} runs, each evaluated on the same 208 test faces: one face is "
    "0.48 points, and the 95 % intervals (Wilson) show which differences this test split can resolve."
)

st.subheader("Ours beside the paper, experiment by experiment")
st.caption(
    "Colour: the configuration. Line: solid for ours at the paper's input size, dotted for ours at the "
    "smaller size the CPU allowed (both with 95 % intervals), dashed with open circles for the paper's."
)
figures = charts.ours_vs_paper(summary)
for pair in range(0, len(figures), 2):  # two per row on a wide screen; a phone stacks them in order
    for col, fig in zip(st.columns(2), figures[pair : pair + 2]):
        col.plotly_chart(fig, width="stretch")
if summary["deviation"].fillna("").str.len().any():
    st.caption(
        "Deviations from the paper's setup are listed in the table below: on the CPU the 224 px experiments "
        "ran at 64 px (VGG-16 at 32 px), and VGG-16, ResNet18 and AlexNet trained from scratch because their "
        "ImageNet weights cannot be had offline."
    )

left, right = st.columns(2)
left.subheader("Best configurations")
left.caption(
    "Each configuration at its best milestone on test, a choice that flatters every row equally. "
    "Overlapping intervals: the test split cannot rank them."
)
left.plotly_chart(charts.ranking(summary, paper["accuracy"]), width="stretch")
right.subheader("Accuracy by face size")
right.caption("The same rows, split by the face's shorter side in the source photo.")
right.plotly_chart(charts.face_size_heatmap(summary), width="stretch")

st.subheader("Every row")
st.caption("Hover over a column's name for what it holds (on a wide screen).")
every = tables.results_table(summary)
narrow.table(
    tables.stacked_results(every),
    "every_row",
    lambda: st.dataframe(every, hide_index=True, width="stretch", column_config=tables.results_columns()),
    tables.results_formats(),
)

st.subheader("Production models: chosen by cross-validation")
cv_reports, face_reports = load_cv_reports(), load_face_reports()
if cv_reports:
    st.caption(
        "`lrfp cv`: each configuration of the production recipe trained on 5 folds of the train+val photos "
        "(grouped by photo) and scored on the fold it did not see. Balanced accuracy (%), mean ± sd over the "
        "folds; the score is the mean of the labelled and the detector crops. The app's default is the best "
        "score: the test photos choose nothing. √w: classes weighed by one over the square root of their share."
    )
    cv = tables.cv_table(cv_reports)
    narrow.table(cv, "cv", lambda: st.dataframe(cv, hide_index=True, width="stretch", column_config=pinned_first(cv)))
else:
    st.caption("No cross-validation yet: `lrfp facebank build`, then `lrfp cv` (see docs/models-and-training.md).")
if face_reports:
    st.caption(
        "`lrfp faces-eval` on every face of the test photos: balanced accuracy (%) with its 95 % interval "
        "(bootstrap), on the labelled box, on the labelled box shrunk to 16 px, and on RetinaFace's box for "
        "the face (what the app classifies; faces the detector misses are not in that column)."
    )
    faces = tables.faces_table(face_reports)
    narrow.table(
        faces, "faces", lambda: st.dataframe(faces, hide_index=True, width="stretch", column_config=pinned_first(faces))
    )

st.subheader("Whole photos: detector and classifier together")
scenes = load_scene_reports()
if scenes:
    st.caption(
        f"`lrfp scene-bench` on the {scenes[0]['photos']} photos behind the test split ({scenes[0]['photos_from']}): "
        "a labelled face counts as found when a detection overlaps it (IoU ≥ 0.3, one to one), and as right "
        "when the found face gets its label. Faces labelled 'mask worn incorrectly' count only for the "
        "three-class model (hence its larger face count)."
    )
    figures_table(tables.scene_table(scenes), "scenes")
else:
    st.caption("No scene benchmark yet: `lrfp scene-bench --source PATH/TO/face-mask-detection --data data/fmd853-lr`.")

views = load_view_reports()
if views:
    st.subheader("Every face in the frame: the detector in every view")
    st.caption(
        "The same labelled photos as other cameras would give them: as they are (1x), enlarged (bigger "
        "faces), K x K photos in one frame (an HD or 4K camera), at a 12 MP phone photo's 4032 px (phone; "
        "closeup: the photos with a face of 128 px or more), and one face pasted alone at 8 to 3000 px "
        "(pasted). Face sizes are binned in the frame's pixels, as the detector saw them. The train photos "
        "chose the setting; the test photos are reported once. ms per photo on a 2-core CPU while other "
        "jobs ran: see docs/speed.md for speed."
    )
    figures_table(tables.views_table(views), "views")

st.subheader("How small can a face be? (resolution study)")
reports = load_resolution_reports()
if reports:
    st.caption(
        "Test faces shrunk so their shorter side is N px, then resized to each model's input "
        "(`lrfp resolution`). Dotted lines: each model's accuracy at native size, in its colour."
    )
    st.plotly_chart(charts.resolution_curves(reports), width="stretch")
else:
    st.caption("No resolution study yet: `lrfp resolution --model NAME --data data/fmd853-lr`.")

st.subheader("One run in detail")
# the production models' runs first: the app's default model is one of them
detail = {r["run_id"]: r for r in load_production_records()} | records
run_ids = list(detail)
opening, why = detail_choice(run_ids, default_run_id())
run_id = st.selectbox("Run", run_ids, index=opening, help=why)
record = detail[run_id]
st.caption(
    f"Command: `{shown_command(record['command'])}` · {record['environment']['cpu']} · "
    f"{record.get('seconds_per_epoch', 0):.1f} s per epoch"
)
st.plotly_chart(charts.training_curves(record), width="stretch")
if record["milestones"]:  # a production run is tested on every face of the test photos, not the 208 above
    faces = sum(map(sum, next(iter(record["milestones"].values()))["test"]["confusion_matrix"]))
    st.caption(f"Confusion on this run's {faces} test faces{split_note(faces)}, at each milestone:")
cols = st.columns(len(record["milestones"]) or 1)
for col, (epoch, result) in zip(cols, sorted(record["milestones"].items(), key=lambda kv: int(kv[0]))):
    test = result["test"]
    col.plotly_chart(
        charts.confusion_heatmap(test["confusion_matrix"], test["classes"], f"epoch {epoch}: {test['accuracy']:.2%}"),
        width="stretch",
    )
