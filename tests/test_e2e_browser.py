"""End to end: the real Streamlit server driven by Debian's headless Chromium through Playwright.

Opens every page (screenshots under test-output/screenshots/), uploads a real street scene and
checks the face labels, and runs the live webcam page on Chromium's fake camera fed with a
clip made here from a local photo.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import face_mosaic, free_port, png_bomb, serve_checkout, wait_until_healthy, wait_until_idle
from PIL import Image

from lrfp.app.frame import PAGES as APP_PAGES
from lrfp.app.waiting import STARTED
from lrfp.pipeline.tags import PHONE_SHOWN_WIDTH

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "test-output" / "screenshots"
DEMO = ROOT / "demo"
SCENE = DEMO / "scenes" / "images" / "maksssksksss787.jpg"  # a shipped street photo with eight annotated faces

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
]
playwright = pytest.importorskip("playwright.sync_api")


def write_y4m(image: Image.Image, path: Path, frames: int = 30) -> None:
    """A raw YUV 4:2:0 clip that Chromium's fake camera plays in a loop."""
    w, h = 640, 480
    ycbcr = image.convert("RGB").resize((w, h)).convert("YCbCr")
    y, cb, cr = ycbcr.split()
    planes = y.tobytes() + cb.resize((w // 2, h // 2)).tobytes() + cr.resize((w // 2, h // 2)).tobytes()
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + planes)


def start_server(runs: Path, **env) -> tuple[str, subprocess.Popen]:
    """(url, process) of the dashboard served from this checkout with the shipped demo data only, as on a
    fresh clone with nothing beside it (ENV: more variables)."""
    port = free_port()
    env = os.environ | {
        "LRFP_RUNS": str(runs),
        "LRFP_DATA": str(DEMO / "fmd853-lr"),
        "LRFP_SOURCE": str(DEMO / "scenes"),
        "LRFP_ICE_SERVERS": "[]",
        **env,
    }  # browser and server share this machine: no STUN server to ask
    proc = serve_checkout(ROOT, port, env, subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    if not wait_until_healthy(url, proc, timeout=120):
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    return url, proc


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url, proc = start_server(tmp_path_factory.mktemp("runs"))
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    source = SCENE if SCENE.is_file() else None
    clip = tmp_path_factory.mktemp("cam") / "clip.y4m"
    write_y4m(Image.open(source) if source else Image.new("RGB", (640, 480), (90, 120, 150)), clip)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={clip}",
            ],
        )
        yield b
        b.close()


def open_page(browser, url: str, heading: str, height: int = 1000, failed: list | None = None):
    """URL opened in a new tab and waited for; the URL of each answer of 400 or more goes to FAILED."""
    context = browser.new_context(viewport={"width": 1400, "height": height}, permissions=["camera"])
    page = context.new_page()
    if failed is not None:
        page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    wait_until_idle(page)
    return page


# every page at its own address (lrfp.app.frame.PAGES), classify first: a server's very first visit straight to a
# page's address must still get app.py's sidebar
PAGES = sorted(((p.address, p.shown_title) for p in APP_PAGES), key=lambda page: page[0] != "classify")


def streamlit_probe(url: str, path: str) -> bool:
    """Streamlit's frontend (1.67) asks for its health check and host settings under the page's own path before
    the server's root (docs/dashboard.md): a 404 from the server that lrfp cannot change."""
    return bool(path) and url.split("?")[0].endswith((f"/{path}/_stcore/health", f"/{path}/_stcore/host-config"))


