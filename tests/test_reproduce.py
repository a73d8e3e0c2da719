import logging
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from helpers import SHARED_PAPER

import lrfp.experiments.reproduce as rep
import lrfp.models.registry as models
from lrfp.core import paths
from lrfp.core.records import read_json
from lrfp.experiments.paper import EXPERIMENTS, NO_IMAGENET
from lrfp.publishing.families import publish
from lrfp.publishing.index import choose_default, default_model
from lrfp.reporting.report import results_markdown
from lrfp.reporting.results import PAPER_CSV, SUMMARY_COLUMNS, paper_table, summary_frame


def test_the_experiments_are_the_papers_configurations_and_one_addition():
    """Against the paper's Tables 4-9 (data, not the code the experiments are made from): each row's
    configuration is an experiment with the paper's experiment, table, optimizer and input size."""
    paper = paper_table()
    assert len(paper) == 30
    theirs = {(r.model, r.variant): (r.experiment, r.table, r.optimizer, r.input_size) for r in paper.itertuples()}
    ours = {
        (e.model, e.variant): (e.experiment, e.paper_table, e.optimizer, e.input_size)
        for e in EXPERIMENTS
        if e.paper_table
    }
    assert ours == theirs
    assert [(e.model, e.variant) for e in EXPERIMENTS if not e.paper_table] == [("mobilenet_v2", "imagenet")]
    # every configuration is scored after the epochs the paper reports, which reproduce stops at
    assert all(sorted(epochs) == list(rep.MILESTONES) for _, epochs in paper.groupby(["model", "variant"])["epochs"])
    assert rep.EPOCHS == max(rep.MILESTONES)


@pytest.mark.skipif(not SHARED_PAPER.is_file(), reason="../shared/paper is not beside the project")
def test_the_shipped_paper_table_is_the_one_transcribed_from_the_paper():
    assert PAPER_CSV.read_bytes() == SHARED_PAPER.read_bytes()


@pytest.fixture
def short_reproduction(monkeypatch):
    monkeypatch.setattr(rep, "EPOCHS", 2)
    monkeypatch.setattr(rep, "MILESTONES", (1, 2))


