"""Alert rules per camera: compliance under X % over the last N minutes with at least M people, or a camera
silent for N minutes. An alert is a row of OUT/alerts.parquet (and .csv), a log line and, optionally, a
webhook's JSON POST (lrfp.scale.webhook). A rule raises once when its condition starts to hold, and again
only after it has stopped holding (no alert every slice while a camera stays down).

    --alert compliance:80:10:5            every camera: under 80 % over 10 minutes, 5 people or more
    --alert north-gate=silent:5           north-gate: no frame for 5 minutes
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lrfp.core.cells import safe_cells
from lrfp.core.errors import ConfigError
from lrfp.core.numbers import Number, whole
from lrfp.core.records import atomic_path
from lrfp.scale.people import people_counts

log = logging.getLogger(__name__)
ALERTS_TABLE, ALERTS_CSV = "alerts.parquet", "alerts.csv"
ALERT_SCHEMA = pa.schema(
    [
        ("time", pa.timestamp("ms")),
        ("camera", pa.string()),
        ("rule", pa.string()),
        ("kind", pa.string()),
        ("value", pa.float64()),
        ("people", pa.int64()),
        ("message", pa.string()),
    ]
)
USAGE = "give [CAMERA=]compliance:PERCENT:MINUTES[:PEOPLE] or [CAMERA=]silent:MINUTES"


@dataclass(frozen=True)
class Rule:
    text: str
    camera: str  # "*": every camera
    kind: str  # "compliance" or "silent"
    minutes: float
    percent: float = 0.0
    people: int = 1

    def applies(self, camera: str) -> bool:
        return self.camera in ("*", camera)

    @property
    def words(self) -> str:
        """The rule as a reader says it: "compliance under 90 % over 1 min (3 people or more)"."""
        where = "" if self.camera == "*" else f"{self.camera}: "
        if self.kind == "silent":
            return f"{where}no frame for {self.minutes:g} min"
        return f"{where}compliance under {self.percent:g} % over {self.minutes:g} min ({self.people} people or more)"


# a rule's numbers; minutes up to a year, which a time span holds (1e400 minutes would overflow it)
PERCENT, MINUTES, PEOPLE = Number(0, 100), Number(0.01, 365 * 24 * 60), whole(1, 10**9)


def _number(text: str, rule: str, what: str, kind: Number) -> float:
    try:
        return kind.read(text)
    except ConfigError as exc:
        raise ConfigError(f"--alert {rule}: {what} {exc}; {USAGE}") from None


def parse_rule(text: str) -> Rule:
    """A rule from its command-line form (see the module's docstring); ConfigError naming what is wrong."""
    camera, _, body = text.rpartition("=")
    kind, *fields = body.strip().split(":")
    if kind == "silent" and len(fields) == 1:
        return Rule(text, camera.strip() or "*", kind, _number(fields[0], text, "minutes", MINUTES))
    if kind == "compliance" and len(fields) in (2, 3):
        people = int(_number(fields[2], text, "people", PEOPLE)) if len(fields) == 3 else 1
        return Rule(
            text,
            camera.strip() or "*",
            kind,
            _number(fields[1], text, "minutes", MINUTES),
            _number(fields[0], text, "percent", PERCENT),
            people,
        )
    raise ConfigError(f"--alert {text}: not a rule; {USAGE}")


class Alerts:
    """Rules watched over a run's people and frames; the alerts raised so far, kept in OUT's alerts table."""

    def __init__(self, rules: list[Rule], out=None, webhook=None, part: str = ""):
        self.rules, self.out, self.webhook = rules, Path(out) if out else None, webhook
        self.suffix = f"-{part}" if part else ""  # one group of a live run's streams (lrfp.scale.live_ray)
        self.active: set[tuple[str, str]] = set()  # (rule, camera) whose condition holds now
        self.rows: list[dict] = self._earlier()

    def _earlier(self) -> list[dict]:
        """The alerts OUT's table holds already: a live run started again on its folder (after a kill, say)
        adds to them instead of writing over them."""
        path = self.out / f"{Path(ALERTS_TABLE).stem}{self.suffix}.parquet" if self.out else None
        if path is None or not path.is_file():
            return []
        try:
            return pq.read_table(path, schema=ALERT_SCHEMA).to_pylist()
        except (OSError, pa.ArrowException) as exc:
            raise ConfigError(f"{path}: not an alerts table ({exc}); move it away or write to another folder") from exc

    def _raise(self, now: datetime, camera: str, rule: Rule, value: float, people: int, message: str) -> dict:
        row = {
            "time": now,
            "camera": camera,
            "rule": rule.text,
            "kind": rule.kind,
            "value": value,
            "people": people,
            "message": message,
        }
        log.warning(f"alert: {camera}: {message}")
        if self.webhook is not None:
            self.webhook.send(row | {"time": now.isoformat()})
        return row

    def _compliance(self, rule: Rule, camera: str, people: pd.DataFrame, now: datetime):
        recent = people[(people["camera"] == camera) & (people["last_seen"] >= now - timedelta(minutes=rule.minutes))]
        if len(recent) < rule.people:
            return None
        counted = people_counts(recent, ["camera"]).iloc[0]
        share = counted["compliance"]
        if pd.isna(share) or 100 * share >= rule.percent:
            return None
        return (
            100 * share,
            int(counted["people"]),
            f"compliance {100 * share:.0f} % over the last {rule.minutes:g} min ({int(counted['people'])} people), "
            f"under {rule.percent:g} %",
        )

    def check(self, now: datetime, people: pd.DataFrame, last_frame: dict[str, datetime | None]) -> list[dict]:
        """The alerts raised at NOW: PEOPLE (camera, label, last_seen) seen so far, LAST_FRAME the time of
        each camera's last frame (None for one never seen since the run began at its start)."""
        raised = []
        for camera, last in sorted(last_frame.items()):
            for rule in (r for r in self.rules if r.applies(camera)):
                if rule.kind == "silent":
                    quiet = (now - last).total_seconds() / 60 if last else math.inf
                    found = (
                        None
                        if quiet < rule.minutes
                        else (
                            quiet,
                            0,
                            f"no frame for {rule.minutes:g} min or more"
                            if math.isinf(quiet)
                            else f"no frame for {quiet:.1f} min (rule: {rule.minutes:g} min)",
                        )
                    )
                else:
                    found = self._compliance(rule, camera, people, now)
                key = (rule.text, camera)
                if found is None:
                    self.active.discard(key)
                elif key not in self.active:
                    self.active.add(key)
                    raised.append(self._raise(now, camera, rule, *found))
        self.rows += raised
        if raised and self.out is not None:
            self.write(self.out)
        return raised

    def write(self, out: Path) -> None:
        """The alerts so far, as OUT's table and its CSV export."""
        table = pa.Table.from_pylist(self.rows, schema=ALERT_SCHEMA)
        write_alerts(table, out, self.suffix)


def write_alerts(table: pa.Table, out: Path, suffix: str = "") -> None:
    """OUT/alerts{SUFFIX}.parquet and its CSV export, each written atomically."""
    with atomic_path(out / f"{Path(ALERTS_TABLE).stem}{suffix}.parquet") as tmp:
        pq.write_table(table, tmp)
    with atomic_path(out / f"{Path(ALERTS_CSV).stem}{suffix}.csv") as tmp:
        safe_cells(table.to_pandas()).to_csv(tmp, index=False)
