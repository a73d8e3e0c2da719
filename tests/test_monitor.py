"""`lrfp monitor`: inputs to cameras, frame times, bad files as error rows, resuming without loss or
double counting, Ray equal to the plain loop, and the Monitor page."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import PAGE

from lrfp.app.monitor_view import csv_bytes, default_period, load, time_step
from lrfp.cli import main
from lrfp.core.errors import ConfigError
from lrfp.core.labels import COUNT_COLUMNS, LABELS
from lrfp.data import images as data
from lrfp.data.footage import write_clip
from lrfp.pipeline.tags import PHONE_SHOWN_WIDTH, TAG_MIN_SHOWN_PX
from lrfp.publishing.index import default_model
from lrfp.scale import monitor as mon
from lrfp.scale.engine import LOCAL, Engine
from lrfp.scale.people import PEOPLE_COUNTED

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "demo" / "scenes" / "images"
# a small look keeps each frame a few ms: these tests are about bookkeeping, not detection quality
SETTINGS = mon.Settings(model=default_model() or "model3", detector="retinaface", detector_scale=0.5)


def make_cameras(root: Path) -> Path:
    """root/north/{a,b}.mp4 (3 frames at 2 fps), root/south/{c.mp4, p.jpg}: 4 files of 2 cameras."""
    write_clip(PHOTOS / "maksssksksss389.jpg", root / "north" / "a.mp4", frames=3, fps=2, size=(320, 240))
    write_clip(PHOTOS / "maksssksksss52.jpg", root / "north" / "b.mp4", frames=3, fps=2, size=(320, 240))
    write_clip(PHOTOS / "maksssksksss71.jpg", root / "south" / "c.mp4", frames=3, fps=2, size=(320, 240))
    shutil.copy(PHOTOS / "maksssksksss723.jpg", root / "south" / "p.jpg")
    return root


@pytest.fixture
def cameras(tmp_path) -> Path:
    return make_cameras(tmp_path / "cams")


def run(inputs, out, **kw) -> dict:
    return mon.monitor(
        [str(i) for i in inputs], out, kw.pop("settings", SETTINGS), engine=kw.pop("engine", LOCAL), **kw
    )


# --- inputs -----------------------------------------------------------------------------------------


def test_a_folder_gives_one_camera_per_subfolder_and_files_and_globs_their_folder(cameras, tmp_path):
    sources = mon.find_sources([str(cameras)])
    assert [(s.camera, Path(s.path).name, s.kind) for s in sources] == [
        ("north", "a.mp4", "video"),
        ("north", "b.mp4", "video"),
        ("south", "c.mp4", "video"),
        ("south", "p.jpg", "image"),
    ]
    assert [s.camera for s in mon.find_sources([str(cameras / "south")])] == ["south", "south"]
    # the same file through a glob and a folder is one input
    assert len(mon.find_sources([str(cameras / "*" / "*.mp4"), str(cameras / "north")])) == 3
    (cameras / "north" / "notes.txt").write_text("not footage")
    assert len(mon.find_sources([str(cameras)])) == 4


def test_the_mapping_file_names_cameras_and_start_times(cameras):
    mapping = cameras / "map.csv"
    mapping.write_text("path,camera,start\nnorth,North gate,\nnorth/b.mp4,,2024-05-01T08:00:00\n")
    sources = {Path(s.path).name: s for s in mon.find_sources([str(cameras)], mon.read_mapping(mapping))}
    assert sources["a.mp4"].camera == sources["b.mp4"].camera == "North gate"
    assert sources["b.mp4"].start == "2024-05-01T08:00:00" and sources["a.mp4"].start == ""
    assert sources["c.mp4"].camera == "south"
    mapping.write_text("path,camera,start\nnorth/a.mp4,,yesterday\n")
    with pytest.raises(ConfigError, match="line 2: start 'yesterday' is not an ISO 8601 time"):
        mon.read_mapping(mapping)
    mapping.write_text("file,name\na,b\n")
    with pytest.raises(ConfigError, match="`path` column"):
        mon.read_mapping(mapping)


def test_an_input_that_names_nothing_is_refused_before_any_work(tmp_path, capsys):
    assert (
        main(["monitor", str(tmp_path / "nowhere" / "*.mp4"), "--out", str(tmp_path / "out"), "--engine", "local"]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere/*.mp4: no such file or folder, and no file matches it" in err
    assert not (tmp_path / "out").exists()


# --- one file -------------------------------------------------------------------------------------


def test_frame_times_come_from_the_videos_timestamps_plus_the_start(cameras, tmp_path):
    mapping = cameras / "map.csv"
    mapping.write_text("path,camera,start\nnorth/a.mp4,,2024-05-01T08:00:00\n")
    summary = run([cameras / "north"], tmp_path / "out", mapping=mapping)
    table = pq.read_table(summary["table"]).to_pandas()
    a = table[table["source"].str.endswith("a.mp4")]
    assert a["offset_s"].tolist() == [0.0, 0.5, 1.0]  # 2 fps
    assert [str(t) for t in a["time"]] == ["2024-05-01 08:00:00", "2024-05-01 08:00:00.500000", "2024-05-01 08:00:01"]
    assert table[table["source"].str.endswith("b.mp4")]["time"].isna().all()  # no start known: offsets only
    # counts and the faces agree, row by row
    for _, row in table.iterrows():
        assert row["faces"] == len(row["face_rows"]) == sum(row[c] for c in COUNT_COLUMNS if c != "faces")
    assert table["faces"].sum() > 0


def test_every_keeps_one_frame_per_period_of_video_time(cameras, tmp_path):
    settings = mon.Settings(**{**vars(SETTINGS), "every": 1.0})
    table = pq.read_table(run([cameras / "north" / "a.mp4"], tmp_path / "out", settings=settings)["table"]).to_pandas()
    assert table["frame"].tolist() == [0, 2] and table["offset_s"].tolist() == [0.0, 1.0]


def test_detect_every_k_detects_every_kth_frame_and_every_frame_is_the_analysis_of_main(tmp_path, monkeypatch):
    from dataclasses import replace

    from lrfp.pipeline.frames import scene_analysis

    clip = write_clip(PHOTOS / "maksssksksss389.jpg", tmp_path / "n" / "a.mp4", frames=7, fps=5, size=(320, 240))
    source = mon.find_sources([str(clip)])[0]
    models = SETTINGS.load()
    # main's analysis: every frame through lrfp.pipeline.frames.scene_analysis
    main_rows = mon.analyse_source(source, scene_analysis(*models)).to_pylist()
    assert sum(len(r["face_rows"]) for r in main_rows) > 0
    every = mon.analyse_source(source, replace(SETTINGS, detect_every=1).analyser(*models)).to_pylist()
    assert every == main_rows  # the same table, scores and all
    looked = []
    real = models[1].search
    monkeypatch.setattr(models[1], "search", lambda image: looked.append(image) or real(image))
    third = mon.analyse_source(source, replace(SETTINGS, detect_every=3).analyser(*models)).to_pylist()
    assert len(looked) == 3 and len(third) == 7  # frames 0, 3 and 6 detected; every frame a row
    for n in (0, 3, 6):  # a detection frame boxes the faces, with the detector's scores, as every frame's does
        keys = ("x0", "y0", "x1", "y1", "score")
        assert [[f[k] for k in keys] for f in third[n]["face_rows"]] == [
            [f[k] for k in keys] for f in main_rows[n]["face_rows"]
        ]


def test_with_detect_every_each_file_starts_with_a_detection_of_its_own(cameras, tmp_path, monkeypatch):
    """One file's followed faces are not carried into the next: each file's first frame is detected."""
    from dataclasses import replace

    looked = []
    load = mon.Settings.load

    def noted(self, device=None):
        classifier, detector = load(self, device)
        search = detector.search
        monkeypatch.setattr(detector, "search", lambda image: looked.append(image.size) or search(image))
        return classifier, detector

    monkeypatch.setattr(mon.Settings, "load", noted)
    files = [cameras / "north" / "a.mp4", cameras / "north" / "b.mp4"]  # 3 frames each
    assert run(files, tmp_path / "out", settings=replace(SETTINGS, detect_every=2))["frames"] == 6
    assert len(looked) == 4  # frames 0 and 2 of each file (one stream of 6 frames would detect 0, 2 and 4)


def test_a_folder_made_before_detect_every_is_taken_as_every_frame(cameras, tmp_path):
    import json

    out = tmp_path / "out"
    run([cameras / "north" / "a.mp4"], out)
    stored = json.loads((out / mon.SETTINGS).read_text())
    (out / mon.SETTINGS).write_text(json.dumps({k: v for k, v in stored.items() if k != "detect_every"}))
    assert run([cameras / "north" / "a.mp4"], out)["analysed"] == 0  # the same settings: nothing to redo
    with pytest.raises(ConfigError, match="other settings"):
        run([cameras / "north" / "a.mp4"], out, settings=mon.Settings(**{**vars(SETTINGS), "detect_every": 3}))


def test_a_folder_made_before_the_footage_look_is_analysed_again_not_mixed(cameras, tmp_path):
    import json

    out = tmp_path / "out"
    from dataclasses import replace

    run([cameras / "north" / "a.mp4"], out)
    stored = json.loads((out / mon.SETTINGS).read_text())
    assert stored["finest_side"] == mon.Settings(model="m").finest_side == 720  # lrfp.pipeline.looks
    (out / mon.SETTINGS).write_text(json.dumps({k: v for k, v in stored.items() if k != "finest_side"}))
    with pytest.raises(ConfigError, match="other settings"):  # its small frames had the photos' looks
        run([cameras / "north" / "a.mp4"], out)
    assert run([cameras / "north" / "a.mp4"], out, settings=replace(SETTINGS, finest_side=None))["analysed"] == 0


def test_the_footage_look_reaches_the_monitors_detector():
    from dataclasses import replace

    _, detector = replace(SETTINGS, detector_scale=None).load()
    assert detector.finest_side == 720 and detector.describe()["finest_side"] == 720
    with pytest.raises(ConfigError, match="finest_side 0"):
        replace(SETTINGS, finest_side=0)


def test_bad_files_become_error_rows_and_the_run_goes_on(cameras, tmp_path, monkeypatch):
    bad = cameras / "bad"
    bad.mkdir()
    (bad / "garbage.mp4").write_bytes(b"\x00not a video at all" * 100)  # unreadable
    (bad / "zero.mp4").write_bytes(b"")  # an empty file
    # a video whose header announces 2 frames, cut before the first: no frame at all
    with av.open(str(bad / "empty.avi"), "w", format="avi") as container:
        stream = container.add_stream("mjpeg", rate=2)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for _ in range(2):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    whole = (bad / "empty.avi").read_bytes()
    (bad / "empty.avi").write_bytes(whole[: whole.find(b"movi") + 4])
    (bad / "cut.jpg").write_bytes((PHOTOS / "maksssksksss52.jpg").read_bytes()[:300])  # truncated photo
    summary = run([cameras], tmp_path / "out")
    table = pq.read_table(summary["table"]).to_pandas()
    errors = table[table["status"] == "error"].set_index(
        table[table["status"] == "error"]["source"].map(lambda s: Path(s).name)
    )
    assert sorted(errors.index) == ["cut.jpg", "empty.avi", "garbage.mp4", "zero.mp4"]
    assert all(str(bad) in e for e in errors["error"])  # each message names its file
    assert errors["frame"].isna().all() and (errors["camera"] == "bad").all()
    assert "empty.avi: none of its 2 frames could be decoded" in errors.loc["empty.avi", "error"]
    assert summary["errors"] == 4 and summary["frames"] == 3 * 3 + 1  # the good files are all there
    # frames over the pixel limit ("huge"): refused from the header, recorded, not decoded
    monkeypatch.setattr(data, "MAX_PIXELS", 100 * 100)
    huge = pq.read_table(run([cameras / "north" / "a.mp4"], tmp_path / "huge")["table"]).to_pandas()
    assert huge["status"].tolist() == ["error"] and "frames too large (320x240 px" in huge["error"][0]


# --- many files, resumed --------------------------------------------------------------------------


def test_a_killed_run_resumes_without_losing_or_doubling_a_frame(cameras, tmp_path, monkeypatch):
    reference = pq.read_table(run([cameras], tmp_path / "reference")["table"])
    analysed = []
    real = mon.analyse_source

    def dies_on_the_third(source, *args, **kw):
        if len(analysed) == 2:
            raise KeyboardInterrupt  # the run is killed while it reads the third file
        analysed.append(Path(source.path).name)
        return real(source, *args, **kw)

    monkeypatch.setattr(mon, "analyse_source", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        run([cameras], tmp_path / "out")
    parts = sorted((tmp_path / "out" / mon.PARTS).iterdir())
    assert len(parts) == 2 and not (tmp_path / "out" / mon.TABLE).exists()  # 2 whole parts, no half file
    monkeypatch.setattr(mon, "analyse_source", real)
    counted = []
    monkeypatch.setattr(mon, "analyse_source", lambda s, *a, **k: counted.append(s) or real(s, *a, **k))
    summary = run([cameras], tmp_path / "out")
    assert len(counted) == 2 and summary["analysed"] == 2  # only the files not yet written
    assert pq.read_table(summary["table"]).equals(reference)
    csv = (tmp_path / "out" / mon.CSV_EXPORT).read_text()
    assert csv == (tmp_path / "reference" / mon.CSV_EXPORT).read_text()
    assert run([cameras], tmp_path / "out")["analysed"] == 0  # a third run has nothing to do


def test_a_folder_made_with_other_settings_is_refused_unless_fresh(cameras, tmp_path):
    run([cameras / "north" / "a.mp4"], tmp_path / "out")
    other = mon.Settings(**{**vars(SETTINGS), "every": 2.0})
    with pytest.raises(ConfigError, match="made with other settings"):
        run([cameras / "north" / "a.mp4"], tmp_path / "out", settings=other)
    assert run([cameras / "north" / "a.mp4"], tmp_path / "out", settings=other, fresh=True)["analysed"] == 1
    shutil.rmtree(tmp_path / "out" / mon.PARTS)  # a table copied without its parts (the shipped example)
    assert run([cameras / "north" / "a.mp4"], tmp_path / "out", fresh=True)["analysed"] == 1


def test_a_changed_file_or_camera_name_is_analysed_again(cameras, tmp_path):
    run([cameras / "north"], tmp_path / "out")
    write_clip(PHOTOS / "maksssksksss477.jpg", cameras / "north" / "a.mp4", frames=2, fps=2, size=(320, 240))
    assert run([cameras / "north"], tmp_path / "out")["analysed"] == 1
    mapping = cameras / "map.csv"
    mapping.write_text("path,camera\nnorth,gate\n")
    summary = run([cameras / "north"], tmp_path / "out", mapping=mapping)
    assert summary["analysed"] == 2 and set(pq.read_table(summary["table"]).column("camera").to_pylist()) == {"gate"}


@pytest.mark.ray
def test_ray_with_two_workers_gives_the_plain_loops_table(cameras, tmp_path):
    import ray

    try:
        local = pq.read_table(run([cameras], tmp_path / "local")["table"])
        summary = run([cameras], tmp_path / "ray", engine=Engine("ray", workers=2))
        assert pq.read_table(summary["table"]).equals(local)
        assert summary["peak_rss_mb"] and all(v > 0 for v in summary["peak_rss_mb"].values())
    finally:
        ray.shutdown()


# --- the Monitor page -----------------------------------------------------------------------------


def run_monitor_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(PAGE["Monitor"]).run()
    return at


def test_the_page_shows_the_shipped_example(monkeypatch, tmp_path):
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    at = run_monitor_page()
    assert not at.exception, at.exception
    assert at.selectbox[0].options == [
        "shipped example (demo footage)",  # not "example: example"
        "shipped live example (demo footage as MJPEG)",
    ]
    metrics = ["Frames", "Faces seen", "Compliance", "Files in error", "People", "Compliance over people"]
    assert [m.label for m in at.metric] == metrics
    assert at.metric[0].value == "67" and int(at.metric[4].value) > 0
    assert {"The worst moments", "People"} <= {s.value for s in at.subheader}
    assert [c.value for c in at.caption if PEOPLE_COUNTED in c.value]  # what a person is, in a live window too
    assert not [c.value for c in at.caption if "no longer at" in c.value]  # the example's frames are found
    at.selectbox[0].select("shipped live example (demo footage as MJPEG)").run()
    assert not at.exception, at.exception
    headings = [s.value for s in at.subheader]
    assert "Live: the last minute (the run has stopped)" in headings  # no refresh: the run has ended
    assert "People" in headings and [h for h in headings if h.startswith("Alerts (")]
    assert int(at.metric[4].value.replace(",", "")) > 0
    streams = next(d.value for d in at.dataframe if "last frame" in d.value.columns)
    # the example counts refused frames (none) and their delay; times without a T
    assert list(streams["refused"]) == [0] * len(streams), streams["refused"]
    assert all(isinstance(d, float) for d in streams["delay (s)"]), streams["delay (s)"]
    assert all(len(t) == 19 and "T" not in t for t in streams["last frame"]), streams["last frame"]
    # its worst moments are the frames whose stills the run kept, drawn: no "a live stream's frame" note
    assert not [c.value for c in at.caption if "a live stream's frame" in c.value]
    assert len(at.image) >= 1


def test_the_pages_tables_read_in_words(monkeypatch, tmp_path):
    """The frames table (and the people's) showed the table's own names: offset_s, with_mask, too_small."""
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    at = run_monitor_page()
    assert not at.exception, at.exception
    tables = [d.value for d in at.dataframe]
    rows = [t for t in tables if "camera" in t.columns and "frame" in t.columns]
    assert len(rows) == 1 and "seconds in" in rows[0].columns, [list(t.columns) for t in tables]
    for table in tables:
        assert not [c for c in table.columns if "_" in c], list(table.columns)
    words = {label.text for label in LABELS}
    assert words <= set(rows[0].columns) and all(words <= set(t.columns) for t in tables if "people" in t.columns)
    assert 1 < rows[0]["compliance (%)"].max() <= 100  # percent, not shares
    frames, _ = load(ROOT / "results" / "monitor" / "example")
    assert csv_bytes(frames).decode().splitlines()[0].startswith("camera,source,kind,frame,offset_s,time")  # as it was


def test_a_worst_moments_tags_are_readable_on_a_phone(monkeypatch):
    """A still's tags were drawn 11 px high on a 640 px frame: about 5 px once a phone shows it 358 px wide."""
    from PIL import ImageFont

    from lrfp.app import monitor_view as view
    from lrfp.pipeline import scene

    sizes: list[int] = []
    default_font = ImageFont.load_default

    def kept(size=None):
        sizes.append(size)
        return default_font(size=size)

    monkeypatch.setattr(scene.ImageFont, "load_default", kept)
    for name in ("example", "live-example"):  # a file's frame, a live run's still
        folder = ROOT / "results" / "monitor" / name
        frames, _ = view.load(folder)
        row = view.worst_moments(view.with_stills(frames, folder)).iloc[0]
        sizes.clear()
        still = view.annotated(row, view.recorded_inputs(folder), folder)
        assert still is not None and sizes, name
        assert sizes[-1] * PHONE_SHOWN_WIDTH / still.width >= TAG_MIN_SHOWN_PX, (name, sizes, still.size)


def test_a_live_panel_refreshes_only_while_its_run_writes():
    from lrfp.app.monitor_people import running

    now = datetime(2026, 5, 1, 12, 0, 0)
    status = {"updated": "2026-05-01T11:59:30", "slice_s": 20.0}
    assert running(status, now) and running(status | {"running": True}, now)
    assert not running(status | {"running": False}, now)  # ended by --duration or Ctrl-C
    assert not running({"updated": "2026-05-01T11:57:00", "slice_s": 20.0}, now)  # killed: no slice for 3 min
    assert not running(None, now) and not running({"slice_s": 20.0}, now)


def test_the_page_reads_a_users_table_and_says_what_is_wrong_with_a_bad_one(monkeypatch, tmp_path, cameras):
    from lrfp.app import monitor_view as view

    monkeypatch.setattr("lrfp.core.paths.RESULTS_DIR", tmp_path / "no-results")
    monkeypatch.setenv("LRFP_PUBLIC", "0")  # the operator's own server: a table by its path
    run([cameras], tmp_path / "mine")
    at = run_monitor_page()
    assert not at.exception and at.selectbox[0].options == ["a table of mine (its path on this server)"]
    at.text_input[0].input(str(tmp_path / "mine")).run()
    assert not at.exception, at.exception
    assert at.metric[0].value == "10"
    assert not [c.value for c in at.caption if "cannot be shown" in c.value]  # every worst moment drawn
    at.text_input[0].input(str(tmp_path / "nothing-here")).run()
    assert not at.exception and "Cannot read" in at.error[0].value
    frames, _ = view.load(tmp_path / "mine")
    assert view.csv_bytes(frames).decode().splitlines()[0].startswith("camera,source,kind,frame,offset_s,time")


def test_a_run_records_its_inputs_and_the_public_page_draws_its_frames(monkeypatch, tmp_path, cameras):
    monkeypatch.setattr("lrfp.core.paths.RESULTS_DIR", tmp_path / "no-results")
    monkeypatch.setenv("LRFP_MONITOR_ROOTS", str(tmp_path / "runs"))
    run([cameras / "north", cameras / "south" / "*.jpg"], tmp_path / "runs" / "mine")
    recorded = mon.read_json(tmp_path / "runs" / "mine" / mon.INPUTS)["inputs"]
    assert recorded == [str(cameras / "north"), str(cameras / "south" / "p.jpg")]  # the pattern's file, not the pattern
    at = run_monitor_page()
    assert at.selectbox[0].options == ["runs/mine"]
    assert not at.exception and at.get("image")
    assert not [c.value for c in at.caption if "cannot be shown" in c.value]


def test_compliance_per_period_sums_faces_not_frame_shares():
    import pandas as pd

    from lrfp.app.monitor_view import per_period

    frames = pd.DataFrame(
        {
            "camera": ["c", "c"],
            "status": ["ok", "ok"],
            "when": pd.to_datetime(["2024-01-01 08:00", "2024-01-01 08:30"]),
            "faces": [10, 1],
            "with_mask": [9, 0],
            "without_mask": [1, 1],
            "incorrect": [0, 0],
            "too_small": [0, 0],
            "unsure": [0, 0],
        }
    )
    assert per_period(frames, "1 hour")["compliance"].tolist() == [9 / 11]  # not (0.9 + 0) / 2


def test_the_shipped_examples_files_are_shown_inside_the_project():
    # the example was made in another checkout: its recorded paths are that machine's, the page shows the copies
    from lrfp.app import monitor_view as view
    from lrfp.core import paths

    sources = set(pq.read_table(paths.RESULTS_DIR / "monitor" / "example" / mon.TABLE).column("source").to_pylist())
    assert sources and all(view.shown_path(s).startswith("demo/footage/") for s in sources)


def test_onnxruntime_sessions_take_their_threads_from_omp_num_threads(monkeypatch):
    # what a Ray actor of one CPU gets: one onnxruntime thread, as one torch thread
    from lrfp.pipeline.detect import session_options

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert session_options().intra_op_num_threads == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert session_options().intra_op_num_threads == 0  # onnxruntime's own default: a thread per core


def test_the_worst_moments_are_apart_in_each_file():
    from lrfp.app.monitor_view import worst_moments

    rows = [
        ("a.mp4", 0.0, 5),
        ("a.mp4", 1.0, 5),
        ("a.mp4", 2.0, 4),
        ("a.mp4", 30.0, 3),
        ("b.mp4", 0.5, 4),
        ("b.mp4", 3.0, 4),
        ("c.jpg", 0.0, 1),
    ]
    frames = pd.DataFrame(
        [
            {"source": s, "offset_s": o, "status": "ok", "without_mask": u, "incorrect": 0, "compliance": 0.0}
            for s, o, u in rows
        ]
    )
    worst = worst_moments(frames, n=6, apart_s=10)
    assert list(zip(worst["source"], worst["offset_s"])) == [
        ("a.mp4", 0.0),
        ("b.mp4", 0.5),
        ("a.mp4", 30.0),
        ("c.jpg", 0.0),
    ]


def moment_rows(rows: list[tuple]) -> pd.DataFrame:
    """A frames table of the worst-moment tests: one row per (source, offset_s, face_rows, without_mask)."""
    return pd.DataFrame(
        [
            {
                "source": s,
                "offset_s": o,
                "status": "ok",
                "without_mask": u,
                "incorrect": 0,
                "compliance": 0.3,
                "face_rows": f,
            }
            for s, o, f, u in rows
        ]
    )


def test_the_worst_moments_are_distinct_pictures():
    from lrfp.app.monitor_view import worst_moments

    def faces(x, labels_):
        return [
            {
                "x0": x + 50 * i,
                "y0": 40,
                "x1": x + 50 * i + 30,
                "y1": 70,
                "size": 30,
                "label": label,
                "probability": 0.9,
            }
            for i, label in enumerate(labels_)
        ]

    # a live stream showing its clip forth and back: the worst frame comes again every 7 s, a slightly
    # different detection of it too (boxes a few px off); the same clip copied under a second name; and
    # another scene, less bad, with its faces elsewhere
    worst, shifted = faces(10, ["without_mask"] * 2 + ["with_mask"]), faces(12, ["without_mask"] * 2 + ["with_mask"])
    rows = [("live", 7.0 * k, worst if k % 2 else shifted, 2) for k in range(9)]
    rows += [("copy.mp4", 3.0, worst, 2), ("other.mp4", 1.0, faces(150, ["without_mask", "with_mask"]), 1)]
    shown = worst_moments(moment_rows(rows), n=6, apart_s=10)
    assert list(zip(shown["source"], shown["offset_s"])) == [("live", 0.0), ("other.mp4", 1.0)]


def test_the_worst_moments_are_distinct_scenes_not_one_scene_panned_or_copied():
    """A clip panning over a scene, the same clip under a second name (the demo footage has two such copies),
    the scene again on a camera that kept no track ids with its faces moved all alike; and two other scenes
    (faces laid out otherwise; and two faces only, placed as two of the first scene's are)."""
    from lrfp.app.monitor_view import worst_moments

    def faces(places, labels_):
        return [
            {"x0": x, "y0": y, "x1": x + 30, "y1": y + 30, "label": label, "probability": 0.9}
            for (x, y), label in zip(places, labels_)
        ]

    scene = [(10, 40), (70, 45), (120, 100), (200, 60)]
    unmasked = ["without_mask", "without_mask", "with_mask", "without_mask"]

    def panned(dx, dy=0):
        return faces([(x + dx, y + dy) for x, y in scene], unmasked)

    rows = [("north.mp4", 0.5, panned(20), 3), ("north.mp4", 0.0, panned(0), 2), ("north.mp4", 1.0, panned(40), 2)]
    rows += [("copy.mp4", 0.5, panned(20), 3), ("copy.mp4", 1.0, panned(40), 2), ("copy.mp4", 1.5, panned(60), 2)]
    rows += [("gate", 30.0, panned(300, 90), 2)]
    rows += [("hall.mp4", 0.0, faces([(10, 40), (40, 120), (150, 20), (220, 150)], unmasked), 2)]
    rows += [("pair.mp4", 0.0, faces([(310, 40), (370, 45)], unmasked[:2]), 2)]
    shown = worst_moments(moment_rows(rows), n=6, apart_s=10)
    assert list(zip(shown["source"], shown["offset_s"])) == [("north.mp4", 0.5), ("hall.mp4", 0.0), ("pair.mp4", 0.0)]


def test_a_live_streams_worst_moments_are_of_different_people():
    from lrfp.app.monitor_view import worst_moments

    def faces(x, tracks, gap=60, drop=0, y=40):
        """Faces of 40 px in a line, GAP px right and DROP px down of each other."""
        return [
            {"x0": x + gap * i, "y0": y + drop * i, "x1": x + gap * i + 40, "y1": y + drop * i + 40}
            | {"label": "without_mask", "track": t}
            for i, t in enumerate(tracks)
        ]

    # a camera turning over the same three people (their boxes elsewhere each time, not even as they were to
    # each other, their track ids kept), a second camera whose tracker numbers its own people from 0 too, and a
    # table that kept no track ids (its scenes, and the second camera's, laid out otherwise)
    rows = [("gate", 20.0 * k, faces(10 + 25 * k, [0, 1, 2], gap=60 + 40 * k)) for k in range(4)]
    rows += [("hall", 5.0, faces(300, [0, 1, 2], drop=60)), ("old.mp4", 0.0, faces(600, [-1, -1, -1], gap=0, drop=60))]
    rows += [("old.mp4", 40.0, faces(900, [-1, -1, -1], drop=-60, y=300))]
    frames = pd.DataFrame(
        [
            {
                "source": s,
                "offset_s": o,
                "status": "ok",
                "without_mask": 3,
                "incorrect": 0,
                "compliance": 0.0,
                "face_rows": f,
            }
            for s, o, f in rows
        ]
    )
    shown = worst_moments(frames, n=6, apart_s=10)
    assert list(zip(shown["source"], shown["offset_s"])) == [
        ("gate", 0.0),
        ("hall", 5.0),
        ("old.mp4", 0.0),
        ("old.mp4", 40.0),
    ]


def test_the_charts_open_with_a_period_that_fits_the_span_and_the_slider_moves():
    start = datetime(2026, 1, 1, 8)
    # a 2-minute live run: 10-second points, not one hourly bucket; a working day of footage: hours
    assert default_period(start, start + timedelta(minutes=2)) == "10 seconds"
    assert default_period(start, start + timedelta(hours=8, minutes=30)) == "1 hour"
    assert default_period(start, start) == "10 seconds"
    # Streamlit's own step under a day is 15 minutes: a 2-minute run would leave the slider one position
    assert time_step(start, start + timedelta(minutes=2)) == timedelta(seconds=1)
    assert time_step(start, start + timedelta(hours=10)) == timedelta(minutes=6)


def test_a_selection_with_no_frame_says_what_to_change_not_bare_charts(monkeypatch, tmp_path):
    """With every camera taken out, the page drew charts of nothing ('-1 0 1 ... minutes into the footage')."""
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    at = run_monitor_page()
    at.multiselect[0].set_value([]).run()
    assert not at.exception, at.exception
    assert any("No frame in this selection" in i.value for i in at.info)
    assert not at.get("plotly_chart")
