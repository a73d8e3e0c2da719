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
from collections.abc import Collection
from pathlib import Path

from filelock import FileLock, Timeout

from lrfp.core import server_settings as settings
from lrfp.core.errors import LrfpError
from lrfp.core.records import read_json, write_json_atomic

LAUNCH_NAME = "launch.json"
LOG_NAME = "train.log"
STOPPED_NAME = "stopped"
# held around check-and-launch: any number of sessions (threads of one server, or several servers
# sharing the runs folder) clicking at once still start at most settings' max_app_runs runs
LAUNCH_LOCK = ".launch.lock"
# held by the browser session that started a run for as long as it lives (see watch): prune() leaves
# such a run alone, so a visitor's just-finished run never vanishes under their eyes
WATCH_LOCK = ".watch.lock"
# A served demo must not be exhaustible by its visitors: at most LRFP_MAX_APP_RUNS app runs train at
# once (the rest are refused with a message), and only the newest LRFP_KEEP_APP_RUNS finished ones are
# kept on disk (lrfp.core.server_settings).


class LaunchRefused(LrfpError):
    """A launch the server's limits do not allow now."""


def launch(
    model: str,
    data: str,
    out: Path,
    epochs: int,
    input_size: int,
    norm: str | None = None,
    pretrained: str | None = None,
    extra_args: list[str] | None = None,
    mine: Collection[str] = (),
) -> str:
    """Start `lrfp train` in the background; returns the run id (its folder name under `out`).

    LaunchRefused when max_app_runs runs are already training (said as the visitor's own when one of MINE, the
    run ids this visitor started, is among them); the oldest finished, failed or stopped runs beyond
    keep_app_runs that nobody watches are deleted first.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    limits = settings.current()
    with FileLock(str(out / LAUNCH_LOCK), timeout=60):
        _check_room(out, mine)
        prune(out, limits.keep_app_runs - 1)
        run_id = f"app-{model}{'-' + norm if norm else ''}-{input_size}px-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        folder = out / run_id
        folder.mkdir(parents=True)
        cmd = train_command(model, data, out, run_id, epochs, input_size, norm, pretrained) + (extra_args or [])
        _spawn(folder, {"run_id": run_id, "command": cmd, "started": time.time(), "epochs": epochs}, "w")
    return run_id


def resume(folder: Path) -> None:
    """Start a stopped run again in its folder with its own command: `lrfp train` finds its last.pt there
    and goes on from the last epoch it saved (lrfp.training.run_folder), its log continued. LaunchRefused
    when the server already trains its limit, or the run has not stopped."""
    folder = Path(folder)
    with FileLock(str(folder.parent / LAUNCH_LOCK), timeout=60):
        _check_room(folder.parent)
        if run_status(folder)["status"] != "stopped":
            raise LaunchRefused("only a stopped run can be resumed")
        (folder / STOPPED_NAME).unlink(missing_ok=True)
        _spawn(folder, read_json(folder / LAUNCH_NAME), "a")


def _check_room(out: Path, mine: Collection[str] = ()) -> None:
    """LaunchRefused when the server trains as many runs as it may (held under LAUNCH_LOCK). A visitor whose own
    run (one of MINE) is training is told so: a second click on Start read "1 run(s) already training on this
    server ... wait for it to finish", as if another visitor's run held the server."""
    limits = settings.current()
    running = [r for r in list_runs(out) if r["status"] == "running"]
    if len(running) >= limits.max_app_runs:
        if own := [r for r in running if r["run_id"] in mine]:
            raise LaunchRefused(
                f"Your run {run_name(own[0])} is still training (below); start another when it has finished, or stop it"
            )
        raise LaunchRefused(
            f"{len(running)} run(s) already training on this server (the limit is "
            f"{limits.max_app_runs}); wait for it to finish (a run is stopped from the tab that started it)"
        )


