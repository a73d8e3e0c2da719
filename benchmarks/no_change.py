"""Proof of no change (issues 19 and 28): the refactored package gives the committed records and ships the same weights.

    PYTHONPATH=. python benchmarks/no_change.py [--quick] [--source ../shared/data/fmd853]
        [--bank data/fmd853-faces-2x.json] [--before 1d7e5e4] [--against 4c13e89]

Run by hand from any folder; the `lrfp` under test is whichever `python -m lrfp.cli` imports (set PYTHONPATH),
and every command runs through the CLI in a subprocess, from the repository root, writing into a temp folder:

- data build: `lrfp data build --source SOURCE --out TMP/fmd853-lr` gives the committed demo manifest's bytes
  (demo/fmd853-lr/manifest.json, data fingerprint ce266f54a994...); the evaluate check needs its crops.
- evaluate: `lrfp evaluate --model M --data TMP/fmd853-lr --split test --json --device cpu` for the five paper
  models equals results/no_change/evaluate/M.json (that command's output at commit 1d7e5e4, the last one before
  the refactor), and agrees with the training run's committed record on every count-based figure.
- faces-eval: `lrfp faces-eval --model M --data BANK --split test --out TMP/... --device cpu` for the four
  committed records in results/production/faces/. BANK is the face bank those records were made on: built by
  the RetinaFace single look at 2x (the production model's training bank; `lrfp facebank build` builds at 3x
  since the detector's default moved, and has no flag for it, so it is built through the library). Its sha256
  must be the records' bank_sha256; the bank stores SOURCE as typed, so pass the default relative path.
  The slowest check (the bank takes about a minute of CPU): `--quick` skips it, `--bank PATH` keeps the bank.
- weights: every weights/*.pt and *.onnx has the sha256 of the same file at --before (git show).
- scene-bench, side by side (`--against REV`): the detector has changed on purpose since 1d7e5e4 (the scale
  pyramid of issue 25, the fine-tuned default of issue 26), so a committed scene record cannot be the reference;
  an earlier commit's own output is. REV's tree is unpacked into the temp folder (git archive) and each
  scene-bench command in SCENE_RUNS runs there and here (same data, --device cpu); the two outputs must be equal. SCENE_RUNS covers the default detector's
  pyramid (1x), its enlarged looks (enlarged-2), RetinaFace's reduced looks for big faces (closeup) and the
  generic CenterFace on a big frame (tiled-10x10): each part of lrfp.pipeline's detection and scene stages.

Each record is compared exactly (parsed JSON, floats bit for bit) after removing only the fields in IGNORED.
One line per check (same / differs), the differences below it; exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = os.environ.get("SOURCE", "../shared/data/fmd853")  # relative to ROOT, as the records' commands
BEFORE = "1d7e5e4"  # the last commit before the package was reorganised

PAPER_MODELS = ["model1", "model2", "model3", "model3-robust", "mobilenet_v2"]
FACES_MODELS = ["prod-mobilenet_v2", "prod-mobilenet_v2-3class", "mobilenet_v2", "model3"]
# --against: (view, detector) of the scene-bench runs compared with an earlier commit's own output; None is the
# package's default detector (each tree's own: the check fails if the default moved)
SCENE_RUNS = [("1x", None), ("enlarged-2", None), ("closeup", None), ("tiled-10x10", "centerface")]

# The only fields removed before an exact comparison, per command, each with why it may differ between runs.
IGNORED = {
    # The output holds no timing, path, date or environment: nothing is removed.
    "evaluate": {},
    # The command line as typed: the bank and the record are in a temp folder here, and --device is added.
    "faces-eval": {"command"},
    # Wall-clock time per photo, overall and by face size: depends on the machine and its load.
    "scene-bench": {"ms_per_photo_median", "ms_by_frame_size_median"},
}
# evaluate against the training run's record (results/runs/RUN.json, milestone EPOCH, "test"): the figures
# that count predictions must be equal; these are not compared because the shipped checkpoint is not the
# training checkpoint bit for bit (weights/ stores half-precision weights since 4562a2b, same predictions):
# `avg_loss` and `roc_auc` move in the 5th and 16th digit; `backend` is not in a training record.
NOT_IN_TRAINING_RECORD = {"avg_loss", "roc_auc", "backend"}

# The face bank of the committed faces-eval records, built by the library (no CLI flag builds it at 2x).
# The fallback imports let this same script check the flat package before the refactor.
BANK_BUILDER = """
import sys
from pathlib import Path
try:
    from lrfp.data.facebank import build_facebank
    from lrfp.pipeline.detect import FaceDetector
