"""Everything a dashboard user reads is right: legends, headers, units, the figures quoted, what the
photos and captions say, on a desktop and on a phone (issue: 'everything a user reads is right')."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import PAGE, drawn_tags
from PIL import Image
from streamlit.testing.v1 import AppTest

from lrfp.app import catalog, charts, result_text, tables, ui
from lrfp.pipeline import gradcam
from lrfp.pipeline.detect import FaceBox
from lrfp.pipeline.scene import FaceResult, SceneResult, annotate
from lrfp.publishing.index import read_index
from lrfp.reporting.results import (
    load_records,
    load_resolution_reports,
    load_scene_reports,
    load_view_reports,
    summary_frame,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def summary():
    return summary_frame(load_records())


def legend_entries(fig) -> list[str]:
    return [t.name for t in fig.data if t.showlegend is not False and t.name]


def below(fig) -> bool:
    legend = fig.layout.legend
    return legend.orientation == "h" and legend.y is not None and legend.y < 0


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if page != PAGE["Overview"]:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


# -- Results --------------------------------------------------------------------------------------


def test_ours_vs_paper_colours_configurations_and_keys_the_line_styles(summary):
    figures = charts.ours_vs_paper(summary)
    assert len(figures) == 4
    for fig in figures:
        entries = legend_entries(fig)
        assert len(entries) == len(set(entries)) <= 8, entries  # was 18 entries in one legend
        curves = {t.name for t in fig.data if list(t.x)[0] is not None}
        # one entry per configuration (colour), then a grey key to the line styles
        assert curves <= set(entries)
        key = [t for t in fig.data if list(t.x)[0] is None]
        assert {t.line.dash for t in key} <= {"solid", "dot", "dash"}
        assert any(t.name == "paper" and t.line.dash == "dash" for t in key)
        for t in fig.data:
            if list(t.x)[0] is None:
                continue
            paper = t.hovertemplate.split("<br>")[0].endswith(", paper")
            assert (t.line.dash == "dash") == paper and (t.marker.symbol == "circle-open") == paper
            assert t.line.color == next(k.line.color for k in fig.data if k.name == t.name and k.showlegend)


def test_every_row_headers_fit_and_say_what_they_mean(summary):
    table = tables.results_table(summary)
    config = tables.results_columns()
    assert set(config) == set(table.columns)
    for header in table.columns:
        if header not in ("Configuration", "Deviation"):
            assert len(header) <= 10, header  # 'Accuracy (%)' was cut to 'Accuracy (%'
        assert config[header]["help"], header
        assert config[header].get("width") in (None, "medium", "large")


def test_whole_photos_table_shows_the_key_figures_first():
    """The figure read first, its interval beside it, and (models) what tells the models apart before the cost:
    at 1366 px the interval and the balanced figure were past the right edge."""
    scenes = tables.scene_table(load_scene_reports())
    assert list(scenes.columns[:8]) == [
        "Model",
        "Found (%)",
        "Found and right (%)",
        "95 % interval",
        "Found faces right (%)",
        "Balanced (%)",
        "Unmatched / photo",
        "ms / photo",
    ]
    views = tables.views_table(load_view_reports())
    assert list(views.columns[4:9]) == [
        "Found (%)",
        "Found and right (%)",
        "95 % interval",
        "Unmatched / photo",
        "ms / photo",
    ]


def test_rows_of_one_setting_and_view_are_told_apart_by_their_record():
    """Four rows read 'test · 1x · centerface-masks pyramid, steps of 2 (default)' with other figures: records
    made before and after a change. Each row names its record."""
    views = tables.views_table(load_view_reports())
    alike = views[views.duplicated(["Photos", "View", "Detector"], keep=False)]
    assert len(alike) >= 2 and not views.duplicated(["Photos", "View", "Detector", "Record"]).any()
    assert "test_1x_after-stop38" in set(views["Record"])
    # beside the setting, not past the figures and sizes at the far right, off a 1366 px screen
    assert list(views.columns[:4]) == ["Photos", "View", "Detector", "Record"]


def test_accuracy_is_in_percent_in_every_chart(summary):
    fig = charts.resolution_curves(load_resolution_reports())
    ys = [y for t in fig.data for y in t.y]
    assert 50 < min(ys) and max(ys) <= 100  # was 0-1
    assert "%" in fig.layout.yaxis.title.text
    assert all(1 < shape.y0 <= 100 for shape in fig.layout.shapes)  # the native-size lines too
    record = load_records()[0]
    curves = charts.training_curves(record)
    accuracy = [y for t in curves.data if t.xaxis == "x2" for y in t.y]
    assert 1 < max(accuracy) <= 100
    assert any(a.text == "accuracy (%)" for a in curves.layout.annotations)
    for fig in charts.ours_vs_paper(summary):
        assert fig.layout.yaxis.title.text == "test accuracy (%)" and fig.layout.yaxis.range[1] <= 101
    assert charts.ranking(summary, 0.991).layout.xaxis.range[1] <= 101  # was stretched to 110


def epoch_ticks(axis) -> list[float]:
    """The ticks a linear plotly axis draws inside its range."""
    low, high = axis.range
    steps = range(int((low - axis.tick0) // axis.dtick), int((high - axis.tick0) // axis.dtick) + 2)
    return [t for t in (axis.tick0 + i * axis.dtick for i in steps) if low <= t <= high]


@pytest.mark.parametrize(("epochs", "ticks"), [(1, [1]), (2, [1, 2]), (15, list(range(2, 15, 2))), (80, None)])
def test_the_epoch_axis_ticks_whole_epochs(epochs, ticks):
    """A one-epoch run's curves (the Train page, the Results page) had epoch ticks at 0.5 and 1.5."""
    history = [
        {"epoch": e, "train_loss": 0.7, "val_loss": 0.6, "train_accuracy": 0.6, "val_accuracy": 0.7}
        for e in range(1, epochs + 1)
    ]
    fig = charts.training_curves({"history": history})
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):  # loss, accuracy
        drawn = epoch_ticks(axis)
        assert all(float(t).is_integer() for t in drawn) and 1 <= len(drawn) <= charts.EPOCH_TICKS + 1, drawn
        assert ticks is None or drawn == ticks
        assert axis.range[0] < 1 and epochs < axis.range[1]  # the first and last markers whole


