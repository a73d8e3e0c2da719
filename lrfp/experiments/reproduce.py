"""`lrfp reproduce`: run every paper configuration still missing, resuming partial runs."""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path

from lrfp.core import paths
from lrfp.core.events import Event, JSONDict, Milestone
from lrfp.core.progress import show_bars
from lrfp.core.records import read_json, write_json_atomic
from lrfp.experiments.paper import BATCH_SIZE, EPOCHS, LR, MILESTONES, NO_IMAGENET, Experiment, select
from lrfp.models.registry import imagenet_available
from lrfp.publishing.families import publish
from lrfp.reporting.results import RUNS_SUBDIR, write_summary
from lrfp.scale.engine import LOCAL, Engine
from lrfp.scale.sweep import run_tasks
from lrfp.training.config import ResolvedConfig, TrainConfig
from lrfp.training.run import fit

log = logging.getLogger(__name__)


def resolve_pretrained(exp: Experiment) -> tuple[str | None, str]:
    """The weights a configuration can really start from here, and the deviation to report."""
    if exp.pretrained != "imagenet":
        return exp.pretrained, ""
    return ("imagenet", "") if imagenet_available(exp.model) else ("none", NO_IMAGENET)


def experiment_config(
    exp: Experiment, data: str, out: str, precision: str = "auto", input_size: int | None = None, device: str = "auto"
) -> tuple[ResolvedConfig, str]:
    """The training config of one paper configuration, and its deviations from the paper ('' if none).

    `input_size` replaces the paper's input size where it is larger (a CPU-budget deviation).
    """
    pretrained, deviation = resolve_pretrained(exp)
    size = exp.input_size
    if input_size is not None and input_size < exp.input_size:
        size = input_size
        deviation = "; ".join(filter(None, [f"input {size} px instead of {exp.input_size} px (CPU budget)", deviation]))
    cfg = TrainConfig(
        model=exp.model,
        data=data,
        norm=exp.norm,
        pretrained=pretrained,
        epochs=EPOCHS,
        milestones=MILESTONES,
        optimizer=exp.optimizer,
        lr=LR,
        batch_size=BATCH_SIZE,
        input_size=size,
        seed=0,
        precision=precision,
        out=out,
        device=device,
    ).resolved()
    return cfg, deviation


def reproduce(
    data: str,
    experiments: list[int] | None = None,
    models: list[str] | None = None,
    out: str = "runs/reproduce",
    results_dir: Path | None = None,
    weights_dir: Path | None = None,
    precision: str = "auto",
    input_size: int | None = None,
    device: str = "auto",
    engine: Engine = LOCAL,
) -> list[str]:
    """Train each selected configuration to 80 epochs (milestones 30/50/80); return the run ids done.

    Results are published to results/runs/<run_id>.json at every milestone (atomically), and
    results/summary.csv is rewritten each time, so a killed reproduction loses at most the
    epochs since its last checkpoint. An ENGINE on Ray: the configurations run as Ray tasks,
    engine.workers at a time on a local Ray (or on the cluster at engine.address), each resuming
    from its own last.pt and writing the same records as the loop.
    """
    results_dir = Path(results_dir or paths.RESULTS_DIR)
    done, jobs = [], []
    for exp in select(experiments, models):
        cfg, deviation = experiment_config(exp, data, out, precision, input_size, device)
        dest = results_dir / RUNS_SUBDIR / f"{cfg.run_id}.json"
        meta = {
            "experiment": exp.experiment,
            "paper_table": exp.paper_table,
            "variant": "scratch" if NO_IMAGENET in deviation else exp.variant,
            "deviation": deviation,
        }
        if dest.is_file() and read_json(dest).get("status") == "finished":
            log.info(f"skip {cfg.run_id}: finished")
            done.append(cfg.run_id)
            continue
        command = _command(exp, data, cfg.pretrained) + (f" --input-size {input_size}" if input_size else "")
        jobs.append((cfg, meta, command, dest, deviation))
    if engine.on_ray and jobs:
        done += run_tasks(
            _run_in_worker,
            [(cfg, meta, command, dest, results_dir) for cfg, meta, command, dest, _ in jobs],
            engine,
            gpu=device != "cpu",
        )
        publish(results_dir, weights_dir)
        return done
    for cfg, meta, command, dest, deviation in jobs:
        log.info(f"== experiment {meta['experiment']}: {cfg.run_id}" + (f" ({deviation})" if deviation else ""))
        done.append(run_configuration(cfg, meta, command, dest, results_dir))
        publish(results_dir, weights_dir)
    return done


def run_configuration(cfg: ResolvedConfig, meta: JSONDict, command: str, dest: Path, results_dir: Path) -> str:
    """Train one configuration (resuming its run folder), publishing its record at each milestone."""

    def publish_milestone(event: Event) -> None:
        if isinstance(event, Milestone):
            write_json_atomic(event.record | {"experiment": meta}, dest)
            write_summary(results_dir)

    record = fit(cfg, command=command, subscribers=[publish_milestone])
    write_json_atomic(record | {"experiment": meta}, dest)
    write_summary(results_dir)
    return cfg.run_id


def _run_in_worker(*args) -> str:
    show_bars(False)  # a Ray worker has no terminal to draw on
    return run_configuration(*args)


def _command(exp: Experiment, data: str, pretrained: str | None) -> str:
    command = f"lrfp reproduce --experiment {exp.experiment} --model {exp.model} --data {data}"
    # where the ImageNet weights came from is part of how to rerun it
    if pretrained == "imagenet" and os.environ.get("TORCH_HOME"):
        command = f"TORCH_HOME={shlex.quote(os.environ['TORCH_HOME'])} {command}"
    return command
