"""Per-visitor bounds on the real server: first visit, a fair upload queue, memory under many uploaders.

    python benchmarks/visitor_bounds.py [--root DIR] [--visitors 8] [--out FILE.json]

1. first visit after a start: seconds until the page's title, and until the sidebar lists the
   pages by their names (and whether raw file names such as 'app' were shown meanwhile);
2. fairness: visitor A uploads a 49 MP photo in scene mode; one second later visitor B uploads a
   640x480 photo. Recorded: B's and A's time to answer;
3. memory: VISITORS sessions each upload, at the same moment and in 'one face crop' mode, 3 small
   7000x7000 1-bit PNGs (different per visitor) and a 2 MB street photo (under the 200 megapixels a
   batch may hold since issue 27). Recorded: the server's
   resident memory before, its peak during (VmHWM) and its memory each 10 s for a minute after every
   tab has closed; answers that never came, exception boxes, tracebacks in the server's log.

Loopback only, every wait bounded. --root serves another checkout (e.g. a worktree of an older
commit) for a before/after comparison on the same machine.
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

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the load test's server and tab helpers
from load_test import ROOT, SCENES, Server, big_photos, errors_on, monitor_memory, open_tab, status_kb  # noqa: E402

TITLE = "Face masks at low resolution"


async def first_visit(browser, url: str, timeout: float) -> dict:
    """Seconds until the title, and until the sidebar names the pages; raw file names seen meanwhile."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    start = time.perf_counter()
    await page.goto(url, timeout=timeout * 1000)
    title = nav = None
    raw_seen = False
    nav_links = page.locator('[data-testid="stSidebarNav"]')
    while time.perf_counter() - start < timeout and (title is None or nav is None):
        if title is None and await page.get_by_role("heading", name=TITLE).count():
            title = time.perf_counter() - start
        if await nav_links.get_by_text("app", exact=True).count():
            raw_seen = True
        if nav is None and await nav_links.get_by_text("Overview", exact=True).count():
            nav = time.perf_counter() - start
        await asyncio.sleep(0.1)
    await context.close()
    return {"title_s": title, "named_pages_s": nav, "raw_file_names_shown": raw_seen}


async def upload(
    browser,
    url: str,
    files: list[Path],
    expect: list[str],
    timeout: float,
    mode: str | None = None,
    go: asyncio.Event | None = None,
    delay: float = 0.0,
) -> dict:
    """One visitor on the Classify page: FILES uploaded (after GO and DELAY), until every name in EXPECT is answered."""
    page, _ = await open_tab(browser, f"{url}/classify", "Classify", timeout)
    if mode:
        await page.get_by_text(mode, exact=True).click()
    await page.get_by_role("tab", name="Upload").click()
    if go is not None:
        await go.wait()
    await asyncio.sleep(delay)
    start, answered = time.perf_counter(), None
    try:
        await page.locator('input[type="file"]').first.set_input_files([str(f) for f in files])
        panel = page.get_by_role("tabpanel", name="Upload")
        for name in expect:
            await panel.get_by_text(
                re.compile(rf"{re.escape(name)}: \d+ face\(s\)|{re.escape(name)} was not")
            ).first.wait_for(timeout=timeout * 1000)
        answered = time.perf_counter() - start
    except Exception:  # noqa: BLE001 - recorded as no answer
        pass
    return {"seconds": answered, "errors": await errors_on(page), "page": page}


def tiny_huge_pngs(folder: Path, visitor: int, n: int = 3, side: int = 7000) -> list[Path]:
    """N 1-bit PNGs of side x side px, a few KB each, different from every other visitor's."""
    out = []
    for i in range(n):
        image = Image.new("1", (side, side))
        ImageDraw.Draw(image).rectangle((visitor * 50, i * 50, visitor * 50 + 40, i * 50 + 40), fill=1)
        path = folder / f"v{visitor}-bomb{i}.png"
        image.save(path, optimize=True)
        out.append(path)
    return out


