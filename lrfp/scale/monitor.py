"""`lrfp monitor`: many cameras' videos and photos into one table of faces and mask compliance, on Ray.

The run in four parts, one module each: the inputs and their cameras (lrfp.scale.sources), one file into
rows (lrfp.scale.rows), the files spread over Ray Data actors (lrfp.scale.ray_pool), and the table on disk
(lrfp.scale.table). This module ties them: it holds OUT, skips the files already analysed, and writes
OUT/frames.parquet (with a CSV export) and OUT/people.parquet.

Each file's rows are kept in OUT/parts/<key>.parquet, written atomically once the whole file is analysed;
a rerun skips the files that have their part, so a killed run loses no frame and counts none twice. A
file that cannot be read becomes one row with status "error" and its message: it never stops the run.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lrfp.core.errors import ConfigError
from lrfp.core.locks import folder_lock
from lrfp.core.records import atomic_path, read_json, write_json_atomic
from lrfp.scale.engine import ON_RAY, Engine
from lrfp.scale.people import PEOPLE_TABLE, write_people
from lrfp.scale.ray_pool import ray_parts, start_ray
from lrfp.scale.rows import SCHEMA, analyse_source, counts_row, parquet_bytes
from lrfp.scale.settings import Settings
from lrfp.scale.sources import MEDIA_SUFFIXES, Source, find_sources, input_roots, read_mapping
from lrfp.scale.table import (
    CSV_EXPORT,
    TABLE,
    combine,
    compliance_share,
    read_table,
    to_frame,
    whole_parts,
    write_table,
)

# the names other modules and the tests import from here (the module was all of these once)
__all__ = [
    "CSV_EXPORT",
    "INPUTS",
    "PARTS",
    "SCHEMA",
    "SETTINGS",
    "TABLE",
    "Settings",
    "Source",
    "analyse_source",
    "compliance_share",
    "counts_row",
    "find_sources",
    "monitor",
    "read_mapping",
    "read_table",
    "start_ray",
]

log = logging.getLogger(__name__)

SETTINGS = "settings.json"
INPUTS = "inputs.json"  # the folders and files a run was given: the Monitor page draws frames from inside them only
PARTS = "parts"


def _stored(path: Path) -> dict | None:
    """A folder's settings as written, with the defaults of settings added since (detect_every: a folder made
    before it analysed every frame; finest_side: before it, small frames had the pyramid of photos); None where
    they are not settings of today."""
    try:
        return asdict(Settings(**({"finest_side": None} | read_json(path))))
    except (TypeError, ConfigError):
        return None


def check_settings(out: Path, settings: Settings, fresh: bool) -> None:
    stored = out / SETTINGS
    if fresh:  # a folder without parts (a copied table, say) is started over too
        for part in (out / PARTS).glob("*.parquet"):
            part.unlink()
    elif stored.is_file() and _stored(stored) != asdict(settings):
        raise ConfigError(
            f"{out}: holds a table made with other settings ({stored}); give another --out, or --fresh to start it over"
        )
    write_json_atomic(asdict(settings), stored)


def monitor(
    inputs: list[str],
    out,
    settings: Settings,
    mapping=None,
    engine: Engine = ON_RAY,
    fresh: bool = False,
) -> dict:
    """Analyse every input file not yet in OUT's parts, then write OUT's table; a summary of the run."""
    if engine.workers < 1:
        raise ConfigError(f"--workers {engine.workers}: give 1 or more")
    out = Path(out)
    sources = find_sources(inputs, read_mapping(mapping) if mapping else None)
    if not sources:
        raise ConfigError(f"no photo or video among {', '.join(inputs)} ({', '.join(MEDIA_SUFFIXES)})")
    # one run at a time: two writing one folder (one --fresh) would leave a table of both that looks whole
    with folder_lock(out, "monitor run", instead="give another --out"):
        return _run(sources, input_roots(inputs), out, settings, engine, fresh)


def _run(
    sources: list[Source],
    roots: list[str],
    out: Path,
    settings: Settings,
    engine: Engine,
    fresh: bool,
) -> dict:
    """monitor's work, in OUT, which it holds; ROOTS: the folders and files its inputs named."""
    check_settings(out, settings, fresh)
    write_json_atomic({"inputs": roots}, out / INPUTS)
    parts = out / PARTS
    tables = whole_parts(sources, parts)
    todo = [s for s in sources if s.key not in tables]
    log.info(
        f"{len(sources)} file(s) from {len({s.camera for s in sources})} camera(s); "
        f"{len(sources) - len(todo)} already in {out}, {len(todo)} to analyse"
    )
    t0 = time.perf_counter()
    memory: dict[int, float] = {}  # each worker's peak resident MB by process id
    done: Iterator[tuple[str, bytes]]
    if todo and not engine.on_ray:
        models = settings.load()
        # a new analysis for each file: --detect-every follows one file's faces, never into the next
        done = ((s.key, parquet_bytes(analyse_source(s, settings.analyser(*models), settings.every))) for s in todo)
    elif todo:
        start_ray(engine)
        done = ray_parts(todo, settings, engine.workers, memory)
    else:
        done = iter(())
    came = {}  # seconds from the start to each part: start-up, then the steady rate (benchmarks/ray_monitor.py)
    for key, data in done:  # each file's part appears whole, or not at all
        with atomic_path(parts / f"{key}.parquet") as tmp:
            Path(tmp).write_bytes(data)
        tables[key] = pq.read_table(pa.BufferReader(data), schema=SCHEMA)
        came[key] = time.perf_counter() - t0
    seconds = time.perf_counter() - t0
    if todo and not engine.on_ray:
        memory[os.getpid()] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = combine(sources, tables)
    write_table(table, out)
    t1 = time.perf_counter()
    people = write_people(to_frame(table), out)  # people.parquet beside frames.parquet
    tracking_s = time.perf_counter() - t1
    status = table.column("status").to_pylist()
    return {
        "files": len(sources),
        "analysed": len(todo),
        "frames": status.count("ok"),
        "unreadable_frames": status.count("unreadable"),
        "errors": status.count("error"),
        "seconds": seconds,
        "first_part_s": min(came.values(), default=None),
        "part_s": came,
        "peak_rss_mb": memory,
        "table": str(out / TABLE),
        "csv": str(out / CSV_EXPORT),
        "people": people.num_rows,
        "tracking_s": tracking_s,
        "people_table": str(out / PEOPLE_TABLE),
    }
