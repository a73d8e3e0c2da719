"""`lrfp monitor`'s inputs: the files of folders, files and patterns, each with its camera and start time.

Each input file (a video, or a photo) belongs to a camera: the folder it was found in, or a name a
mapping file gives (a CSV of path, camera and/or start). A Source is one file as the workers get it;
its key names its part (OUT/parts/<key>.parquet) and changes when the file, its camera or its start do.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lrfp.core.errors import ConfigError
from lrfp.data.images import IMAGE_SUFFIXES
from lrfp.pipeline.video import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = VIDEO_SUFFIXES + IMAGE_SUFFIXES


@dataclass(frozen=True)
class Source:
    """One input file, as the workers get it."""

    path: str  # absolute
    camera: str
    kind: str  # "video" or "image"
    start: str  # ISO 8601 time of its first frame from the mapping file; "" to read it from the file
    key: str  # the name of its part: changes when the file, its camera or its start time change


# the years a frame's time may fall in: pandas reads timestamps from 1677 to 2262, and a video runs on
# from its start; a time outside them (a mapping's 9999-12-31, a camera's wrong clock) is not used
YEARS = (1900, 2200)


def plausible(moment: datetime | None) -> datetime | None:
    return moment if moment is not None and YEARS[0] <= moment.year <= YEARS[1] else None


def naive_utc(text: str | None) -> datetime | None:
    """An ISO 8601 time as a naive datetime: UTC when it names a zone, else as written (the camera's clock)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return plausible(moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment)
    except (ValueError, OverflowError):  # OverflowError: a time at the calendar's edge moved to UTC
        return None


def _mapping_line(path: Path, line: int, row: dict) -> tuple[Path, dict]:
    """(file or folder, its camera, start and where it is said) of one mapping line; ConfigError if unusable."""
    where = f"{path}, line {line}"
    if any("\0" in value for value in row.values() if isinstance(value, str)):
        raise ConfigError(f"{where}: holds a NUL character; a mapping is plain text")
    start = (row.get("start") or "").strip()
    if start and naive_utc(start) is None:
        raise ConfigError(
            f"{where}: start {start!r} is not an ISO 8601 time (2024-05-01T08:00:00) from the years "
            f"{YEARS[0]} to {YEARS[1]}"
        )
    target = (path.parent / (row["path"] or "").strip()).resolve()
    return target, {"camera": (row.get("camera") or "").strip(), "start": start, "where": where}


def read_mapping(path) -> dict[Path, dict]:
    """The mapping file: a CSV with a `path` column (a file or folder, relative to the mapping file's
    folder) and `camera` and/or `start` (ISO 8601 time of a file's first frame) columns."""
    path = Path(path)
    # utf-8-sig: Excel's "CSV UTF-8" starts the file with a byte-order mark, which would prefix `path`
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        try:
            rows = list(reader)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not a text CSV file ({exc.reason})") from None
        except csv.Error as exc:  # a field over the csv module's limit (131,072 characters), say
            raise ConfigError(f"{path}, after line {reader.line_num}: not a readable CSV line ({exc})") from None
    if not rows or "path" not in rows[0]:
        raise ConfigError(
            f"{path}: a mapping file is a CSV with a header naming a `path` column and `camera` and/or `start` columns"
        )
    return dict(_mapping_line(path, line, row) for line, row in enumerate(rows, 2))


def _skip_link(path: Path) -> None:
    log.warning(f"{path}: a link that loops or leads to no file; skipped")


def _folder_files(folder: Path) -> list[tuple[Path, str]]:
    """(file, camera) for every photo and video under FOLDER, recursively: camera = its first subfolder,
    else the folder itself."""
    root = folder.resolve()
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in MEDIA_SUFFIXES:
            continue
        if path.is_file():
            inner = path.relative_to(root).parts
            found.append((path, inner[0] if len(inner) > 1 else root.name))
        elif path.is_symlink():
            _skip_link(path)
    return found


def _expand(item: str, pattern: bool = True) -> list[tuple[Path, str]]:
    """(file, camera from its folder) for one command-line input: a folder (_folder_files), a file, or
    (PATTERN) a glob pattern."""
    path = Path(item)
    if path.is_dir():
        return _folder_files(path)
    if path.is_file():
        return [(path.resolve(), path.resolve().parent.name)]
    if path.is_symlink():
        _skip_link(path)
        return []
    if not pattern:  # a pattern's match that is neither a file nor a folder (a pipe, a socket)
        return []
    matches = sorted(glob.glob(item, recursive=True))
    if not matches:
        raise ConfigError(f"{item}: no such file or folder, and no file matches it as a pattern")
    return [found for m in matches for found in _expand(m, pattern=False)]


def _mapped(path: Path, mapping: dict[Path, dict]) -> dict:
    """The mapping's camera for a file (its own line, else its nearest folder's) and its start time."""
    found = {"camera": "", "start": mapping.get(path, {}).get("start", "")}
    for folder in [path, *path.parents]:
        if mapping.get(folder, {}).get("camera"):
            found["camera"] = mapping[folder]["camera"]
            break
    return found


def _warn_unused(mapping: dict[Path, dict], files: list[Path]) -> None:
    """A warning for each mapping line that names none of the input files, or gives a folder a start."""
    used = {folder for path in files for folder in (path, *path.parents)}
    for target, line in mapping.items():
        if target not in used:
            log.warning(f"{line['where']}: {target} is none of the inputs nor a folder of one; line ignored")
        elif line["start"] and target.is_dir():
            log.warning(
                f"{line['where']}: start {line['start']} is given to a folder; a start is a file's, "
                f"so it is ignored (give it on each file's line)"
            )


def find_sources(inputs: list[str], mapping: dict[Path, dict] | None = None) -> list[Source]:
    """Every input file once, in a stable order (camera, then path)."""
    seen: dict[Path, str] = {}
    for item in inputs:
        for path, camera in _expand(item):
            seen.setdefault(path, camera)
    _warn_unused(mapping or {}, list(seen))
    sources = []
    for path, camera in seen.items():
        mapped = _mapped(path, mapping or {})
        camera = mapped["camera"] or camera
        kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"
        stat = path.stat()
        ident = "\0".join([str(path), str(stat.st_size), str(stat.st_mtime_ns), camera, mapped["start"]])
        key = hashlib.sha256(ident.encode()).hexdigest()[:20]
        sources.append(Source(str(path), camera, kind, mapped["start"], key))
    return sorted(sources, key=lambda s: (s.camera, s.path))


def input_roots(inputs: list[str]) -> list[str]:
    """The folders and files named by a run's inputs (patterns expanded), resolved."""
    named = [m for item in inputs for m in ([item] if Path(item).exists() else sorted(glob.glob(item, recursive=True)))]
    return [str(Path(m).resolve()) for m in named]
