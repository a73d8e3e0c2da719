"""What a new user found on the dashboard's pages: the model card's printed dicts, class names as the code
spells them, a file's name said twice in an upload's error, stream addresses in the live section."""

from __future__ import annotations

import io
import shutil

import pandas as pd
import pytest
from helpers import png_bomb

from lrfp.app import charts, narrow
from lrfp.app.headline import card_blocks
from lrfp.app.launcher import stopped_line
from lrfp.app.monitor_people import stream_rows
from lrfp.app.monitor_shown import LIVE_SOURCE, public_text, shown_rows
from lrfp.app.result_text import not_processed
from lrfp.core import labels, paths
from lrfp.data.images import BadImageError, load_image
from lrfp.publishing.cards import classes_in_words, settings_in_words
from lrfp.publishing.families import rewrite_cards
from lrfp.publishing.index import read_index


def test_the_model_card_reads_as_words_not_printed_dicts():
    card = paths.WEIGHTS_DIR / f"{read_index()['default']}.md"
    text = "\n".join(b for b in card_blocks(card.read_text()) if isinstance(b, str))
    assert "{'" not in text and "':" not in text
    assert "(num classes 2, pretrained imagenet)" in text
    assert "faces 2,973 train, 148 val, 594 test, each from the photos of its split" in text
    assert ") (" not in text  # it read "faces (test 594, train 2973, val 148) (train = the train photos, ...)"
    assert "classes with mask, without mask." in text and "with_mask" not in text


def test_the_model_cards_on_disk_say_their_settings_and_classes_in_words():
    """The files a reader of the repository opens, not only the dashboard's view of them."""
    for card in paths.WEIGHTS_DIR.glob("*.md"):
        text = card.read_text()
        assert "{'" not in text and "with_mask" not in text, card.name
        assert ") (" not in text and "[[" not in text, card.name  # two brackets in a row; a printed Python list
    family = (paths.WEIGHTS_DIR / "model1.md").read_text()
    assert (
        "`model1` (norm groupnorm, num classes 2)" in family and "split sizes 1,042 train, 52 val, 208 test" in family
    )


def test_the_cards_on_disk_are_what_lrfp_publish_cards_writes(tmp_path):
    shutil.copy(paths.WEIGHTS_DIR / "index.json", tmp_path / "index.json")
    written = rewrite_cards(weights_dir=tmp_path)
    assert written and all(
        (tmp_path / f"{name}.md").read_text() == (paths.WEIGHTS_DIR / f"{name}.md").read_text() for name in written
    )


def test_the_dashboard_reads_a_card_written_before_as_one_written_now():
    old = "- **Model**: `model1` {'norm': 'groupnorm', 'num_classes': 2}; classes with_mask, without_mask."
    now = f"- **Model**: `model1` {settings_in_words({'norm': 'groupnorm', 'num_classes': 2})}; classes " + (
        f"{classes_in_words(['with_mask', 'without_mask'])}."
    )
    assert card_blocks(old) == card_blocks(now) == [now + "\n"]


def test_a_family_cards_confusion_matrix_is_a_table_in_words():
    """The card printed its confusion matrix as a Python list, [[101, 3], [4, 100]]."""
    card = (paths.WEIGHTS_DIR / "model3.md").read_text()
    assert "[[" not in card
    blocks = card_blocks(card)
    (matrix,) = [b for b in blocks if isinstance(b, pd.DataFrame) and "true class" in b.columns]
    assert list(matrix.columns) == ["true class", "predicted with mask", "predicted without mask"]
    assert list(matrix["true class"]) == ["with mask", "without mask"]
    faces = sum(int(n) for column in matrix.columns[1:] for n in matrix[column])
    assert f"| {faces} |" in card  # as many faces as the test metrics' n


def test_a_card_keeps_braces_that_are_no_printed_dict():
    (block,) = card_blocks("sizes {'a': [1, 2} and {'x': 1}")
    assert block.strip() == "sizes {'a': [1, 2} and (x 1)"


def test_a_stacked_row_keeps_each_value_on_one_line():
    table = pd.DataFrame({"configuration": ["model3 (this model)"], "score": ["0.9862 ± 0.0059"], "n": [594.0]})
    (row,) = narrow.stacked(table, {"n": "%d"})
    assert row.startswith("**model3 \\(this model\\)**  \n")
    assert "score: 0\\.9862\u00a0±\u00a00\\.0059\u00a0· n: 594" in row  # a break after a name's colon, none inside
    (row,) = narrow.stacked(pd.DataFrame({"crops": ["box"], "accuracy": ["0.9865 (0.9737–0.9932)"]}))
    assert "0\\.9737\u2060–\u20600\\.9932" in row  # a browser breaks a line after a dash
    assert narrow.unbroken("mobilenet\\-v2") == "mobilenet\u2060\\-\u2060v2"  # the hyphen still escaped


def test_a_missing_number_is_a_dash():
    assert (
        narrow.cell(float("nan"), "%.2f") == "–" and narrow.cell(None) == "–" and narrow.cell(3.14159, "%.2f") == "3.14"
    )


def test_a_time_in_a_stacked_row_reads_in_whole_seconds():
    """The live example's stacked rows on a phone read 'from: 2026-12-06 15:24:36.823000'."""
    when = pd.Timestamp("2026-12-06 15:24:36.823")
    assert narrow.cell(when) == "2026-12-06 15:24:36" and narrow.cell(pd.NaT) == "–"
    rows = narrow.stacked(pd.DataFrame({"camera": ["gate"], "from": [when]}))
    assert rows[0].endswith("24\\:36") and "823" not in rows[0]  # colons escaped for markdown