@pytest.mark.parametrize("path,heading", PAGES)
def test_every_page_opens_without_error(server, browser, path, heading):
    failed: list[str] = []
    page = open_page(browser, f"{server}/{path}", heading, height=2600, failed=failed)  # tall: all in one shot
    time.sleep(1)  # let plotly finish drawing for the screenshot
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{path or 'overview'}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert [url for url in failed if not streamlit_probe(url, path)] == []
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert [nav.get_by_text(p.title, exact=True).count() for p in APP_PAGES] == [1] * len(APP_PAGES)
    assert nav.get_by_text("app").count() == 0
    assert page.locator('[data-testid="stSidebar"]').get_by_text("Model").count() >= 1
    page.context.close()


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_the_monitor_page_shows_people_and_alerts(server, browser, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{server}/monitor")
    page.get_by_role("heading", name="People").first.wait_for(timeout=60_000)  # the file example's people
    wait_until_idle(page)
    table = page.locator('[data-testid="stMainBlockContainer"]').get_by_role("combobox").first
    table.click()
    page.get_by_role("option", name=re.compile(r"^shipped live example")).click()
    page.get_by_role("heading", name=re.compile(r"^Alerts \(\d+\)")).first.wait_for(timeout=60_000)
    wait_until_idle(page)
    for heading in ("Live: the last minute (the run has stopped)", "People", "The worst moments"):
        assert page.get_by_role("heading", name=heading).count() == 1, heading
    # the worst moments' stills: shown no narrower than their tags are drawn to be read at (three to a row of a
    # wide screen made each 300 px wide, its tags 4 px high)
    stills = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stImage"] img')
    stills.first.wait_for(timeout=30_000)
    widths = [box["width"] for box in (still.bounding_box() for still in stills.all()) if box]
    assert widths and min(widths) >= PHONE_SHOWN_WIDTH - 2, widths
    assert page.get_by_text("Compliance over people").count() >= 1
    assert page.locator('[data-testid="stException"]').count() == 0
    time.sleep(1)  # let plotly finish drawing for the screenshot
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"monitor-live-{width}x{height}.png"))
    page.set_viewport_size({"width": width, "height": 4000})  # the page scrolls inside its own box: all of it
    time.sleep(1)
    page.screenshot(path=str(SHOTS / f"monitor-live-{width}-whole.png"))
    context.close()


def test_a_live_panel_refreshes_while_its_run_writes_and_not_after(browser, tmp_path):
    """A live run's folder whose live.json a thread rewrites every second, as a running `lrfp monitor --live`
    does at each slice: the open page follows it; once the run has ended the page asks the server for nothing."""
    import json
    import threading

    root = tmp_path / "cameras"
    shutil.copytree(ROOT / "results" / "monitor" / "live-example", root / "gate")
    status = json.loads((root / "gate" / "live.json").read_text())
    ended = threading.Event()

    def write(slices: int, running: bool) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        (root / "gate" / "live.json").write_text(
            json.dumps(status | {"updated": now, "slices": slices, "running": running})
        )

    def run() -> None:
        for n in range(1000, 1300):
            if ended.is_set():
                return
            write(n, True)
            time.sleep(1)

    write(999, True)
    writer = threading.Thread(target=run, daemon=True)
    writer.start()
    url, proc = start_server(tmp_path / "runs", LRFP_MONITOR_ROOTS=str(root))
    try:
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.goto(f"{url}/monitor")
        page.get_by_role("heading", name="People").first.wait_for(timeout=60_000)
        page.locator('[data-testid="stMainBlockContainer"]').get_by_role("combobox").first.click()
        page.get_by_role("option", name="cameras/gate").click()
        page.get_by_role("heading", name="Live: the last minute (refreshing)").wait_for(timeout=60_000)
        slice_shown = re.compile(r"(\d+) time slice\(s\) of")

        def shown() -> int:
            return int(slice_shown.search(page.get_by_text(slice_shown).first.inner_text()).group(1))

        first = shown()
        time.sleep(12)  # two refreshes at least (every 5 s)
        assert shown() >= first + 5
        ended.set()
        writer.join()
        write(2000, False)  # the run's last slice: it has ended
        page.get_by_role("heading", name="Live: the last minute (the run has stopped)").wait_for(timeout=30_000)
        assert shown() == 2000
        write(3000, False)  # a change no one asks for: an ended run's panel does not refresh
        time.sleep(12)
        assert shown() == 2000
        page.context.close()
    finally:
        ended.set()
        proc.terminate()
        proc.wait(timeout=20)


def test_an_example_photo_is_classified_on_arrival(server, browser):
    page = open_page(browser, f"{server}/classify", "Classify")
    summary = page.get_by_text(re.compile(r"\(\d+ labelled faces\): \d+ face\(s\)")).first  # the example's title
    summary.wait_for(timeout=60_000)
    assert int(re.search(r": (\d+) face", summary.inner_text()).group(1)) >= 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "classify-example.png"), full_page=True)
    page.context.close()


