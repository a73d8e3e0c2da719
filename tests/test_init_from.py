"""`lrfp train --init-from CHECKPOINT`: a run that starts from a saved model's weights (a fine-tune), on the
shipped demo data; a file that is none, or one of another model or number of classes, refused in one line."""

from __future__ import annotations

import pytest
import torch

from lrfp.cli import main
from lrfp.core import paths
from lrfp.core.records import read_json
from lrfp.models.checkpoint import atomic_save, make_checkpoint
from lrfp.models.registry import create_model

pytestmark = pytest.mark.training

DEMO = paths.DEMO_DIR / "fmd853-lr"


def train(out, run_id, *flags) -> int:
    """`lrfp train` of model3 at 32 px for one epoch on the demo data, into OUT/RUN_ID."""
    args = ["train", "--model", "model3", "--data", str(DEMO), "--input-size", "32", "--epochs", "1"]
    args += ["--precision", "fp32", "--out", str(out), "--run-id", run_id, "--no-progress", *flags]
    return main(args)


def weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A model3 trained one epoch on the demo data: the checkpoint the fine-tunes start from."""
    out = tmp_path_factory.mktemp("base")
    assert train(out, "base", "--seed", "7") == 0
    return out / "base" / "epoch001.pt"


def test_a_run_given_a_checkpoint_starts_from_its_weights(base, tmp_path):
    # a learning rate so small that one epoch leaves every weight where it started
    assert train(tmp_path, "tuned", "--init-from", str(base), "--lr", "1e-9") == 0
    assert train(tmp_path, "fresh", "--lr", "1e-9") == 0
    start, tuned, fresh = (
        weights(base),
        weights(tmp_path / "tuned" / "epoch001.pt"),
        weights(tmp_path / "fresh" / "epoch001.pt"),
    )
    assert all(torch.allclose(tuned[k], start[k], atol=1e-5) for k in start)
    assert not all(torch.allclose(fresh[k], start[k], atol=1e-2) for k in start)  # the seed's weights differ
    assert read_json(tmp_path / "tuned" / "record.json")["config"]["init_from"] == str(base)


def test_a_fine_tune_resumes_from_its_own_last_checkpoint(base, tmp_path):
    start = tmp_path / "start.pt"
    start.write_bytes(base.read_bytes())
    assert train(tmp_path, "tuned", "--init-from", str(start)) == 0
    start.unlink()  # a resume needs only the run's own last.pt
    assert train(tmp_path, "tuned", "--init-from", str(start), "--epochs", "2") == 0
    record = read_json(tmp_path / "tuned" / "record.json")
    assert [h["epoch"] for h in record["history"]] == [1, 2] and record["status"] == "finished"


def test_a_resume_with_other_starting_weights_is_refused(base, tmp_path, capsys):
    assert train(tmp_path, "tuned", "--init-from", str(base)) == 0
    capsys.readouterr()
    assert train(tmp_path, "tuned", "--epochs", "2") != 0  # the run began from base, this one from the seed
    assert "other settings or data" in capsys.readouterr().err


def another_class_count(folder) -> str:
    """A model3 checkpoint with three outputs (the demo data has two classes)."""
    model = create_model("model3", norm=None, num_classes=3)
    ckpt = make_checkpoint(
        model,
        name="model3",
        kwargs={"norm": None, "num_classes": 3},
        classes=["a", "b", "c"],
        input_size=32,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
    )
    atomic_save(ckpt, folder / "three.pt")
    return str(folder / "three.pt")


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (lambda folder: str(folder / "missing.pt"), "missing.pt: no such checkpoint file"),
        (lambda folder: str(paths.WEIGHTS_DIR / "index.json"), "index.json: not an lrfp checkpoint"),
        (
            lambda folder: str(paths.WEIGHTS_DIR / "model1.pt"),
            "weights of model1 with groupnorm; this run trains model3",
        ),
        (another_class_count, "three.pt: weights for 3 classes (a, b, c); this run's data has 2"),
    ],
)
def test_init_from_refuses_what_it_cannot_start_from_in_one_line(tmp_path, capsys, given, said):
    assert train(tmp_path / "runs", "tuned", "--init-from", given(tmp_path)) != 0
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs" / "tuned").exists()  # refused before the run's folder is made


@pytest.mark.parametrize("kind", ["not a zip", "a plain state_dict"])
def test_a_refused_init_from_file_is_told_what_init_from_takes(tmp_path, capsys, kind):
    """The hint was the checkpoint error's for `lrfp predict`: "pass a name from weights/ (`lrfp predict --model
    model3 …`)", a name --init-from does not take."""
    given = tmp_path / "given.pt"
    if kind == "not a zip":
        given.write_bytes(b"no checkpoint")
    else:
        torch.save(create_model("model3", norm=None, num_classes=2).state_dict(), given)
    assert train(tmp_path / "runs", "tuned", "--init-from", str(given)) != 0
    err = capsys.readouterr().err
    assert "given.pt: not an lrfp checkpoint" in err and err.count("\n") == 1, err
    assert "lrfp predict" not in err and "--init-from takes a checkpoint lrfp wrote" in err, err
