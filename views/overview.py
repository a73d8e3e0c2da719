"""Overview: what lrfp is, an example scene, the default model's scores, the paper beside its reproduction."""

from functools import partial

import streamlit as st

from lrfp.app import narrow
from lrfp.app.catalog import example_title, list_examples, model_name
from lrfp.app.charts import paper_headline
from lrfp.app.headline import card_blocks, default_model_figures, split_note
from lrfp.app.plain import plain
from lrfp.app.result_text import legend, scene_summary
from lrfp.app.ui import (
    analyse,
    app_default_model,
    get_detector,
    selected_classifier,
)
from lrfp.core import paths
from lrfp.publishing.index import read_index
from lrfp.reporting.results import load_records, summary_frame

st.title("Face masks at low resolution")
st.write(
    "**lrfp** tells whether a face wears a mask when the face is only a few pixels wide, as cheap "
    "outdoor cameras see it. It reproduces a thesis that trained small CNNs and fine-tuned VGG-16, "
    "ResNet18 and AlexNet on 2000 low-resolution faces from street video (the thesis's own set, never "
    "published), on a public substitute data set (Kaggle *Face Mask Detection*, faces of median 20 px)."
)

examples = list_examples()
with st.spinner("Loading the model and the face detector…"):  # also warms them for the Classify page
    classifier, detector = selected_classifier(), get_detector()
if examples and classifier is not None and detector is not None:
    title, data = example_title(examples[0]), examples[0].read_bytes()
    analysis = analyse(data, title, classifier, detector, "scene")
    st.image(
        analysis.picture,
        width="stretch",
        caption=f"An example street photo from the test split, as the Classify page reads it with "
        f"{plain(model_name(classifier.path))}: {legend(classifier)}",
    )
    st.caption(scene_summary(title, analysis.result))

# the headline is the default model's: what the Classify page uses, scored by the records that chose it
name = app_default_model()
if name:
    index = read_index()
    figures = default_model_figures(name, index)
    cols = st.columns(3)
    cols[0].metric("Default model", name, help=index.get("default_chosen_by", "chosen on validation"))
    cv, test = figures["cv"], figures["test"]
    if cv:
        cols[1].metric(
            "Cross-validated score",
            f"{100 * cv['mean']:.2f} %",
            help="Balanced accuracy, the mean of labelled and detector crops, on the folds each "
            "training did not see (`lrfp cv`); this score chose the default.",
        )
        cols[1].caption(f"± {100 * cv['sd']:.2f} (sd over {cv['folds']} folds of the train+val photos)")
    else:
        cols[1].metric("Cross-validated score", "–", help="this model was not chosen by `lrfp cv`")
    if test:
        # a short label (a long one is cut in its column); which faces it counts is said under it and in help
        cols[2].metric(
            "Test accuracy",
            f"{100 * test['accuracy']:.2f} %",
            help=f"On the {test['n']} labelled faces of the test photos, which chose nothing.",
        )
        cols[2].caption(
            f"95 % interval {100 * test['low']:.1f}–{100 * test['high']:.1f} % ({test['interval']}), "
            f"on the {test['n']} labelled faces of the test photos{split_note(test['n'])}"
        )
    else:
        cols[2].metric("Test accuracy", "–", help="no test record of this model in results/")
    card = paths.WEIGHTS_DIR / f"{name}.md"
    if card.is_file():
        with st.expander(f"Model card: {name}", expanded=True):
            for i, block in enumerate(card_blocks(card.read_text())):
                if isinstance(block, str):
                    st.markdown(block)
                else:  # stacked rows on a phone, whose narrow cells broke each number over three lines
                    narrow.table(block, f"card_{i}", partial(st.table, block, hide_index=True))
else:
    st.metric("Default model", "none", help="weights/ is empty")

st.subheader("The paper, reproduced")
paper = paper_headline()
summary = summary_frame(load_records())
paper_cols = st.columns(2)
paper_cols[0].metric(
    "Paper's best (its own test set)",
    f"{100 * paper['accuracy']:.2f} %",
    help=f"{paper['model']}, {paper['epochs']} epochs (Table 6)",
)
if summary.empty:
    paper_cols[1].metric("Reproduction's best", "–", help="no reproduction results in results/ yet")
else:
    best = summary.loc[summary["accuracy"].idxmax()]
    gap = 100 * (best["accuracy"] - paper["accuracy"])
    paper_cols[1].metric(
        f"Reproduction's best ({best['n']} faces, the balanced test split)",
        f"{100 * best['accuracy']:.2f} %",
        f"{gap:+.1f} points vs the paper",
        delta_color="off",
        help=f"{best['run_id']} at {best['epochs']} epochs, the best of {len(summary)} rows on test (an "
        "optimistic pick). The paper's data was never published, so the two test sets differ.",
    )
    inside = best["accuracy_low"] <= paper["accuracy"] <= best["accuracy_high"]
    paper_cols[1].caption(
        f"95 % interval {100 * best['accuracy_low']:.1f}–{100 * best['accuracy_high']:.1f} %; the "
        f"paper's figure lies {'inside' if inside else 'outside'} it. The reproduction trains the "
        "paper's networks on its recipe; the default model above is trained otherwise (its card)."
    )

st.subheader("How to use this dashboard")
st.markdown(
    "- **Dataset**: sample faces by class, split and size; class balance; face sizes; source scenes with boxes.\n"
    "- **Results**: every experiment, ours beside the paper's (Tables 4–9) with 95 % intervals, a ranking, accuracy by "
    "face size, training curves and confusion matrices. Deviations from the paper are marked.\n"
    "- **Classify**: try an example photo, upload your own, take a snapshot, or run the live webcam, with the model "
    "picked in the sidebar.\n"
    "- **Monitor**: compliance over time per camera from a `lrfp monitor` table or live run (shipped examples, or "
    "yours), people and compliance over people, alerts, the worst moments with their frames, a CSV download.\n"
    "- **Train**: launch a short training run in the background and watch it; the result joins the model picker."
)
