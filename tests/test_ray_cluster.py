"""`lrfp monitor` and a short `lrfp cv` sweep on a real cluster shape: a two-node Ray cluster on this machine
(`ray start --head` and a second `ray start --address`, one CPU each), the monitor's table equal to the plain
loop's, a worker killed mid-run losing and doubling nothing, the sweep's folds equal to the sequential run's,
and the cluster shut down (only the processes this test started). Both run as CLI processes: this process
never joins the cluster, so its own local Ray (the sweep tests on one machine) keeps its own address and token.

About 5 minutes on 2 cores: marked slow (deselect with -m "not slow").
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lrfp.data.footage import write_clip
from lrfp.publishing.index import default_model
from lrfp.scale import monitor as mon
from lrfp.scale.engine import LOCAL, Engine

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "demo" / "scenes" / "images"
RAY = Path(sys.executable).with_name("ray")
# RetinaFace's adaptive stage at 320x240: about 0.2 s a frame, so a run lasts long enough to kill a worker in it
SETTINGS = mon.Settings(model=default_model() or "model3", detector="retinaface")
FLAGS = ["--detector", "retinaface", "--model", SETTINGS.model, "--no-progress"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_ports() -> list[str]:
    """Every port a node opens, free ones: two nodes on one machine must not share Ray's defaults."""
    names = (
        "node-manager-port",
        "object-manager-port",
        "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port",
        "runtime-env-agent-port",
        "metrics-export-port",
    )
    return [f"--{name}={free_port()}" for name in names]


# Ray's token authentication, with a token of this test's own: its nodes and drivers share it
TOKEN = secrets.token_hex(32)


def environment() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return env | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": TOKEN,
    }


def alive_nodes(address: str) -> int:
    """Nodes the cluster at ADDRESS counts alive; 0 while its head does not answer yet."""
    host, port = address.split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return 0
    code = (
        f"import ray; ray.init(address={address!r}, log_to_driver=False); print(sum(n['Alive'] for n in ray.nodes()))"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=environment(), timeout=60
        )
    except subprocess.TimeoutExpired:
        return 0
    return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else 0