def photo_49mp(folder: Path) -> Path:
    path = folder / "big-49mp.jpg"
    source = sorted(SCENES.glob("*.jpg"))[0]
    Image.open(source).convert("RGB").resize((8000, 6125), Image.BICUBIC).save(path, quality=85)
    return path


def small_photo(folder: Path) -> Path:
    path = folder / "small-640.jpg"
    Image.open(sorted(SCENES.glob("*.jpg"))[1]).convert("RGB").resize((640, 480)).save(path, quality=90)
    return path


async def fairness(browser, url: str, folder: Path, timeout: float) -> dict:
    big, small = photo_49mp(folder), small_photo(folder)
    go = asyncio.Event()
    a = asyncio.create_task(upload(browser, url, [big], [big.name], timeout, "scene: find faces", go))
    b = asyncio.create_task(upload(browser, url, [small], [small.name], timeout, "scene: find faces", go, delay=1.0))
    await asyncio.sleep(20)  # both tabs open and idle
    go.set()
    results = await asyncio.gather(a, b)
    for r in results:
        await r["page"].context.close()
    return {
        "big_photo_bytes": big.stat().st_size,
        "big_answered_s": results[0]["seconds"],
        "small_answered_s": results[1]["seconds"],
        "errors": sum(r["errors"] for r in results),
    }


async def many_uploaders(browser, server: Server, folder: Path, visitors: int, timeout: float) -> dict:
    pid = server.proc.pid
    streets = big_photos(folder, visitors)
    batches = [tiny_huge_pngs(folder, v) + [streets[v]] for v in range(visitors)]
    go = asyncio.Event()
    tasks = [
        asyncio.create_task(upload(browser, server.url, files, [f.name for f in files], timeout, "one face crop", go))
        for files in batches
    ]
    await asyncio.sleep(10 + 3 * visitors)  # every tab open
    report = {"rss_before_mb": round(status_kb(pid, "VmRSS") / 1024)}
    samples: list[int] = []
    stop = threading.Event()
    threading.Thread(target=monitor_memory, args=(pid, stop, samples), daemon=True).start()
    start = time.perf_counter()
    go.set()
    results = await asyncio.gather(*tasks)
    report["wall_s"] = round(time.perf_counter() - start, 1)
    stop.set()
    report["answered_s"] = [None if r["seconds"] is None else round(r["seconds"], 1) for r in results]
    report["unanswered"] = sum(r["seconds"] is None for r in results)
    report["errors"] = sum(r["errors"] for r in results)
    report["rss_max_during_mb"] = round(max(samples) / 1024) if samples else None
    report["peak_rss_mb"] = round(status_kb(pid, "VmHWM") / 1024)
    for r in results:
        await r["page"].context.close()
    after = []
    for _ in range(6):
        await asyncio.sleep(10)
        after.append(round(status_kb(pid, "VmRSS") / 1024))
    report["rss_each_10s_after_leaving_mb"] = after
    return report


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    work = Path(tempfile.mkdtemp(prefix="lrfp-bounds-"))
    started = time.perf_counter()
    server = Server(Path(args.root).resolve(), work / "runs")
    report: dict = {
        "command": " ".join(["python", *sys.argv]),
        "root": str(Path(args.root).resolve()),
        "cores": os.cpu_count(),
        "load_avg_at_start": os.getloadavg(),
        "server_healthy_s": round(time.perf_counter() - started, 1),
    }
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-extensions"],
            )
            report["first_visit"] = await first_visit(browser, server.url, args.timeout)
            report["fairness"] = await fairness(browser, server.url, work, args.timeout)
            report["many_uploaders"] = await many_uploaders(browser, server, work, args.visitors, args.timeout)
            await browser.close()
    finally:
        log = server.output()
        report["server_alive_at_end"] = server.alive()
        report["server_tracebacks"] = log.count("Traceback")
        report["server_log_tail"] = log[-1500:]
        report["load_avg_at_end"] = os.getloadavg()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose app.py is served")
    parser.add_argument("--visitors", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300, help="seconds after which an answer counts as none")
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    print(json.dumps({k: v for k, v in report.items() if k != "server_log_tail"}, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