except ImportError:
    from lrfp.facebank import build_facebank
    from lrfp.detect import FaceDetector
# no bar in a pipe, in either version (their bars leave a pipe alone)
build_facebank(Path(sys.argv[1]), Path(sys.argv[2]), FaceDetector("retinaface", scale=2.0, max_side=2048))
"""


def lrfp(*args: str, root: Path = ROOT) -> str:
    """Run `python -m lrfp.cli ARGS` from ROOT (this repository) with ROOT's lrfp; its stdout, or stop with its
    stderr."""
    return run_python("-m", "lrfp.cli", *args, root=root)


def run_python(*args: str, root: Path = ROOT) -> str:
    env = {**os.environ, "PYTHONPATH": str(root)} if root != ROOT else None
    done = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def differences(new, old, path: str = "") -> list[str]:
    """Every place where two parsed JSON values differ (exactly: no float tolerance), as readable lines."""
    if isinstance(new, dict) and isinstance(old, dict):
        lines = [f"{path}/{k}: only in the committed record" for k in sorted(old.keys() - new.keys())]
        lines += [f"{path}/{k}: only in the new record" for k in sorted(new.keys() - old.keys())]
        for key in sorted(new.keys() & old.keys()):
            lines += differences(new[key], old[key], f"{path}/{key}")
        return lines
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [line for i, (a, b) in enumerate(zip(new, old)) for line in differences(a, b, f"{path}[{i}]")]
    if type(new) is not type(old) or new != old:
        return [f"{path or '/'}: new {new!r} != committed {old!r}"]
    return []


def without(record: dict, fields) -> dict:
    return {k: v for k, v in record.items() if k not in fields}


class Report:
    """One line per check, the differences under it; remembers whether anything differed."""

    def __init__(self):
        self.failed = False

    def check(self, name: str, diffs: list[str], seconds: float) -> None:
        self.failed |= bool(diffs)
        print(f"{'same   ' if not diffs else 'DIFFERS'} {name} ({seconds:.0f} s)", flush=True)
        for line in diffs[:40]:
            print(f"        {line}")
        if len(diffs) > 40:
            print(f"        ... and {len(diffs) - 40} more")


def check_data_build(report: Report, source: str, out: Path) -> None:
    start = time.perf_counter()
    lrfp("data", "build", "--source", source, "--out", str(out))
    new, old = (out / "manifest.json").read_bytes(), (ROOT / "demo/fmd853-lr/manifest.json").read_bytes()
    diffs = [] if new == old else [f"manifest sha256 {sha256(new)} != committed {sha256(old)}"]
    report.check("data build: manifest.json == demo/fmd853-lr/manifest.json", diffs, time.perf_counter() - start)


def training_record(model: str) -> tuple[Path, dict]:
    """The committed test metrics of the milestone that weights/MODEL.pt was published from."""
    entry = read(ROOT / "weights/index.json")["models"][model]
    path = next(ROOT.glob(f"results/*/{entry['run_id']}.json"))
    return path, read(path)["milestones"][str(entry["epoch"])]["test"]


def check_evaluate(report: Report, data: Path) -> None:
    for model in PAPER_MODELS:
        start = time.perf_counter()
        new = json.loads(
            lrfp("evaluate", "--model", model, "--data", str(data), "--split", "test", "--json", "--device", "cpu")
        )
        baseline = ROOT / f"results/no_change/evaluate/{model}.json"
        diffs = differences(without(new, IGNORED["evaluate"]), without(read(baseline), IGNORED["evaluate"]))
        run_path, test = training_record(model)
        counted = differences(without(new, NOT_IN_TRAINING_RECORD), without(test, NOT_IN_TRAINING_RECORD))
        diffs += [f"against {run_path.relative_to(ROOT)}: {line}" for line in counted]
        report.check(
            f"evaluate {model}: == {baseline.relative_to(ROOT)}, counts == {run_path.relative_to(ROOT)}",
            diffs,
            time.perf_counter() - start,
        )


def face_bank(report: Report, source: str, bank: Path) -> bool:
    """Build (or reuse) the 2x face bank; True when its bytes are the committed records' bank."""
    start = time.perf_counter()
    wanted = read(ROOT / f"results/production/faces/{FACES_MODELS[0]}.json")["bank_sha256"]
    reused = bank.is_file() and sha256(bank.read_bytes()) == wanted
    if not reused:
        bank.parent.mkdir(parents=True, exist_ok=True)
        run_python("-c", BANK_BUILDER, source, str(bank))
    got = sha256(bank.read_bytes())
    diffs = [] if got == wanted else [f"bank sha256 {got} != the records' bank_sha256 {wanted}"]
    report.check(
        f"face bank at 2x{' (reused)' if reused else ''}: sha256 == records' bank_sha256",
        diffs,
        time.perf_counter() - start,
    )
    return not diffs


