"""Sweeps on Ray: `lrfp reproduce` configurations and `lrfp cv` folds as Ray tasks.

Each task trains one run folder, which resumes from its own last.pt: a task Ray retries after its
worker died, or a sweep started again, continues where that run stopped. Each task gets one GPU
where the cluster has them, else its share of the CPU cores (and that many torch threads: Ray sets
OMP_NUM_THREADS to the task's CPUs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from lrfp.scale.engine import Engine
from lrfp.scale.ray_pool import start_ray

T = TypeVar("T")


def run_tasks(fn: Callable[..., T], calls: list[tuple[Any, ...]], engine: Engine, gpu: bool = True) -> list[T]:
    """fn(*call) for each call, ENGINE.workers at a time on Ray; the results in the calls' order."""
    import ray

    start_ray(engine)
    resources = ray.cluster_resources()
    if gpu and resources.get("GPU", 0) >= 1:
        task = ray.remote(max_retries=3, retry_exceptions=False, num_gpus=1, num_cpus=1)
    else:  # the cores shared out: WORKERS tasks at once
        cpus = max(1, int(resources.get("CPU", 1)) // max(1, engine.workers))
        task = ray.remote(max_retries=3, retry_exceptions=False, num_cpus=cpus)
    call: Callable[[Callable[..., T], tuple[Any, ...]], T] = _call  # _call with this sweep's result type
    remote = task(call)
    return ray.get([remote.remote(fn, args) for args in calls])


def _call(fn: Callable[..., T], call: tuple[Any, ...]) -> T:
    import torch

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
    return fn(*call)
