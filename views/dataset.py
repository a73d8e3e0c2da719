"""Dataset: samples per class, class balance per split, face sizes, source scenes with boxes."""

import json

import streamlit as st

from lrfp.app import charts
from lrfp.app.dataset_view import (
    draw_scene,
    filter_samples,
    find_source_photo,
    scene_caption,
    scenes_with_faces,
    source_scene,
)
from lrfp.app.plain import plain
from lrfp.app.result_text import colour_key
from lrfp.core import labels, paths
from lrfp.data.images import DatasetError, read_manifest

st.title("Dataset")
BUILD = f"lrfp data build --source PATH/TO/face-mask-detection --out {paths.DATA_DIR.name and 'data/' + paths.DATA_DIR.name}"

manifest: dict | None
try:
    manifest = read_manifest(paths.DATA_DIR)
    stats = json.loads((paths.DATA_DIR / "stats.json").read_text())
except (DatasetError, OSError, json.JSONDecodeError):
    manifest = None
    stats_path = paths.RESULTS_DIR / "dataset_stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.is_file() else None
    st.info(
        f"No dataset is built on this machine ({plain(paths.DATA_DIR.name)}). Showing the statistics stored with the results. "
        f"Build it with:\n\n`{BUILD}`"
    )
if manifest and paths.DATA_DIR.is_relative_to(paths.DEMO_DIR):
    st.caption(
        "Showing the copy of the default build shipped with lrfp (demo/, from the CC0 Kaggle set). "
        f"Build it yourself with `{BUILD}`."
    )

if stats:
    left, right = st.columns(2)
    left.subheader("Faces per split and class")
    left.plotly_chart(charts.class_balance(stats))
    right.subheader("Face size (shorter side of the box)")
    right.plotly_chart(charts.face_size_histogram(stats))
else:
    st.warning("No dataset statistics available.")

if manifest:
    st.subheader("Samples")
    c1, c2, c3 = st.columns(3)
    split = c1.selectbox("Split", ["train", "val", "test"], index=2)
    lo, hi = c2.slider("Face size (px)", 8, 320, (8, 320))
    per_class = c3.number_input("Faces per class", 4, 48, 16, step=4)
    for label in manifest["classes"]:
        samples = filter_samples(manifest, split, label, lo, hi)[: int(per_class)]
        st.markdown(f"**{labels.text(label)}** — {len(filter_samples(manifest, split, label, lo, hi))} faces match")
        if samples:
            st.image(
                [str(paths.DATA_DIR / s["path"]) for s in samples],
                width=72,
                caption=[f"{s['face_px']} px" for s in samples],
            )
    st.subheader("Source scenes")
    if paths.SOURCE_DIR.is_dir():
        scenes = [
            source_scene(photo, faces)
            for src, faces in scenes_with_faces(manifest, split)
            if (photo := find_source_photo(paths.SOURCE_DIR, src))
        ][:4]
        if not scenes:
            st.caption(f"{plain(paths.SOURCE_DIR.name)} does not hold this dataset's source photos.")
        else:
            st.caption(
                "Every labelled face of each photo, boxed in its class colour: "
                f"{colour_key({label for scene in scenes for label, *_ in scene.faces})}. Solid: the build has "
                "its crop; dashed: the build left it out."
            )
        cols = st.columns(2)
        for i, scene in enumerate(scenes):
            cols[i % 2].image(draw_scene(scene), caption=scene_caption(scene, split, manifest))
    else:
        st.caption(
            f"The source photos are not on this machine ({plain(paths.SOURCE_DIR.name)}); set LRFP_SOURCE to show them."
        )
