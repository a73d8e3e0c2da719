"""One upload of a photo with 10,000 faces on the real server: its memory, and what the visitor sees.

    python benchmarks/upload_memory.py [--root DIR] [--scenarios one two] [--out FILE.json]

The photo is a 3200x3200 JPEG mosaic (about 4 MB) of 32 px faces: real face crops of the demo set
(demo/fmd853-lr), tiled 100 x 100. Each scenario starts a fresh server (`streamlit run app.py` of ROOT)
and opens the Classify page in headless Chromium:

- one: one visitor uploads the mosaic in scene mode;
- two: two visitors upload it at the same moment, and a third visitor uploads a 640x480 photo 5 s later.

Recorded per scenario: the server's resident memory before the upload, its peak (VmHWM, and sampled every
0.25 s) until every answer came, and every 10 s for a minute after the last answer (the tabs still open,
their analyses kept); each visitor's time to answer, the page's summary line (how many faces were analysed
of how many found) and the status lines it showed while it waited. A server passing --rss-limit-mb is
stopped (recorded as such), so a run of an old checkout cannot take the machine's memory.

Loopback only, every wait bounded. --root serves another checkout (a worktree of an older commit) for a
before/after comparison on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the load test's server and tab helpers
sys.path.insert(0, str(HERE.parent / "tests"))  # the face mosaic the browser test uploads too
from helpers import face_mosaic  # noqa: E402
from load_test import ROOT, SCENES, Server, errors_on, open_tab, status_kb  # noqa: E402

# what the Classify page shows while a photo waits and is analysed (lrfp.app.waiting), where it shows them
STATUS = re.compile(r"Waiting for a turn|Your turn|Classifying faces|Drawing the boxes")


def small_photo(folder: Path) -> Path:
    path = folder / "small-640.jpg"
    Image.open(sorted(SCENES.glob("*.jpg"))[1]).convert("RGB").resize((640, 480)).save(path, quality=90)
    return path


async def visitor(server: Server, browser, photo: Path, go: asyncio.Event, delay: float, timeout: float) -> dict:
    """One visitor on the Classify page: PHOTO uploaded in scene mode DELAY s after GO, until its summary shows
    (or the server has ended); the status lines seen meanwhile."""
    page, _ = await open_tab(browser, f"{server.url}/classify", "Classify", timeout)
    await page.get_by_text("scene: find faces", exact=True).click()
    await page.get_by_role("tab", name="Upload").click()
    await go.wait()
    await asyncio.sleep(delay)
    start, answered, seen, summary = time.perf_counter(), None, [], None
    panel = page.get_by_role("tabpanel", name="Upload")
    answer = panel.get_by_text(re.compile(rf"{re.escape(photo.name)}: \d+ face\(s\)|{re.escape(photo.name)} was not"))
    try:
        await page.locator('input[type="file"]').first.set_input_files(str(photo))
        while time.perf_counter() - start < timeout and server.alive():
            if await answer.count():
                answered = time.perf_counter() - start
                summary = await answer.first.inner_text()
                break
            for line in await panel.get_by_text(STATUS).all_inner_texts():
                if line not in seen:
                    seen.append(line)
            await asyncio.sleep(0.25)
    except Exception as exc:  # noqa: BLE001 - recorded as no answer
        seen.append(f"benchmark error: {type(exc).__name__}")
    return {
        "photo": photo.name,
        "answered_s": None if answered is None else round(answered, 1),
        "summary": summary,
        "status_lines_seen": seen,
        "errors": await errors_on(page),
        "page": page,
    }


def watch_memory(server: Server, stop: threading.Event, samples: list[int], limit_mb: float) -> None:
    """RSS every 0.25 s; the server is stopped when it passes LIMIT_MB."""
    while not stop.is_set():
        try:
            samples.append(status_kb(server.proc.pid, "VmRSS"))
        except OSError:
            return
        if samples[-1] / 1024 > limit_mb:
            server.stop()
            return
        stop.wait(0.25)


async def scenario(browser_type, args, work: Path, name: str) -> dict:
    mosaics = sorted(work.glob("mosaic-*.jpg"))
    photos = [(mosaics[0], 0.0)] if name == "one" else [(m, 0.0) for m in mosaics] + [(small_photo(work), 5.0)]
    server = Server(Path(args.root).resolve(), work / f"runs-{name}")
    pid, report = server.proc.pid, {}
    browser = await browser_type.launch(
        executable_path=shutil.which("chromium") or "/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-extensions"],
    )
    try:
        go = asyncio.Event()
        tasks = [asyncio.create_task(visitor(server, browser, p, go, d, args.timeout)) for p, d in photos]
        await asyncio.sleep(15 + 5 * len(photos))  # every tab open and idle
        report["rss_before_mb"] = round(status_kb(pid, "VmRSS") / 1024)
        samples: list[int] = []
        stop = threading.Event()
        threading.Thread(target=watch_memory, args=(server, stop, samples, args.rss_limit_mb), daemon=True).start()
        go.set()
        visitors = await asyncio.gather(*tasks)
        stop.set()
        report["stopped_over_limit_mb"] = (
            args.rss_limit_mb if samples and samples[-1] / 1024 > args.rss_limit_mb else None
        )
        report["rss_max_sampled_mb"] = round(max(samples) / 1024) if samples else None
        report["peak_rss_mb"] = round(status_kb(pid, "VmHWM") / 1024) if server.alive() else None
        after = []
        for _ in range(6):
            await asyncio.sleep(10)
            after.append(round(status_kb(pid, "VmRSS") / 1024) if server.alive() else None)
        report["rss_each_10s_after_the_answers_mb"] = after
        report["visitors"] = [{k: v for k, v in v.items() if k != "page"} for v in visitors]
    finally:
        log = server.output()
        report["server_tracebacks"] = log.count("Traceback")
        report["server_alive_at_end"] = server.alive()
        report["server_exit_code"] = server.proc.poll()
        report["server_log_tail"] = log[-1500:] if not server.alive() else ""
        server.stop()
        await browser.close()
    return report


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    work = Path(tempfile.mkdtemp(prefix="lrfp-upload-memory-"))
    mosaic = face_mosaic(work, 1)
    face_mosaic(work, 2)
    report: dict = {
        "command": " ".join(["python", *sys.argv]),
        "root": str(Path(args.root).resolve()),
        "photo": {"side_px": 3200, "face_px": 32, "faces_tiled": (3200 // 32) ** 2, "bytes": mosaic.stat().st_size},
        "cores": os.cpu_count(),
        "load_avg_at_start": os.getloadavg(),
    }
    try:
        async with async_playwright() as p:
            for name in args.scenarios:
                report[name] = await scenario(p.chromium, args, work, name)
    finally:
        report["load_avg_at_end"] = os.getloadavg()
        shutil.rmtree(work, ignore_errors=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose app.py is served")
    parser.add_argument("--scenarios", nargs="+", choices=["one", "two"], default=["one", "two"])
    parser.add_argument("--timeout", type=float, default=600, help="seconds after which an answer counts as none")
    parser.add_argument("--rss-limit-mb", type=float, default=9000, help="the server is stopped past this")
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