def check_faces_eval(report: Report, bank: Path, out: Path) -> None:
    for model in FACES_MODELS:
        start = time.perf_counter()
        record = out / f"{model}.json"
        lrfp(
            "faces-eval",
            "--model",
            model,
            "--data",
            str(bank),
            "--split",
            "test",
            "--out",
            str(record),
            "--device",
            "cpu",
        )
        committed = ROOT / f"results/production/faces/{model}.json"
        ignored = IGNORED["faces-eval"]
        diffs = differences(without(read(record), ignored), without(read(committed), ignored))
        report.check(f"faces-eval {model}: == {committed.relative_to(ROOT)}", diffs, time.perf_counter() - start)


def scene_bench(source: str, view: str, detector: str | None, out: Path, root: Path = ROOT) -> dict:
    """The record of the scene benchmark on the test photos in VIEW (prod-mobilenet_v2), run with ROOT's lrfp."""
    lrfp(
        *("scene-bench", "--source", source, "--data", "demo/fmd853-lr", "--split", "test"),
        *("--model", "prod-mobilenet_v2", "--view", view, "--no-progress", "--out", str(out), "--device", "cpu"),
        *(("--detector", detector) if detector else ()),
        root=root,
    )
    return without(read(out), IGNORED["scene-bench"])


def check_against(report: Report, source: str, rev: str, tmp: Path) -> None:
    """Each of SCENE_RUNS with REV's tree and with this one: equal records."""
    tree = tmp / f"at-{rev}"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    # the data source as typed is relative to the repository root; REV's tree sits elsewhere
    source_there = str((ROOT / source).resolve())
    for view, detector in SCENE_RUNS:
        start = time.perf_counter()
        name = f"{view}-{detector or 'default'}"
        before = scene_bench(source_there, view, detector, tmp / f"{name}-{rev}.json", root=tree)
        after = scene_bench(source_there, view, detector, tmp / f"{name}.json")
        shown = f"scene-bench {view} {detector or 'default detector'}: == the same command at {rev}"
        report.check(shown, differences(after, before), time.perf_counter() - start)


def check_weights(report: Report, before: str) -> None:
    start = time.perf_counter()
    listed = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{before}:weights"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    old_names = {n for n in listed if n.endswith((".pt", ".onnx"))}
    new_names = {p.name for p in (ROOT / "weights").iterdir() if p.suffix in (".pt", ".onnx")}
    diffs = [f"weights/{n}: only at {before}" for n in sorted(old_names - new_names)]
    diffs += [f"weights/{n}: not at {before}" for n in sorted(new_names - old_names)]
    for name in sorted(old_names & new_names):
        show = ["git", "show", f"{before}:weights/{name}"]
        old = subprocess.run(show, cwd=ROOT, capture_output=True, check=True).stdout
        new = (ROOT / "weights" / name).read_bytes()
        if new != old:
            diffs.append(f"weights/{name}: sha256 {sha256(new)} != {sha256(old)} at {before}")
    name = f"weights: {len(new_names)} *.pt/*.onnx byte-identical to {before}"
    report.check(name, diffs, time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="the PASCAL VOC set (relative to the repository root)")
    parser.add_argument("--bank", type=Path, help="keep the 2x face bank here (reused when its sha256 is right)")
    parser.add_argument("--before", default=BEFORE, help="the commit whose weights must be byte-identical")
    parser.add_argument("--quick", action="store_true", help="skip the slowest check: the face bank and faces-eval")
    parser.add_argument("--against", metavar="REV", help="also run SCENE_RUNS at REV (git archive) and here: equal")
    args = parser.parse_args(argv)
    started, report = time.perf_counter(), Report()
    with tempfile.TemporaryDirectory(prefix="lrfp-no-change-") as tmp:
        tmp = Path(tmp)
        check_weights(report, args.before)
        check_data_build(report, args.source, tmp / "fmd853-lr")
        check_evaluate(report, tmp / "fmd853-lr")
        if args.against:
            check_against(report, args.source, args.against, tmp)
        else:
            print("skipped scene-bench (no --against REV)")
        if args.quick:
            print("skipped faces-eval (--quick)")
        else:
            bank = (args.bank or tmp / "fmd853-faces-2x.json").resolve()
            if face_bank(report, args.source, bank):
                (tmp / "faces").mkdir()
                check_faces_eval(report, bank, tmp / "faces")
    verdict = "something DIFFERS" if report.failed else "no change"
    print(f"{verdict}; {time.perf_counter() - started:.0f} s")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
