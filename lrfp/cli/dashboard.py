"""`lrfp app`: the dashboard, served by `streamlit run` with lrfp's Streamlit settings."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path

from lrfp.cli import argtypes
from lrfp.core import paths, server_settings
from lrfp.core.errors import ConfigError


def streamlit_flags(settings: dict, section: str = "") -> list[str]:
    """A Streamlit config.toml as `streamlit run` flags: [server] headless = true -> --server.headless=true."""
    flags = []
    for key, value in settings.items():
        name = f"{section}.{key}" if section else key
        if isinstance(value, dict):
            flags += streamlit_flags(value, name)
            continue
        for item in value if isinstance(value, list) else [value]:  # a list repeats its flag
            flags.append(f"--{name}={json.dumps(item) if isinstance(item, bool) else item}")  # true, not True
    return flags


def cmd_app(args) -> int:
    server_settings.current()  # a bad LRFP_PUBLIC, LRFP_MONITOR_ROOTS, ... is one error line here, not a broken page
    try:  # the checkout's .streamlit/config.toml, or its copy installed with lrfp: the same settings from any folder
        settings = tomllib.loads(paths.STREAMLIT_CONFIG.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{paths.STREAMLIT_CONFIG}: {exc}") from None
    flags = streamlit_flags(settings)
    if args.port is not None:
        flags.append(f"--server.port={args.port}")
    if args.address:
        flags.append(f"--server.address={args.address}")
    # -P: the server imports this lrfp, not one in the current folder (a clone), unless this one is there
    safe = [] if paths.IMPORT_ROOT == Path.cwd().resolve() else ["-P"]
    cmd = [sys.executable, *safe, "-m", "streamlit", "run", str(paths.APP_ENTRY), *flags, *args.streamlit_args]
    os.execv(sys.executable, cmd)  # the server replaces this process: its exit code and signals are the command's


def add_app(app) -> None:
    app.epilog = "Other options are passed on to `streamlit run` (e.g. --theme.base=dark)."
    app.add_argument("--port", type=argtypes.PORT, help="port to listen on (Streamlit's default: 8501)")
    app.add_argument("--address", help="address to listen on (Streamlit's default: every interface)")
    app.set_defaults(func=cmd_app, passes_unknown=True)
