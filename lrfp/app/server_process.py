"""Settings of the dashboard's server process, made once when its first script run starts.

Streamlit collects garbage after every script run (`runner.postScriptGC`). With torch, plotly and
the models loaded, the server holds about 500,000 objects that live as long as it does, and each
full collection walks all of them: 248 ms holding the interpreter lock, after every rerun of every
session (measured here; a timer rerunning once a second in each idle tab made the server
unusable). Freezing what is alive after the imports moves those objects out of the collector's
reach (a collection then takes 0.02 ms), while garbage that visitors' runs create is still
collected after each run.

glibc raises its mmap threshold each time a big block is freed, so the buffers of uploads (2-20 MB
files, decoded photos) then come from the heap and stay in the process after their session
ends. A fixed threshold keeps every block of 4 MB or more in its own mapping, returned to the
system as soon as it is freed.

Streamlit keeps visitors' uploaded files in memory without a bound per visitor: the server bounds its
store when it starts (lrfp.app.server_start); a page run bounds it again (once) where no st.App started it.

PyTorch in the server (Grad-CAM, the PyTorch fallback of a classifier) works on single 64-224 px
faces, where more threads gain nothing; one thread per call leaves the other core to the next
visitor instead of two pools fighting over two cores.
"""

from __future__ import annotations

import ctypes
import gc
import threading

import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401 - the pages' heavy imports, loaded before the freeze
import streamlit_webrtc  # noqa: F401
import torch
from streamlit.runtime import Runtime

from lrfp.app.upload_bounds import bound_store

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
BIG_BLOCK = 4 * 1024 * 1024

_done = threading.Event()
_lock = threading.Lock()


def prepare_server_process() -> None:
    """Freeze the objects alive now and fix the mmap threshold, once per process."""
    if _done.is_set():
        return
    with _lock:
        if _done.is_set():
            return
        try:
            ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, BIG_BLOCK)
        except (OSError, AttributeError):  # not glibc: its allocator decides
            pass
        torch.set_num_threads(1)
        if Runtime.exists():
            bound_store(Runtime.instance().uploaded_file_mgr)
        gc.collect()
        gc.freeze()
        _done.set()
