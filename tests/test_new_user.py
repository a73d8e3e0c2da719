"""What a new user met (issue 28, item 6): names, not paths, in the model picker; model cards that name no
folder of the machine that trained the model; number tags readable on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrfp.app.catalog import picker_name
from lrfp.pipeline.tags import NUMBER_MIN_SHOWN_PX, PHONE_SHOWN_WIDTH, number_font_px
from lrfp.publishing.cards import command_line

ROOT = Path(__file__).resolve().parents[1]


def test_the_model_picker_names_published_models_and_marks_the_default():
    assert picker_name("weights/prod-mobilenet_v2", "prod-mobilenet_v2") == "prod-mobilenet_v2 (default)"
    assert picker_name("weights/model3", "prod-mobilenet_v2") == "model3"
    run = "run: model3 · 32 px · 5 epoch(s) · 26 Nov 07:31"
    assert picker_name(run, "prod-mobilenet_v2") == run


def picker_frame():
    from lrfp.app.ui import model_picker

    model_picker()


def test_the_sidebar_shows_names_and_keeps_the_checkpoint_as_its_value(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    at = AppTest.from_function(picker_frame, default_timeout=60).run()
    picker = at.sidebar.selectbox[0]
    assert picker.options and not [o for o in picker.options if "/" in o], picker.options
    assert "prod-mobilenet_v2 (default)" in picker.options
    assert picker.value == "weights/prod-mobilenet_v2"  # what the pages look up


def test_no_model_card_names_a_folder_a_reader_does_not_have():
    for card in (ROOT / "weights").glob("*.md"):
        assert "../shared" not in card.read_text(), card.name


@pytest.mark.parametrize("home", ["../shared/torch-hub", "'/a folder/with spaces'"])
def test_a_cards_command_shows_its_torch_home_as_cache(home):
    line = command_line(f"TORCH_HOME={home} lrfp cv --model mobilenet_v2", "mobilenet_v2")
    assert line.startswith("- **Command**: `TORCH_HOME=CACHE lrfp cv --model mobilenet_v2`")
    assert "CACHE/hub/checkpoints/" in line and home not in line
    assert command_line("lrfp train --model model3", "model3") == "- **Command**: `lrfp train --model model3`"


@pytest.mark.parametrize("size", [(1400, 933), (1050, 1400), (1400, 1400), (640, 480), (200, 150)])
def test_number_tags_are_readable_on_a_phone_and_no_smaller_on_a_desktop(size):
    width, height = size
    largest, smallest = number_font_px(width, height)
    assert smallest * PHONE_SHOWN_WIDTH / width >= NUMBER_MIN_SHOWN_PX - 0.5  # a crowd's tags, shown on a phone
    long_side = max(size)
    assert smallest >= max(11, round(long_side / 55)) and largest >= max(11, round(long_side / 35)) >= 11
    assert largest >= smallest
