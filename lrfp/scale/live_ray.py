"""`lrfp monitor --live URL... --engine ray --workers N`: the streams in N groups, one Ray actor per group.

Each actor holds one detector and one classifier and runs a LiveRun over its group's streams, as the
local engine does over all of them, into the same OUT: its slices carry its group's name
(slices/frames-TIME-g0.parquet), and so do its people in view (people-open-g0.parquet), its counts
(live-g0.json) and its alerts (alerts-g0.parquet). While they run, this process merges the groups'
counts into OUT/live.json and their alerts into OUT/alerts.parquet every few seconds, so that a reader
(lrfp.scale.live.read_slices, the Monitor page) sees one run. A camera's people and alert rules stay
within its group: a stream is never split.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lrfp.core.records import read_json, write_json_atomic
from lrfp.scale.alerts import ALERTS_TABLE, write_alerts
from lrfp.scale.engine import ON_RAY, Engine
from lrfp.scale.live import STATUS, LiveRun, named
from lrfp.scale.ray_pool import load_on_worker, start_ray
from lrfp.scale.settings import LiveSettings, Settings

log = logging.getLogger(__name__)
MERGE_S = 5.0  # the longest wait between two merges of the groups' counts and alerts


class LiveGroup:
    """A Ray actor: one group's LiveRun; stop() (on a second thread of the actor) ends it as Ctrl-C would."""

    def __init__(self, live: LiveSettings, out: str, settings: Settings, part: str):
        self.live = LiveRun(live, out, settings.analyser(*load_on_worker(settings)), part=part)

    def run(self, duration_s: float | None) -> dict:
        return self.live.run(duration_s)

    def stop(self) -> None:
        self.live.stopping.set()


def groups(items: tuple, n: int) -> list[tuple]:
    """ITEMS dealt round-robin into at most N groups (none empty)."""
    return [items[i::n] for i in range(min(n, len(items)))]


def merge(out: Path, parts: list[str]) -> None:
    """OUT/live.json and OUT/alerts.parquet from the groups' own (those written so far)."""
    found = [read_json(out / named(STATUS, f"-{p}")) for p in parts if (out / named(STATUS, f"-{p}")).is_file()]
    if found:
        write_json_atomic(
            {
                "updated": max(s["updated"] for s in found),
                "running": any(s.get("running", True) for s in found),
                "slices": sum(s["slices"] for s in found),
                "slice_s": found[0]["slice_s"],
                "rate": found[0]["rate"],
                "seconds": max(s["seconds"] for s in found),
                "alerts": sum(s["alerts"] for s in found),
                "groups": len(parts),
                "streams": [stream for s in found for stream in s["streams"]],
                "drops": merge_drops([s["drops"] for s in found if "drops" in s]),
            },
            out / STATUS,
        )
    stem = Path(ALERTS_TABLE).stem
    tables = [pq.read_table(out / f"{stem}-{p}.parquet") for p in parts if (out / f"{stem}-{p}.parquet").is_file()]
    if tables:
        write_alerts(pa.concat_tables(tables).sort_by("time"), out)


def merge_drops(parts: list[dict]) -> dict:
    """The groups' drops (lrfp.scale.drops.DropLog.summary) as one run's: counts added, drops one by one joined."""
    merged: dict = {"by_cause": Counter(), "by_minute": Counter(), "first": [], "recent": []}
    for part in parts:
        for key in ("by_cause", "by_minute"):
            merged[key].update(part[key])
        for key in ("first", "recent"):
            merged[key] = sorted(merged[key] + part[key], key=lambda drop: drop["t"])
    return {key: dict(value) if isinstance(value, Counter) else value for key, value in merged.items()}


def run_on_ray(
    live: LiveSettings,
    out,
    settings: Settings,
    engine: Engine = ON_RAY,
    duration_s: float | None = None,
) -> dict:
    """The live run of LIVE's streams on the engine's workers, Ray actors (a group of streams each); its
    summary, as LiveRun.run's."""
    import ray

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start_ray(engine)
    dealt = groups(live.cameras, engine.workers)
    parts = [f"g{i}" for i in range(len(dealt))]
    actor = ray.remote(LiveGroup).options(num_cpus=1, max_concurrency=2)  # run() and stop() at once
    # Any: Ray's stubs type an actor's methods as plain callables, without their .remote
    actors: list[Any] = [actor.remote(live.group(group), str(out), settings, part) for group, part in zip(dealt, parts)]
    runs = [a.run.remote(duration_s) for a in actors]
    log.info(
        f"{len(live.cameras)} stream(s) in {len(actors)} group(s), one Ray actor each; started {datetime.now():%H:%M:%S}"
    )
    try:
        pending = runs
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=min(live.slice_s, MERGE_S))
            merge(out, parts)
    except KeyboardInterrupt:
        log.info("stopped by the user: each group writes the slice gathered so far")
        ray.get([a.stop.remote() for a in actors])
    summaries = ray.get(runs)
    merge(out, parts)
    return {
        "seconds": max(s["seconds"] for s in summaries),
        "slices": sum(s["slices"] for s in summaries),
        "alerts": sum(s["alerts"] for s in summaries),
        "groups": len(summaries),
        "streams": [stream for s in summaries for stream in s["streams"]],
    }
