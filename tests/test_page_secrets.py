"""Nothing a visitor should not see: no stream password or token, no server path, no markdown from a name,
no file read through a link out of its table's folder (issue 34's cases 2, 7, 8 and 9).

The Monitor page is opened with AppTest on run folders made here, holding a planted secret URL, a camera
named as markdown and the tests' absolute folders; every value the page sends (its elements, dataframes
and downloads) is searched for them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import PAGE, free_port, serve_checkout, wait_until_healthy, wait_until_idle
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from lrfp.app import monitor_view as view
from lrfp.app.plain import MARKDOWN_SPECIALS, WORD_JOINER, plain
from lrfp.core import paths
from lrfp.core.errors import ConfigError
from lrfp.core.redact import mask_url, mask_urls, relative_name, without_paths, without_secrets
from lrfp.publishing.index import default_model
from lrfp.scale.alerts import ALERTS_TABLE
from lrfp.scale.live import SLICES, STATUS, STILLS, LiveRun, read_slices
from lrfp.scale.mjpeg import MjpegServer, jpegs_of
from lrfp.scale.people import PEOPLE_TABLE
from lrfp.scale.settings import LiveSettings, Settings
from lrfp.scale.stream import check_live
from lrfp.scale.webhook import check_url

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = paths.RESULTS_DIR / "monitor" / "example" / "frames.parquet"
LIVE_EXAMPLE = paths.RESULTS_DIR / "monitor" / "live-example"
PHOTO = paths.EXAMPLES_DIR / "maksssksksss389.jpg"
SECRET_URL = "http://admin:PASSW0RD@127.0.0.1:9/gate.mjpg?token=T0KEN&key=K3Y"
SECRETS = ("PASSW0RD", "T0KEN", "K3Y", "admin:")
CAMERA = "![b](http://host/x.png)"  # as markdown: every viewer's browser would fetch the image
HTML_CAMERA = "<b>market</b>"  # plotly reads a few HTML tags in a legend


# --- the masking -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, masked",
    [
        ("http://admin:PASSWORD@host/gate.mjpg?token=T", "http://***@host/gate.mjpg?token=***"),
        ("rtsp://user:pw@10.0.0.5:554/Streaming/Channels/101", "rtsp://***@10.0.0.5:554/Streaming/Channels/101"),
        ("rtsps://admin@cam.local/live", "rtsps://***@cam.local/live"),
        ("https://host/cam?token=a&key=b&flag&=c", "https://host/cam?token=***&key=***&***&=***"),
        ("http://host/x.mjpg#secret", "http://host/x.mjpg#***"),
        ("rtsp://10.0.0.5:554/live", "rtsp://10.0.0.5:554/live"),  # nothing secret: unchanged
        ("http://host/gate.mjpg", "http://host/gate.mjpg"),
        ("/dev/video0", "/dev/video0"),
        # malformed: an @ in the password, an unclosed IPv6 bracket (urllib refuses it), no host at all
        ("rtsp://user:p@ss@host:554/x", "rtsp://***@host:554/x"),
        ("http://admin:pw@[::1/x?token=T", "http://***@[::1/x?token=***"),
        ("http://:pw@?token=T", "http://***@?token=***"),
    ],
)
def test_a_urls_user_password_and_query_values_are_masked(url, masked):
    assert mask_url(url) == masked


def test_every_url_in_a_message_is_masked_and_a_urls_secrets_wherever_they_appear():
    url = "rtsp://admin:p%40ssw0rd@cam/x?token=T0KEN"
    message = f"[Errno 5] Input/output error: '{url}' (user admin, p@ssw0rd refused; token T0KEN)"
    masked = without_secrets(message, url)
    assert masked == "[Errno 5] Input/output error: 'rtsp://***@cam/x?token=***' (user ***, *** refused; token ***)"
    two = mask_urls("from http://a:b@h1/x?t=1 to rtsp://c:d@h2/y, then /dev/video0")
    assert two == "from http://***@h1/x?t=*** to rtsp://***@h2/y, then /dev/video0"


@pytest.mark.parametrize(
    "check, url",
    [(check_live, "ftp://admin:PASSW0RD@cam/x?token=T0KEN"), (check_live, "http://admin:PASSW0RD@/x?token=T0KEN")]
    + [(check_url, "ftp://admin:PASSW0RD@hooks/x?token=T0KEN")],
)
def test_a_refused_url_is_named_masked(check, url):
    with pytest.raises(ConfigError) as refused:
        check(url)
    assert not [s for s in SECRETS if s in str(refused.value)]


def test_a_file_is_named_from_the_input_holding_it_and_messages_lose_their_folders():
    inputs = [Path("/srv/cams"), Path("/srv/one.mp4")]
    assert relative_name("/srv/cams/north/clip0.mp4", inputs) == "cams/north/clip0.mp4"
    assert relative_name("/srv/one.mp4", inputs) == "one.mp4"
    assert relative_name("/elsewhere/x/clip.mp4", inputs) == "clip.mp4"  # under no input: its name alone
    message = "/srv/cams/north/clip0.mp4: corrupt; see /var/log/x.log, 5/10 frames, http://host/a/b"
    assert without_paths(message, {"/srv/cams/north/clip0.mp4": "cams/north/clip0.mp4"}) == (
        "cams/north/clip0.mp4: corrupt; see x.log, 5/10 frames, http://host/a/b"
    )


@pytest.mark.parametrize("name", [CAMERA, "[x](javascript:alert(1))", "<img src=x>", "# big\n- list", ":red[x] $x^2$"])
def test_a_name_is_escaped_so_that_markdown_shows_it_as_it_is(name):
    escaped = plain(name)
    # every markdown special is escaped (CommonMark: a backslash before punctuation shows the punctuation)
    assert all(escaped[m.start() - 1] == "\\" for m in MARKDOWN_SPECIALS.finditer(escaped) if m.group() != "\\")
    assert "\n" not in escaped
    assert re.sub(r"\\(.)", r"\1", escaped).replace(WORD_JOINER, "") == " ".join(name.split())


# the text GitHub's markdown (Streamlit's) makes a link of once the escapes are read (remark-gfm's patterns)
MARKDOWN_LINKS = re.compile(r"(https?://|www(?=\.))[-.\w]+", re.IGNORECASE)
MARKDOWN_EMAIL = re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+")


@pytest.mark.parametrize(
    "name", ["www.example.com.png", "http://evil.com/x.jpg", "HTTPS://evil.com", "me@evil.com.jpg"]
)
def test_a_name_that_holds_an_address_is_shown_as_no_link(name):
    """Escaped, an upload named www.example.com.png was still a link: markdown finds them after the escapes."""
    read = re.sub(r"\\(.)", r"\1", plain(name))  # the text as markdown reads it
    assert not MARKDOWN_LINKS.search(read) and not MARKDOWN_EMAIL.search(read)
    assert read.replace(WORD_JOINER, "") == name  # and it reads as it is


# --- a live run ----------------------------------------------------------------------------------------------


@pytest.mark.detector
def test_a_live_run_stores_and_logs_its_streams_without_their_secrets(tmp_path, caplog):
    """The real URL lives only in the reading thread: rows, people, live.json, log lines and the summary get
    the masked one, and FFmpeg's error (which quotes the URL whole) is masked too."""
    analyse = Settings(model=default_model() or "model3", detector="retinaface", detector_scale=1.0).analysis()
    server = MjpegServer({"cam": jpegs_of(str(paths.DEMO_DIR / "footage" / "north-gate" / "clip0.mp4"))})
    base = f"http://admin:PASSW0RD@127.0.0.1:{server.port}"
    items = [f"gate={base}/cam.mjpg?token=T0KEN&key=K3Y", f"gone={base}/none.mjpg?token=T0KEN"]  # gone: a 404
    try:
        with caplog.at_level(logging.INFO):
            summary = LiveRun(LiveSettings.parse(items, rate=3, slice_s=1.5), tmp_path, analyse).run(duration_s=4)
    finally:
        server.close()
    frames, people = read_slices(tmp_path).to_pandas(), read_slices(tmp_path, "people").to_pandas()
    status = (tmp_path / STATUS).read_text()
    written = frames.to_csv() + people.to_csv() + status + json.dumps(summary) + caplog.text
    assert not [s for s in SECRETS if s in written]
    streams = {s["camera"]: s for s in json.loads(status)["streams"]}
    assert streams["gate"]["url"] == f"http://***@127.0.0.1:{server.port}/cam.mjpg?token=***&key=***"
    assert set(frames["source"]) == {streams["gate"]["url"]} and len(frames) > 0
    assert streams["gone"]["error"].endswith(f"Server returned 404 Not Found: '{streams['gone']['url']}'")


