"""Where lrfp's files live. Every other module asks here; none computes a path from its own file.

Read-only project files (weights/, results/, the demo set):
1. `LRFP_HOME`, when set: a project folder holding them (an error if it is not a folder);
2. else the source checkout this package was imported from (`pip install -e .`, or the repo);
3. else the copies installed inside the package by `pip install .` (lrfp/shipped/).
Writable folders (runs/, data/) default to the project root, or to the current folder when lrfp
runs from an installed package; LRFP_RUNS, LRFP_DATA and LRFP_SOURCE override them.
The dashboard's pages (views/) and Streamlit settings (.streamlit/config.toml) come with the code: the
checkout's when lrfp runs from one, else the installed copies (LRFP_HOME does not move them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lrfp.core.errors import ConfigError
from lrfp.core.settings import check_settings

_PACKAGE = Path(__file__).resolve().parents[1]  # lrfp/, this file being lrfp/core/paths.py
SHIPPED = _PACKAGE / "shipped"  # filled by the wheel build (see pyproject.toml's package-dir)


def _checkout_root() -> Path | None:
    root = _PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "weights").is_dir() else None


_HOME = os.environ.get("LRFP_HOME")
# A bad LRFP_HOME is reported by check_home(), the first step of the CLI and of the app, rather than
# when this module is imported: importing lrfp never fails, and the error reaches the user as one line.
_HOME_PROBLEM = (
    f"LRFP_HOME={_HOME}: no such folder; point it at an lrfp project (weights/, results/)"
    if _HOME and not Path(_HOME).is_dir()
    else None
)


def check_home() -> None:
    """ConfigError when LRFP_HOME names no folder, or another environment setting has a bad value."""
    if _HOME_PROBLEM:
        raise ConfigError(_HOME_PROBLEM)
    check_settings()


# a name that is a file or folder name and never a path: no separator, no "." or "..", no hidden file
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_run_id(run_id: str) -> str:
    """RUN_ID, a run's folder under its runs folder (train, cv, reproduce, the app's runs, the detector's);
    ConfigError for one that is a path (`../../etc/x`, `/tmp/x`) or not a plain name."""
    if not NAME.fullmatch(run_id):
        raise ConfigError(
            f"run id {run_id!r:.80}: not a folder name; use letters, digits, . _ - (up to 100, "
            "starting with a letter or digit), and --out for where runs go"
        )
    return run_id


def _project_root() -> Path | None:
    return Path(_HOME).resolve() if _HOME else _checkout_root()


PROJECT_ROOT = _project_root()
_CHECKOUT = _checkout_root()
_FILES = PROJECT_ROOT if PROJECT_ROOT is not None else SHIPPED
_WORK = PROJECT_ROOT if PROJECT_ROOT is not None else Path.cwd()

WEIGHTS_DIR = _FILES / "weights"
RESULTS_DIR = _FILES / "results"
DEMO_DIR = _FILES / "demo"
# the documentation page whose results tables `lrfp report` fills
RESULTS_PAGE = PROJECT_ROOT / "docs" / "reproduction.md" if PROJECT_ROOT is not None else None
RUNS_DIR = Path(os.environ.get("LRFP_RUNS", _WORK / "runs"))

IMPORT_ROOT = _PACKAGE.parent  # the folder this lrfp is imported from (a checkout or site-packages)
VIEWS_DIR = _CHECKOUT / "views" if _CHECKOUT is not None else SHIPPED / "views"
STREAMLIT_CONFIG = (_CHECKOUT / ".streamlit" if _CHECKOUT is not None else SHIPPED / "streamlit") / "config.toml"
APP_ENTRY = _PACKAGE / "app" / "serve" / "main.py"  # what `lrfp app` hands to `streamlit run`


def _built_or_demo(built: Path, demo: Path, marker: str) -> Path:
    """The folder built on this machine when it exists, else the small demo copy shipped with lrfp."""
    return built if (built / marker).exists() else demo


# the face-crop data set the app shows and trains on: a local build, else the shipped demo build
DATA_DIR = Path(
    os.environ.get("LRFP_DATA") or _built_or_demo(_WORK / "data" / "fmd853-lr", DEMO_DIR / "fmd853-lr", "manifest.json")
)
# where `lrfp data build` read from: the app draws source scenes with their boxes when it is here
SOURCE_DIR = Path(
    os.environ.get("LRFP_SOURCE")
    or _built_or_demo(_WORK.parent / "shared" / "data" / "fmd853", DEMO_DIR / "scenes", "images")
)
EXAMPLES_DIR = DEMO_DIR / "scenes" / "images"  # the Classify page's example photos


def within(path: Path, roots: list[Path]) -> bool:
    """Whether PATH, its links followed, lies in one of ROOTS (folders or files, their links followed too).
    A file read from a folder a visitor may open (a monitor table's) must not lead out of it."""
    try:
        real = Path(path).resolve()
        return any(real == root or real.is_relative_to(root) for root in (Path(r).resolve() for r in roots))
    except (OSError, ValueError, RuntimeError):  # a NUL in the name, a loop of links
        return False


def file_in(folder: Path, *names: str) -> Path | None:
    """FOLDER/NAMES when it is a file that stays inside FOLDER with its links followed; None when it is
    missing or a link that leads out (read neither)."""
    path = Path(folder).joinpath(*names)
    return path if within(path, [Path(folder)]) and path.is_file() else None
