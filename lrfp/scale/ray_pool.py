"""`lrfp monitor --engine ray`: the files spread over Ray Data actors, each holding one detector and one
classifier, on a local Ray that lrfp starts or on a cluster (--address / RAY_ADDRESS)."""

from __future__ import annotations

import logging
import os
import resource
from dataclasses import asdict

from lrfp.core.errors import ConfigError
from lrfp.core.progress import bars_shown
from lrfp.scale.engine import Engine
from lrfp.scale.rows import analyse_source, parquet_bytes
from lrfp.scale.settings import Settings
from lrfp.scale.sources import Source

log = logging.getLogger(__name__)


def load_on_worker(settings: Settings, threads: int = 1):
    """(classifier, detector) in a Ray actor: on its GPU when Ray gave it one, with THREADS threads."""
    import torch

    # THREADS for torch and for onnxruntime (lrfp's sessions read OMP_NUM_THREADS when they are made):
    # actors sharing the cores must not each start a thread per core
    os.environ["OMP_NUM_THREADS"] = str(max(1, threads))
    torch.set_num_threads(max(1, threads))
    gpu = bool(os.environ.get("CUDA_VISIBLE_DEVICES")) and torch.cuda.is_available()
    return settings.load("cuda" if gpu and settings.device != "cpu" else "cpu")


class Worker:
    """A Ray Data actor: one classifier and one detector, loaded once, for many files."""

    def __init__(self, settings: dict, threads: int = 1):
        self.settings = Settings(**settings)
        self.models = load_on_worker(self.settings, threads)

    def __call__(self, batch: dict) -> dict:
        keys, parts = [], []
        for i in range(len(batch["key"])):
            source = Source(**{name: str(batch[name][i]) for name in Source.__dataclass_fields__})
            # a new analysis for each file: --detect-every follows one file's faces, never into the next
            table = analyse_source(source, self.settings.analyser(*self.models), self.settings.every)
            keys.append(source.key)
            parts.append(parquet_bytes(table))
        # the worker's memory, so a run can report it (ru_maxrss is in KiB on Linux)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"key": keys, "part": parts, "pid": [os.getpid()] * len(keys), "peak_rss_mb": [peak] * len(keys)}


def start_ray(engine: Engine) -> None:
    """Join the cluster at the engine's address (or $RAY_ADDRESS), else start a light local Ray of its workers'
    CPUs."""
    import ray

    if ray.is_initialized():
        return
    address, workers = engine.address or os.environ.get("RAY_ADDRESS"), engine.workers
    # quiet: the workers' logs stay out of the command's output, only Ray's errors show
    if address:
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=True, logging_level=logging.ERROR)
        except ConnectionError as exc:
            raise ConfigError(
                f"no Ray cluster at {address} ({exc}); start one (`ray start --head`) or leave out "
                f"--address and RAY_ADDRESS to run on this machine"
            ) from None
    else:
        ray.init(
            num_cpus=workers,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=True,
            logging_level=logging.ERROR,
        )


def ray_parts(todo: list[Source], settings: Settings, workers: int, memory: dict):
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