def numbers(array) -> list:
    """A trace's values, as drawn: a figure from Streamlit's cache holds its arrays as plotly's base64 form."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def test_every_point_of_the_experiment_charts_lies_inside_their_axis_with_room(summary):
    """The paper's resnet18 at 80.00 % sat on the bottom edge of a range from 80: half of its circle was cut."""
    for fig in charts.ours_vs_paper(summary):
        bottom, top = fig.layout.yaxis.range
        for trace in fig.data:
            ys = [y for y in numbers(trace.y) if y is not None]
            if ys and trace.error_y.arrayminus is not None:
                ys += [y - minus for y, minus in zip(numbers(trace.y), numbers(trace.error_y.arrayminus))]
            assert not ys or (bottom + charts.ROOM <= min(ys) and max(ys) <= top), (fig.layout.title.text, trace.name)


def test_run_in_detail_opens_on_the_default_models_run():
    index = read_index()
    run = index["models"][index["default"]]["run_id"]
    at = run_page(PAGE["Results"])
    picker = next(s for s in at.selectbox if s.label == "Run")
    assert picker.value == run  # opened on alexnet-none-sgd-224px-s0
    assert "default model" in picker.help
    assert ui.detail_choice(["a", "b"], "c") == (
        0,
        "The default model's run record is not in results/: opens on the first run",
    )
    assert ui.detail_choice(["a", "b"], "b")[0] == 1


def test_charts_read_on_a_phone(summary):
    figures = charts.ours_vs_paper(summary)
    for fig in figures:  # one figure per experiment: no subplot titles side by side
        assert not fig.layout.annotations and len(fig.layout.title.text) <= 32
        assert fig.layout.title.pad.t >= 30  # under the tool buttons a phone always shows
        assert below(fig)
    record = load_records()[0]
    stats = json.loads((ROOT / "results" / "dataset_stats.json").read_text())
    for fig in (
        charts.resolution_curves(load_resolution_reports()),
        charts.training_curves(record),
        charts.class_balance(stats),
        charts.face_size_histogram(stats),
    ):
        assert below(fig), fig.layout.legend
    for heatmap in (charts.face_size_heatmap(summary), charts.confusion_heatmap([[9, 1], [2, 8]], ["a", "b"], "t")):
        assert heatmap.data[0].textfont.size >= 12  # was auto-sized to 6 px on a phone
        assert heatmap.layout.coloraxis.showscale is False  # the numbers are in the cells