@pytest.fixture
def cluster():
    """The address of a two-node cluster (one CPU each) whose processes are ended afterwards."""
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--block", "--num-cpus=1", "--disable-usage-stats", f"--temp-dir={temp}", "--node-ip-address=127.0.0.1"]
    nodes = [
        subprocess.Popen(
            [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", *common, *node_ports()],
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        deadline = time.monotonic() + 120
        while alive_nodes(address) < 1 and time.monotonic() < deadline:
            time.sleep(1)
        nodes.append(
            subprocess.Popen(
                [RAY, "start", f"--address={address}", *common, *node_ports()],
                env=environment(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        while alive_nodes(address) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert alive_nodes(address) == 2, "the two-node cluster did not come up within 2 minutes"
        yield address
    finally:
        for node in reversed(nodes):  # `ray start --block` ends the processes of its node when told to
            os.killpg(node.pid, signal.SIGTERM)
        for node in nodes:
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
    assert not processes_of(temp), "Ray processes outlived their cluster"


def processes_of(marker: str) -> list[int]:
    """Process ids whose command line mentions MARKER (this test's own Ray folder or actor class)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:  # ended meanwhile
            pass
    return found


def lrfp_monitor(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lrfp.cli", "monitor", *map(str, args), *FLAGS],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    """Two cameras, 8 clips of 6 frames."""
    root = tmp_path_factory.mktemp("footage")
    photos = sorted(PHOTOS.glob("*.jpg"))
    for i in range(8):
        write_clip(
            photos[i % len(photos)],
            root / f"cam{i % 2}" / f"clip{i}.mp4",
            frames=6,
            fps=2,
            size=(320, 240),
            start=0.3 * (i // len(photos)),
        )
    return root


@pytest.fixture(scope="module")
def reference(footage, tmp_path_factory):
    """The plain loop's table, in this process."""
    out = tmp_path_factory.mktemp("reference")
    mon.monitor([str(footage)], out, SETTINGS, engine=LOCAL)
    return pq.read_table(out / mon.TABLE)


def test_monitor_on_a_two_node_cluster_equals_the_plain_loop_even_with_a_worker_killed(
    cluster, footage, reference, tmp_path
):
    run = lrfp_monitor(footage, "--out", tmp_path / "cluster", "--address", cluster, "--workers", 2)
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr
    assert pq.read_table(tmp_path / "cluster" / mon.TABLE).equals(reference)

    # again, and one of the two workers is killed once a first file is written
    run = lrfp_monitor(footage, "--out", tmp_path / "killed", "--address", cluster, "--workers", 2)
    parts = tmp_path / "killed" / mon.PARTS
    killed, written_then = None, None
    deadline = time.monotonic() + 300
    while killed is None and run.poll() is None and time.monotonic() < deadline:
        workers = processes_of("ray::MapWorker")
        written = len(list(parts.glob("*.parquet"))) if parts.is_dir() else 0
        if workers and written >= 1:
            os.kill(workers[0], signal.SIGKILL)
            killed, written_then = workers[0], written
        time.sleep(0.05)
    stdout, stderr = run.communicate(timeout=600)
    assert killed is not None and written_then < 8, "the run ended before a worker could be killed in it"
    assert run.returncode == 0, stderr
    table = pq.read_table(tmp_path / "killed" / mon.TABLE)
    assert table.equals(reference)  # the killed worker's file was done again, once: nothing lost, nothing doubled
    assert table.num_rows == 8 * 6


# --- sweeps ---------------------------------------------------------------------------------------


def comparable(record: dict) -> dict:
    """A run record without what differs between two identical runs: timings and the machine's facts."""
    if isinstance(record, dict):
        return {
            k: comparable(v)
            for k, v in record.items()
            if "seconds" not in k and k not in ("environment", "finished_at", "started_at")
        }
    if isinstance(record, list):
        return [comparable(v) for v in record]
    return record


def test_reproduce_on_ray_writes_the_records_of_the_sequential_run(tiny_dataset, tmp_path, monkeypatch):
    import ray
    import torch

    from lrfp.core.records import read_json
    from lrfp.experiments import reproduce as rep

    monkeypatch.setattr(rep, "EPOCHS", 2)
    monkeypatch.setattr(rep, "MILESTONES", (1, 2))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    kw = dict(experiments=[1], input_size=32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each Ray task of one CPU trains
    try:
        loop = rep.reproduce(
            str(tiny_dataset),
            out=str(tmp_path / "loop"),
            results_dir=tmp_path / "r-loop",
            weights_dir=tmp_path / "w-loop",
            **kw,
        )
    finally:
        torch.set_num_threads(threads)
    try:
        swept = rep.reproduce(
            str(tiny_dataset),
            out=str(tmp_path / "ray"),
            results_dir=tmp_path / "r-ray",
            weights_dir=tmp_path / "w-ray",
            engine=Engine("ray", workers=2),
            **kw,
        )
    finally:
        ray.shutdown()
    assert swept == loop and len(loop) == 3
    for run_id in loop:
        a, b = (read_json(tmp_path / r / "runs" / f"{run_id}.json") for r in ("r-loop", "r-ray"))
        a["config"].pop("out"), b["config"].pop("out")
        assert comparable(a) == comparable(b)
    assert (tmp_path / "r-loop" / "summary.csv").read_text().count("\n") == (
        tmp_path / "r-ray" / "summary.csv"
    ).read_text().count("\n")


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    """A face bank of 40 generated photos."""
    from helpers import make_voc_source

    from lrfp.data.facebank import build_facebank
    from lrfp.pipeline.detect import FaceDetector

    root = tmp_path_factory.mktemp("bank")
    build_facebank(make_voc_source(root / "voc", n_images=40, seed=3), root / "bank.json", FaceDetector("retinaface"))
    return root / "bank.json"


# a short `lrfp cv`: 3 folds of model3 at 32 px, one epoch each
CV = {
    "model": "model3",
    "input-size": 32,
    "epochs": 1,
    "precision": "fp32",
    "batch-size": 16,
    "folds": 3,
    "lr": 0.003,
    "device": "cpu",
}


def cv_config(bank: Path, out: Path):
    from lrfp.training.config import TrainConfig

    return TrainConfig(
        model=CV["model"],
        data=str(bank),
        input_size=CV["input-size"],
        epochs=CV["epochs"],
        milestones=(),
        precision=CV["precision"],
        batch_size=CV["batch-size"],
        out=str(out),
        recipe="production",
        folds=CV["folds"],
        lr=CV["lr"],
        device=CV["device"],
    )


@pytest.fixture(scope="module")
def cv_loop(bank, tmp_path_factory) -> dict:
    """The sequential `lrfp cv` report, in this process, one torch thread as each Ray task of one CPU trains."""
    import torch

    from lrfp.experiments.crossval import cross_validate

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return cross_validate(cv_config(bank, tmp_path_factory.mktemp("cv-loop")))
    finally:
        torch.set_num_threads(threads)


def test_cv_on_ray_gives_the_folds_of_the_sequential_run(bank, cv_loop, tmp_path, monkeypatch):
    import ray

    from lrfp.experiments.crossval import cross_validate

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    try:
        swept = cross_validate(cv_config(bank, tmp_path / "ray"), Engine("ray", workers=2))
    finally:
        ray.shutdown()
    assert comparable(swept["folds"]) == comparable(cv_loop["folds"])
    assert swept["balanced_accuracy"] == cv_loop["balanced_accuracy"]


def test_cv_on_a_two_node_cluster_gives_the_folds_of_the_sequential_run(cluster, bank, cv_loop, tmp_path):
    # a CLI process is the driver, as for the monitor: this process never joins the cluster, so its own
    # local Ray (the tests above) is not mixed with the cluster's address or token
    flags = [f"--{k}={v}" for k, v in CV.items()]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrfp.cli",
            "cv",
            *flags,
            f"--data={bank}",
            f"--out={tmp_path / 'runs'}",
            f"--json-out={tmp_path / 'cv.json'}",
            "--engine=ray",
            f"--address={cluster}",
            "--workers=2",
            "--no-progress",
        ],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    from lrfp.core.records import read_json, write_json_atomic

    write_json_atomic(cv_loop, tmp_path / "loop.json")  # the sequential report as its JSON record reads back
    swept, loop = read_json(tmp_path / "cv.json"), read_json(tmp_path / "loop.json")
    assert comparable(swept["folds"]) == comparable(loop["folds"])
    assert swept["balanced_accuracy"] == loop["balanced_accuracy"]
