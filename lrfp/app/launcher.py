"""Background training runs started from the app, through the same code path as `lrfp train`.

Each run gets its own folder (unique run id), so two launches never share files, and runs in
its own process session, so it outlives the browser tab and the page that started it.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from filelock import FileLock

from lrfp.core.errors import LrfpError
from lrfp.core.records import read_json, write_json_atomic

LAUNCH_NAME = "launch.json"
LOG_NAME = "train.log"
STOPPED_NAME = "stopped"
# held around check-and-launch: any number of sessions (threads of one server, or several servers
# sharing the runs folder) clicking at once still start at most MAX_RUNNING runs
LAUNCH_LOCK = ".launch.lock"
# A served demo must not be exhaustible by its visitors: at most this many app runs train at
# once (the rest are refused with a message), and only the newest finished ones are kept on disk.
MAX_RUNNING = int(os.environ.get("LRFP_MAX_APP_RUNS", "1"))
KEEP_RUNS = int(os.environ.get("LRFP_KEEP_APP_RUNS", "10"))


class LaunchRefused(LrfpError):
    """A launch the server's limits do not allow now."""


def launch(model: str, data: str, out: Path, epochs: int, input_size: int, norm: str | None = None,
           pretrained: str | None = None, extra_args: list[str] | None = None) -> str:  # fmt: skip
    """Start `lrfp train` in the background; returns the run id (its folder name under `out`).

    LaunchRefused when MAX_RUNNING runs are already training; the oldest finished, failed or
    stopped runs beyond KEEP_RUNS are deleted first.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out / LAUNCH_LOCK), timeout=60):
        running = [r for r in list_runs(out) if r["status"] == "running"]
        if len(running) >= MAX_RUNNING:
            raise LaunchRefused(f"{len(running)} run(s) already training on this server (the limit is {MAX_RUNNING}); "
                                "wait for it to finish or stop it")  # fmt: skip
        prune(out, KEEP_RUNS - 1)
        run_id = f"app-{model}{'-' + norm if norm else ''}-{input_size}px-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        folder = out / run_id
        folder.mkdir(parents=True)
        cmd = train_command(model, data, out, run_id, epochs, input_size, norm, pretrained) + (extra_args or [])
        with open(folder / LOG_NAME, "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        # written before the lock is let go: the next launch counts this run as running
        write_json_atomic({"run_id": run_id, "pid": proc.pid, "command": cmd, "started": time.time(),
                           "epochs": epochs}, folder / LAUNCH_NAME)  # fmt: skip
    return run_id


def train_command(model: str, data: str, out: Path, run_id: str, epochs: int, input_size: int, norm: str | None,
                  pretrained: str | None) -> list[str]:  # fmt: skip
    """The `lrfp train` command line of one app run."""
    cmd = [sys.executable, "-m", "lrfp.cli", "train", "--model", model, "--data", str(data), "--epochs", str(epochs),
           "--milestones", str(epochs), "--input-size", str(input_size), "--out", str(out), "--run-id", run_id,
           "--no-progress"]  # fmt: skip
    if norm:
        cmd += ["--norm", norm]
    if pretrained:
        cmd += ["--pretrained", pretrained]
    return cmd


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":  # finished child of this server: reap it
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


def run_status(folder: Path) -> dict:
    """launch info + progress: status (running / finished / failed), epochs done, history, log tail."""
    folder = Path(folder)
    info = read_json(folder / LAUNCH_NAME)
    record_path = folder / "record.json"
    record = read_json(record_path) if record_path.is_file() else None
    history = record["history"] if record else []
    if record and record.get("status") == "finished":
        status = "finished"
    elif _alive(info["pid"]):
        status = "running"
    elif (folder / STOPPED_NAME).exists():
        status = "stopped"
    else:
        status = "failed"
    log = (folder / LOG_NAME).read_text(errors="replace") if (folder / LOG_NAME).is_file() else ""
    return info | {"status": status, "epochs_done": len(history), "history": history, "record": record,
                   "name": describe(info), "folder": folder,
                   "log_tail": "\n".join(log.strip().splitlines()[-8:])}  # fmt: skip


def stop(folder: Path) -> None:
    """Stop a running app run: its whole process group (it runs in its own session)."""
    info = read_json(Path(folder) / LAUNCH_NAME)
    (Path(folder) / STOPPED_NAME).touch()
    if _alive(info["pid"]):
        try:
            os.killpg(info["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass


def prune(out: Path, keep: int) -> list[str]:
    """Delete the oldest runs that are not training, keeping `keep` of them; returns the deleted ids."""
    done = [r for r in list_runs(out) if r["status"] != "running"]
    removed = [r["run_id"] for r in done[max(0, keep):]]
    for run_id in removed:
        shutil.rmtree(Path(out) / run_id, ignore_errors=True)
    return removed


def describe(info: dict) -> str:
    """A run's name for people: 'model1 groupnorm · 32 px · 5 epochs · 26 Nov 07:31'."""
    cmd = info.get("command", [])
    opt = lambda flag: cmd[cmd.index(flag) + 1] if flag in cmd else None  # noqa: E731
    model = " ".join(x for x in (opt("--model"), opt("--norm")) if x) or info["run_id"]
    when = time.strftime("%d %b %H:%M", time.localtime(info.get("started", 0)))
    return f"{model} · {opt('--input-size')} px · {info.get('epochs')} epoch(s) · {when} · #{info['run_id'][-4:]}"


def list_runs(out: Path) -> list[dict]:
    """Every app-launched run under `out`, newest first."""
    out = Path(out)
    folders = [p.parent for p in out.glob(f"*/{LAUNCH_NAME}")] if out.is_dir() else []
    return sorted((run_status(f) for f in folders), key=lambda r: r["started"], reverse=True)
