"""Overview: what lrfp is, the headline numbers (paper vs ours), the best model, how to use the pages."""
import streamlit as st

from lrfp.app.charts import paper_headline
from lrfp.publish import default_model, read_index
from lrfp import paths
from lrfp.results import load_records, summary_frame
from lrfp.app.ui import ensure_navigation

ensure_navigation()

st.title("Face masks at low resolution")
st.write(
    "**lrfp** tells whether a face wears a mask when the face is only a few pixels wide, as cheap "
    "outdoor cameras see it. It reproduces a thesis that trained small CNNs and fine-tuned VGG-16, "
    "ResNet18 and AlexNet on 2000 low-resolution faces from street video, on a public substitute "
    "data set (Kaggle *Face Mask Detection*, faces of median 20 px)."
)

paper = paper_headline()
summary = summary_frame(load_records())
cols = st.columns(3)
cols[0].metric("Paper's best", f"{paper['accuracy']:.2%}", help=f"{paper['model']}, {paper['epochs']} epochs (Table 6)")
if summary.empty:
    cols[1].metric("Our best", "–", help="no reproduction results in results/ yet")
else:
    best = summary.loc[summary["accuracy"].idxmax()]
    cols[1].metric("Our best (test)", f"{best['accuracy']:.2%}", f"{best['accuracy'] - paper['accuracy']:+.2%} vs the paper's best",
                   help=f"{best['run_id']} at {best['epochs']} epochs; our test split has 208 faces")  # fmt: skip
name = default_model()
if name:
    index = read_index()
    info = index["models"].get(name, {})
    cols[2].metric("Default model", name, help=f"{index.get('default_chosen_by', 'chosen on validation')}; "
                   f"test accuracy {info.get('test_accuracy', float('nan')):.2%}")  # fmt: skip
    card = paths.WEIGHTS_DIR / f"{name}.md"
    if card.is_file():
        with st.expander(f"Model card: {name}"):
            st.markdown(card.read_text())
else:
    cols[2].metric("Default model", "none", help="weights/ is empty")

st.subheader("How to use this dashboard")
st.markdown(
    "- **Dataset**: sample faces by class, split and size; class balance; face sizes; source scenes with boxes.\n"
    "- **Results**: every experiment, ours beside the paper's (Tables 4–9), training curves, confusion matrices, "
    "accuracy by face size. Deviations from the paper are marked.\n"
    "- **Classify**: upload face crops or whole scenes, take a snapshot, or run the live webcam, with the model "
    "picked in the sidebar.\n"
    "- **Train**: launch a short training run in the background and watch it; the result joins the model picker."
)