# --- the Monitor page ---------------------------------------------------------------------------------------


@pytest.fixture
def roots(tmp_path, monkeypatch) -> Path:
    """A monitor root listed in LRFP_MONITOR_ROOTS, a camera folder, and a folder outside both."""
    for folder in ("tables", "cams", "outside"):
        (tmp_path / folder).mkdir()
    monkeypatch.setenv("LRFP_MONITOR_ROOTS", str(tmp_path / "tables"))
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    return tmp_path


@pytest.fixture
def downloads(monkeypatch) -> list[bytes]:
    """Every file the page hands to Streamlit's media store (download buttons' data, pictures)."""
    kept: list[bytes] = []
    store = MemoryMediaFileStorage.load_and_get_id

    def keep(self, data, *args, **kwargs):
        kept.append(data if isinstance(data, bytes) else Path(data).read_bytes())
        return store(self, data, *args, **kwargs)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return kept


def open_table(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(PAGE["Monitor"]).run()
    next(s for s in at.selectbox if s.label == "Table").set_value(name).run()
    assert not at.exception, at.exception
    return at


def nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def page_data(at: AppTest, downloads: list[bytes]) -> bytes:
    """All the page sent: each element as Streamlit encodes it, each table's rows, each download."""
    found = [n.proto.SerializeToString() for n in nodes(at._tree) if getattr(n, "proto", None) is not None]
    found += [frame.value.to_csv().encode() for frame in at.dataframe]
    return b"\n".join(found + downloads)


def markdown_texts(at: AppTest) -> list[str]:
    """Every text the browser renders as markdown: bodies (markdown, captions, messages, headings), labels,
    captions of pictures, help."""
    texts = []

    def fields(message):
        for field, value in message.ListFields():
            items = list(value) if field.is_repeated else [value]
            if field.type == field.TYPE_MESSAGE:
                for item in items:
                    fields(item)
            elif field.name in ("body", "label", "caption", "help"):
                texts.extend(items)

    for node in nodes(at._tree):
        if getattr(node, "proto", None) is not None:
            fields(node.proto)
    return texts


def rewrite(path: Path, **columns) -> None:
    table = pq.read_table(path)
    for name, value in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, pa.array([value] * table.num_rows))
    pq.write_table(table, path)


