"""A training run's folder, the same for the classifier (run.fit) and the detector (detector.fit_detector).

A run folder holds record.json (what the run is and every epoch so far) and last.pt (the state it resumes
from). One process at a time: `open_run_folder` locks it, clears the temp files of writes killed mid-way
and makes it. Each epoch's last.pt and record.json are written atomically, so a run killed at any moment
resumes from its last whole epoch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from lrfp.core.errors import RunError
from lrfp.core.events import JSONDict
from lrfp.core.locks import folder_lock
from lrfp.core.records import read_json, remove_stale_temps, write_json_atomic
from lrfp.models.checkpoint import atomic_save

RECORD_NAME = "record.json"
LAST_NAME = "last.pt"


@contextlib.contextmanager
def open_run_folder(out: Path, what: str) -> Iterator[Path]:
    """Hold OUT for the block (RunError at once if another WHAT holds it), without stale temps; OUT."""
    with folder_lock(out, what):  # a second run on the folder stops here instead of overwriting it
        remove_stale_temps(out)
        out.mkdir(parents=True, exist_ok=True)
        yield out


def resumes(out: Path, fresh: bool) -> bool:
    """Whether a run in OUT goes on from its last.pt (there is one, and `fresh` does not throw it away)."""
    return (out / LAST_NAME).is_file() and not fresh


def check_same_run(out: Path, same_settings: bool, same_data: bool) -> None:
    """RunError unless the resume state in OUT was made with the settings and data of the run asked for."""
    if not (same_settings and same_data):
        raise RunError(
            f"{out} holds a run made with other settings or data; pass --fresh to overwrite it "
            "or --run-id to start another"
        )


def history_until(out: Path, epoch: int) -> list[JSONDict]:
    """The record's history up to EPOCH (the epoch last.pt was saved at; later ones are trained again)."""
    return [entry for entry in read_json(out / RECORD_NAME)["history"] if entry["epoch"] <= epoch]


def save_epoch(out: Path, record: JSONDict, resume_state: JSONDict | None) -> None:
    """An epoch's resume state (when given) as last.pt, then the record: each written whole or not at all."""
    if resume_state is not None:
        atomic_save(resume_state, out / LAST_NAME)
    write_json_atomic(record, out / RECORD_NAME)


def finish(out: Path, record: JSONDict) -> JSONDict:
    """The finished run's record, written; the record."""
    record["status"] = "finished"
    write_json_atomic(record, out / RECORD_NAME)
    return record
