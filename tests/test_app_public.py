"""Public mode, the default of `lrfp app`: a visitor sees no file of the server outside the monitor roots and
the inputs of their tables, stops only the runs they started, and loses no run to another visitor."""

from __future__ import annotations

import json
import shutil
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from helpers import PAGE
from streamlit.testing.v1 import AppTest

from lrfp.app import launcher
from lrfp.app import monitor_view as view
from lrfp.core import paths
from lrfp.core import server_settings as settings
from lrfp.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = paths.RESULTS_DIR / "monitor" / "example" / "frames.parquet"
PHOTO = paths.EXAMPLES_DIR / "maksssksksss389.jpg"
SHIPPED = ["shipped example (demo footage)", "shipped live example (demo footage as MJPEG)"]
LIVE_EXAMPLE = paths.RESULTS_DIR / "monitor" / "live-example"


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(page).run()
    return at


def write_table(folder: Path, inputs: list[Path], **columns) -> Path:
    """The shipped example's table with COLUMNS changed (None: dropped), its run's inputs recorded."""
    frame = pd.read_parquet(EXAMPLE)
    for name, value in columns.items():
        frame = frame.drop(columns=[name]) if value is None else frame.assign(**{name: value})
    folder.mkdir(parents=True)
    frame.to_parquet(folder / view.TABLE)
    (folder / view.INPUTS).write_text(json.dumps({"inputs": [str(i) for i in inputs]}))
    return folder


@pytest.fixture
def roots(tmp_path, monkeypatch) -> Path:
    """A monitor root listed in LRFP_MONITOR_ROOTS, and a camera folder (the inputs of its tables)."""
    (tmp_path / "tables").mkdir()
    (tmp_path / "cams").mkdir()
    monkeypatch.setenv("LRFP_MONITOR_ROOTS", str(tmp_path / "tables"))
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    return tmp_path


def shown(at: AppTest) -> str:
    kinds = ("caption", "error", "warning", "info", "markdown")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


# --- Monitor -----------------------------------------------------------------------------------------


def test_the_monitor_page_lists_the_roots_tables_and_takes_no_typed_path(roots):
    write_table(roots / "tables" / "lobby", [roots / "cams"])
    (roots / "outside").mkdir()
    write_table(roots / "outside" / "private", [roots / "cams"])
    (roots / "tables" / "link").symlink_to(roots / "outside" / "private")  # leads out of the root: not listed
    at = open_page(PAGE["Monitor"])
    assert not at.exception, at.exception
    table = next(s for s in at.selectbox if s.label == "Table")
    assert table.options == [*SHIPPED, "tables/lobby"]
    assert not at.text_input and not at.radio
    table.set_value("tables/lobby").run()
    assert not at.exception and at.metric[0].value == "67"


def test_the_operator_may_still_type_a_path(roots, monkeypatch):
    monkeypatch.setenv("LRFP_PUBLIC", "0")
    write_table(roots / "mine", [roots / "cams"])
    at = open_page(PAGE["Monitor"])
    table = next(s for s in at.selectbox if s.label == "Table")
    table.set_value(table.options[-1]).run()
    at.text_input[0].input(str(roots / "mine")).run()
    assert not at.exception and at.metric[0].value == "67"


def test_a_live_run_is_listed_only_inside_the_roots(roots):
    shutil.copytree(LIVE_EXAMPLE, roots / "tables" / "gate")
    (roots / "outside").mkdir()
    shutil.copytree(LIVE_EXAMPLE, roots / "outside" / "private")
    (roots / "tables" / "link").symlink_to(roots / "outside" / "private")  # leads out of the root: not listed
    at = open_page(PAGE["Monitor"])
    table = next(s for s in at.selectbox if s.label == "Table")
    assert table.options == [*SHIPPED, "tables/gate"] and not at.text_input
    table.set_value("tables/gate").run()
    assert not at.exception, at.exception
    headings = [s.value for s in at.subheader]
    assert "Live: the last minute (the run has stopped)" in headings and "People" in headings


