"""Writers that cannot be misused, and one line for every bad setting: CSV cells a spreadsheet would run
are escaped, one `lrfp monitor` per --out, damaged parts redone, mappings read as Excel saves them and
every line of them used or warned about, and bad flags and environment settings named in one line."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import one_error_line, run_cli

from lrfp.core import settings
from lrfp.core.cells import safe_cell, safe_cells
from lrfp.core.errors import ConfigError, RunError
from lrfp.core.labels import COUNT_COLUMNS
from lrfp.core.locks import folder_lock
from lrfp.publishing.index import default_model
from lrfp.scale import monitor as mon
from lrfp.scale.engine import LOCAL

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "demo" / "scenes" / "images" / "maksssksksss52.jpg"
# a small look keeps each photo quick: these tests are about what is written, not detection quality
SETTINGS = mon.Settings(model=default_model() or "model3", detector="retinaface", detector_scale=0.5)
DETECTOR_FLAGS = ("--detector", "retinaface", "--detector-scale", "0.5")
MONITOR_FLAGS = ("--engine", "local", *DETECTOR_FLAGS)
FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(1)", "+1+1", "-2+3", "\t=1", "\r=1"]


@pytest.fixture
def photos(tmp_path) -> Path:
    """tmp/cams/gate/p.jpg: one camera of one photo."""
    (tmp_path / "cams" / "gate").mkdir(parents=True)
    shutil.copy(PHOTO, tmp_path / "cams" / "gate" / "p.jpg")
    return tmp_path / "cams"


def run(inputs, out, **kw) -> dict:
    return mon.monitor([str(i) for i in inputs], out, SETTINGS, engine=LOCAL, **kw)


# --- CSV cells ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(text):
    assert safe_cell(text) == "'" + text
    assert safe_cell("gate 1") == "gate 1" and safe_cell(-3) == -3 and safe_cell(None) is None
    frame = safe_cells(pd.DataFrame({"camera": [text], "faces": [-1]}))
    assert frame["camera"][0] == "'" + text and frame["faces"][0] == -1  # numbers are not formulas


def test_monitors_csv_escapes_camera_names_from_a_mapping(photos, tmp_path):
    mapping = tmp_path / "map.csv"
    mapping.write_text('path,camera\ncams/gate,"=HYPERLINK(""http://x"",""y"")"\n')
    summary = run([photos], tmp_path / "out", mapping=mapping)
    table = pd.read_csv(summary["csv"])
    assert table["camera"].tolist() == ['\'=HYPERLINK("http://x","y")']
    # the table itself keeps the name as given: only what a spreadsheet opens is escaped
    assert pq.read_table(summary["table"]).column("camera").to_pylist() == ['=HYPERLINK("http://x","y")']
    # the Monitor page's "Download these rows (CSV)" writes the same escaped cells
    from lrfp.app.monitor_view import csv_bytes

    shown = mon.read_table(summary["table"]).assign(when=None)
    assert pd.read_csv(io.BytesIO(csv_bytes(shown)))["camera"].tolist() == ['\'=HYPERLINK("http://x","y")']


def test_predict_prints_a_name_that_starts_like_a_formula_escaped(tmp_path, capsys, monkeypatch):
    shutil.copy(PHOTO, tmp_path / "@SUM(1).jpg")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "predict", "--backend", "torch", "@SUM(1).jpg")
    assert code == 0 and out.split("\t")[0] == "'@SUM(1).jpg", err


# --- one run per --out, parts checked -------------------------------------------------------------


def test_a_second_monitor_on_one_out_is_refused_in_one_line(photos, tmp_path, capsys):
    out = tmp_path / "out"
    with folder_lock(out, "monitor run"):  # another run holds the folder
        code, _, err = run_cli(capsys, "monitor", photos, "--out", out, *MONITOR_FLAGS, "--fresh")
    assert code == 2
    assert "another monitor run is using this folder" in one_error_line(err) and "give another --out" in err
    assert not (out / mon.PARTS).exists()  # it wrote nothing
    with pytest.raises(RunError):
        with folder_lock(out, "monitor run"):
            run([photos], out)


def test_a_damaged_part_is_said_and_analysed_again(photos, tmp_path, caplog):
    out = tmp_path / "out"
    reference = pq.read_table(run([photos], out)["table"])
    (part,) = (out / mon.PARTS).iterdir()
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])  # cut in half
    with caplog.at_level(logging.WARNING, logger="lrfp"):
        summary = run([photos], out)
    assert summary["analysed"] == 1 and pq.read_table(summary["table"]).equals(reference)
    assert any(f"{part}: damaged" in m and "analysing" in m for m in caplog.messages), caplog.messages


def test_a_part_of_another_file_is_not_taken_for_this_ones(photos, tmp_path, caplog):
    out = tmp_path / "out"
    run([photos], out)
    shutil.copy(PHOTO, photos / "gate" / "q.jpg")
    run([photos], out)
    p_part, q_part = (out / mon.PARTS / f"{s.key}.parquet" for s in mon.find_sources([str(photos)]))
    shutil.copy(p_part, q_part)  # q's part now holds p's rows
    with caplog.at_level(logging.WARNING, logger="lrfp"):
        summary = run([photos], out)
    assert summary["analysed"] == 1 and any("q.jpg" in m and "damaged" in m for m in caplog.messages)


def test_counts_stay_whole_numbers_when_a_file_is_in_error(photos, tmp_path):
    (photos / "gate" / "bad.mp4").write_bytes(b"\x00not a video" * 100)
    summary = run([photos], tmp_path / "out")
    csv = pd.read_csv(summary["csv"], dtype=str, keep_default_na=False)
    assert (csv["status"] == "error").sum() == 1
    for column in ("frame", *COUNT_COLUMNS):
        assert not any("." in v for v in csv[column]), csv[column].tolist()  # 14, never 14.0
    frame = mon.read_table(tmp_path / "out")
    assert str(frame["faces"].dtype) == "Int64" and frame["faces"].isna().sum() == 1


@pytest.mark.ray
def test_rays_max_restarts_line_is_explained_and_nothing_else_of_ray_shows(photos, tmp_path):
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # this checkout's lrfp, run as a user would
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrfp.cli",
            "monitor",
            str(photos),
            "--out",
            str(tmp_path / "out"),
            "--engine",
            "ray",
            *DETECTOR_FLAGS,
            "--no-progress",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert all("max_restarts" in line for line in done.stderr.splitlines() if "core_worker.cc" in line), done.stderr
    assert "max_restarts > 0` line" in done.stdout and "not an error of this run" in done.stdout


# --- mappings -------------------------------------------------------------------------------------


def test_a_mapping_saved_by_excel_with_a_byte_order_mark_is_read(photos, tmp_path):
    mapping = tmp_path / "map.csv"
    mapping.write_bytes("path,camera,start\r\ncams/gate/p.jpg,Gate,2024-05-01T08:00:00\r\n".encode("utf-8-sig"))
    (source,) = mon.find_sources([str(photos)], mon.read_mapping(mapping))
    assert source.camera == "Gate" and source.start == "2024-05-01T08:00:00"


def test_mapping_lines_that_are_not_used_are_warned_about(photos, tmp_path, caplog):
    mapping = tmp_path / "map.csv"
    mapping.write_text("path,camera,start\ncams/gate,Gate,2024-05-01T08:00:00\ncams/nowhere.mp4,Lost,\n")
    with caplog.at_level(logging.WARNING, logger="lrfp"):
        (source,) = mon.find_sources([str(photos)], mon.read_mapping(mapping))
    assert source.camera == "Gate" and source.start == ""
    assert any("line 2" in m and "start 2024-05-01T08:00:00 is given to a folder" in m for m in caplog.messages)
    assert any("line 3" in m and "nowhere.mp4 is none of the inputs" in m for m in caplog.messages)


def test_a_looping_link_among_the_inputs_is_warned_about(photos, tmp_path, caplog):
    loop = photos / "gate" / "loop.mp4"
    loop.symlink_to(loop)
    with caplog.at_level(logging.WARNING, logger="lrfp"):
        assert [Path(s.path).name for s in mon.find_sources([str(photos)])] == ["p.jpg"]
        assert mon.find_sources([str(loop), str(photos / "gate" / "p.jpg")])[0].path.endswith("p.jpg")
    assert sum(f"{loop}: a link that loops" in m for m in caplog.messages) == 2


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59", "0001-01-01T00:00:00+14:00"])
def test_a_start_time_out_of_range_is_one_line(start, photos, tmp_path, capsys):
    mapping = tmp_path / "map.csv"
    mapping.write_text(f"path,start\ncams/gate/p.jpg,{start}\n")
    code, _, err = run_cli(capsys, "monitor", photos, "--out", tmp_path / "out", "--mapping", mapping, *MONITOR_FLAGS)
    assert code == 2 and f"line 2: start '{start}' is not an ISO 8601 time" in one_error_line(err)


@pytest.mark.parametrize(
    "line, says",
    [
        ("cams/gate/p\0.jpg,Gate", "line 2: holds a NUL character"),
        ("cams/gate/p.jpg," + "x" * 200_000, "after line 1: not a readable CSV line (field larger"),
    ],
)
def test_a_mapping_with_a_nul_or_a_huge_field_is_one_line(line, says, photos, tmp_path, capsys):
    mapping = tmp_path / "map.csv"
    mapping.write_text(f"path,camera\n{line}\n")
    code, _, err = run_cli(capsys, "monitor", photos, "--out", tmp_path / "out", "--mapping", mapping, *MONITOR_FLAGS)
    assert code == 2 and says in one_error_line(err)


@pytest.mark.parametrize("every", ["nan", "inf"])
def test_monitor_every_must_be_a_finite_period(every, photos, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:  # refused by argparse, as every number (lrfp.cli.argtypes)
        run_cli(capsys, "monitor", photos, "--out", tmp_path / "out", *MONITOR_FLAGS, "--every", every)
    line = one_error_line(capsys.readouterr().err)
    assert stop.value.code == 2 and f"--every: '{every}' is not a number" in line
    assert not (tmp_path / "out").exists()


# --- training flags -------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, value", [("--lr", "nan"), ("--lr", "inf"), ("--lr", "1e300"), ("--input-size", "0")])
def test_train_refuses_a_value_out_of_range_in_one_line(flag, value, tiny_dataset, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:  # refused by argparse, as every number (lrfp.cli.argtypes)
        run_cli(capsys, "train", "--model", "model3", "--data", tiny_dataset, "--out", tmp_path / "runs", flag, value)
    line = one_error_line(capsys.readouterr().err)
    assert stop.value.code == 2 and f"argument {flag}: '{value}' is not a" in line
    assert not (tmp_path / "runs").exists()


# --- environment settings -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["abc", "0", "-2", "1.5"])
def test_a_bad_positive_int_setting_keeps_its_default_and_is_raised_by_the_check(text, monkeypatch):
    monkeypatch.setattr(settings, "_problems", {})
    monkeypatch.setenv("LRFP_TEST_SLOTS", text)
    assert settings.positive_int("LRFP_TEST_SLOTS", 3) == 3
    with pytest.raises(ConfigError, match=f"LRFP_TEST_SLOTS='{text}': give a whole number of 1 or more"):
        settings.check_settings()


def test_a_good_positive_int_setting_is_read(monkeypatch):
    monkeypatch.setattr(settings, "_problems", {})
    monkeypatch.setenv("LRFP_TEST_SLOTS", " 4 ")
    assert settings.positive_int("LRFP_TEST_SLOTS", 1) == 4
    monkeypatch.delenv("LRFP_TEST_SLOTS")
    assert settings.positive_int("LRFP_TEST_SLOTS", 1) == 1
    settings.check_settings()


def test_bad_upload_settings_are_one_line_naming_each_variable(tmp_path):
    # this checkout's lrfp, run as a user would, where the settings are read when it is imported
    env = os.environ | {"PYTHONPATH": str(ROOT), "LRFP_UPLOAD_SLOTS": "abc", "LRFP_MAX_UPLOAD_FILES": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "lrfp.cli", "predict", str(PHOTO)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and not done.stdout
    line = one_error_line(done.stderr)
    assert "LRFP_UPLOAD_SLOTS='abc'" in line and "LRFP_MAX_UPLOAD_FILES='0'" in line
