"""Screenshots of the served dashboard in Debian's headless Chromium (Playwright), as a visitor sees it.

    python tools/screenshots.py [--out test-output/screenshots] [--sizes 1366x768,390x844] [--pages classify,results]
    python tools/screenshots.py --readme      # docs/images/dashboard.png, the README's picture

The dashboard is served from this checkout with the shipped demo data only (as the browser test serves it),
on a free loopback port, and stopped at the end. Each page is opened at its own address, waited for until
its script run is over, and shot: the first screen (what a visitor sees without scrolling), and with
--scroll-to SELECTOR the screen with each visible element that matches scrolled into view (Streamlit's page
scrolls inside its own container, so a full-page shot holds only the first screen). Every answer of 400 or more that the browser got is printed (the page's
address and the URL asked), and every error in the browser's console. The server's log is kept beside the pictures (server.log).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lrfp.app.frame import PAGES as APP_PAGES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # served as the browser tests serve it
from helpers import BUSY, free_port, serve_checkout, wait_until_healthy  # noqa: E402

DEMO = ROOT / "demo"
# the dashboard's pages (lrfp.app.frame.PAGES) by name: (their address, their heading)
PAGES = {p.url_path: (p.address, p.shown_title) for p in APP_PAGES}


def serve(log: Path, timeout: float) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = os.environ | {
        "LRFP_DATA": str(DEMO / "fmd853-lr"),
        "LRFP_SOURCE": str(DEMO / "scenes"),
        "LRFP_ICE_SERVERS": "[]",
    }
    proc = serve_checkout(ROOT, port, env, log.open("w"))
    url = f"http://127.0.0.1:{port}"
    if wait_until_healthy(url, proc, timeout):
        return url, proc
    proc.kill()
    raise SystemExit(f"the dashboard did not start; see {log}")


def settle(page, timeout: float) -> None:
    """Until the page's script run is over (no busy sign twice in a row), then a moment for plotly to draw."""
    deadline, calm = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and calm < 2:
        calm = calm + 1 if page.locator(BUSY).count() == 0 else 0
        time.sleep(0.5)
    time.sleep(1.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "test-output" / "screenshots"))
    parser.add_argument("--sizes", default="1366x768,390x844", help="viewports, WIDTHxHEIGHT,...")
    parser.add_argument("--pages", default=",".join(PAGES), help=f"some of {', '.join(PAGES)}")
    parser.add_argument(
        "--scroll-to",
        help="also a shot with each element matching this CSS selector in view, e.g. '[data-testid=\"stDataFrame\"]'",
    )
    parser.add_argument("--readme", action="store_true", help="only the README's picture, docs/images/dashboard.png")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the server and each page")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    url, proc = serve(out / "server.log", args.timeout)
    shots = (
        [("classify", 1366, 768, ROOT / "docs" / "images" / "dashboard.png")]
        if args.readme
        else [
            (name, int(w), int(h), out / f"{name}-{w}x{h}.png")
            for name in args.pages.split(",")
            for w, h in (size.split("x") for size in args.sizes.split(","))
        ]
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            for name, width, height, path in shots:
                address, heading = PAGES[name]
                context = browser.new_context(
                    viewport={"width": width, "height": height}, device_scale_factor=2 if width < 600 else 1
                )
                page = context.new_page()
                page.on("response", lambda r, name=name: r.status >= 400 and print(f"{name}: {r.status} {r.url}"))
                page.on("console", lambda m, name=name: m.type == "error" and print(f"{name}: console: {m.text}"))
                page.goto(f"{url}/{address}", timeout=args.timeout * 1000)
                page.get_by_role("heading", name=heading).first.wait_for(timeout=args.timeout * 1000)
                settle(page, args.timeout)
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path))
                print(f"wrote {path}")
                for i, element in enumerate(
                    page.locator(args.scroll_to).locator("visible=true").all() if args.scroll_to else []
                ):
                    element.scroll_into_view_if_needed()
                    time.sleep(1)
                    page.screenshot(path=str(path.with_stem(f"{path.stem}-{i + 1}")))
                    print(f"wrote {path.with_stem(f'{path.stem}-{i + 1}')}")
                context.close()
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