def every_cell(at: AppTest) -> str:
    """Every text and table cell of the page, as one text."""
    tables = "\n".join(frame.value.to_csv() for frame in at.dataframe)
    return shown(at) + "\n" + "\n".join(s.value for s in at.subheader) + "\n" + tables


def test_a_visitor_sees_the_live_streams_by_camera_never_their_addresses(roots):
    """The shipped live example's streams are served at http://127.0.0.1:8093/...: a visitor was shown them
    (masked URLs still name the host) in the streams table and as each row's source."""
    at = open_page(PAGE["Monitor"])
    next(s for s in at.selectbox if s.label == "Table").set_value(SHIPPED[1]).run()
    assert not at.exception, at.exception
    page = every_cell(at)
    assert "north-gate" in page and "market" in page
    assert "127.0.0.1" not in page and "://" not in page and ":8093" not in page
    frames, _ = view.load(LIVE_EXAMPLE)  # the rows' download, as the page makes it
    assert b"127.0.0.1" not in view.csv_bytes(frames, view.recorded_inputs(LIVE_EXAMPLE))


def test_the_upload_label_names_the_size_limit_of_one_file():
    """A 27 MB photo got a red mark from the uploader and no reason: the label gave the 40 MB of a whole batch,
    never the 20 MB of one file (the server's maxUploadSize)."""
    limit = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    at = open_page(PAGE["Classify"])
    (uploader,) = at.get("file_uploader")
    assert f"{limit} MB and" in uploader.proto.label


def test_one_run_in_detail_says_how_many_test_faces_its_confusion_counts():
    """The page's header counts 208 test faces; the run it opens on, a production model's, showed a confusion
    matrix of 594 with no word of which faces they were."""
    at = open_page(PAGE["Results"])
    assert not at.exception, at.exception
    assert "Confusion on this run's 594 test faces" in shown(at)


def test_a_stopped_live_run_reads_as_stopped_with_its_columns_in_words(roots):
    """The live example's panel said "(the run has stopped)" above "6 time slice(s) of 20 s so far", and its
    streams table's headings were the code's names (delay_s, last_frame)."""
    at = open_page(PAGE["Monitor"])
    next(s for s in at.selectbox if s.label == "Table").set_value(SHIPPED[1]).run()
    assert any("(the run has stopped)" in s.value for s in at.subheader)
    written = json.loads((LIVE_EXAMPLE / "live.json").read_text())
    assert f"{written['slices']} time slice(s) of {written['slice_s']:g} s written" in shown(at)
    assert "so far" not in shown(at)
    headings = {c for frame in at.dataframe for c in frame.value.columns}
    assert {"delay (s)", "last frame"} <= headings and not {"delay_s", "last_frame"} & headings


def test_the_operator_still_sees_the_streams_masked_urls(roots, monkeypatch):
    monkeypatch.setenv("LRFP_PUBLIC", "0")
    at = open_page(PAGE["Monitor"])
    next(s for s in at.selectbox if s.label == "Table").set_value(SHIPPED[1]).run()
    assert not at.exception and "http://127.0.0.1:8093/north-gate.mjpg" in every_cell(at)


def test_the_operator_may_type_a_folder_but_never_a_streams_url(roots, monkeypatch):
    monkeypatch.setenv("LRFP_PUBLIC", "0")
    at = open_page(PAGE["Monitor"])
    table = next(s for s in at.selectbox if s.label == "Table")
    table.set_value(table.options[-1]).run()
    at.text_input[0].input("rtsp://10.0.0.5:554/cam").run()
    assert not at.exception and "is a stream, not a folder" in at.error[0].value and not at.metric


def worst_moments_drawn(at: AppTest) -> int:
    return len(at.get("image"))


