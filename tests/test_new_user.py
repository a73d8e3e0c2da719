"""What a new user met (issue 28, item 6): names, not paths, in the model picker; model cards that name no
folder of the machine that trained the model; number tags readable on a phone. And (issue 34, item 9): a model
trained on the Train page has one short name everywhere; the Dataset page draws and counts every labelled face
as the other pages count them; the Monitor page's time labels stay on a phone's screen; number tags keep off
their neighbours' faces."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrfp.app.catalog import CheckpointEntry, picker_name
from lrfp.pipeline.tags import NUMBER_MIN_SHOWN_PX, PHONE_SHOWN_WIDTH, number_font_px
from lrfp.publishing.cards import command_line

ROOT = Path(__file__).resolve().parents[1]


def test_the_model_picker_names_published_models_and_marks_the_default():
    def entry(label: str, name: str) -> CheckpointEntry:
        return CheckpointEntry(label, Path("x.pt"), name)

    assert picker_name(entry("weights/prod-mobilenet_v2", "prod-mobilenet_v2"), "prod-mobilenet_v2") == (
        "prod-mobilenet_v2 (default)"
    )
    assert picker_name(entry("weights/model3", "model3"), "prod-mobilenet_v2") == "model3"
    run = "model3 32px #1b31"
    assert picker_name(entry("run: app-model3-32px-20261126-073100-1b31/epoch005", run), "model3") == run


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


# -- issue 34, item 9 -------------------------------------------------------------------------------------------

RUN_ID = "app-model3-32px-20261126-073100-1b31"
RUN_NAME = "model3 32px #1b31"
# what the sidebar's picker shows whole on a 390 px phone: 190 CSS px of text, measured in Chromium with the
# picker's font, where "model1 groupnorm 32px #1b31" (27 characters) takes 183 px; the old name, "run: model3 ·
# 32 px · 5 epoch(s) · 26 Nov 07:31 · #1b31", took 308 and was cut off
PICKER_CHARACTERS = 28


def app_run(runs: Path) -> Path:
    """A finished run of the Train page as the launcher leaves it: launch.json and its milestone checkpoint."""
    import shutil

    from lrfp.app.launcher import LAUNCH_NAME, train_command
    from lrfp.core.records import write_json_atomic

    folder = runs / "app" / RUN_ID
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "weights" / "model3.pt", folder / "epoch005.pt")
    command = train_command("model3", "data", runs / "app", RUN_ID, 5, 32, None, None)
    info = {"run_id": RUN_ID, "pid": 1, "pid_start": None, "command": command, "started": 0, "epochs": 5}
    write_json_atomic(info, folder / LAUNCH_NAME)
    return folder / "epoch005.pt"


def test_a_train_page_run_has_one_short_name_in_the_picker_and_on_the_classify_page(tmp_path, monkeypatch):
    from helpers import PAGE
    from streamlit.testing.v1 import AppTest

    from lrfp.app.catalog import model_name

    checkpoint = app_run(tmp_path / "runs")
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    assert model_name(checkpoint) == RUN_NAME and len(RUN_NAME) <= PICKER_CHARACTERS
    assert model_name(ROOT / "weights" / "model3.pt") == "model3"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(PAGE["Classify"]).run()
    picker = at.sidebar.selectbox[0]
    assert RUN_NAME in picker.options, picker.options
    picker.select(f"run: {RUN_ID}/epoch005").run()  # the value kept in the session: the picker shows the name
    assert not at.exception, at.exception
    assert picker.format_func(picker.value) == RUN_NAME
    assert any(c.value.startswith(f"Model **{RUN_NAME}** (model3, ") for c in at.caption), [c.value for c in at.caption]


def test_the_train_page_names_a_finished_run_as_the_picker_does(tmp_path):
    from lrfp.app.launcher import describe, run_status

    folder = app_run(tmp_path / "runs").parent
    assert describe(run_status(folder)).startswith(f"{RUN_NAME} · 5 epoch(s) · ")


def test_the_monitor_time_labels_hold_no_shortcode_pattern():
    """Streamlit keeps a slider's labels inside the slider unless they read like a ':word:' shortcode (the browser
    test measures them on a phone); the time of day is still shown as 08:00:00."""
    import re
    from datetime import datetime, timedelta

    from lrfp.app.monitor_view import slider_format

    start = datetime(2026, 1, 1, 8)
    for untimed, span in ((False, timedelta(hours=8)), (True, timedelta(days=3)), (False, timedelta(days=3))):
        assert not re.search(r":\w+:", slider_format(untimed, start, start + span))
    assert slider_format(False, start, start + timedelta(hours=8)).replace("\u2060", "") == "HH:mm:ss"
