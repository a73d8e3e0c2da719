"""What the dashboard's server does once, when it starts and before any visitor can connect.

Streamlit's documented hook for this is st.App's lifespan: the entry scripts (the checkout's app.py, and
lrfp/app/serve/main.py that `lrfp app` serves) define `app = st.App(<themselves>, lifespan=server_start)`
when the server imports them, and are the page script when a visitor's page runs them as __main__.
A page run comes too late for a bound: a visitor's session exists, and takes files at
/_stcore/upload_file/<session>/<id>, as soon as its websocket is open, before (or without) any page run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from streamlit.runtime import Runtime

from lrfp.app.upload_bounds import SWEEP_S, bound_store, drop_left_sessions


@asynccontextmanager
async def server_start(_app) -> AsyncIterator[None]:
    """st.App's lifespan: the uploaded-file store bounded per visitor (lrfp.app.upload_bounds) before the server
    takes its first request, and the files of visitors who have left swept while it serves."""
    runtime = Runtime.instance()
    bound_store(runtime.uploaded_file_mgr)
    sweeper = asyncio.create_task(_sweep(runtime))
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper


async def _sweep(runtime: Runtime) -> None:
    gone_since: dict[str, float] = {}
    while True:
        await asyncio.sleep(SWEEP_S)
        drop_left_sessions(runtime.uploaded_file_mgr, runtime.is_active_session, gone_since, time.monotonic())