def planted_live_run(folder: Path) -> Path:
    """The shipped live run with its north-gate camera named CAMERA and read from SECRET_URL, as an lrfp that
    stored URLs whole wrote it, its market camera named HTML_CAMERA; no still kept (its worst moments are
    captions)."""
    shutil.copytree(LIVE_EXAMPLE, folder)
    shutil.rmtree(folder / STILLS)
    for part in (folder / SLICES).glob("*.parquet"):
        frame = pq.read_table(part)
        gate = pa.compute.equal(frame.column("camera"), "north-gate")
        market = pa.compute.equal(frame.column("camera"), "market")
        for name, value in (("camera", CAMERA), ("source", SECRET_URL)):
            column = pa.compute.if_else(gate, value, frame.column(name))
            frame = frame.set_column(frame.schema.get_field_index(name), name, column)
        column = pa.compute.if_else(market, HTML_CAMERA, frame.column("camera"))
        frame = frame.set_column(frame.schema.get_field_index("camera"), "camera", column)
        pq.write_table(frame, part)
    status = json.loads((folder / STATUS).read_text())
    status["streams"][0] |= {"camera": CAMERA, "url": SECRET_URL, "error": f"401 Unauthorized: '{SECRET_URL}'"}
    (folder / STATUS).write_text(json.dumps(status))
    return folder