@pytest.mark.parametrize("where", ["outside the inputs", "a link in the inputs to outside", "missing, outside"])
def test_a_frame_is_drawn_only_from_inside_the_tables_inputs(roots, where):
    private = roots / "private"
    private.mkdir()
    shutil.copy(PHOTO, private / "secret.jpg")
    (roots / "cams" / "secret.jpg").symlink_to(private / "secret.jpg")
    source = {
        "outside the inputs": private / "secret.jpg",
        "missing, outside": private / "nothing.jpg",
        "a link in the inputs to outside": roots / "cams" / "secret.jpg",
    }[where]
    write_table(roots / "tables" / "t", [roots / "cams"], source=str(source), kind="image", frame=0)
    at = open_page(PAGE["Monitor"])
    next(s for s in at.selectbox if s.label == "Table").set_value("tables/t").run()
    assert not at.exception, at.exception
    assert worst_moments_drawn(at) == 0
    # the same words whether the file outside exists or not: the page tells nothing of the server's files
    notes = [c.value for c in at.caption if "cannot be shown" in c.value]
    assert notes and all(str(private) not in n for n in notes)


def test_a_frame_inside_the_inputs_is_drawn(roots):
    shutil.copy(PHOTO, roots / "cams" / "p.jpg")
    write_table(roots / "tables" / "t", [roots / "cams"], source=str(roots / "cams" / "p.jpg"), kind="image", frame=0)
    at = open_page(PAGE["Monitor"])
    next(s for s in at.selectbox if s.label == "Table").set_value("tables/t").run()
    assert not at.exception and worst_moments_drawn(at) > 0


def broken(roots: Path, case: str) -> dict:
    text = roots / "cams" / "notes.txt"
    text.write_text("not footage")
    return {
        "no status column": {"status": None},
        "a text file as a photo": {"source": str(text), "kind": "image"},
        "a text file as a video": {"source": str(text), "kind": "video"},
        "another kind": {"source": str(text), "kind": "audio"},
        "no frame number": {"frame": None},
    }[case]


@pytest.mark.parametrize(
    "case", ["no status column", "a text file as a photo", "a text file as a video", "another kind", "no frame number"]
)
def test_a_broken_table_gives_a_message_without_server_paths(roots, case):
    write_table(roots / "tables" / "t", [roots / "cams"], **broken(roots, case))
    at = open_page(PAGE["Monitor"])
    next(s for s in at.selectbox if s.label == "Table").set_value("tables/t").run()
    assert not at.exception, at.exception
    assert str(roots) not in shown(at)
    if case == "no status column":
        assert at.error[0].value == "Cannot read tables/t: not a table of `lrfp monitor`: no column status"


def test_a_file_that_is_no_table_is_named_without_its_path(roots):
    (roots / "tables" / "t").mkdir()
    (roots / "tables" / "t" / view.TABLE).write_text("not parquet")
    at = open_page(PAGE["Monitor"])
    next(s for s in at.selectbox if s.label == "Table").set_value("tables/t").run()
    assert not at.exception and at.error[0].value.startswith("Cannot read tables/t: ")
    assert str(roots) not in at.error[0].value


def test_a_table_without_times_is_charted_in_minutes_into_the_footage():
    frames, _ = view.load(EXAMPLE)
    frames["time"] = pd.NaT
    frames["when"] = pd.to_datetime(frames["offset_s"], unit="s")
    for figure in (view.compliance_chart(frames, "1 minute"), view.faces_chart(frames, "1 minute")):
        assert figure.layout.xaxis.title.text == "minutes into the footage"
        assert all(isinstance(x, (int, float)) for trace in figure.data for x in trace.x)  # not a 1970 date


# --- Train ---------------------------------------------------------------------------------------------


@pytest.fixture
def app_runs(monkeypatch, tiny_dataset, tmp_path):
    """The Train page with a data set, its runs a process that waits (as many seconds as epochs) instead of training."""
    monkeypatch.setattr("lrfp.core.paths.DATA_DIR", tiny_dataset)
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    waits = lambda *a, **k: [sys.executable, "-c", f"import time; time.sleep({a[4]})"]  # noqa: E731 (a[4]: epochs)
    monkeypatch.setattr(launcher, "train_command", waits)
    yield tmp_path / "runs" / "app"
    for run in launcher.list_runs(tmp_path / "runs" / "app"):
        launcher.stop(run["folder"])


