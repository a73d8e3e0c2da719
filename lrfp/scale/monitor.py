"""`lrfp monitor`: many cameras' videos and photos into one table of faces and mask compliance, on Ray.

Each input file (a video, or a photo) belongs to a camera: the folder it was found in, or a name a
mapping file gives. Its frames are analysed with lrfp.pipeline.scene.analyze and become rows of one table
(frames.parquet, with a CSV export): camera, source file, frame, time, faces by label, compliance
and the faces themselves (box, label, probability, size).

The files are spread over Ray Data actors, each holding one detector and one classifier: a local
Ray that lrfp starts by default, or a cluster (--address / RAY_ADDRESS). Each file's rows are kept
in OUT/parts/<key>.parquet, written atomically once the whole file is analysed; a rerun skips the
files that have their part, so a killed run loses no frame and counts none twice. A file that
cannot be read becomes one row with status "error" and its message: it never stops the run.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import logging
import math
import os
import resource
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from lrfp.core import labels
from lrfp.core.cells import safe_cells
from lrfp.core.errors import ConfigError, LrfpError
from lrfp.core.labels import COUNT_COLUMNS
from lrfp.core.locks import folder_lock
from lrfp.core.progress import bars_shown
from lrfp.core.records import atomic_path, read_json, write_json_atomic
from lrfp.data.images import IMAGE_SUFFIXES, load_image
from lrfp.pipeline.detect import DEFAULT_DETECTOR, FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze
from lrfp.pipeline.video import VIDEO_SUFFIXES, probe, timed_frames
from lrfp.scale.people import PEOPLE_TABLE, write_people

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = VIDEO_SUFFIXES + IMAGE_SUFFIXES
TABLE = "frames.parquet"
CSV_EXPORT = "frames.csv"
SETTINGS = "settings.json"
INPUTS = "inputs.json"  # the folders and files a run was given: the Monitor page draws frames from inside them only
PARTS = "parts"
# decimals kept of probabilities and compliance: the same frame gives the same table in any process
DECIMALS = 4
FACE_TYPE = pa.struct(
    [
        ("x0", pa.int32()),
        ("y0", pa.int32()),
        ("x1", pa.int32()),
        ("y1", pa.int32()),
        ("size", pa.int32()),
        ("label", pa.string()),
        ("probability", pa.float64()),
    ]
)
# status: "ok"; "unreadable" for a frame that could not be decoded (the others of its file are kept);
# "error" for a file that could not be read at all (one row, frame empty, the reason in `error`)
SCHEMA = pa.schema(
    [
        ("camera", pa.string()),
        ("source", pa.string()),
        ("kind", pa.string()),
        ("frame", pa.int64()),
        ("offset_s", pa.float64()),
        ("time", pa.timestamp("ms")),
        *((c, pa.int64()) for c in COUNT_COLUMNS),
        ("compliance", pa.float64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("face_rows", pa.list_(FACE_TYPE)),
    ]
)


@dataclass(frozen=True)
class Source:
    """One input file, as the workers get it."""

    path: str  # absolute
    camera: str
    kind: str  # "video" or "image"
    start: str  # ISO 8601 time of its first frame from the mapping file; "" to read it from the file
    key: str  # the name of its part: changes when the file, its camera or its start time change


# ---------------------------------------------------------------------------------------------------
# inputs


# the years a frame's time may fall in: pandas reads timestamps from 1677 to 2262, and a video runs on
# from its start; a time outside them (a mapping's 9999-12-31, a camera's wrong clock) is not used
YEARS = (1900, 2200)


def _plausible(moment: datetime | None) -> datetime | None:
    return moment if moment is not None and YEARS[0] <= moment.year <= YEARS[1] else None


def _mapping_line(path: Path, line: int, row: dict) -> tuple[Path, dict]:
    """(file or folder, its camera, start and where it is said) of one mapping line; ConfigError if unusable."""
    where = f"{path}, line {line}"
    if any("\0" in value for value in row.values() if isinstance(value, str)):
        raise ConfigError(f"{where}: holds a NUL character; a mapping is plain text")
    start = (row.get("start") or "").strip()
    if start and _naive_utc(start) is None:
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


# ---------------------------------------------------------------------------------------------------
# one file


def _naive_utc(text: str | None) -> datetime | None:
    """An ISO 8601 time as a naive datetime: UTC when it names a zone, else as written (the camera's clock)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return _plausible(moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment)
    except (ValueError, OverflowError):  # OverflowError: a time at the calendar's edge moved to UTC
        return None


def _photo_time(image) -> datetime | None:
    """When a photo was taken, from its EXIF (DateTimeOriginal, else DateTime), as the camera's clock."""
    exif = image.getexif()
    text = exif.get_ifd(0x8769).get(36867) or exif.get(306)
    try:
        return _plausible(datetime.strptime(str(text).strip(), "%Y:%m:%d %H:%M:%S")) if text else None
    except ValueError:
        return None


def counts_row(result) -> dict:
    counts = result.counts()
    compliance = counts.pop("compliance")
    faces = [
        {
            "x0": f.box.x0,
            "y0": f.box.y0,
            "x1": f.box.x1,
            "y1": f.box.y1,
            "size": f.box.size,
            "label": f.label,
            "probability": None if f.probability is None else round(f.probability, DECIMALS),
        }
        for f in result.faces
    ]
    return counts | {
        "compliance": None if compliance is None else round(compliance, DECIMALS),
        "status": "ok",
        "face_rows": faces,
    }


def _video_rows(source: Source, classifier, detector, every: float):
    import av

    path = Path(source.path)
    probe(path)  # unreadable, no video stream, frames over the pixel limit: refused from the header
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = _naive_utc(source.start) or _naive_utc(container.metadata.get("creation_time"))
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        first, due = None, 0.0
        for index, (moment, image) in enumerate(timed_frames(path, container, stream)):
            moment = index / fps if moment is None else moment
            first = moment if first is None else first
            offset = round(moment - first, 3)  # from the first frame: a stream may start past 0
            if offset < due:  # --every: this frame is skipped, it is not a row
                continue
            due = offset + every if every else 0.0
            row = {"frame": index, "offset_s": offset, "time": start + timedelta(seconds=offset) if start else None}
            yield row | (
                counts_row(analyze(image, classifier, detector, mode="scene"))
                if image is not None
                else {"status": "unreadable"}
            )


def _image_rows(source: Source, classifier, detector):
    image = load_image(source.path)
    with Image.open(source.path) as original:  # load_image gives the pixels; the EXIF time is in the file
        taken = _photo_time(original)
    start = _naive_utc(source.start) or taken
    yield {"frame": 0, "offset_s": 0.0, "time": start} | counts_row(analyze(image, classifier, detector, mode="scene"))


def analyse_source(source: Source, classifier, detector, every: float = 0.0) -> pa.Table:
    """The rows of one file; a file that cannot be read is one "error" row naming the reason."""
    import av

    base = {"camera": source.camera, "source": source.path, "kind": source.kind}
    try:
        rows = list(
            _video_rows(source, classifier, detector, every)
            if source.kind == "video"
            else _image_rows(source, classifier, detector)
        )
        if not rows:
            raise LrfpError(f"{source.path}: holds no frame (empty or truncated)")
        if not any(r["status"] == "ok" for r in rows):
            raise LrfpError(f"{source.path}: none of its {len(rows)} frames could be decoded (corrupt, or not a video)")
    except (LrfpError, OSError, av.FFmpegError, EOFError) as exc:
        rows = [{"status": "error", "error": str(exc) or type(exc).__name__}]
    return pa.Table.from_pylist([base | r for r in rows], schema=SCHEMA)


def _parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------
# many files


@dataclass(frozen=True)
class Settings:
    """What makes a table: a rerun into the same folder must use the same, or its rows would mix."""

    model: str
    backend: str = "auto"
    device: str = "auto"
    detector: str = DEFAULT_DETECTOR
    detector_scale: float | None = None
    min_score: float | None = None
    every: float = 0.0

    def load(self, device: str | None = None):
        """(classifier, detector) as these settings make them."""
        classifier = Classifier(self.model, backend=self.backend, device=device or self.device)
        return classifier, FaceDetector(self.detector, min_score=self.min_score, scale=self.detector_scale)


class Worker:
    """A Ray Data actor: one classifier and one detector, loaded once, for many files."""

    def __init__(self, settings: dict, threads: int = 1):
        import torch

        # THREADS for torch and for onnxruntime (lrfp's sessions read OMP_NUM_THREADS when they are made):
        # actors sharing the cores must not each start a thread per core
        os.environ["OMP_NUM_THREADS"] = str(max(1, threads))
        torch.set_num_threads(max(1, threads))
        self.settings = Settings(**settings)
        gpu = bool(os.environ.get("CUDA_VISIBLE_DEVICES")) and torch.cuda.is_available()
        self.classifier, self.detector = self.settings.load("cuda" if gpu and self.settings.device != "cpu" else "cpu")

    def __call__(self, batch: dict) -> dict:
        keys, parts = [], []
        for i in range(len(batch["key"])):
            source = Source(**{name: str(batch[name][i]) for name in Source.__dataclass_fields__})
            table = analyse_source(source, self.classifier, self.detector, self.settings.every)
            keys.append(source.key)
            parts.append(_parquet_bytes(table))
        # the worker's memory, so a run can report it (ru_maxrss is in KiB on Linux)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"key": keys, "part": parts, "pid": [os.getpid()] * len(keys), "peak_rss_mb": [peak] * len(keys)}


def start_ray(address: str | None, workers: int) -> None:
    """Join the cluster at ADDRESS (or $RAY_ADDRESS), else start a light local Ray of WORKERS CPUs."""
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    quiet = {"log_to_driver": False, "configure_logging": True, "logging_level": "error"}
    if address:
        try:
            ray.init(address=address, **quiet)
        except ConnectionError as exc:
            raise ConfigError(
                f"no Ray cluster at {address} ({exc}); start one (`ray start --head`) or leave out "
                f"--address and RAY_ADDRESS to run on this machine"
            ) from None
    else:
        ray.init(num_cpus=workers, include_dashboard=False, **quiet)


def _ray_parts(todo: list[Source], settings: Settings, workers: int, memory: dict):
    """(key, parquet bytes) of each file as Ray's actors finish it, in any order; MEMORY gets each
    worker's peak resident memory (MB) by process id."""
    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # its progress bars say enough
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = bars_shown() is not False  # lrfp's one switch (--no-progress)
    context.print_on_execution_start = False
    gpus = ray.cluster_resources().get("GPU", 0)
    # one file per block, so idle actors take the next file instead of waiting behind a long one
    items = ray.data.from_items([asdict(s) for s in todo], override_num_blocks=len(todo))
    results = items.map_batches(
        Worker,
        fn_constructor_kwargs={"settings": asdict(settings), "threads": 1},
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
        num_gpus=min(1.0, gpus / workers) if gpus else 0,
    )
    # Ray logs this as an error (E ... core_worker.cc) when it starts the actors: say what it is
    log.info(
        "Ray may print a `core_worker.cc ... max_restarts > 0` line as its workers start: Ray's own note "
        "that a restarted worker could miss its settings (ray-project/ray#53727), not an error of this run"
    )
    for row in results.iter_rows():
        memory[int(row["pid"])] = max(memory.get(int(row["pid"]), 0.0), float(row["peak_rss_mb"]))
        yield row["key"], row["part"]


def input_roots(inputs: list[str]) -> list[str]:
    """The folders and files named by a run's inputs (patterns expanded), resolved."""
    named = [m for item in inputs for m in ([item] if Path(item).exists() else sorted(glob.glob(item, recursive=True)))]
    return [str(Path(m).resolve()) for m in named]


def _check_settings(out: Path, settings: Settings, fresh: bool) -> None:
    stored = out / SETTINGS
    if fresh and (out / PARTS).is_dir():
        for part in (out / PARTS).glob("*.parquet"):
            part.unlink()
    elif stored.is_file() and read_json(stored) != asdict(settings):
        raise ConfigError(
            f"{out}: holds a table made with other settings ({stored}); give another --out, or --fresh to start it over"
        )
    write_json_atomic(asdict(settings), stored)


def _whole_parts(sources: list[Source], parts: Path) -> dict[str, pa.Table]:
    """The parts of SOURCES already in PARTS, each read whole and checked to be its file's; a damaged
    one (a disk fault, a copy cut short) is deleted with a warning, so that its file is analysed again."""
    tables = {}
    for source in sources:
        part = parts / f"{source.key}.parquet"
        if not part.is_file():
            continue
        try:
            table = pq.read_table(part, schema=SCHEMA)
            if table.num_rows == 0 or set(table.column("source").to_pylist()) != {source.path}:
                raise pa.ArrowInvalid(f"its rows are not those of {source.path}")
            tables[source.key] = table
        except pa.ArrowException as exc:
            log.warning(f"{part}: damaged ({exc}); analysing {source.path} again")
            part.unlink()
    return tables


def combine(sources: list[Source], tables: dict[str, pa.Table]) -> pa.Table:
    """The parts of SOURCES (their tables by key), in their order, as one table."""
    return pa.concat_tables([tables[s.key] for s in sources]) if sources else SCHEMA.empty_table()


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A monitor table as a DataFrame whose whole numbers stay whole where a row has none (an error row)."""
    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


def export_csv(frame: pd.DataFrame, target=None) -> str | None:
    """FRAME's rows as the CSV export (to the file TARGET, else returned): faces as a JSON list, and text a
    spreadsheet would run as a formula (a camera named =HYPERLINK(...)) escaped as core.cells says."""
    out = frame.assign(
        face_rows=[
            json.dumps([] if faces is None else list(faces), default=lambda v: v.item()) for faces in frame["face_rows"]
        ]
    )
    return safe_cells(out).to_csv(target, index=False)


def write_table(table: pa.Table, out: Path) -> None:
    """OUT/frames.parquet and its CSV export, each written atomically."""
    with atomic_path(out / TABLE) as tmp:
        pq.write_table(table, tmp)
    with atomic_path(out / CSV_EXPORT) as tmp:
        export_csv(to_frame(table), tmp)


def monitor(
    inputs: list[str],
    out,
    settings: Settings,
    mapping=None,
    engine: str = "ray",
    workers: int = 1,
    address: str | None = None,
    fresh: bool = False,
) -> dict:
    """Analyse every input file not yet in OUT's parts, then write OUT's table; a summary of the run."""
    if workers < 1:
        raise ConfigError(f"--workers {workers}: give 1 or more")
    if not (math.isfinite(settings.every) and settings.every >= 0):
        raise ConfigError(f"--every {settings.every:g}: give 0 (every frame) or a number of seconds")
    out = Path(out)
    sources = find_sources(inputs, read_mapping(mapping) if mapping else None)
    if not sources:
        raise ConfigError(f"no photo or video among {', '.join(inputs)} ({', '.join(MEDIA_SUFFIXES)})")
    # one run at a time: two writing one folder (one --fresh) would leave a table of both that looks whole
    with folder_lock(out, "monitor run", instead="give another --out"):
        return _run(sources, input_roots(inputs), out, settings, engine, workers, address, fresh)


def _run(
    sources: list[Source],
    roots: list[str],
    out: Path,
    settings: Settings,
    engine: str,
    workers: int,
    address: str | None,
    fresh: bool,
) -> dict:
    """monitor's work, in OUT, which it holds; ROOTS: the folders and files its inputs named."""
    _check_settings(out, settings, fresh)
    write_json_atomic({"inputs": roots}, out / INPUTS)
    parts = out / PARTS
    tables = _whole_parts(sources, parts)
    todo = [s for s in sources if s.key not in tables]
    log.info(
        f"{len(sources)} file(s) from {len({s.camera for s in sources})} camera(s); "
        f"{len(sources) - len(todo)} already in {out}, {len(todo)} to analyse"
    )
    t0, memory = time.perf_counter(), {}
    if todo and engine == "local":
        classifier, detector = settings.load()
        done = ((s.key, _parquet_bytes(analyse_source(s, classifier, detector, settings.every))) for s in todo)
    elif todo:
        start_ray(address, workers)
        done = _ray_parts(todo, settings, workers, memory)
    else:
        done = iter(())
    came = {}  # seconds from the start to each part: start-up, then the steady rate (benchmarks/ray_monitor.py)
    for key, data in done:  # each file's part appears whole, or not at all
        with atomic_path(parts / f"{key}.parquet") as tmp:
            Path(tmp).write_bytes(data)
        tables[key] = pq.read_table(pa.BufferReader(data), schema=SCHEMA)
        came[key] = time.perf_counter() - t0
    seconds = time.perf_counter() - t0
    if todo and engine == "local":
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


def read_table(path) -> pd.DataFrame:
    """A monitor table (its folder or its .parquet file) as a DataFrame."""
    path = Path(path)
    frame = to_frame(pq.read_table(path / TABLE if path.is_dir() else path))
    for column in COUNT_COLUMNS:  # a table written before an answer existed (unsure, say) counts none of it
        if column not in frame:
            frame[column] = pd.array([0] * len(frame), dtype=pd.Int64Dtype())
    return frame


def compliance_share(frame: pd.DataFrame) -> float | None:
    """Faces with a mask among the faces judged, over all frames (not a mean of per-frame shares)."""
    share = labels.compliance({c: frame[c].sum() for c in COUNT_COLUMNS})
    return None if share is None or math.isnan(share) else float(share)