def test_the_monitor_page_shows_no_stream_password_nor_a_name_as_markdown(roots, downloads):
    planted_live_run(roots / "tables" / "gate")
    at = open_table("tables/gate")
    data = page_data(at, downloads)
    assert not [s for s in SECRETS if s.encode() in data]
    # a visitor sees the streams by camera: no address, not even masked (lrfp.app.monitor_shown.public_text)
    streams = next(d.value for d in at.dataframe if "reconnects" in d.value.columns)
    assert "url" not in streams and b"127.0.0.1" not in data
    assert streams["error"].iloc[0] == "401 Unauthorized: 'the camera's stream'"
    # the camera's name is text wherever markdown renders: its worst moments' captions say it escaped
    assert not [t for t in markdown_texts(at) if CAMERA in t]
    assert [c.value for c in at.caption if c.value.startswith(f"{plain(CAMERA)} · ")]


def test_the_monitor_page_shows_no_server_path(roots, downloads):
    clip = roots / "cams" / "north" / "clip0.mp4"
    frames = pd.read_parquet(EXAMPLE).assign(source=str(clip))
    broken = roots / "cams" / "north" / "broken.mp4"
    error = frames.iloc[:1].assign(
        camera="north-gate", status="error", source=str(broken), error=f"{broken}: holds no frame (truncated)"
    )
    folder = roots / "tables" / "files"
    folder.mkdir()
    pd.concat([frames, error]).to_parquet(folder / view.TABLE)
    (folder / view.INPUTS).write_text(json.dumps({"inputs": [str(roots / "cams")]}))
    at = open_table("tables/files")
    assert str(roots).encode() not in page_data(at, downloads)
    rows, errors = at.dataframe[-2].value, at.dataframe[-1].value  # their headings in words
    assert set(rows["file or stream"]) == {"cams/north/clip0.mp4"}
    assert errors.to_dict("records") == [
        {
            "camera": "north-gate",
            "file or stream": "cams/north/broken.mp4",
            "error": "cams/north/broken.mp4: holds no frame (truncated)",
        }
    ]
    csv = [d for d in downloads if d.startswith(b"camera,source")][-1]  # this table's (the first run's: the example's)
    assert b"cams/north/clip0.mp4" in csv


def test_a_broken_checkpoint_is_named_once_without_its_server_path(roots, monkeypatch):
    bad = roots / "runs" / "mine" / "epoch001.pt"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a checkpoint")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    picker = next(s for s in at.sidebar.selectbox if s.label == "Model")
    picker.set_value(next(o for o in picker.options if "epoch001" in o)).run()
    at.switch_page(PAGE["Classify"]).run()
    (message,) = [e.value for e in at.error if "Cannot load" in e.value]
    assert str(roots) not in message and message.count("epoch001") == 1
    assert message.startswith(f"Cannot load {plain('runs/mine/epoch001.pt')}: ")


@pytest.mark.parametrize("page", list(PAGE))
def test_no_page_shows_a_server_path(page, tmp_path, monkeypatch, downloads):
    """Every page as a visitor meets it on a server without a data set or its source photos here: the page
    names the folders it misses, never their paths, nor the checkout's."""
    monkeypatch.setattr("lrfp.core.paths.DATA_DIR", tmp_path / "data" / "fmd853-lr")
    monkeypatch.setattr("lrfp.core.paths.SOURCE_DIR", tmp_path / "source")
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(PAGE[page]).run()
    assert not at.exception, at.exception
    data = page_data(at, downloads)
    assert str(tmp_path).encode() not in data and str(ROOT).encode() not in data
    assert b"torch-hub" not in data  # a run's TORCH_HOME, a folder of the machine that ran it: named CACHE


# --- links out of a table's folder ----------------------------------------------------------------------------


def drawn(at: AppTest) -> int:
    return len(at.get("image"))


