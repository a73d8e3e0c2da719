"""The dashboard server's settings, from its environment: read and checked once, each error naming its variable.

LRFP_PUBLIC: 1 (the default) serves the dashboard to visitors who may not see the server's files or
each other's runs; 0 is an operator's own use (any monitor table by its path, Stop on every run).
LRFP_MONITOR_ROOTS: folders (separated by os.pathsep, ':') whose monitor tables the Monitor page lists
beside the shipped ones. LRFP_MAX_APP_RUNS / LRFP_KEEP_APP_RUNS: app runs training at once / kept.

`lrfp app` checks them before it starts the server (an `lrfp: error:` line); the app checks them
before any page runs (a message), so no page meets a bad value.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lrfp.core import settings
from lrfp.core.errors import ConfigError


@dataclass(frozen=True)
class ServerSettings:
    public: bool = True
    monitor_roots: tuple[Path, ...] = ()
    max_app_runs: int = 1
    keep_app_runs: int = 10


def _public(env: Mapping[str, str]) -> bool:
    text = env.get("LRFP_PUBLIC", "").strip()
    if text not in ("", "0", "1"):
        raise ConfigError(f"LRFP_PUBLIC={text}: give 1 (public, the default) or 0 (the operator's own use)")
    return text != "0"


def _folders(env: Mapping[str, str], name: str) -> tuple[Path, ...]:
    folders = tuple(Path(p).expanduser() for p in env.get(name, "").split(os.pathsep) if p.strip())
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise ConfigError(f"{name}: no such folder: {', '.join(missing)}")
    return folders


def read(env: Mapping[str, str]) -> ServerSettings:
    """The settings ENV gives; ConfigError naming the first variable that cannot be used."""
    return ServerSettings(
        public=_public(env),
        monitor_roots=_folders(env, "LRFP_MONITOR_ROOTS"),
        max_app_runs=settings.count("LRFP_MAX_APP_RUNS", env.get("LRFP_MAX_APP_RUNS", ""), 1),
        keep_app_runs=settings.count("LRFP_KEEP_APP_RUNS", env.get("LRFP_KEEP_APP_RUNS", ""), 10),
    )


@functools.cache
def current() -> ServerSettings:
    """This server's settings, read from its environment the first time they are asked for."""
    return read(os.environ)