def _spawn(folder: Path, info: dict, log_mode: str) -> None:
    """INFO's command started in its own session, its output to the run's log (opened with LOG_MODE), and
    INFO with its process written as the run's launch record."""
    with open(folder / LOG_NAME, log_mode) as log:
        proc = subprocess.Popen(info["command"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    # written before the lock is let go: the next launch counts this run as running
    # the process's start time and command line identify it later: a PID alone may be another's by then
    write_json_atomic(info | {"pid": proc.pid, "pid_start": process_start(proc.pid)}, folder / LAUNCH_NAME)


def train_command(
    model: str,
    data: str,
    out: Path,
    run_id: str,
    epochs: int,
    input_size: int,
    norm: str | None,
    pretrained: str | None,
) -> list[str]:
    """The `lrfp train` command line of one app run."""
    cmd = [
        sys.executable,
        "-m",
        "lrfp.cli",
        "train",
        "--model",
        model,
        "--data",
        str(data),
        "--epochs",
        str(epochs),
        "--milestones",
        str(epochs),
        "--input-size",
        str(input_size),
        "--out",
        str(out),
        "--run-id",
        run_id,
        "--no-progress",
    ]
    if norm:
        cmd += ["--norm", norm]
    if pretrained:
        cmd += ["--pretrained", pretrained]
    return cmd


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start(pid: int) -> int | None:
    """When process PID started, in clock ticks after boot (field 22 of /proc/PID/stat): with the PID, it
    names one process, whereas a PID alone is reused by the system once its process has ended."""
    fields = _proc_stat(pid)
    return int(fields[19]) if fields else None


def _command_line(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return None


def _alive(info: dict) -> bool:
    """Whether the process of a launch record is still training: its PID names a live process that
    started when the run's did and runs its command (a record without its start time: never)."""
    pid = info["pid"]
    if info.get("pid_start") is None or process_start(pid) != info["pid_start"]:
        return False
    if (_proc_stat(pid) or ["Z"])[0] == "Z":  # finished child of this server (its command line is gone): reap it
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    # an empty command line: the run's process is between fork and exec, whose argument pages the kernel
    # sets up after Popen has returned (the exec closes the pipe Popen waits on first), or it is exiting;
    # its start time already says it is the run's process (read as "not alive", a run just launched
    # showed as failed for a few milliseconds, and its Stop button was missing)
    command = _command_line(pid)
    return not command or command == info["command"]


def run_status(folder: Path) -> dict:
    """launch info + progress: status (running / finished / failed), epochs done, history, log tail."""
    folder = Path(folder)
    info = read_json(folder / LAUNCH_NAME)
    record_path = folder / "record.json"
    record = read_json(record_path) if record_path.is_file() else None
    history = record["history"] if record else []
    if record and record.get("status") == "finished":
        status = "finished"
    elif _alive(info):
        status = "running"
    elif (folder / STOPPED_NAME).exists():
        status = "stopped"
    else:
        status = "failed"
    log = (folder / LOG_NAME).read_text(errors="replace") if (folder / LOG_NAME).is_file() else ""
    return info | {
        "status": status,
        "epochs_done": len(history),
        "history": history,
        "record": record,
        "name": describe(info),
        "folder": folder,
        "log_tail": "\n".join(log.strip().splitlines()[-8:]),
    }


def stop(folder: Path) -> None:
    """Stop a running app run: its whole process group (it runs in its own session), once its PID is
    known to be the run's own process (a stale record's PID may be anyone's by now)."""
    info = read_json(Path(folder) / LAUNCH_NAME)
    (Path(folder) / STOPPED_NAME).touch()
    if _alive(info):
        try:
            os.killpg(info["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass


def watch(folder: Path) -> FileLock:
    """A lock on a run that its starting session keeps (in its state) while it lives: prune() leaves the
    run alone until the session ends, or its server, when the lock goes with it. Held across processes
    (flock), so several servers sharing the runs folder respect it too."""
    lock = FileLock(str(Path(folder) / WATCH_LOCK), thread_local=False)  # reruns of a session change thread
    lock.acquire(timeout=0)
    return lock


def watched(folder: Path) -> bool:
    """Whether a session holds this run's watch lock."""
    lock = FileLock(str(Path(folder) / WATCH_LOCK), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def prune(out: Path, keep: int) -> list[str]:
    """Delete the oldest runs that are not training and that nobody watches, keeping `keep` of them;
    returns the deleted ids."""
    done = [r for r in list_runs(out) if r["status"] != "running" and not watched(r["folder"])]
    removed = [r["run_id"] for r in done[max(0, keep) :]]
    for run_id in removed:
        shutil.rmtree(Path(out) / run_id, ignore_errors=True)
    return removed


def run_name(info: dict) -> str:
    """The name of an app run's model, the one every page shows (lrfp.app.catalog.model_name): 'model3 32px #1b31'
    (the run id's last four characters tell two runs of one model apart). Short for the sidebar's model picker,
    which shows about 190 px of text on a phone: 'model3 32px #1b31' takes 110, 'mobilenet_v2 224px #1b31' 156."""
    cmd = info.get("command", [])
    opt = lambda flag: cmd[cmd.index(flag) + 1] if flag in cmd else None  # noqa: E731
    model = " ".join(x for x in (opt("--model"), opt("--norm")) if x) or info["run_id"]
    return f"{model} {opt('--input-size')}px #{info['run_id'][-4:]}"


def describe(info: dict) -> str:
    """A run for people: its name, then its epochs and start, 'model3 32px #1b31 · 5 epoch(s) · 26 Nov 07:31'."""
    when = time.strftime("%d %b %H:%M", time.localtime(info.get("started", 0)))
    return f"{run_name(info)} · {info.get('epochs')} epoch(s) · {when}"


def stopped_line(run: dict) -> str:
    """What a stopped run's panel says: it was asked to stop (not an error), in which epoch, and that it can
    resume, from where (`lrfp train` saves last.pt after an epoch once a minute has passed, and at the end)."""
    done, total = run["epochs_done"], run["epochs"]
    if done == 0:
        return f"Stopped on request during epoch 1 of {total}, before any epoch was done. It can resume from the start."
    where = f"during epoch {done + 1} of {total}" if done < total else f"after its last epoch ({total})"
    return (
        f"Stopped on request {where}, with {done} epoch(s) done. It can resume from the last epoch it saved "
        "(it saves one about every minute)."
    )


def log_shown(run: dict, now: float | None = None) -> str:
    """The end of a run's log as its panel shows it; before the first line, what the run is doing: a new
    process imports torch and reads its data set before it prints (a minute or more on a busy 2-core server),
    and "(no output yet)" for that long read as a run that had hung."""
    if run["log_tail"]:
        return run["log_tail"]
    if run["status"] != "running":
        return "(the run wrote nothing)"
    waited = round((time.time() if now is None else now) - run.get("started", 0))
    return f"Starting ({waited} s): loading PyTorch and the data set; the first lines come before epoch 1."


def list_runs(out: Path) -> list[dict]:
    """Every app-launched run under `out`, newest first."""
    out = Path(out)
    folders = [p.parent for p in out.glob(f"*/{LAUNCH_NAME}")] if out.is_dir() else []
    return sorted((run_status(f) for f in folders), key=lambda r: r["started"], reverse=True)