@pytest.mark.parametrize("linked", ["inputs.json", "people.parquet", "alerts.parquet"])
def test_a_file_of_a_table_that_links_out_of_its_folder_is_not_read(roots, linked):
    """A real frames.parquet beside links to files outside: their people, alerts and photos stay unread."""
    outside = roots / "outside"
    shutil.copy(PHOTO, outside / "secret.jpg")
    folder = roots / "tables" / "t"
    folder.mkdir()
    frames = pd.read_parquet(EXAMPLE).assign(source=str(outside / "secret.jpg"), kind="image", frame=0)
    frames.to_parquet(folder / view.TABLE)
    (outside / "inputs.json").write_text(json.dumps({"inputs": [str(outside)]}))
    shutil.copy(EXAMPLE.parent / PEOPLE_TABLE, outside / PEOPLE_TABLE)
    shutil.copy(LIVE_EXAMPLE / ALERTS_TABLE, outside / ALERTS_TABLE)
    (folder / linked).symlink_to(outside / linked)
    at = open_table("tables/t")
    assert drawn(at) == 0  # the photo outside is drawn only through inputs.json's link
    if linked == "people.parquet":
        assert not [m for m in at.metric if m.label == "People"]
        assert any("no people.parquet of its own" in c.value for c in at.caption)
    if linked == "alerts.parquet":
        assert not [s for s in at.subheader if s.value.startswith("Alerts")]


def test_a_live_runs_still_or_slice_that_links_out_is_not_read(roots):
    folder = roots / "tables" / "gate"
    shutil.copytree(LIVE_EXAMPLE, folder)
    before = drawn(open_table("tables/gate"))
    still = sorted((folder / STILLS).glob("*.jpg"))
    for path in still:  # every still a link to a photo outside
        path.unlink()
        path.symlink_to(PHOTO)
    first = sorted((folder / SLICES).glob("frames-*.parquet"))[0]
    shutil.move(first, roots / "outside" / first.name)
    first.symlink_to(roots / "outside" / first.name)
    at = open_table("tables/gate")
    assert before > 0 and drawn(at) == 0
    frames = view.live_frames(folder)
    assert len(frames) == sum(
        pq.read_metadata(p).num_rows for p in (folder / SLICES).glob("frames-*.parquet") if not p.is_symlink()
    )


# --- in a real browser ----------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium is not installed")
def test_a_browser_shows_a_markdown_camera_name_as_text_and_fetches_nothing(tmp_path):
    """Streamlit's markdown takes the escapes: the caption reads the name as written, and the browser asks
    no one for its image."""
    playwright = pytest.importorskip("playwright.sync_api")
    planted_live_run(tmp_path / "cameras" / "gate")
    shown = re.sub(r"\\(.)", r"\1", plain(CAMERA))  # as it reads: its http:// holds an invisible word joiner
    port = free_port()
    env = os.environ | {"LRFP_MONITOR_ROOTS": str(tmp_path / "cameras"), "LRFP_RUNS": str(tmp_path / "runs")}
    proc = serve_checkout(ROOT, port, env, subprocess.DEVNULL)
    asked: list[str] = []
    try:
        assert wait_until_healthy(f"http://127.0.0.1:{port}", proc, 120)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1366, "height": 4000})
            page.on("request", lambda request: asked.append(request.url))
            page.goto(f"http://127.0.0.1:{port}/monitor")
            page.get_by_role("heading", name="People").first.wait_for(timeout=60_000)
            page.locator('[data-testid="stMainBlockContainer"]').get_by_role("combobox").first.click()
            page.get_by_role("option", name="cameras/gate").click()
            page.get_by_role("heading", name="The worst moments").wait_for(timeout=60_000)
            wait_until_idle(page)
            captions = page.get_by_text(f"{shown} · ").all_inner_texts()
            legends = page.locator(".legendtext").evaluate_all("texts => texts.map(t => t.textContent)")  # SVG
            body = page.locator("body").inner_text()
            links = page.locator('[data-testid="stMainBlockContainer"] a').evaluate_all("a => a.map(l => l.href)")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert captions and all(c.replace(WORD_JOINER, "").startswith(f"{CAMERA} · ") for c in captions)
    assert {CAMERA, HTML_CAMERA} <= set(legends)  # the charts' legends show both names as written
    assert not [u for u in asked if "host/x.png" in u]
    assert not [link for link in links if "host/x.png" in link]  # nor a link to it: markdown finds http:// in text
    assert not [s for s in SECRETS if s in body]