def test_upload_a_scene_labels_its_faces(server, browser):
    page = open_page(browser, f"{server}/classify", "Classify")
    page.get_by_text("Explain each face with Grad-CAM").click()
    wait_until_idle(page)
    page.get_by_role("tab", name="Upload").click()
    page.locator('input[type="file"]').first.set_input_files(str(SCENE))
    summary = page.get_by_text(re.compile(r"maksssksksss787\.jpg: \d+ face\(s\)"))
    summary.wait_for(timeout=60_000)
    faces = int(re.search(r": (\d+) face", summary.inner_text()).group(1))
    page.get_by_role("cell", name=re.compile(r"^(with mask|without mask|too small to judge)$")).first.wait_for(
        timeout=30_000
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "classify-upload.png"), full_page=True)
    assert faces >= 2
    table = page.get_by_role("tabpanel", name="Upload")
    labels = table.get_by_role("cell", name=re.compile(r"^(with mask|without mask|too small to judge)$"))
    assert labels.count() == faces
    # one Grad-CAM heatmap per face, captioned with its label
    page.get_by_text(re.compile(r"^face 1: with(out)? mask$")).locator("visible=true").first.wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "classify-gradcam.png"), full_page=True)
    page.context.close()


def test_an_uploads_name_that_holds_an_address_makes_no_link(server, browser):
    """Markdown makes a link of www.… and http://… in text, escaped or not: an upload's name was one."""
    crop = next((DEMO / "fmd853-lr" / "with_mask").glob("*.png")).read_bytes()
    names = ["www.example.com.png", "http:__evil.com_x.png"]
    page = open_page(browser, f"{server}/classify", "Classify")
    page.get_by_role("tab", name="Upload").click()
    page.locator('input[type="file"]').first.set_input_files(
        [{"name": name, "mimeType": "image/png", "buffer": crop} for name in names]
    )
    for stem in ("example\\.com", "evil\\.com_x"):
        page.get_by_text(re.compile(rf"{stem}\.png: \d+ face\(s\)")).first.wait_for(timeout=60_000)
    wait_until_idle(page)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    links = main.locator("a").evaluate_all("links => links.map(a => a.href)")  # a heading's own anchor is one
    assert not [link for link in links if "example.com" in link or "evil.com" in link], links
    page.context.close()


def test_live_webcam_processes_frames(server, browser):
    page = open_page(browser, f"{server}/classify", "Classify")
    page.get_by_role("tab", name="Live webcam").click()
    # streamlit-webrtc renders in the page itself (older releases used an iframe): search every frame
    start = None
    for _ in range(120):
        for frame in page.frames:
            button = frame.get_by_role("button", name=re.compile(r"^start$", re.I))
            if button.count():
                start = button.first
                break
        if start is not None:
            break
        time.sleep(0.5)
    assert start is not None, "the webrtc component did not load"
    start.click()
    counter = page.get_by_text(re.compile(r"frames processed: [1-9]\d*"))
    counter.wait_for(timeout=90_000)
    time.sleep(3)
    page.screenshot(path=str(SHOTS / "classify-webcam.png"), full_page=True)
    assert int(re.search(r"frames processed: (\d+)", counter.inner_text()).group(1)) > 0
    page.context.close()


def test_a_short_run_trains_and_joins_the_model_picker(server, browser):
    page = open_page(browser, f"{server}/train", "Train", height=1600)
    epochs = page.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Enter")  # Enter in a field must not start a run
    wait_until_idle(page)
    assert page.get_by_text(re.compile(r"^(Started|No runs launched)")).first.inner_text().startswith("No runs")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Test accuracy").first.wait_for(timeout=180_000)
    time.sleep(1)
    page.screenshot(path=str(SHOTS / "train-finished.png"), full_page=True)
    # the curves' epoch axes (SVG text): whole epochs, not 0.5 and 1.5
    curves = page.locator('[data-testid="stPlotlyChart"]').first
    epochs = curves.locator(".xtick text").all_text_contents()
    assert epochs and all(e.strip().isdigit() for e in epochs), epochs
    page.locator('[data-testid="stSidebar"]').get_by_role("combobox").first.click()
    page.get_by_role("option", name=re.compile(r"^model3 32px #[0-9a-f]{4}$")).first.wait_for(timeout=30_000)
    page.context.close()