# -- Overview -------------------------------------------------------------------------------------


def test_model_card_tables_are_tables_a_phone_can_show():
    from lrfp.app.headline import card_blocks

    blocks = card_blocks((ROOT / "weights" / "prod-mobilenet_v2.md").read_text())
    tables = [b for b in blocks if not isinstance(b, str)]
    assert [list(t.columns) for t in tables] == [
        ["configuration", "score", "labelled crops", "at 16 px", "detector crops"],
        ["crops", "n", "accuracy (95 % interval)", "balanced accuracy (95 % interval)"],
    ]
    assert tables[0].iloc[0, 0] == "mobilenet_v2-imagenet-adamw-64px-s0 (this model)"
    text = "\n".join(b for b in blocks if isinstance(b, str))
    assert "|" not in text and "Balanced accuracy, mean ± sd over the folds." in text
    assert text.startswith("### prod-mobilenet_v2")  # under the page's own headings


def test_overview_headline_is_the_default_models():
    at = run_page(PAGE["Overview"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Default model"] == "prod-mobilenet_v2"
    assert metrics["Cross-validated score"] == "98.62 %"
    assert metrics["Test accuracy"] == "98.65 %"
    assert any(
        c.value.startswith("95 % interval 97.4–99.3 %")
        and c.value.endswith(
            "594 labelled faces of the test photos (every face; the test split of the Dataset and Results pages "
            "keeps 208 of them, as many of each class)"
        )
        for c in at.caption
    )
    assert any(label.startswith("Reproduction's best") for label in metrics)
    assert not any(label.startswith("Our best") for label in metrics)  # a reproduction run beside the default
    assert len(at.table) >= 2  # the card's tables


def test_default_model_figures_come_from_the_records(tmp_path):
    from lrfp.app.headline import default_model_figures

    (tmp_path / "production" / "cv").mkdir(parents=True)
    (tmp_path / "production" / "faces").mkdir()
    (tmp_path / "runs").mkdir()
    cv = {"balanced_accuracy": {"score": {"mean": 0.9, "sd": 0.01}}, "folds": [{}] * 5}
    (tmp_path / "production" / "cv" / "c.json").write_text(json.dumps(cv))
    faces = {"views": {"label": {"accuracy": 0.95, "accuracy_interval": [0.93, 0.97], "n": 500}}}
    (tmp_path / "production" / "faces" / "prod.json").write_text(json.dumps(faces))
    run = {"milestones": {"30": {"test": {"accuracy": 0.5, "n": 200}}}}
    (tmp_path / "runs" / "r.json").write_text(json.dumps(run))
    index = {
        "models": {
            "prod": {"production": True, "cv_record": "production/cv/c.json"},
            "small": {"run_id": "r", "epoch": 30},
        }
    }
    prod = default_model_figures("prod", index, tmp_path)
    assert prod["cv"] == {"mean": 0.9, "sd": 0.01, "folds": 5}
    assert prod["test"] == {"accuracy": 0.95, "low": 0.93, "high": 0.97, "n": 500, "interval": "bootstrap"}
    small = default_model_figures("small", index, tmp_path)
    assert small["cv"] is None and small["test"]["n"] == 200 and small["test"]["interval"] == "Wilson"
    assert small["test"]["low"] < 0.5 < small["test"]["high"]
    assert default_model_figures("absent", index, tmp_path) == {"cv": None, "test": None}


# -- Classify -------------------------------------------------------------------------------------


def crowd(n: int = 48, size: tuple[int, int] = (400, 225)) -> tuple[Image.Image, SceneResult]:
    """A photo with N small faces packed in rows, as in a street crowd."""
    boxes = [
        FaceBox(8 + 16 * (i % 12), 20 + 18 * (i // 12), 8 + 16 * (i % 12) + 13, 20 + 18 * (i // 12) + 15, 0.9)
        for i in range(n)
    ]
    faces = [FaceResult(b, "with_mask" if i % 3 else "without_mask", 0.8) for i, b in enumerate(boxes)]
    return Image.new("RGB", size, (120, 120, 120)), SceneResult("scene", faces)


@pytest.mark.parametrize("numbered", [True, False])
def test_tags_on_a_crowd_never_overlap(monkeypatch, numbered):
    image, result = crowd()
    out, spots = drawn_tags(monkeypatch, image, result, numbered)
    assert len(spots) == len(result.faces), "a face got no tag"
    for i, (x0, y0, x1, y1) in enumerate(spots):
        assert 0 <= x0 and 0 <= y0 and x1 <= out.width and y1 <= out.height
        for j, (u0, v0, u1, v1) in enumerate(spots[i + 1 :], i + 2):
            assert not (x0 < u1 and u0 < x1 and y0 < v1 and v0 < y1), f"tags {i + 1} and {j} overlap"


def test_tag_places_prefer_touching_the_face_and_covering_no_other():
    from lrfp.pipeline import tags

    boxes = [(100, 100, 140, 140), (100, 60, 140, 98)]  # the second face sits right above the first
    first, second = tags.place([(30, 20), (30, 20)], boxes, 400, 300)
    assert tags.gap(first, boxes[0]) == 0 and not tags.overlaps(first, boxes[1])
    assert tags.gap(second, boxes[1]) == 0 and not tags.overlaps(first, second)
    # no room at all by a face: None, or with `far` the nearest free place
    assert tags.place([(400, 300), (400, 300)], [(0, 0, 10, 10), (20, 20, 30, 30)], 400, 300) == [
        (0, 0, 400, 300),
        None,
    ]


def test_gradcam_explains_the_faces_chosen_and_says_which(tmp_path):
    from lrfp.pipeline.inference import Classifier

    explainer = Classifier(ROOT / "weights" / "model3.pt", backend="torch")
    image, result = crowd(12)
    assert len(gradcam.explain_faces(explainer, image, [f.box for f in result.faces])) == 12  # stopped at 8, silently
    assert ui.gradcam_note(list(range(1, 9)), 48) == (
        f"Grad-CAM of faces 1–8 of 48; choose others above (up to {ui.GRADCAM_FACES} at a time)."
    )
    assert ui.gradcam_note([3, 17], 48).startswith("Grad-CAM of faces 3, 17 of 48")
    assert ui.gradcam_note([1, 2, 3], 3) == "Grad-CAM of every face (3)."


def test_classify_page_offers_the_choice_of_faces_on_a_crowd():
    at = run_page(PAGE["Classify"])
    at.toggle[0].set_value(True)
    example = next(s for s in at.selectbox if s.label.startswith("Example photo"))
    example.set_value(next(p for p in catalog.list_examples() if p.stem == "maksssksksss52")).run()
    assert not at.exception, at.exception
    chooser = next(m for m in at.multiselect if m.label.startswith("Faces to explain"))
    assert chooser.value == list(range(1, ui.GRADCAM_FACES + 1))
    assert any(re.match(r"Grad-CAM of faces 1–8 of \d\d;", c.value) for c in at.caption)
    captions = [[im.caption for im in image.proto.imgs] for image in at.get("image")]
    assert [f"face {n}" for n in range(1, ui.GRADCAM_FACES + 1)] == [c.split(":")[0] for c in captions[1]]
    assert captions[2] == [gradcam.COLOUR_SCALE_CAPTION]


def test_colour_bar_caption_names_the_bars_colours():
    bar = gradcam.colour_scale()
    left, middle, right = (bar.getpixel((x, bar.height // 2)) for x in (0, bar.width // 4, bar.width - 1))
    assert left[0] == left[1] == left[2]  # grey: no tint
    assert middle[0] > middle[1] > middle[2]  # a red tint
    assert right[0] - right[1] < 10 and right[1] - right[2] > 100  # yellow
    words = gradcam.COLOUR_SCALE_CAPTION.lower()
    assert words.index("grey") < words.index("red") < words.index("orange") < words.index("yellow")
    assert "no colour" not in words  # the bar's left end is grey, not colourless


def test_file_sizes_read_in_sensible_units():
    assert ui.human_size(812) == "812 bytes"
    assert ui.human_size(41_234) == "41 KB"  # the examples showed '(0.0 MB)'
    assert ui.human_size(3_210_000) == "3.2 MB"


def test_face_sizes_are_in_the_photos_own_pixels():
    image = Image.new("RGB", (4000, 3000))
    result = SceneResult("scene", [FaceResult(FaceBox(1000, 1000, 1300, 1400, 0.9), "with_mask", 0.9)])
    shown = annotate(image, result, numbered=True, min_long_side=1400, max_long_side=1400)
    assert shown.size == (1400, 1050)  # the picture shown is shrunk ...
    assert result_text.face_rows(result)[0]["size (px)"] == 300  # ... the table is not
    assert result_text.photo_caption(image, type("C", (), {"classes": ["with_mask", "without_mask"]})()).startswith(
        "4000x3000 px photo; face sizes in its pixels"
    )


def test_example_photos_have_human_names_and_keep_their_attribution():
    examples = catalog.list_examples()
    assert len(examples) == 6
    titles = [catalog.example_title(p) for p in examples]
    assert len(set(titles)) == len(titles)
    readme = (ROOT / "demo" / "README.md").read_text()
    for photo, title in zip(examples, titles):
        assert "maksssksksss" not in title and re.search(r"\(\d+ labelled faces\)$", title), title
        assert title.split(" (")[0] in readme and photo.name in readme  # README names both, with the source
    assert catalog.example_title(Path("elsewhere/my photo.jpg")) == "my photo.jpg"


def test_face_size_rows_follow_the_rankings_order(summary):
    # the two charts sit side by side and the caption says "the same rows": in the same order, top to bottom
    ranking, heatmap = charts.ranking(summary), charts.face_size_heatmap(summary)
    ranked_top_down = list(ranking.data[0].y)[::-1]  # a categorical y axis puts its first category at the bottom
    assert list(heatmap.data[0].y) == ranked_top_down


def test_the_summary_says_its_time_is_the_first_analysis(tmp_path):
    # analyses are kept: a later visit answers at once, so a bare "1423 ms" read as that visit's time
    from lrfp.pipeline.scene import FaceResult, SceneResult

    result = SceneResult(
        "scene", [FaceResult(FaceBox(0, 0, 40, 40, 0.9), "with_mask", 0.9)], detect_ms=900, classify_ms=500
    )
    line = result_text.scene_summary("street", result)
    assert "analysed in 1400 ms" in line and "kept for later visits" in line


def test_wide_results_tables_keep_what_each_row_is_and_its_score_in_view():
    """A phone shows a table's left columns: the row's name stays pinned, the score comes right after it."""
    from lrfp.app.ui import pinned_first
    from lrfp.reporting.results import load_cv_reports

    table = tables.cv_table(load_cv_reports())
    assert list(table.columns[:2]) == ["Configuration", "Score"]
    assert list(table.columns).index("Input (px)") == 5  # right after the score's parts: in view at 1366 px
    # the label tells the configurations apart (their run ids differ only at the end, which a phone cuts)
    assert table["Configuration"].is_unique and table["Configuration"].str.len().max() <= 30
    assert list(pinned_first(table)) == ["Configuration"] and pinned_first(table)["Configuration"]["pinned"] is True


def test_a_picture_with_no_face_reads_no_face_found():
    """A page of text, a sky or a texture read "text-page.png: 0 face(s), 0 with mask, 0 without": in words now,
    the boxes the face check turned down still said."""
    from lrfp.pipeline.scene import SceneResult

    line = result_text.scene_summary("sky.jpg", SceneResult("scene", [], detect_ms=800))
    assert line.startswith("**sky\\.jpg**: no face found · analysed in 800 ms"), line
    assert "0 face(s)" not in line and "0 with mask" not in line
    rejected = SceneResult("scene", [], rejected=[FaceBox(0, 0, 40, 40, 0.6)], detect_ms=800)
    assert "no face found, 1 box(es) rejected as not faces ·" in result_text.scene_summary("page.png", rejected)


def test_a_view_record_made_at_another_detector_score_is_not_called_the_default():
    """Stop 41 raised the fine-tuned CenterFace's score from 0.5 to 0.51: the records made at 0.5 read
    "(default)" beside today's. They say the score they kept instead."""
    views = tables.views_table(load_view_reports())
    rows = views.set_index("Record")["Detector"]
    assert rows["test_1x_before-thresh41"] == "centerface-masks pyramid, steps of 2, keeping 0.5"
    assert rows["test_1x_stop41"] == "centerface-masks pyramid, steps of 2 (default)"
