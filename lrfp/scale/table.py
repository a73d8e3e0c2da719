"""A monitor's table on disk: OUT/frames.parquet, its CSV export, and the parts it is made of."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import overload

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lrfp.core import labels
from lrfp.core.cells import safe_cells
from lrfp.core.labels import COUNT_COLUMNS
from lrfp.core.records import atomic_path
from lrfp.scale.rows import SCHEMA
from lrfp.scale.sources import Source

log = logging.getLogger(__name__)

TABLE = "frames.parquet"
CSV_EXPORT = "frames.csv"


def whole_parts(sources: list[Source], parts: Path) -> dict[str, pa.Table]:
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


@overload
def export_csv(frame: pd.DataFrame, target: None = None) -> str: ...
@overload
def export_csv(frame: pd.DataFrame, target: str | Path) -> None: ...
def export_csv(frame: pd.DataFrame, target: str | Path | None = None) -> str | None:
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
