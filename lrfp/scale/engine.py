"""Where work runs, here or on Ray: one small value the command line makes once (lrfp.cli.options.sweep_engine)
and passes down: the sweeps (lrfp.experiments.reproduce, lrfp.experiments.crossval) to lrfp.scale.sweep, the
monitor to lrfp.scale.monitor (files) and lrfp.scale.live_ray (streams).

It imports no library and no other lrfp module, so naming an engine costs a command nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

# the ways `cv` and `reproduce` run their runs: one after another here, or as Ray tasks
SWEEP_ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Engine:
    """How work runs (`--engine`, `--workers`, `--address`): KIND "local", one after another in this process;
    "ray", as Ray tasks or actors WORKERS at a time, on the cluster at ADDRESS (else $RAY_ADDRESS, else a
    local Ray)."""

    kind: str = "local"
    workers: int = 1
    address: str | None = None

    @property
    def on_ray(self) -> bool:
        return self.kind == "ray"


LOCAL = Engine()
ON_RAY = Engine("ray")
