"""A demo's audience on loopback: the real Streamlit server and many headless Chromium sessions.

    python benchmarks/load_test.py [--root DIR] [--uploaders 6] [--gradcam 2] [--idle 3] [--out FILE.json]

1. idle: with no browser, then with IDLE Classify tabs and IDLE Train tabs open and nothing
   happening, the server's CPU (share of one core) over --idle-seconds each;
2. load: UPLOADERS sessions upload a different ~2 MB street photo at the same moment, GRADCAM
   sessions switch Grad-CAM on (off and on --gradcam-rounds times) on the example photo at the same
   moment, one idle Classify and one idle Train tab stay open, and one more visitor opens the
   Results page a second later. Recorded: each session's time to answer, the page load, errors
   (exception boxes, answers that never came within --answer-timeout), whether the server died,
   its peak memory (VmHWM) and its memory once every tab has closed.

Loopback only (127.0.0.1), a bounded number of sessions, every wait bounded: the run stops by
itself. --root runs the app of another checkout (e.g. a worktree of an older commit) for a
before/after comparison on the same machine in one session.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "demo" / "scenes" / "images"
CLK = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, str(ROOT / "tests"))  # the e2e tests start and watch the server the same way
from helpers import BUSY, free_port, serve_checkout, wait_until_healthy  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / CLK


def core_share(pid: int, seconds: float) -> float:
    """The server's CPU use over `seconds`, as a share of one core."""
    start_cpu, start = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.perf_counter() - start)


def big_photos(folder: Path, n: int, target_mb: float = 2.0) -> list[Path]:
    """n different street photos, each enlarged until its JPEG is about target_mb (a phone photo's size)."""
    sources = sorted(SCENES.glob("*.jpg"))
    out = []
    for i in range(n):
        image = Image.open(sources[i % len(sources)]).convert("RGB")
        scale = 2.0
        while True:
            big = image.resize((int(image.width * scale), int(image.height * scale)), Image.BICUBIC)
            buf = io.BytesIO()
            big.save(buf, "JPEG", quality=95)
            if buf.tell() >= target_mb * 1e6 or scale > 12:
                break
            scale *= 1.25
        path = folder / f"street-{i + 1}.jpg"
        path.write_bytes(buf.getvalue())
        out.append(path)
    return out


class Server:
    def __init__(self, root: Path, runs: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = os.environ | {"LRFP_RUNS": str(runs), "LRFP_ICE_SERVERS": "[]", "PYTHONPATH": str(root)}
        self.log = tempfile.TemporaryFile()
        self.proc = serve_checkout(root, self.port, env, self.log)
        if not wait_until_healthy(self.url, self.proc, timeout=120):
            raise RuntimeError("the server did not start: " + self.output()[-2000:])

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def wait_idle(page, timeout: float) -> None:
    """Until the script run is over: no 'running' indicator and no skeletons, twice in a row."""
    deadline, calm = time.perf_counter() + timeout, 0
    while time.perf_counter() < deadline and calm < 2:
        calm = calm + 1 if await page.locator(BUSY).count() == 0 else 0
        await asyncio.sleep(0.5)


async def open_tab(browser, url: str, heading: str, timeout: float):
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    start = time.perf_counter()
    await page.goto(url, timeout=timeout * 1000)
    await page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout * 1000)
    await wait_idle(page, timeout)
    return page, time.perf_counter() - start


async def errors_on(page) -> int:
    try:
        return await page.locator('[data-testid="stException"]').count()
    except Exception:  # noqa: BLE001 - a page whose server died counts as one error
        return 1


async def uploader(browser, url, photo: Path, ready, go, timeout) -> dict:
    page, _ = await open_tab(browser, f"{url}/classify", "Classify", timeout)
    await page.get_by_role("tab", name="Upload").click()
    ready.release()
    await go.wait()
    start = time.perf_counter()
    answer = None
    try:
        await page.locator('input[type="file"]').first.set_input_files(str(photo))
        await page.get_by_text(re.compile(rf"{re.escape(photo.name)}: \d+ face\(s\)")).first.wait_for(
            timeout=timeout * 1000
        )
        answer = time.perf_counter() - start
    except Exception:  # noqa: BLE001 - recorded as no answer
        pass
    return {"kind": "upload", "seconds": answer, "errors": await errors_on(page), "page": page}


