"""Background training runs started as the Train page starts them."""

import os
import time

import pytest

from lrfp.app.catalog import list_checkpoints
from lrfp.app.launcher import launch, list_runs, log_shown

pytestmark = pytest.mark.training  # each test trains in child processes, as the Train page does


def wait_all(out, n, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = list_runs(out)
        if len(runs) == n and all(r["status"] != "running" for r in runs):
            return runs
        time.sleep(1)
    raise AssertionError(f"runs did not finish: {[(r['run_id'], r['status'], r['log_tail']) for r in list_runs(out)]}")


def test_two_runs_launched_together_finish_in_their_own_folders(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("LRFP_MAX_APP_RUNS", "2")  # a server configured for two at a time
    out = tmp_path / "app"
    a = launch("model3", str(tiny_dataset), out, epochs=1, input_size=16)
    b = launch("model1", str(tiny_dataset), out, epochs=1, input_size=16, norm="groupnorm")
    assert a != b
    running = {r["run_id"]: r for r in list_runs(out)}
    # each run is its own process session: closing the page (or the server's session) leaves it alive
    for run in running.values():
        try:
            assert os.getsid(run["pid"]) != os.getsid(0)
        except ProcessLookupError:
            pass  # already finished
    runs = wait_all(out, 2)
    assert {r["status"] for r in runs} == {"finished"}, [r["log_tail"] for r in runs]
    for run in runs:
        assert (out / run["run_id"] / "epoch001.pt").is_file()
    names = {e.path.parent.name: e.name for e in list_checkpoints(runs_dir=out)}
    assert names[a] == f"model3 16px #{a[-4:]}" and names[b] == f"model1 groupnorm 16px #{b[-4:]}"


def test_a_served_demo_runs_one_training_at_a_time_and_keeps_few_runs(tiny_dataset, tmp_path, monkeypatch):
    from lrfp.app.launcher import LaunchRefused, prune, stop

    out = tmp_path / "app"
    first = launch("model3", str(tiny_dataset), out, epochs=50, input_size=16)
    try:
        with pytest.raises(LaunchRefused, match="already training"):
            launch("model3", str(tiny_dataset), out, epochs=1, input_size=16)
    finally:
        stop(out / first)
    (run,) = wait_all(out, 1)
    assert run["status"] == "stopped"
    for _ in range(3):
        launch("model3", str(tiny_dataset), out, epochs=1, input_size=16)
        wait_all(out, len(list_runs(out)))
    assert len(list_runs(out)) == 4
    removed = prune(out, keep=2)
    assert first in removed and len(list_runs(out)) == 2


def test_a_failing_run_is_reported_as_failed_with_its_log(tmp_path):
    out = tmp_path / "app"
    launch("model3", str(tmp_path / "no-data"), out, epochs=1, input_size=16)
    (run,) = wait_all(out, 1)
    assert run["status"] == "failed" and "no-data" in run["log_tail"]


def test_a_visitor_clicking_start_again_is_told_the_run_is_their_own(tiny_dataset, tmp_path):
    """A second click on Start (a double click, or a visitor who forgot) read '1 run(s) already training on this
    server ... wait for it to finish', as if another visitor held the server: it names the visitor's own run."""
    from lrfp.app.launcher import LaunchRefused, stop

    out = tmp_path / "app"
    first = launch("model3", str(tiny_dataset), out, epochs=50, input_size=16, mine=())
    try:
        with pytest.raises(LaunchRefused, match=rf"^Your run model3 16px #{first[-4:]} is still training"):
            launch("model3", str(tiny_dataset), out, epochs=1, input_size=16, mine={first})
        with pytest.raises(LaunchRefused, match="already training on this server"):  # another visitor's click
            launch("model3", str(tiny_dataset), out, epochs=1, input_size=16, mine={"app-someone-else"})
    finally:
        stop(out / first)
    wait_all(out, 1)


def test_a_run_that_has_printed_nothing_yet_says_it_is_starting():
    """The Train page showed "(no output yet)" for the minute a new run spends importing torch and reading its
    data: it looked hung (a new user's try, stop 41). A running run says what it is doing and for how long."""
    run = {"status": "running", "log_tail": "", "started": 1000.0}
    assert log_shown(run, now=1063.0).startswith("Starting (63 s): loading PyTorch and the data set")
    assert log_shown(run | {"log_tail": "epoch 1/2"}) == "epoch 1/2"
    assert log_shown(run | {"status": "failed"}) == "(the run wrote nothing)"