def start(at: AppTest, seconds: int) -> None:
    """Start a run from the page whose process lasts SECONDS (the Epochs field carries them)."""
    next(n for n in at.number_input if n.label == "Epochs").set_value(seconds).run()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, at.exception


def stop_buttons(at: AppTest) -> int:
    return sum(b.label == "Stop this run" for b in at.button)


@pytest.mark.parametrize("public", ["1", "0"])
def test_a_visitor_sees_stop_only_on_their_own_runs(app_runs, monkeypatch, public):
    monkeypatch.setenv("LRFP_PUBLIC", public)
    first = open_page(PAGE["Train"])
    start(first, 60)
    assert stop_buttons(first) == 1
    second = open_page(PAGE["Train"])
    assert not second.exception and "running" in second.expander[0].label
    assert stop_buttons(second) == (1 if public == "0" else 0)  # the operator's own server: every run


def wait_done(out: Path) -> None:
    deadline = time.time() + 30
    while any(r["status"] == "running" for r in launcher.list_runs(out)) and time.time() < deadline:
        time.sleep(0.2)


def test_a_visitors_finished_run_is_not_pruned_by_another_visitors_launches(app_runs, monkeypatch):
    monkeypatch.setenv("LRFP_KEEP_APP_RUNS", "1")
    first, second = open_page(PAGE["Train"]), open_page(PAGE["Train"])
    start(first, 1)
    (theirs,) = [r["run_id"] for r in launcher.list_runs(app_runs)]
    wait_done(app_runs)
    start(second, 1)
    (mine,) = [r["run_id"] for r in launcher.list_runs(app_runs) if r["run_id"] != theirs]
    wait_done(app_runs)
    start(second, 1)  # prunes the finished runs nobody watches: not the first visitor's, still on their page
    assert theirs in [r["run_id"] for r in launcher.list_runs(app_runs)]
    wait_done(app_runs)
    # the second visitor now watches their newest run only: their first is the one left to prune
    assert launcher.prune(app_runs, keep=0) == [mine]


# --- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variable,value",
    [
        ("LRFP_MAX_APP_RUNS", "abc"),
        ("LRFP_KEEP_APP_RUNS", "0"),
        ("LRFP_PUBLIC", "yes"),
        ("LRFP_MONITOR_ROOTS", "/no/such/folder"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(monkeypatch, capsys, variable, value):
    from helpers import one_error_line, run_cli

    monkeypatch.setenv(variable, value)
    monkeypatch.setattr("os.execv", lambda *a: pytest.fail("the server was started"))
    code, _, err = run_cli(capsys, "app")
    assert code == 2 and one_error_line(err).startswith(f"lrfp: error: {variable}")
    settings.current.cache_clear()
    at = open_page(PAGE["Train"])
    assert not at.exception and variable in at.error[0].value
    with pytest.raises(ConfigError, match=variable):
        settings.read({variable: value})


def test_a_run_stopped_on_request_says_so_and_resumes(app_runs):
    """A stop the visitor asked for showed in a red error box ("Stopped."): it is no error; the panel says
    where the run stopped and offers to resume it, which starts it again in its folder."""
    at = open_page(PAGE["Train"])
    start(at, 60)
    next(b for b in at.button if b.label == "Stop this run").click().run()
    deadline = time.time() + 30
    while "stopped" not in at.expander[0].label and time.time() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception and "stopped" in at.expander[0].label
    assert not at.error
    said = " ".join(i.value for i in at.info)
    assert "Stopped on request during epoch 1 of 60" in said and "can resume" in said
    next(b for b in at.button if b.label == "Resume this run").click().run()
    assert not at.exception, at.exception
    (run,) = launcher.list_runs(app_runs)
    assert run["status"] == "running" and not (run["folder"] / launcher.STOPPED_NAME).exists()
    assert stop_buttons(at) == 1  # the visitor's own again