async def gradcam(browser, url, rounds: int, ready, go, timeout) -> dict:
    page, _ = await open_tab(browser, f"{url}/classify", "Classify", timeout)
    await page.get_by_text(re.compile(r"\.jpg: \d+ face\(s\)")).first.wait_for(timeout=timeout * 1000)
    ready.release()
    await go.wait()
    toggle = page.get_by_text("Explain each face with Grad-CAM")
    times = []
    try:
        for r in range(rounds):
            start = time.perf_counter()
            await toggle.click()  # on
            await page.get_by_text(re.compile(r"^face 1: ")).first.wait_for(timeout=timeout * 1000)
            times.append(time.perf_counter() - start)
            if r < rounds - 1:
                await toggle.click()  # off
                await wait_idle(page, timeout)
    except Exception:  # noqa: BLE001 - recorded as no answer
        times.append(None)
    return {
        "kind": "gradcam",
        "seconds": max(times) if times and None not in times else None,
        "rounds": times,
        "errors": await errors_on(page),
        "page": page,
    }


async def late_visitor(browser, url, go, timeout) -> dict:
    await go.wait()
    await asyncio.sleep(1.0)
    try:
        page, seconds = await open_tab(browser, f"{url}/results", "Results", timeout)
        return {"kind": "page load (Results)", "seconds": seconds, "errors": await errors_on(page), "page": page}
    except Exception:  # noqa: BLE001 - recorded as no answer
        return {"kind": "page load (Results)", "seconds": None, "errors": 1, "page": None}


