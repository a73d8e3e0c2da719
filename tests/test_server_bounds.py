"""What a visitor that is a script (tests/forged_client.py) can leave in the real server: the upload bound is in
place before any page run, a forged rerun over the message bound is refused, and the files of a session that has
left are dropped (issue 34, cases 3, 6 and 11)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from forged_client import ForgedVisitor, rerun
from helpers import free_port, serve_checkout, wait_until_healthy
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from lrfp.app import upload_bounds
from lrfp.app.ui import MODEL_KEY

ROOT = Path(__file__).resolve().parents[1]
PHOTO_BYTES = 19_500_000  # the uploads: 19.5 MB each, under maxUploadSize (20 MiB)


@pytest.fixture
def server(tmp_path):
    """`streamlit run app.py` of this checkout, fresh: no page has run in it yet. (url, its output file)."""
    port, log = free_port(), tmp_path / "server.log"
    with log.open("w") as out:
        proc = serve_checkout(ROOT, port, os.environ | {"LRFP_RUNS": str(tmp_path / "runs")}, out)
        url = f"http://127.0.0.1:{port}"
        try:
            if not wait_until_healthy(url, proc, timeout=120):
                pytest.fail("streamlit did not start: " + log.read_text()[-2000:])
            yield url, log
        finally:
            proc.terminate()
            proc.wait(timeout=30)


pytestmark = pytest.mark.slow


def test_uploads_sent_before_the_first_page_run_ends_are_bounded(server):
    """The first visitor of a fresh server PUTs three 19.5 MB files while its first page run still imports the
    app: the third is over the 40 MB a visitor may hold, and is not kept (the bound was set by that page run's
    end before; files sent earlier were all kept)."""
    url, log = server

    async def visit() -> bool:
        visitor = await ForgedVisitor(url).open()
        statuses = [visitor.put_file(f"f{i}.jpg", os.urandom(PHOTO_BYTES)) for i in range(3)]
        early = not visitor.finished.is_set()
        assert statuses == [204] * 3
        await asyncio.wait_for(visitor.finished.wait(), 180)
        await visitor.close()
        return early

    assert asyncio.run(visit()), "the page run ended before the uploads: the test proves nothing"
    assert "f2.jpg was not kept: this server holds at most 40 MB" in log.read_text()


def test_a_forged_rerun_over_the_message_bound_is_refused_and_pages_still_run(server):
    """A rerun carrying 24 MB of widget values (the model picker's key, an unknown id) is refused at the
    websocket (1009, message too big) before it becomes a session's state; an ordinary visitor's page runs."""
    url, _ = server

    async def visit() -> tuple[list, str | None, bool]:
        refused = []
        for widget in (MODEL_KEY, "no-such-widget"):
            forged = await ForgedVisitor(url).open(rerun(24_000_000, widget))
            refused.append((forged.closed_code, forged.session_id))
            await forged.close()
        plain = await ForgedVisitor(url).open()
        await asyncio.wait_for(plain.finished.wait(), 180)
        await plain.close()
        return refused, plain.session_id, plain.finished.is_set()

    refused, session, finished = asyncio.run(visit())
    assert refused == [(1009, None), (1009, None)]
    assert session and finished


def test_the_files_of_a_session_that_has_left_are_dropped_after_a_grace():
    store = MemoryUploadedFileManager("/_stcore/upload_file")
    for session in ("left", "here"):
        store.add_file(session, UploadedFileRec(file_id="f", name="f.jpg", type="image/jpeg", data=b"x" * 1000))
    active, gone_since = {"here"}.__contains__, {}
    assert upload_bounds.drop_left_sessions(store, active, gone_since, now=100.0) == []  # just left: kept
    later = 100.0 + upload_bounds.LEFT_FILES_S
    assert upload_bounds.drop_left_sessions(store, active, gone_since, now=later) == ["left"]
    assert set(store.file_storage) == {"here"} and gone_since == {}


def test_lrfp_app_serves_the_same_bounded_server(tmp_path):
    """`lrfp app` hands streamlit the entry whose import defines the st.App with the bound (and the settings
    file's maxMessageSize), as app.py does."""
    from lrfp.core import paths

    found = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import runpy; print(type(runpy.run_path({str(paths.APP_ENTRY)!r}, run_name='x')['app']))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "streamlit" in found.stdout and ".App" in found.stdout
    assert "maxMessageSize = 4" in paths.STREAMLIT_CONFIG.read_text()
