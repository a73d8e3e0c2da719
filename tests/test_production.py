"""The production recipe: face bank, folds, detector-like crops, weighted training, CV, face scores."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SHARED_FMD, make_voc_source

from lrfp.cli import main
from lrfp.core import paths
from lrfp.core.errors import ConfigError, RunError
from lrfp.core.events import EpochEnd
from lrfp.core.metrics import balanced_accuracy_interval
from lrfp.core.records import write_json_atomic
from lrfp.data.bank_crops import FaceBankDataset, eval_transform, production_transform
from lrfp.data.facebank import FaceBank, build_facebank
from lrfp.data.folds import fold_faces
from lrfp.data.images import DatasetError, read_manifest
from lrfp.data.voc import PAPER_CLASSES, parse_voc
from lrfp.evaluation.faces import evaluate_faces
from lrfp.experiments.crossval import cross_validate
from lrfp.models.checkpoint import read_checkpoint
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.publishing.index import read_index
from lrfp.publishing.production import publish_production
from lrfp.training.config import TrainConfig
from lrfp.training.recipe import recipe_of
from lrfp.training.run import fit


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


@pytest.fixture(scope="module")
def demo_bank(tmp_path_factory, detector, demo_voc_source) -> Path:
    """A bank of the shipped demo scenes: real photos, real detector."""
    out = tmp_path_factory.mktemp("bank") / "demo.json"
    build_facebank(demo_voc_source, out, detector)
    return out


@pytest.fixture(scope="module")
def synthetic_bank(tmp_path_factory, detector) -> Path:
    """A bank of 60 generated scenes of cartoon faces (the detector finds some of them)."""
    source = make_voc_source(tmp_path_factory.mktemp("vocp"), n_images=60, seed=3)
    out = source / "bank.json"
    build_facebank(source, out, detector)
    return out


@pytest.mark.detector
def test_the_bank_holds_every_labelled_face_with_the_detectors_box(demo_bank, demo_voc_source):
    bank = FaceBank(demo_bank)
    labelled = sum(len(parse_voc(x)[1]) for x in (demo_voc_source / "annotations").glob("*.xml"))
    assert 0 < len(bank.faces) <= labelled
    found = [f for f in bank.faces if f.detected]
    assert len(found) >= 0.6 * len(bank.faces), "RetinaFace finds most faces of these photos"
    for f in found:  # a paired box overlaps its labelled face
        x0, y0 = max(f.box[0], f.detected[0]), max(f.box[1], f.detected[1])
        x1, y1 = min(f.box[2], f.detected[2]), min(f.box[3], f.detected[3])
        assert x1 > x0 and y1 > y0
    assert bank.summary["detector_vs_label"]["height_ratio_median"] > 1, "detector boxes are taller (hair, chin)"


@pytest.mark.skipif(not SHARED_FMD.is_dir(), reason="needs ../shared/data/fmd853")
def test_bank_splits_are_the_default_builds_splits():
    from lrfp.data.build import BuildOptions
    from lrfp.data.facebank import _split_of_photos

    sizes = {}
    for xml in sorted((SHARED_FMD / "annotations").glob("*.xml")):
        filename, objects = parse_voc(xml)
        sizes[f"images/{filename}"] = [(label, min(b[2] - b[0], b[3] - b[1])) for label, b in objects]
    split_of = _split_of_photos(SHARED_FMD, sizes, BuildOptions())
    manifest = read_manifest(paths.DEMO_DIR / "fmd853-lr")  # the default build, shipped
    for split, entries in manifest["splits"].items():
        assert all(split_of[e["source"]][1] == split for e in entries)


def test_a_bank_file_that_is_not_one_is_refused(tmp_path):
    bad = tmp_path / "bank.json"
    bad.write_text(json.dumps({"faces": []}))
    with pytest.raises(DatasetError, match="not an lrfp face bank"):
        FaceBank(bad)
    bad.write_text("{")
    with pytest.raises(DatasetError, match="not a readable face bank"):
        FaceBank(bad)


@pytest.mark.detector
def test_training_crops_vary_and_evaluation_crops_are_the_exact_boxes(demo_bank):
    bank = FaceBank(demo_bank)
    faces = [f for f in bank.faces if f.detected and f.face_px >= 20][:5]
    train = FaceBankDataset(bank, faces, list(PAPER_CLASSES) + ["mask_weared_incorrect"], "train", lambda im: im)
    label = FaceBankDataset(bank, faces, train.classes, "label", lambda im: im)
    det = FaceBankDataset(bank, faces, train.classes, "detector", lambda im: im)
    torch.manual_seed(0)
    for i, f in enumerate(faces):
        assert label.crop(i).size == (f.box[2] - f.box[0], f.box[3] - f.box[1])
        assert det.crop(i).size == (f.detected[2] - f.detected[0], f.detected[3] - f.detected[1])
        sizes = {train.crop(i).size for _ in range(8)}
        assert len(sizes) > 1, "every access draws another box"
    x = production_transform(48)(train.crop(0))
    assert x.shape == (3, 48, 48) and x.dtype == torch.float32


@pytest.mark.detector
def test_the_detector_view_leaves_out_missed_faces(demo_bank):
    bank = FaceBank(demo_bank)
    det = FaceBankDataset(
        bank, bank.faces, ["with_mask", "without_mask", "mask_weared_incorrect"], "detector", eval_transform(32)
    )
    assert len(det) == sum(1 for f in bank.faces if f.detected) < len(bank.faces)


def test_folds_are_grouped_by_photo_and_never_use_test_photos(synthetic_bank):
    bank = FaceBank(synthetic_bank)
    pool = {(f.photo, f.box) for f in bank.select(("train", "val"))}
    held = []
    for k in range(3):
        train, val = fold_faces(bank, PAPER_CLASSES, k, 3)
        assert not {f.group for f in train} & {f.group for f in val}
        assert all(f.split != "test" for f in train + val)
        held += [(f.photo, f.box) for f in val]
    assert sorted(held) == sorted(pool), "each train/val face is held out exactly once"


def test_class_weights_make_the_rarer_class_count_as_much(synthetic_bank):
    bank = FaceBank(synthetic_bank)
    faces = bank.select(("train",))
    ds = FaceBankDataset(bank, faces, list(PAPER_CLASSES), "label", eval_transform(32))
    loss = recipe_of("production").loss(TrainConfig(model="model3", data="x", recipe="production"), ds)
    counts = np.bincount(ds.targets, minlength=2)
    assert np.allclose((loss.weight.numpy() * counts), counts.sum() / 2)
    assert loss.label_smoothing == pytest.approx(0.1)


def prod_config(bank, out, **kw):
    base = dict(
        model="model3",
        data=str(bank),
        input_size=32,
        epochs=2,
        milestones=(),
        precision="fp32",
        batch_size=16,
        out=str(out),
        recipe="production",
        fold=0,
        folds=3,
        lr=0.003,
    )
    return TrainConfig(**(base | kw))


class Killed(Exception):
    pass


@pytest.mark.detector
@pytest.mark.training
def test_a_production_run_resumes_to_the_same_weights(synthetic_bank, tmp_path):
    whole = fit(prod_config(synthetic_bank, tmp_path / "a", epochs=3))
    assert whole["config"]["optimizer"] == "adamw" and whole["run_id"].startswith("prod-model3")

    def kill(event):
        if isinstance(event, EpochEnd) and event.epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        fit(prod_config(synthetic_bank, tmp_path / "b", epochs=3), subscribers=[kill], resume_every_s=0)
    resumed = fit(prod_config(synthetic_bank, tmp_path / "b", epochs=3))
    run = whole["run_id"]
    a = torch.load(tmp_path / "a" / run / "epoch003.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / run / "epoch003.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["train_loss"] for h in whole["history"]] == [h["train_loss"] for h in resumed["history"]]
    # the one-cycle schedule is fitted to the epoch count: another one cannot continue it
    with pytest.raises(Exception, match="other settings"):
        fit(prod_config(synthetic_bank, tmp_path / "b", epochs=5))


@pytest.mark.detector
@pytest.mark.training
def test_cross_validation_scores_every_fold_three_ways(synthetic_bank, tmp_path):
    report = cross_validate(prod_config(synthetic_bank, tmp_path, epochs=1, fold=None))
    assert len(report["folds"]) == 3
    for fold in report["folds"]:
        assert 0 < fold["detector"]["n"] <= fold["label"]["n"] == fold["label_16px"]["n"]
        lo, hi = fold["label"]["balanced_accuracy_interval"]
        assert lo <= fold["label"]["balanced_accuracy"] <= hi
    summary = report["balanced_accuracy"]["label"]
    values = [f["label"]["balanced_accuracy"] for f in report["folds"]]
    assert summary["mean"] == pytest.approx(np.mean(values)) and summary["sd"] == pytest.approx(np.std(values, ddof=1))
    # a second call reuses the finished folds: nothing is trained again
    again = cross_validate(prod_config(synthetic_bank, tmp_path, epochs=1, fold=None))
    assert again["folds"] == report["folds"]

    # published with its CV record, it becomes the default (the test split chose nothing)
    results, weights = tmp_path / "results", tmp_path / "weights"
    cv_path = results / "production" / "cv" / "candidate.json"
    write_json_atomic(report, cv_path)
    weights.mkdir()  # a paper model published before, as the default
    shutil.copyfile(paths.WEIGHTS_DIR / "model3.pt", weights / "model3.pt")
    write_json_atomic(
        {"models": {"model3": read_index()["models"]["model3"]}, "default": "model3"}, weights / "index.json"
    )
    entry = publish_production(tmp_path / report["folds"][0]["run_id"], "prod-test", cv_path, results, weights)
    index = read_index(weights)
    assert index["default"] == "prod-test" and "cross-validated" in index["default_chosen_by"]
    assert entry["cv_score"] == report["balanced_accuracy"]["score"]["mean"]
    card = (weights / "prod-test.md").read_text()
    assert "Cross-validation" in card and "`candidate` (this model)" in card and "test split chose nothing" in card
    assert Classifier(weights / "prod-test.pt").classes == list(PAPER_CLASSES)
    # shipped in half precision, with an ONNX graph for the default only (the others export on first use)
    shipped = read_checkpoint(weights / "prod-test.pt")["state_dict"]
    assert all(v.dtype == torch.float16 for v in shipped.values() if v.is_floating_point())
    assert sorted(p.name for p in weights.glob("*.onnx")) == ["prod-test.onnx"]
    with pytest.raises(RunError, match="keep cross-validation records in"):
        publish_production(
            tmp_path / report["folds"][0]["run_id"], "prod-test", tmp_path / "elsewhere.json", results, weights
        )
    with pytest.raises(RunError, match="another configuration"):
        other = report | {"config": report["config"] | {"input_size": 64}}
        write_json_atomic(other, cv_path)
        publish_production(tmp_path / report["folds"][0]["run_id"], "prod-test", cv_path, results, weights)


@pytest.mark.detector
def test_faces_eval_scores_a_shipped_model_on_the_demo_bank(demo_bank, tmp_path, capsys):
    out = tmp_path / "faces.json"
    assert (
        main(["faces-eval", "--model", "model3", "--data", str(demo_bank), "--split", "train", "--out", str(out)]) == 0
    )
    record = json.loads(out.read_text())
    assert set(record["views"]) == {"label", "label_16px", "detector"}
    assert record["views"]["detector"]["n"] < record["views"]["label"]["n"]
    assert "balanced" in capsys.readouterr().out


@pytest.mark.detector
def test_evaluate_faces_leaves_out_classes_the_model_does_not_know(demo_bank):
    bank = FaceBank(demo_bank)
    clf = Classifier("model3")
    result = evaluate_faces(clf, bank, bank.faces)
    assert result["label"]["n"] == sum(1 for f in bank.faces if f.label in PAPER_CLASSES)


def test_balanced_accuracy_interval_holds_the_estimate_and_narrows_with_more_faces():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 2, 60)
    large = rng.integers(0, 2, 2000)
    flip = lambda y: np.where(rng.random(len(y)) < 0.1, 1 - y, y)  # noqa: E731 - 90 % right
    lo_s, hi_s = balanced_accuracy_interval(small, flip(small))
    lo_l, hi_l = balanced_accuracy_interval(large, flip(large))
    assert lo_s < 0.9 < hi_s and lo_l < 0.9 < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 3
    assert np.isnan(balanced_accuracy_interval([], [])[0])


def test_production_options_are_refused_with_the_paper_recipe(tiny_dataset):
    with pytest.raises(ConfigError, match="production recipe"):
        TrainConfig(model="model3", data=str(tiny_dataset), fold=0).resolved()
    with pytest.raises(ConfigError, match="fold must be from 0 to 2"):
        TrainConfig(model="model3", data="x", recipe="production", fold=3, folds=3).resolved()


def test_a_mask_worn_incorrectly_is_counted_coloured_and_not_compliant():
    from PIL import Image

    from lrfp.pipeline.detect import FaceBox
    from lrfp.pipeline.scene import COLORS, INCORRECT, FaceResult, SceneResult, annotate

    result = SceneResult(
        "scene",
        [
            FaceResult(FaceBox(10, 10, 50, 50, 0.9), INCORRECT, 0.8),
            FaceResult(FaceBox(60, 10, 100, 50, 0.9), "with_mask", 0.9),
        ],
    )
    counts = result.counts()
    assert counts["incorrect"] == 1 and counts["compliance"] == 0.5
    drawn = annotate(Image.new("RGB", (120, 80), (255, 255, 255)), result)
    assert drawn.getpixel((10, 30)) == COLORS[INCORRECT]
    assert COLORS[INCORRECT] not in (COLORS["with_mask"], COLORS["without_mask"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--recipe", "production", "--model", "model3", "--data", "DATASET"], "not a readable face bank"),
        (["cv", "--model", "model3", "--data", "DATASET"], "not a readable face bank"),
        (["faces-eval", "--model", "model3", "--data", "MISSING"], "not a readable face bank"),
        (["facebank", "build", "--source", "DATASET", "--out", "MISSING"], "no PASCAL VOC .xml files"),
    ],
)
def test_production_commands_refuse_wrong_data_in_one_line(argv, message, tiny_dataset, tmp_path, capsys):
    argv = [
        str(tiny_dataset) if a == "DATASET" else str(tmp_path / "absent.json") if a == "MISSING" else a for a in argv
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrfp: error:") and message in err and "Traceback" not in err