def test_the_monitor_pages_time_labels_stay_on_a_phones_screen(server, browser):
    """The Time slider's two labels, at either end of the slider, were cut by both edges of a 390 px screen."""
    width = 390
    page = browser.new_context(viewport={"width": width, "height": 844}).new_page()
    page.goto(f"{server}/monitor")
    page.get_by_role("heading", name="People").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    labels = page.locator('[data-testid="stSliderThumbValue"]').all()
    assert len(labels) == 2
    for label in labels:
        box = label.bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= width, (label.inner_text(), box)
    page.context.close()


# --- a phone's screen: tables whose rows stack, numbers that never break ---------------------------------

# how many lines the text from START to END (inclusive) of one visible text node takes on the screen
LINES_OF = """([start, end]) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const from = node.data.indexOf(start);
        if (from < 0 || !node.parentElement.checkVisibility()) continue;
        const to = node.data.indexOf(end, from) + end.length;
        const range = document.createRange();
        range.setStart(node, from);
        range.setEnd(node, to);
        return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    }
    return 0;
}"""
SCROLLING_TABLE = '[data-testid="stMainBlockContainer"] [data-testid="stDataFrame"]'
PHONE = {"width": 390, "height": 844}


def phone_page(browser, url: str, heading: str):
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    wait_until_idle(page)
    return page


def test_the_model_card_reads_on_a_phone(server, browser):
    """The card printed raw Python dicts, and its table's narrow cells broke each number over three lines."""
    page = phone_page(browser, server, "Face masks at low resolution")
    card = page.locator('[data-testid="stExpander"]').filter(has_text="Model card")
    assert "{'" not in card.inner_text() and "(num classes 2, pretrained imagenet)" in card.inner_text()
    assert card.locator('[data-testid="stTable"]').locator("visible=true").count() == 0
    assert page.evaluate(LINES_OF, ["0.9862", "0.0059"]) == 1  # "0.9862 ± 0.0059": the score, on one line
    assert page.evaluate(LINES_OF, ["0.9865", "0.9932)"]) == 1  # "0.9865 (0.9737–0.9932)"
    # "balanced accuracy (95 % interval): 0.9880 (0.9746–0.9969)" is wider than a phone: it broke inside "0.9746"
    assert page.evaluate(LINES_OF, ["0.9880", "0.9969)"]) == 1
    page.set_viewport_size({"width": 1366, "height": 768})  # a wide screen: the card's tables as tables
    time.sleep(1)
    assert card.locator('[data-testid="stTable"]').locator("visible=true").count() == 2
    page.context.close()


def test_the_results_tables_read_on_a_phone_and_whole_on_a_wide_screen(server, browser):
    """On a phone the results tables scrolled sideways, most of each row out of view: there they stack
    their rows; a wide screen keeps every column."""
    page = phone_page(browser, f"{server}/results", "Results")
    assert page.locator(SCROLLING_TABLE).count() >= 4
    assert page.locator(SCROLLING_TABLE).locator("visible=true").count() == 0
    page.get_by_text(re.compile(r"^The \d+ rows$")).first.click()
    run = page.get_by_text(re.compile(r"^Exp\. 1: model1 batchnorm, 64 px, 30 epochs")).first
    run.wait_for(timeout=30_000)
    box = run.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    page.set_viewport_size({"width": 1366, "height": 768})
    time.sleep(1)
    assert page.locator(SCROLLING_TABLE).locator("visible=true").count() == page.locator(SCROLLING_TABLE).count()
    assert page.get_by_text(re.compile(r"^The \d+ rows$")).locator("visible=true").count() == 0
    page.context.close()


def test_the_dataset_charts_name_the_classes_in_words(server, browser):
    page = open_page(browser, f"{server}/dataset", "Dataset")
    legends = page.locator(".legendtext").all_text_contents()  # SVG text: no inner text
    assert legends and set(legends) == {"with mask", "without mask"}
    assert page.get_by_text("with_mask").count() == 0 and page.get_by_text("without_mask").count() == 0
    page.context.close()


