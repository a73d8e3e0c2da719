"""Training throughput per model: fp32, fp32 + channels_last (what `lrfp train` uses on CPUs
without native bf16) and bf16 autocast + channels_last, side by side in one run.

    python benchmarks/train_speed.py [--models model3 model1 ...] [--batch 64] [--steps 3]
    python benchmarks/train_speed.py --totals-only
    python benchmarks/train_speed.py --data data/fmd853-lr --device cuda [--models ...]

Prints images/s of full training steps (forward, backward, SGD/Adam step) on random data of
the model's paper input size, and the bf16/fp32 ratio. Then lists the training wall time of
each reproduction run recorded in results/runs/ (largest first) and their total.

With --data: images/s of real training epochs on that dataset's train split at the paper's
input size, through the two data paths side by side: "loader" (PIL decode and augmentation in
a DataLoader; on CUDA with worker processes and pinned memory) and "device" (the decoded set
kept on the device, augmented there: lrfp.training.device_data), with the precision `lrfp train` picks.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import replace

import torch

from lrfp.core.records import cpu_has_native_bf16, cpu_name
from lrfp.experiments.paper import EXPERIMENTS
from lrfp.reporting.results import load_records


def images_per_second(exp, bf16: bool, batch: int, steps: int, channels_last: bool = True) -> float:
    torch.manual_seed(0)
    from lrfp.models.registry import create_model

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


def real_data_speed(exp, data: str, device: str, epochs: int) -> dict[str, float]:
    """img/s of `epochs` training epochs (after one warm-up epoch) through each data path."""
    from lrfp.core.device import use_bf16
    from lrfp.models.registry import create_model
    from lrfp.training.config import TrainConfig
    from lrfp.training.data import build_datasets, train_batches
    from lrfp.training.loop import train_one_epoch
    from lrfp.training.recipe import make_optimizer

    cfg = TrainConfig(
        model=exp.model,
        data=data,
        norm=exp.norm,
        pretrained="none",
        optimizer=exp.optimizer,
        input_size=exp.input_size,
        device=device,
    ).resolved()
    train = build_datasets(cfg)["train"]
    bf16 = use_bf16(cfg.precision, cfg.device)
    speeds = {}
    for path in ("loader", "device"):
        torch.manual_seed(0)
        model = create_model(exp.model, norm=exp.norm, pretrained="none").to(
            cfg.device, memory_format=torch.channels_last
        )
        optimizer = make_optimizer(cfg, model)
        generator = torch.Generator().manual_seed(0)
        loader = "loader+workers" if cfg.device == "cuda" else "loader"
        batches, _ = train_batches(cfg, train, generator, path if path == "device" else loader)
        loss_fn = torch.nn.CrossEntropyLoss()
        run = lambda: train_one_epoch(model, batches, optimizer, loss_fn, bf16, device=cfg.device)  # noqa: E731
        run()  # warm-up: workers start, kernels are chosen
        _sync(cfg.device)
        t0 = time.perf_counter()
        for _ in range(epochs):
            run()
        _sync(cfg.device)
        speeds[path] = len(train) * epochs / (time.perf_counter() - t0)
    return speeds


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", help="default: every configuration of the paper")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--input-size", type=int, help="override every configuration's input size")
    parser.add_argument("--totals-only", action="store_true", help="skip the speed runs; only sum the records")
    parser.add_argument("--data", help="measure real epochs on this dataset through both data paths instead")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--epochs", type=int, default=2, help="with --data: epochs timed per path (2)")
    args = parser.parse_args()
    if args.data:
        from lrfp.core.device import resolve_device

        device = resolve_device(args.device)
        name = torch.cuda.get_device_name(0) if device == "cuda" else cpu_name()
        print(f"{device}: {name}; img/s of real epochs on {args.data}, paper input sizes")
        print(f"{'model':14} {'variant':13} {'px':>4} {'loader':>9} {'device':>9}  device/loader")
        for exp in EXPERIMENTS:
            if args.models and exp.model not in args.models:
                continue
            exp = replace(exp, input_size=args.input_size or exp.input_size)
            speeds = real_data_speed(exp, args.data, device, args.epochs)
            print(
                f"{exp.model:14} {exp.variant:13} {exp.input_size:>4} {speeds['loader']:9.0f} {speeds['device']:9.0f}  "
                f"{speeds['device'] / speeds['loader']:.2f}",
                flush=True,
            )
        return
    print(f"cpu: {cpu_name()}, torch threads {torch.get_num_threads()}, native bf16: {cpu_has_native_bf16()}")
    if not args.totals_only:
        print(
            f"{'model':14} {'variant':13} {'px':>4} {'fp32':>8} {'fp32+CL':>8} {'bf16+CL':>8}  img/s; ratios to fp32: CL, bf16+CL"
        )
    for exp in [] if args.totals_only else EXPERIMENTS:
        if args.models and exp.model not in args.models:
            continue
        size = args.input_size or exp.input_size
        exp = replace(exp, input_size=size)
        fp32 = images_per_second(exp, False, args.batch, args.steps, channels_last=False)
        fp32_cl = images_per_second(exp, False, args.batch, args.steps)
        bf16 = images_per_second(exp, True, args.batch, args.steps)
        variant = exp.variant if exp.norm else "-"  # speed runs start from random weights
        print(
            f"{exp.model:14} {variant:13} {size:>4} {fp32:8.1f} {fp32_cl:8.1f} {bf16:8.1f}  "
            f"{fp32_cl / fp32:.2f} {bf16 / fp32:.2f}",
            flush=True,
        )
    print_reproduction_time(load_records())


def print_reproduction_time(records: list[dict]) -> None:
    """Training wall time of each recorded run (train + validation + milestone tests), largest first."""
    hours = {r["run_id"]: sum(h["seconds"] for h in r["history"]) / 3600 for r in records}
    for run_id, h in sorted(hours.items(), key=lambda kv: -kv[1]):
        print(f"  {run_id:38} {h:5.2f} h")
    print(f"reproduction so far: {len(records)} run record(s), {sum(hours.values()):.2f} h of training wall time")


if __name__ == "__main__":
    main()
