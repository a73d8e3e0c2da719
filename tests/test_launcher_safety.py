"""The Train page's runs on a shared server: a PID is signalled only while it is still the run's own
process, and a visitor's finished run is pruned only once nobody watches it. Fast: no training."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lrfp.app import launcher
from lrfp.app.launcher import LAUNCH_NAME, launch, list_runs, process_start, prune, run_status, stop, watch


@pytest.fixture
def bystander():
    """An unrelated process in its own process group: what a reused PID names."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def stale_record(folder, pid: int, **changes) -> None:
    """A launch record whose run ended long ago, its PID now another process's."""
    folder.mkdir(parents=True)
    info = {
        "run_id": folder.name,
        "pid": pid,
        "pid_start": process_start(pid),
        "command": [sys.executable, "-m", "lrfp.cli", "train"],
        "started": time.time() - 3600,
        "epochs": 1,
    }
    (folder / LAUNCH_NAME).write_text(json.dumps(info | changes))


@pytest.mark.parametrize("record", ["without a start time", "another start time", "another command"])
def test_a_stale_launch_record_with_a_reused_pid_is_not_running_and_never_signalled(bystander, tmp_path, record):
    folder = tmp_path / "app" / "app-old-run"
    changes = {
        "without a start time": {"pid_start": None},
        "another start time": {"pid_start": 1},
        "another command": {},
    }[record]
    stale_record(folder, bystander.pid, **changes)
    if record != "another command":  # the bystander's own command line, so only the start time differs
        info = json.loads((folder / LAUNCH_NAME).read_text())
        (folder / LAUNCH_NAME).write_text(json.dumps(info | {"command": bystander.args}))
    assert run_status(folder)["status"] == "failed"
    stop(folder)
    time.sleep(0.2)
    assert bystander.poll() is None  # not signalled


def test_a_run_started_here_is_running_until_stopped(monkeypatch, tmp_path):
    monkeypatch.setattr(launcher, "train_command", lambda *a, **k: [sys.executable, "-c", "import time; time.sleep(9)"])
    out = tmp_path / "app"
    run_id = launch("model3", "unused", out, epochs=1, input_size=16)
    assert run_status(out / run_id)["status"] == "running"
    stop(out / run_id)
    deadline = time.time() + 10
    while run_status(out / run_id)["status"] == "running" and time.time() < deadline:
        time.sleep(0.1)
    assert run_status(out / run_id)["status"] == "stopped"


def test_a_watched_finished_run_is_not_pruned(tmp_path):
    out = tmp_path / "app"
    for i in range(3):
        stale_record(out / f"run{i}", 999_999_999, started=time.time() - 100 * (3 - i))  # no such PID: ended
    lock = watch(out / "run0")  # the oldest: the first pruned when nobody watches it
    assert sorted(prune(out, keep=0)) == ["run1", "run2"]
    lock.release()
    assert prune(out, keep=0) == ["run0"] and list_runs(out) == []


def test_a_run_whose_process_is_still_execing_is_running(monkeypatch, tmp_path):
    # right after Popen returns, /proc/PID/cmdline can still be empty (the exec closes Popen's pipe before
    # it sets up the new arguments): that is the run's own process, not a stranger's
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        info = {"pid": proc.pid, "pid_start": launcher.process_start(proc.pid), "command": ["something", "else"]}
        monkeypatch.setattr(launcher, "_command_line", lambda pid: [])
        assert launcher._alive(info)
        monkeypatch.setattr(launcher, "_command_line", lambda pid: ["another", "program"])
        assert not launcher._alive(info)
    finally:
        proc.kill()
        proc.wait()