@pytest.mark.parametrize("path,heading", [(p.address, p.shown_title) for p in APP_PAGES])
def test_two_visitors_at_once_see_a_whole_page(server, browser, path, heading):
    """Two sessions open a page at the same moment, one on a phone: each gets the whole page, no error."""
    pages = [browser.new_context(viewport=size).new_page() for size in ({"width": 1366, "height": 768}, PHONE)]
    for page in pages:
        page.goto(f"{server}/{path}", wait_until="commit")
    for page in pages:
        page.get_by_role("heading", name=heading).first.wait_for(timeout=90_000)
        wait_until_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        page.context.close()


# --- several visitors at once: the real server, many browser sessions on loopback -------------------------


def test_idle_tabs_make_the_server_do_nothing(server, browser):
    # a rerun timer in an idle tab (the webcam's stats, the Train page's progress) pushes messages every
    # second or two; with nothing to show, an idle tab receives none
    for path, heading in (("classify", "Classify"), ("train", "Train")):
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        received = []
        page.on("websocket", lambda ws, received=received: ws.on("framereceived", lambda payload: received.append(1)))
        page.goto(f"{server}/{path}")
        page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
        if path == "classify":
            page.get_by_role("tab", name="Live webcam").click()
        wait_until_idle(page)
        time.sleep(1)
        start = len(received)
        time.sleep(6)
        assert len(received) - start == 0, f"{path}: {len(received) - start} messages pushed to an idle tab in 6 s"
        context.close()


def test_many_visitors_at_once_grad_cam_uploads_and_training(server, browser, tmp_path):
    # three rounds of 4 visitors switching Grad-CAM on at the same moment and 2 uploading: before the shared
    # model was held for a whole explanation, this crashed the server for everyone
    photos = sorted((DEMO / "scenes" / "images").glob("*.jpg"))
    for round_ in range(3):
        explainers = [open_page(browser, f"{server}/classify", "Classify", height=900) for _ in range(4)]
        uploaders = [open_page(browser, f"{server}/classify", "Classify", height=900) for _ in range(2)]
        for page in uploaders:
            page.get_by_role("tab", name="Upload").click()
        for page in explainers:  # as close together as one driver can click
            page.get_by_text("Explain each face with Grad-CAM").click()
        for page, photo in zip(uploaders, photos[round_ * 2 :]):
            page.locator('input[type="file"]').first.set_input_files(str(photo))
        for page in explainers:
            page.get_by_text(re.compile(r"^face 1: ")).locator("visible=true").first.wait_for(timeout=120_000)
        for page, photo in zip(uploaders, photos[round_ * 2 :]):
            upload_panel = page.get_by_role("tabpanel", name="Upload")  # the example tab may show the same photo
            upload_panel.get_by_text(re.compile(rf"{re.escape(photo.name)}: \d+ face\(s\)")).first.wait_for(
                timeout=120_000
            )
        for page in explainers + uploaders:
            assert page.locator('[data-testid="stException"]').count() == 0
            page.context.close()
        assert urllib.request.urlopen(f"{server}/_stcore/health", timeout=5).read() == b"ok", f"round {round_}"


def test_simultaneous_start_clicks_start_one_run(server, browser):
    # the served demo trains one run at a time (LRFP_MAX_APP_RUNS=1): three visitors clicking at once get
    # one run and two refusals
    pages = [open_page(browser, f"{server}/train", "Train", height=1200) for _ in range(3)]
    for page in pages:
        page.get_by_label("Epochs").fill("3")
        page.keyboard.press("Tab")
    for page in pages:
        wait_until_idle(page)
    for page in pages:
        page.get_by_role("button", name="Start training").click()
    starters, refused = [], 0
    for page in pages:
        answer = page.get_by_text(re.compile(r"^(Started\.|\d+ run\(s\) already training)")).first
        answer.wait_for(timeout=60_000)
        if answer.inner_text().startswith("Started"):
            starters.append(page)
        else:
            refused += 1
    assert (len(starters), refused) == (1, 2)
    # public mode: only the visitor who started the run may stop it (a reload would make it nobody's; the
    # rule itself is tested in test_app_public.py). The run may also be over before its page shows it
    # running (3 epochs of the tiny set): then there is nothing to stop.
    stop = starters[0].get_by_role("button", name="Stop this run")
    try:
        stop.first.wait_for(timeout=30_000)
    except playwright.TimeoutError:
        stop = None
    assert all(
        page.get_by_role("button", name="Stop this run").count() == 0 for page in pages if page is not starters[0]
    )
    if stop is not None:
        stop.first.click()
    for page in pages:
        page.context.close()