def monitor_memory(pid: int, stop: threading.Event, samples: list[int]) -> None:
    while not stop.is_set():
        try:
            samples.append(status_kb(pid, "VmRSS"))
        except OSError:
            return
        stop.wait(0.25)


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    work = Path(tempfile.mkdtemp(prefix="lrfp-load-"))
    photos = big_photos(work, args.uploaders)
    server = Server(Path(args.root).resolve(), work / "runs")
    pid = server.proc.pid
    report: dict = {
        "root": str(Path(args.root).resolve()),
        "machine": platform.processor() or platform.machine(),
        "cpu_model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "?",
        ),
        "cores": os.cpu_count(),
        "photo_mb": [round(p.stat().st_size / 1e6, 2) for p in photos],
    }
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-extensions"],
            )
            # warm the models once, as a first visitor would
            page, report["first_load_s"] = await open_tab(
                browser, f"{server.url}/", "Face masks at low resolution", 300
            )
            await page.context.close()
            report["idle_no_tabs_core"] = core_share(pid, args.idle_seconds)
            idle_pages = []
            for _ in range(args.idle):
                idle_pages.append((await open_tab(browser, f"{server.url}/classify", "Classify", 120))[0])
            await asyncio.sleep(2)
            report["idle_classify_tabs"] = args.idle
            report["idle_classify_core"] = await asyncio.to_thread(core_share, pid, args.idle_seconds)
            for page in idle_pages[1:]:
                await page.context.close()
            train_pages = []
            for _ in range(args.idle):
                train_pages.append((await open_tab(browser, f"{server.url}/train", "Train", 120))[0])
            await asyncio.sleep(2)
            report["idle_train_and_one_classify_core"] = await asyncio.to_thread(core_share, pid, args.idle_seconds)
            for page in train_pages[1:]:
                await page.context.close()
            idle_pages = idle_pages[:1] + train_pages[:1]

            # the load: everyone at once
            report["rss_before_load_mb"] = round(status_kb(pid, "VmRSS") / 1024)
            samples: list[int] = []
            stop = threading.Event()
            watcher = threading.Thread(target=monitor_memory, args=(pid, stop, samples), daemon=True)
            watcher.start()
            n = args.uploaders + args.gradcam
            ready, go = asyncio.Semaphore(0), asyncio.Event()
            tasks = [
                asyncio.create_task(uploader(browser, server.url, photo, ready, go, args.answer_timeout))
                for photo in photos
            ]
            tasks += [
                asyncio.create_task(gradcam(browser, server.url, args.gradcam_rounds, ready, go, args.answer_timeout))
                for _ in range(args.gradcam)
            ]
            tasks.append(asyncio.create_task(late_visitor(browser, server.url, go, args.answer_timeout)))
            for _ in range(n):
                await asyncio.wait_for(ready.acquire(), timeout=600)
            spy = None
            if args.profile:  # where the server's own time goes while everyone waits (py-spy, not a dependency)
                spy = subprocess.Popen(
                    ["py-spy", "record", "-p", str(pid), "--gil", "-r", "50", "-f", "raw", "-o", str(args.profile)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                await asyncio.sleep(1)
            load_start, server_cpu, machine_cpu = time.perf_counter(), cpu_seconds(pid), machine_busy_seconds()
            go.set()
            results = await asyncio.gather(*tasks)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
            report["load_wall_s"] = round(time.perf_counter() - load_start, 1)
            if server.alive():  # where the two cores went: the server, or the browsers and the rest
                report["load_server_cpu_s"] = round(cpu_seconds(pid) - server_cpu, 1)
            report["load_machine_cpu_s"] = round(machine_busy_seconds() - machine_cpu, 1)
            stop.set()
            report["sessions"] = [{k: v for k, v in r.items() if k != "page"} for r in results]
            report["sessions_open_during_load"] = len(results) + len(idle_pages)
            report["errors"] = sum(r["errors"] for r in results) + sum([await errors_on(p) for p in idle_pages])
            report["unanswered"] = sum(r["seconds"] is None for r in results)
            report["server_alive"] = server.alive()
            report["peak_rss_mb"] = round(status_kb(pid, "VmHWM") / 1024) if server.alive() else None
            report["rss_during_load_max_mb"] = round(max(samples) / 1024) if samples else None
            for r in results:
                if r["page"] is not None:
                    await r["page"].context.close()
            for page in idle_pages:
                await page.context.close()
            await browser.close()
        if server.alive():
            await asyncio.sleep(args.settle)
            report["rss_after_tabs_closed_mb"] = round(status_kb(pid, "VmRSS") / 1024)
    finally:
        log = server.output()
        report["server_alive_at_end"] = server.alive()
        report["server_exit_code"] = server.proc.poll()
        report["server_tracebacks"] = log.count("Traceback")
        report["server_log_tail"] = log[-1500:]
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return report


def summary(report: dict) -> str:
    def secs(kind):
        values = [r["seconds"] for r in report.get("sessions", []) if r["kind"].startswith(kind)]
        shown = ["–" if v is None else f"{v:.1f}" for v in values]
        return ", ".join(shown) or "–"

    idle = report.get("idle_classify_tabs", 0) or 1
    per_tab = (report.get("idle_classify_core", 0) - report.get("idle_no_tabs_core", 0)) / idle * 100
    lines = [
        f"cpu: {report['cpu_model']} ({report['cores']} cores); app: {report['root']}",
        f"idle server, no tabs: {report.get('idle_no_tabs_core', 0) * 100:.1f} % of a core",
        f"{idle} idle Classify tabs: {report.get('idle_classify_core', 0) * 100:.1f} % of a core "
        f"({per_tab:.1f} % per tab)",
        f"idle Train tabs + one Classify tab: {report.get('idle_train_and_one_classify_core', 0) * 100:.1f} % of a core",
        f"uploads answered in (s): {secs('upload')}",
        f"grad-cam answered in (s, slowest round): {secs('gradcam')}",
        f"Results page loaded meanwhile in (s): {secs('page')}",
        f"load phase: {report.get('load_wall_s')} s wall, server CPU {report.get('load_server_cpu_s')} s, "
        f"whole machine {report.get('load_machine_cpu_s')} CPU s",
        f"errors: {report.get('errors')}, unanswered: {report.get('unanswered')}, "
        f"server alive: {report.get('server_alive_at_end')} (exit code {report.get('server_exit_code')})",
        f"memory before the load: {report.get('rss_before_load_mb')} MB; peak: {report.get('peak_rss_mb')} MB; after every tab closed: {report.get('rss_after_tabs_closed_mb')} MB",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose app.py is served")
    parser.add_argument("--uploaders", type=int, default=6)
    parser.add_argument("--gradcam", type=int, default=2)
    parser.add_argument("--gradcam-rounds", type=int, default=3)
    parser.add_argument("--idle", type=int, default=3, help="idle Classify tabs, then idle Train tabs, measured")
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument(
        "--answer-timeout", type=float, default=180, help="seconds after which an answer counts as none"
    )
    parser.add_argument(
        "--settle", type=float, default=15, help="seconds after the last tab closed before memory is read"
    )
    parser.add_argument("--out", type=Path, help="write the full report as JSON here")
    parser.add_argument("--profile", type=Path, help="record the server with py-spy during the load (raw stacks)")
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    print(summary(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
