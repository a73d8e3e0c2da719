"""Wall time of `lrfp --help` and of `lrfp predict` on one face crop, each in a fresh process, for an earlier
checkout (before) beside this one (after), in one run.

    python benchmarks/cli_startup.py --before DIR [--repeat 3] [--crop PATH] [--out results/benchmarks/cli_startup.json]

DIR is a checkout of the earlier commit, e.g. `git worktree add --detach /tmp/lrfp-before e2a325a` (or
`git archive e2a325a | tar -x -C DIR`). Each command runs as `python -m lrfp.cli ...` (the module both
checkouts have) from the checkout's root with PYTHONPATH set to it, so each uses its own code, weights and
default model. Runs alternate between the two checkouts, so load from other work falls on both; the first
run of each command and checkout is a warm-up (the files come into the page cache) and is not counted.
The figure is the median of --repeat runs; every run, the CPU's name and the load average are recorded.
Beside them, `python -c "import torch, torchvision"` alone: the floor of any command that loads a model
through PyTorch's preprocessing (predict does, whichever backend runs the model).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CROP = ROOT / "demo" / "fmd853-lr" / "with_mask" / "maksssksksss0_001.png"


def cpu_name() -> str:
    """lscpu's model name."""
    out = subprocess.run(["lscpu"], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")


def timed(root: Path, argv: list[str]) -> float:
    """Seconds `python ARGV` takes from ROOT with ROOT's lrfp, start to exit; an error if it fails."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{root}: python {' '.join(argv)} failed:\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="a checkout of the earlier commit")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--crop", default=str(CROP), help="the face crop given to predict (default: a demo crop)")
    parser.add_argument("--out", default=str(ROOT / "results" / "benchmarks" / "cli_startup.json"))
    args = parser.parse_args()
    roots = {"before": Path(args.before).resolve(), "after": ROOT}
    crop = str(Path(args.crop).resolve())
    commands = {
        "lrfp --help": ["-m", "lrfp.cli", "--help"],
        "lrfp predict CROP": ["-m", "lrfp.cli", "predict", crop],
        "import torch, torchvision": ["-c", "import torch, torchvision"],
    }
    load_start = os.getloadavg()
    times: dict[str, dict[str, list[float]]] = {name: {side: [] for side in roots} for name in commands}
    for run in range(args.repeat + 1):  # run 0 is the warm-up
        for name, argv in commands.items():
            for side, root in roots.items():
                seconds = timed(root, argv)
                if run:
                    times[name][side].append(round(seconds, 3))
    record = {
        "run": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": {"start": round(load_start[0], 2), "end": round(os.getloadavg()[0], 2)},
        "crop": os.path.relpath(crop, ROOT),
        "method": f"fresh `python -m lrfp.cli` process per run, before and after alternating, one warm-up, "
        f"median of {args.repeat}",
        "seconds": {
            name: {side: {"median": statistics.median(t), "runs": t} for side, t in sides.items()}
            for name, sides in times.items()
        },
    }
    for name, sides in record["seconds"].items():
        print(f"{name:>25}: before {sides['before']['median']:.2f} s, after {sides['after']['median']:.2f} s")
    print(f"{record['cpu']}, load average {record['load_average_1min']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