def test_an_upload_of_too_many_files_is_refused_whole(server, browser, tmp_path):
    names = []
    for i in range(11):  # one more than the server's limit
        path = tmp_path / f"face-{i}.png"
        Image.new("RGB", (48, 48), (120 + i, 100, 90)).save(path)
        names.append(str(path))
    page = open_page(browser, f"{server}/classify", "Classify")
    page.get_by_role("tab", name="Upload").click()
    page.locator('input[type="file"]').first.set_input_files(names)
    page.get_by_text(re.compile(r"11 files sent at once; this server analyses at most 10")).wait_for(timeout=60_000)
    assert page.get_by_text(re.compile(r"face-\d+\.png: \d+ face")).count() == 0
    page.context.close()


def choose_upload(page, mode: str | None = None) -> None:
    """The Upload tab, with images treated as MODE (the radio's label) when given."""
    if mode:
        page.get_by_text(mode, exact=True).click()
        wait_until_idle(page)
    page.get_by_role("tab", name="Upload").click()


def test_a_flood_of_uploads_into_one_session_is_not_kept(server, browser, tmp_path):
    # the 30 PUTs of 19 MB to /_stcore/upload_file/<session>/<new id> were all kept in memory
    face = tmp_path / "face.png"
    Image.new("RGB", (48, 48), (120, 100, 90)).save(face)
    page = open_page(browser, f"{server}/classify", "Classify")
    choose_upload(page)
    with page.expect_request(lambda r: r.method == "PUT" and "/_stcore/upload_file/" in r.url) as sent:
        page.locator('input[type="file"]').first.set_input_files(str(face))
    session = sent.value.url.split("/_stcore/upload_file/")[1].split("/")[0]
    page.get_by_text(re.compile(r"face\.png: \d+ face")).first.wait_for(timeout=60_000)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "_streamlit_xsrf")
    data = bytes(19_000_000)
    for i in range(5):
        answer = page.request.put(
            f"{server}/_stcore/upload_file/{session}/flood-{i}",
            headers={"X-Xsrftoken": token},
            multipart={"file": {"name": f"flood-{i}.jpg", "mimeType": "image/jpeg", "buffer": data}},
        )
        assert answer.ok, answer.status
    page.get_by_text("Explain each face with Grad-CAM").click()  # the next run says what was not kept
    page.get_by_text(re.compile(r"flood-\d\.jpg was not kept: this server holds at most 40 MB")).wait_for(
        timeout=60_000
    )
    assert page.locator('[data-testid="stException"]').count() == 0
    page.context.close()


def test_a_batch_over_the_pixel_bound_is_refused_whole(server, browser, tmp_path):
    # 1-bit PNGs of 49 MP, a few KB each: files and bytes do not bound them, pixels do
    names = []
    for i in range(5):
        path = tmp_path / f"bomb-{i}.png"
        path.write_bytes(png_bomb(7000, 7000 - i))
        names.append(str(path))
    page = open_page(browser, f"{server}/classify", "Classify")
    choose_upload(page, "one face crop")
    page.locator('input[type="file"]').first.set_input_files(names)
    page.get_by_text(re.compile(r"These 5 images hold 245 megapixels; this server analyses at most 200")).wait_for(
        timeout=60_000
    )
    assert page.get_by_text(re.compile(r"bomb-\d\.png: \d+ face")).count() == 0
    page.context.close()


@pytest.mark.load
def test_a_second_visitors_photo_is_answered_while_a_big_photo_is_analysed(server, browser, tmp_path):
    # one 49 MP photo held the only upload slot; another visitor's small photo waited behind it
    big, small = tmp_path / "big.jpg", tmp_path / "small.jpg"
    scene = Image.open(SCENE).convert("RGB")
    scene.resize((8000, 6125), Image.BICUBIC).save(big, quality=85)
    scene.resize((640, 480)).save(small, quality=90)
    first, second = (open_page(browser, f"{server}/classify", "Classify") for _ in range(2))
    for page in (first, second):
        choose_upload(page, "scene: find faces")
    first.locator('input[type="file"]').first.set_input_files(str(big))
    time.sleep(0.5)
    second.locator('input[type="file"]').first.set_input_files(str(small))
    second.get_by_text(re.compile(r"small\.jpg: \d+ face\(s\)")).first.wait_for(timeout=120_000)
    assert first.get_by_text(re.compile(r"big\.jpg: \d+ face\(s\)")).count() == 0  # still being analysed
    first.get_by_text(re.compile(r"big\.jpg: \d+ face\(s\)")).first.wait_for(timeout=300_000)
    for page in (first, second):
        assert page.locator('[data-testid="stException"]').count() == 0
        page.context.close()


