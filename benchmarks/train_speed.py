"""Training throughput per model: fp32, fp32 + channels_last (what `lrfp train` uses on CPUs
without native bf16) and bf16 autocast + channels_last, side by side in one run.

    python benchmarks/train_speed.py [--models model3 model1 ...] [--batch 64] [--steps 3]
    python benchmarks/train_speed.py --totals-only

Prints images/s of full training steps (forward, backward, SGD/Adam step) on random data of
the model's paper input size, and the bf16/fp32 ratio. Then lists the training wall time of
each reproduction run recorded in results/runs/ (largest first) and their total.
"""
from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import replace

import torch

from lrfp.experiments import EXPERIMENTS
from lrfp.records import cpu_has_native_bf16, cpu_name
from lrfp.results import load_records


def images_per_second(exp, bf16: bool, batch: int, steps: int, channels_last: bool = True) -> float:
    torch.manual_seed(0)
    from lrfp.models import create_model

    model = create_model(exp.model, norm=exp.norm, pretrained="none")
    opt = (torch.optim.Adam if exp.optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 3, exp.input_size, exp.input_size)
    y = torch.randint(0, 2, (batch,))
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext

    def step():
        with ctx():
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", help="default: every configuration of the paper")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--input-size", type=int, help="override every configuration's input size")
    parser.add_argument("--totals-only", action="store_true", help="skip the speed runs; only sum the records")
    args = parser.parse_args()
    print(f"cpu: {cpu_name()}, torch threads {torch.get_num_threads()}, native bf16: {cpu_has_native_bf16()}")
    if not args.totals_only:
        print(f"{'model':14} {'variant':13} {'px':>4} {'fp32':>8} {'fp32+CL':>8} {'bf16+CL':>8}  img/s; ratios to fp32: CL, bf16+CL")
    for exp in [] if args.totals_only else EXPERIMENTS:
        if args.models and exp.model not in args.models:
            continue
        size = args.input_size or exp.input_size
        exp = replace(exp, input_size=size)
        fp32 = images_per_second(exp, False, args.batch, args.steps, channels_last=False)
        fp32_cl = images_per_second(exp, False, args.batch, args.steps)
        bf16 = images_per_second(exp, True, args.batch, args.steps)
        variant = exp.variant if exp.norm else "-"  # speed runs start from random weights
        print(f"{exp.model:14} {variant:13} {size:>4} {fp32:8.1f} {fp32_cl:8.1f} {bf16:8.1f}  "
              f"{fp32_cl / fp32:.2f} {bf16 / fp32:.2f}", flush=True)
    print_reproduction_time(load_records())


def print_reproduction_time(records: list[dict]) -> None:
    """Training wall time of each recorded run (train + validation + milestone tests), largest first."""
    hours = {r["run_id"]: sum(h["seconds"] for h in r["history"]) / 3600 for r in records}
    for run_id, h in sorted(hours.items(), key=lambda kv: -kv[1]):
        print(f"  {run_id:38} {h:5.2f} h")
    print(f"reproduction so far: {len(records)} run record(s), {sum(hours.values()):.2f} h of training wall time")


if __name__ == "__main__":
    main()