def test_reproduce_publishes_records_summary_and_weights(
    tiny_dataset, tmp_path, short_reproduction, monkeypatch, caplog
):
    results = tmp_path / "results"
    done = rep.reproduce(
        str(tiny_dataset),
        experiments=[3],
        out=str(tmp_path / "runs"),
        results_dir=results,
        weights_dir=tmp_path / "weights",
        input_size=None,
    )
    assert done == ["model3-adam-64px-s0"]
    record = read_json(results / "runs" / "model3-adam-64px-s0.json")
    assert record["status"] == "finished" and record["experiment"]["paper_table"] == 6
    summary = pd.read_csv(results / "summary.csv")
    assert list(summary.columns[: len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    assert summary["epochs"].tolist() == [1, 2]
    # joined with the paper's Table 6 by model and epochs (relabel the run's milestone as 30)
    as_30 = summary_frame([record | {"milestones": {"30": record["milestones"]["2"]}}])
    assert as_30["paper_accuracy"].tolist() == [pytest.approx(0.991)]
    assert as_30["paper_avg_loss"].tolist() == [pytest.approx(0.0312)]
    # a configuration beyond the paper (no table) leaves the others' table numbers integers
    beyond = record | {"run_id": "beyond", "experiment": record["experiment"] | {"paper_table": None}}
    both = summary_frame([record, beyond]).to_csv(index=False, float_format="%.4f")
    assert ",6,model3," in both and ",,model3," in both and "6.0000" not in both
    # a second call skips the finished configuration
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lrfp"):
        rep.reproduce(
            str(tiny_dataset),
            experiments=[3],
            out=str(tmp_path / "runs"),
            results_dir=results,
            weights_dir=tmp_path / "weights",
        )
    assert any("skip model3" in line for line in caplog.messages)
    assert (tmp_path / "weights" / "model3.pt").is_file()  # published when the run finished
    index = publish(results, tmp_path / "weights2")
    assert index["default"] == "model3" and (tmp_path / "weights2" / "model3.pt").is_file()
    card = (tmp_path / "weights2" / "model3.md").read_text()
    assert "Test metrics" in card and record["command"] in card
    assert default_model(tmp_path / "weights2") == "model3"
    markdown = results_markdown(summary)
    assert "Table 6" in markdown and "model3-adam-64px-s0" in markdown


def test_missing_imagenet_weights_become_a_marked_deviation(tiny_dataset, tmp_path, monkeypatch):
    def offline(request, timeout):
        raise urllib.error.URLError("offline")

    def no_download(name):
        raise AssertionError("offline, nothing may be written to the weights cache")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(models, "_load_imagenet_state", no_download)
    alexnet = next(e for e in EXPERIMENTS if e.model == "alexnet")
    cfg, deviation = rep.experiment_config(alexnet, str(tiny_dataset), str(tmp_path), input_size=64)
    assert cfg.pretrained == "none" and cfg.input_size == 64
    assert NO_IMAGENET in deviation and "64 px instead of 224 px" in deviation
    model3 = next(e for e in EXPERIMENTS if e.model == "model3")
    cfg, deviation = rep.experiment_config(model3, str(tiny_dataset), str(tmp_path), input_size=64)
    assert deviation == "" and cfg.optimizer == "adam"


def test_committed_weights_load_and_evaluate(tiny_dataset):
    """Every checkpoint in weights/ loads (weights_only) and evaluates with `lrfp evaluate`."""
    import json
    from pathlib import Path

    from lrfp.cli import main

    weights = sorted((Path(__file__).resolve().parents[1] / "weights").glob("*.pt"))
    if not weights:
        pytest.skip("no committed weights yet")
    for path in weights:
        assert (
            main(["evaluate", "--model", str(path), "--data", str(tiny_dataset), "--json", "--backend", "torch"]) == 0
        )
        card = path.with_suffix(".md")
        assert card.is_file(), f"{path.name} has no model card"
    index = json.loads((weights[0].parent / "index.json").read_text())
    assert (weights[0].parent / f"{index['default']}.pt").is_file()


def test_cached_imagenet_weights_are_found_without_loading_them(tmp_path, monkeypatch):
    def no_load(name):
        raise AssertionError("the cache check must not read or download the weights")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(models, "_load_imagenet_state", no_load)
    cached = Path(models.cached_weights_path("mobilenet_v2"))
    assert cached.parent == tmp_path / "hub" / "checkpoints"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not read here")
    mobilenet = next(e for e in EXPERIMENTS if e.model == "mobilenet_v2")
    assert rep.resolve_pretrained(mobilenet) == ("imagenet", "")


def test_the_default_is_the_family_best_on_test_when_validation_cannot_separate_them():
    entries = {
        "model2": {"test_accuracy": 0.9519, "val_accuracy": 1.0, "val_loss": 0.0002},
        "mobilenet_v2": {"test_accuracy": 0.9760, "val_accuracy": 1.0, "val_loss": 0.0034},
        "model3": {"test_accuracy": 0.9760, "val_accuracy": 1.0, "val_loss": 0.0100},
    }
    assert choose_default(entries) == "mobilenet_v2"  # ties on test fall to validation loss


def test_imagenet_commands_say_where_the_weights_came_from(monkeypatch):
    mobilenet = next(e for e in EXPERIMENTS if e.model == "mobilenet_v2")
    monkeypatch.setenv("TORCH_HOME", "../shared/torch-hub")
    assert rep._command(mobilenet, "data/x", "imagenet").startswith("TORCH_HOME=../shared/torch-hub lrfp reproduce ")
    assert rep._command(mobilenet, "data/x", "none").startswith("lrfp reproduce ")


def test_true_size_rows_sit_beside_the_cpu_rows_in_the_readme_tables():
    summary = pd.read_csv(paths.RESULTS_DIR / "summary.csv")
    # the committed summary holds both the 64 px CPU runs and the 224 px GPU runs of every configuration
    for model in ("model1", "vgg16"):
        sizes = set(summary[(summary["model"] == model) & (summary["epochs"] == 30)]["input_size"])
        assert 224 in sizes and len(sizes) == 2, (model, sizes)
    table4 = results_markdown(summary).split("**Table 4")[1].split("**Table 5")[0]
    lines = [line for line in table4.splitlines() if line.startswith("| batchnorm | 30 |")]
    assert len(lines) == 2
    assert lines[0].split("|")[8].strip() == "224" and lines[1].split("|")[8].strip() == "64"
    assert lines[0].split("|")[3].strip() != "″" and lines[1].split("|")[3].strip() == "″"