def test_a_visitor_waiting_for_a_turn_is_told_its_place_in_line(browser, tmp_path):
    # three visitors uploading at once saw only "Analysing…" while they were queued for 5-11 s. One upload slot
    # and a mosaic of 10,000 faces (500 analysed: seconds even on a quiet machine) make the others wait: a big
    # photo of a few faces is analysed too fast now to hold a slot for sure
    url, proc = start_server(tmp_path / "runs", LRFP_UPLOAD_SLOTS="1")
    try:
        scene = Image.open(SCENE).convert("RGB")
        photos = [face_mosaic(tmp_path, 1), tmp_path / "small-1.jpg", tmp_path / "small-2.jpg"]
        for i, path in enumerate(photos[1:]):  # photos of their own: an analysis is kept by its bytes
            scene.resize((656 + 8 * i, 492)).save(path, quality=90)
        pages = [open_page(browser, f"{url}/classify", "Classify") for _ in photos]
        for page, photo in zip(pages, photos):
            choose_upload(page, "scene: find faces")
            page.locator('input[type="file"]').first.set_input_files(str(photo))
            if photo == photos[0]:  # the mosaic holds the one slot before the others are sent
                page.get_by_text(STARTED).first.wait_for(timeout=120_000)
        second, third = (page.get_by_role("tabpanel", name="Upload") for page in pages[1:])
        second.get_by_text("Waiting for a turn (1st in line)").first.wait_for(timeout=60_000)
        third.get_by_text(re.compile(r"Waiting for a turn \((1st|2nd) in line\)")).first.wait_for(timeout=60_000)
        for page, photo in zip(pages, photos):
            page.get_by_text(re.compile(rf"{photo.stem}\.jpg: \d+ face\(s\)")).first.wait_for(timeout=300_000)
            assert page.get_by_text("Waiting for a turn").count() == 0  # the line goes once the photo is answered
            assert page.locator('[data-testid="stException"]').count() == 0
            page.context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_first_visit_after_a_start_names_the_pages_at_once(browser, tmp_path):
    # the first visit showed a blank page for seconds, its sidebar listing raw file names (app, classify, ...)
    url, proc = start_server(tmp_path / "runs")
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(url)
        nav = page.locator('[data-testid="stSidebarNav"]')
        seen, heading = [], page.get_by_role("heading", name="Face masks at low resolution")
        while heading.count() == 0 and len(seen) < 1200:  # 0.1 s apart, until the page's own title
            seen.append((nav.get_by_text("app", exact=True).count() > 0, nav.get_by_text("Overview").count() > 0))
            time.sleep(0.1)
        assert heading.count() == 1 and not any(raw for raw, _ in seen)
        assert any(named for _, named in seen)  # the pages were named while the first imports ran
        page.context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_monitor_people_table_stacks_on_a_phone(server, browser):
    """The shipped example's people per period scrolled sideways on a phone, its labels out of view."""
    heading = next(p.shown_title for p in APP_PAGES if p.address == "monitor")
    page = phone_page(browser, f"{server}/monitor", heading)
    wide = page.locator(f'[class*="st-key-wide_people_per_period"] {SCROLLING_TABLE.split()[-1]}')
    wide.first.wait_for(state="attached", timeout=60_000)
    assert wide.locator("visible=true").count() == 0
    stacked = page.locator('[class*="st-key-narrow_people_per_period"]')
    assert stacked.locator("visible=true").count() == 1
    stacked.get_by_text(re.compile(r"^The \d+ rows$")).click()  # a long stack opens folded
    stacked.get_by_text("compliance", exact=False).first.wait_for(timeout=30_000)
    box = stacked.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    page.set_viewport_size({"width": 1366, "height": 768})
    time.sleep(1)
    assert wide.locator("visible=true").count() == 1 and stacked.locator("visible=true").count() == 0
    page.context.close()