@pytest.mark.parametrize("chart", [charts.class_balance, charts.face_size_histogram])
def test_the_dataset_charts_name_and_colour_classes_as_every_page(chart):
    stats = {
        "counts": {"test": {"with_mask": 3, "without_mask": 4}, "train": {"with_mask": 9, "without_mask": 8}},
        "face_size_histogram": {"bins": ["8-11", "12-15"], "counts": {"with_mask": [1, 2], "without_mask": [3, 4]}},
    }
    figure = chart(stats)
    assert [trace.name for trace in figure.data] == [labels.text("with_mask"), labels.text("without_mask")]
    assert [trace.name for trace in figure.data] == ["with mask", "without mask"]
    assert figure.data[0].marker.color == "rgb{}".format(labels.BY_NAME["with_mask"].color)


def test_the_splits_read_in_their_order():
    stats = {"counts": {s: {"with_mask": 1} for s in ("test", "train", "val")}}
    assert charts.class_balance(stats).layout.xaxis.categoryarray == ("train", "val", "test")


def test_an_upload_error_names_the_file_once():
    try:
        load_image(io.BytesIO(png_bomb(12000, 12000)), name="bomb.png")
    except BadImageError as exc:
        line = not_processed("bomb.png", exc)
    else:
        pytest.fail("the bomb was read")
    assert line.count("bomb") == 1 and line.startswith("**bomb\\.png** was not processed: image too large")


def test_a_live_streams_table_for_a_visitor_names_cameras_only():
    found = {
        "streams": [
            {
                "camera": "gate",
                "url": "rtsp://admin:pw@10.0.0.7:554/s",
                "error": "cannot reach 10.0.0.7:554 (rtsp://***@10.0.0.7:554/s)",
            },
        ]
    }
    public = stream_rows(found, public=True)
    assert "url" not in public and public.loc[0, "camera"] == "gate"
    assert "10.0.0.7" not in public.to_csv() and "://" not in public.to_csv()
    operator = stream_rows(found, public=False)
    assert operator.loc[0, "url"] == "rtsp://***@10.0.0.7:554/s"
    assert operator.loc[0, "delay_s"] == "–"  # a run before the frames' ages were counted
    assert operator.loc[0, "refused"] == "–"  # or refused frames: a dash, not None


def test_a_live_streams_table_says_how_late_its_frames_were_analysed():
    found = {"streams": [{"camera": "gate", "age_s": {"p50": 2.4, "p95": 8.1, "p99": 9.6, "max": 9.9}}]}
    assert stream_rows(found, public=True).loc[0, "delay_s"] == 2.4


def test_a_streams_rows_name_its_camera_for_a_visitor():
    rows = pd.DataFrame(
        {"camera": ["gate", "north"], "source": ["http://127.0.0.1:8093/gate.mjpg", "/cams/north/a.mp4"]}
    )
    shown = shown_rows(rows, [paths.DEMO_DIR])
    assert list(shown["source"]) == ["gate", "a.mp4"]
    assert LIVE_SOURCE == "live stream"


@pytest.mark.parametrize(
    "text,said",
    [
        ("refused: http://127.0.0.1:8093/x.mjpg", "refused: the camera's stream"),
        ("connect to 10.0.0.7:554 failed", "connect to its address failed"),
        ("no answer from cams.internal:8554", "no answer from its address"),
        ("[::1]:80 refused", "its address refused"),
        ("epoch 3 at 12:30 took 0.5 s", "epoch 3 at 12:30 took 0.5 s"),
    ],
)
def test_public_text_hides_addresses_and_keeps_the_rest(text, said):
    assert public_text(text) == said


def test_a_stopped_run_says_where_and_that_it_resumes():
    line = stopped_line({"epochs_done": 2, "epochs": 5})
    assert line.startswith("Stopped on request during epoch 3 of 5, with 2 epoch(s) done.") and "can resume" in line
    assert stopped_line({"epochs_done": 0, "epochs": 5}).endswith(
        "before any epoch was done. It can resume from the start."
    )


def test_every_rows_stacked_view_keeps_every_figure():
    from lrfp.app import tables
    from lrfp.reporting.results import load_records, summary_frame

    wide = tables.results_table(summary_frame(load_records()))
    phone = tables.stacked_results(wide)
    assert len(phone) == len(wide) and set(phone.columns) - {"Run"} <= set(wide.columns)
    assert set(wide.columns) - set(phone.columns) == {"Exp.", "Configuration", "Input px", "Epochs"}
    first = wide.iloc[0]
    assert phone.iloc[0]["Run"] == (
        f"Exp. {first['Exp.']}: {first['Configuration']}, {first['Input px']} px, {first['Epochs']} epochs"
    )
    (row,) = narrow.stacked(phone.head(1).assign(Deviation=""), tables.results_formats())
    assert "Deviation" not in row and "Acc\\.\u00a0%: " in row


def test_an_alerts_rule_reads_in_words_on_the_page():
    """The Monitor page's alerts table showed each rule as typed on the command line, "compliance:90:1:3"."""
    from lrfp.app.monitor_people import alerts, rule_words

    shown = alerts(paths.RESULTS_DIR / "monitor" / "live-example")
    assert shown is not None and set(shown["rule"]) == {"compliance under 90 % over 1 min (3 people or more)"}
    assert rule_words("gate=silent:5") == "gate: no frame for 5 min"
    assert rule_words("not a rule") == "not a rule"  # a hand-edited table's text, as it is
