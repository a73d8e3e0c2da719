"""Hostile checkpoints, ONNX graphs and weights indexes: each is refused with one clear error naming
the file (and the field), before anything big is unpacked or allocated from it.

Every file is a real one, made as lrfp makes them (make_checkpoint + atomic_save of a small model1)
and then edited. Nothing here allocates gigabytes: where the old code would have, the test makes the
model builder fail, so a check that comes too late fails the test instead of filling the memory.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from helpers import PAGE, one_error_line, run_cli
from PIL import Image

from lrfp.core.errors import LrfpError
from lrfp.core.records import file_sha256
from lrfp.data.images import IMAGENET_MEAN, IMAGENET_STD
from lrfp.models.checkpoint import CheckpointError, atomic_save, load_model, make_checkpoint, read_checkpoint
from lrfp.models.registry import create_model, model_kwargs
from lrfp.pipeline.inference import Classifier
from lrfp.publishing.index import default_model, read_index

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["with_mask", "without_mask"]


def save_checkpoint(path: Path, edit=None, classes=CLASSES, extra=None, seed: int = 0) -> Path:
    """A real model1 checkpoint (32 px, 1.7 MB), its plain-data dict passed through `edit` before saving."""
    torch.manual_seed(seed)
    kwargs = model_kwargs("model1", norm="groupnorm", num_classes=len(classes))
    ckpt = make_checkpoint(
        create_model("model1", **kwargs),
        name="model1",
        kwargs=kwargs,
        classes=list(classes),
        input_size=32,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        extra=extra,
    )
    if edit is not None:
        edit(ckpt)
    atomic_save(ckpt, path)
    return path


def rezip(src: Path, dst: Path, compression=zipfile.ZIP_DEFLATED) -> Path:
    """The same archive entries, written again with another compression (torch.save stores them)."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", compression) as new:
        for entry in old.infolist():
            new.writestr(entry.filename, old.read(entry))
    return dst


@pytest.fixture
def no_model_building(monkeypatch):
    """Fail the test if a model is built: the checks must come before any allocation."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a model was built from a checkpoint that should have been refused: {args} {kwargs}")

    monkeypatch.setattr("lrfp.models.checkpoint.create_model", refuse)


@pytest.fixture
def face(tmp_path) -> Path:
    Image.new("RGB", (40, 40), (200, 150, 100)).save(tmp_path / "face.png")
    return tmp_path / "face.png"


@pytest.fixture(autouse=True)
def onnx_cache(monkeypatch, tmp_path) -> Path:
    monkeypatch.setattr("lrfp.models.onnx_backend.CACHE_DIR", tmp_path / "onnx-cache")
    return tmp_path / "onnx-cache"


# ---------------------------------------------------------------- 1. archives that inflate


def test_a_deflated_checkpoint_that_inflates_is_refused_before_torch_reads_it(tmp_path, monkeypatch, face, capsys):
    # 32 MB of zeros deflate to 32 KB: the file is 1.6 MB and would unpack to 34 MB (the tester's: 6.3 MB -> 2.8 GB)
    stored = save_checkpoint(tmp_path / "stored.pt", extra={"padding": torch.zeros(8 * 2**20)})
    bomb = rezip(stored, tmp_path / "bomb.pt")
    assert bomb.stat().st_size * 10 < sum(e.file_size for e in zipfile.ZipFile(bomb).infolist())
    loads = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or pytest.fail("torch.load read the bomb"))
    with pytest.raises(CheckpointError, match=r"bomb\.pt: refused: it would unpack to 35 MB from 1\.\d MB"):
        read_checkpoint(bomb)
    code, _, err = run_cli(capsys, "predict", "--model", bomb, "--backend", "torch", face)
    assert code == 2 and "bomb.pt" in one_error_line(err) and not loads


def test_a_checkpoint_bigger_than_any_lrfp_writes_is_refused_unread(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "big.pt")  # 1.7 MB, against a bound lowered to 1 MB
    monkeypatch.setattr("lrfp.models.checkpoint.MAX_UNPACKED_BYTES", 2**20)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load read an oversized file"))
    with pytest.raises(
        CheckpointError, match=r"big\.pt: refused: it would unpack to 2 MB, more than any lrfp checkpoint"
    ):
        read_checkpoint(path)


def test_a_checkpoint_whose_pickle_is_oversized_is_refused_unread(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "pickle.pt")
    monkeypatch.setattr("lrfp.models.checkpoint.MAX_PICKLE_BYTES", 1000)  # its data.pkl is about 2.4 KB
    with pytest.raises(CheckpointError, match=r"pickle\.pt: refused: its pickled part"):
        read_checkpoint(path)


def test_torchs_legacy_format_is_refused_unread(tmp_path):
    # its loader allocates every storage its pickle declares before reading it; lrfp never writes it
    kwargs = model_kwargs("model1", norm="groupnorm")
    ckpt = make_checkpoint(
        create_model("model1", **kwargs),
        name="model1",
        kwargs=kwargs,
        classes=CLASSES,
        input_size=32,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    )
    torch.save(ckpt, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match=r"legacy\.pt: not an lrfp checkpoint \(not a PyTorch zip file"):
        read_checkpoint(tmp_path / "legacy.pt")


def test_a_checkpoint_compressed_as_weights_compress_still_loads(tmp_path):
    deflated = rezip(save_checkpoint(tmp_path / "plain.pt"), tmp_path / "deflated.pt")  # 1.1-fold
    model, ckpt = load_model(deflated)
    assert ckpt["classes"] == CLASSES and model(torch.zeros(1, 3, 32, 32)).shape == (1, 2)


# ---------------------------------------------------------------- 2. the metadata contract


def setter(*keys, value):
    def edit(ckpt):
        target = ckpt
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


BAD_METADATA = {
    "input_size 20000": (setter("input_size", value=20000), "input_size"),  # 6.9 GB, then a traceback
    "input_size 100000": (setter("input_size", value=100000), "input_size"),
    "input_size negative": (setter("input_size", value=-5), "input_size"),
    "input_size a string": (setter("input_size", value="64"), "input_size"),
    "input_size a float": (setter("input_size", value=64.0), "input_size"),
    "input_size under the model's minimum": (setter("input_size", value=8), "input_size"),
    "num_classes 2e7": (setter("model", "kwargs", "num_classes", value=20_000_000), "num_classes"),  # 5.8 GB
    "num_classes 1e9": (setter("model", "kwargs", "num_classes", value=10**9), "num_classes"),
    "num_classes a string": (setter("model", "kwargs", "num_classes", value="2"), "num_classes"),
    "num_classes one": (setter("model", "kwargs", "num_classes", value=1), "num_classes"),
    "an unknown keyword argument": (setter("model", "kwargs", "evil", value=1), "model.kwargs"),
    "an unknown architecture": (setter("model", "name", value="resnet50"), "model"),
    "an unknown norm": (setter("model", "kwargs", "norm", value="layernorm"), "norm"),
    "kwargs not a dict": (setter("model", "kwargs", value=[1]), "model"),
    "fewer classes than outputs": (setter("classes", value=["with_mask"]), "classes"),
    "duplicate classes": (setter("classes", value=["with_mask", "with_mask"]), "classes"),
    "an empty class name": (setter("classes", value=["with_mask", ""]), "classes"),
    "a class name with a terminal escape": (setter("classes", value=["with_mask", "\x1b[2J"]), "classes"),
    "class names not strings": (setter("classes", value=[0, 1]), "classes"),
    "classes a string": (setter("classes", value="ab"), "classes"),
    "std zero": (setter("normalization", "std", value=[0.0, 0.0, 0.0]), "normalization"),
    "mean NaN": (setter("normalization", "mean", value=[float("nan"), 0.4, 0.4]), "normalization"),
    "two channels": (setter("normalization", "mean", value=[0.5, 0.5]), "normalization"),
    "version a string": (setter("version", value="2"), "version"),
    "state_dict a list": (setter("state_dict", value=[1, 2]), "state_dict"),
}


@pytest.mark.parametrize("case", list(BAD_METADATA))
def test_bad_metadata_is_refused_naming_the_field_before_any_model_is_built(case, tmp_path, no_model_building):
    edit, field = BAD_METADATA[case]
    path = save_checkpoint(tmp_path / "bad.pt", edit)
    with pytest.raises(CheckpointError, match=r"bad\.pt: unusable checkpoint: \S*" + field) as caught:
        load_model(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "case", ["input_size 20000", "num_classes 2e7", "an unknown keyword argument", "fewer classes than outputs"]
)
def test_the_cli_says_so_in_one_line_through_both_backends(case, tmp_path, face, capsys, no_model_building):
    edit, field = BAD_METADATA[case]
    path = save_checkpoint(tmp_path / "bad.pt", edit)
    code, _, err = run_cli(capsys, "predict", "--model", path, face)  # auto: the ONNX export, then PyTorch
    line = one_error_line(err)
    assert code == 2 and "bad.pt" in line and field in line


def test_weights_of_another_shape_than_the_metadata_says_are_refused(tmp_path):
    # a 3-class model's weights under 2-class metadata: the output layer would not match the class list
    def two_classes(ckpt):
        ckpt["classes"], ckpt["model"]["kwargs"]["num_classes"] = CLASSES, 2

    path = save_checkpoint(tmp_path / "head.pt", two_classes, classes=CLASSES + ["mask_weared_incorrect"])
    with pytest.raises(CheckpointError, match=r"head\.pt: its weights do not fit model model1 .*size mismatch"):
        load_model(path)


def test_every_shipped_checkpoint_meets_the_contract():
    for path in sorted((ROOT / "weights").glob("*.pt")):
        assert read_checkpoint(path)["classes"]


# ---------------------------------------------------------------- 3. ONNX graphs: the cache slot and the metadata


def cache_slot(cache: Path, checkpoint: Path) -> Path:
    return cache / f"{checkpoint.stem}-{file_sha256(checkpoint)[:16]}.onnx"


@pytest.mark.parametrize("intruder", ["garbage", "another model's graph"])
def test_a_wrong_graph_in_the_cache_slot_is_replaced_not_used(intruder, tmp_path, onnx_cache):
    from lrfp.models.onnx_backend import export_onnx

    path = save_checkpoint(tmp_path / "mine.pt")
    slot = cache_slot(onnx_cache, path)
    slot.parent.mkdir(parents=True)
    if intruder == "garbage":
        slot.write_bytes(b"\x08\x07 not an onnx graph")
    else:  # a three-class model's graph: used, it would name faces with the wrong classes
        other = save_checkpoint(tmp_path / "other.pt", classes=CLASSES + ["mask_weared_incorrect"], seed=1)
        export_onnx(other, slot)
    clf = Classifier(path, backend="onnx")
    assert clf.backend == "onnx" and clf.classes == CLASSES
    assert clf._session.path == slot and clf._session.meta["checkpoint_sha256"] == file_sha256(path)
    face = Image.new("RGB", (24, 24), (120, 90, 60))
    torch_clf = Classifier(path, backend="torch")
    assert torch.allclose(clf.probabilities([face]), torch_clf.probabilities([face]), atol=1e-4)


def rewrite_onnx_meta(src: Path, dst: Path, edit) -> Path:
    import onnx

    graph = onnx.load(src)
    prop = next(p for p in graph.metadata_props if p.key == "lrfp")
    meta = json.loads(prop.value)
    edit(meta)
    prop.value = json.dumps(meta)
    onnx.save(graph, dst)
    return dst


BAD_ONNX_META = {
    "input_size 20000": (setter("input_size", value=20000), "input_size"),
    "fewer classes than outputs": (setter("classes", value=["with_mask"]), "classes"),
    "an unknown keyword argument": (setter("model", "kwargs", "evil", value=1), "model.kwargs"),
    # valid on its own, but the graph gives 2 logits, not 3
    "more classes than the graph's outputs": (
        lambda m: (m["classes"].append("mask_weared_incorrect"), m["model"]["kwargs"].update(num_classes=3)),
        "logits",
    ),
    # valid on its own, but the graph takes 32 px
    "another input size than the graph's": (setter("input_size", value=64), "image"),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    from lrfp.models.onnx_backend import export_onnx

    folder = tmp_path_factory.mktemp("onnx")
    return export_onnx(save_checkpoint(folder / "good.pt"), folder / "good.onnx")


@pytest.mark.parametrize("case", list(BAD_ONNX_META))
def test_an_onnx_graph_whose_metadata_breaks_the_contract_is_refused(case, exported, tmp_path, face, capsys):
    edit, field = BAD_ONNX_META[case]
    path = rewrite_onnx_meta(exported, tmp_path / "bad.onnx", edit)
    with pytest.raises(CheckpointError, match=r"bad\.onnx: .*" + field):
        Classifier(path)
    code, _, err = run_cli(capsys, "predict", "--model", path, face)
    assert code == 2 and "bad.onnx" in one_error_line(err)


def test_an_onnx_graph_with_metadata_that_is_not_json_is_refused(exported, tmp_path):
    import onnx

    graph = onnx.load(exported)
    next(p for p in graph.metadata_props if p.key == "lrfp").value = "{not json"
    onnx.save(graph, tmp_path / "bad.onnx")
    with pytest.raises(CheckpointError, match=r"bad\.onnx: its lrfp metadata is not a JSON object"):
        Classifier(tmp_path / "bad.onnx")


# ---------------------------------------------------------------- 4. weights/index.json


def weights_with_index(folder: Path, content) -> Path:
    """A weights/ folder with one real checkpoint (model1.pt) and the given index.json (bytes, text or an object)."""
    weights = folder / "weights"
    weights.mkdir(parents=True)
    shutil.copy(ROOT / "weights" / "model1.pt", weights / "model1.pt")
    if not isinstance(content, bytes):
        content = (content if isinstance(content, str) else json.dumps(content)).encode()
    (weights / "index.json").write_bytes(content)
    return weights


ENTRY = {
    "file": "model1.pt",
    "run_id": "model1-groupnorm-sgd-64px-s0",
    "epoch": 50,
    "input_size": 64,
    "test_accuracy": 0.96,
    "val_accuracy": 1.0,
    "val_loss": 0.01,
}

BAD_INDEXES = {
    "bad JSON": ("{not json", "not valid JSON"),
    "bytes that are not text": (b"\xff\xfe\x00garbage", "not valid JSON"),
    "nesting deeper than the parser goes": ("[" * 100_000, "not valid JSON"),
    "a list": ([1, 2], "not an lrfp weights index"),
    "models a list": ({"models": []}, "not an lrfp weights index"),
    "a default outside weights/": ({"default": "../../x", "models": {"model1": ENTRY}}, "default '../../x'"),
    "a default not published": ({"default": "model9", "models": {"model1": ENTRY}}, "default 'model9'"),
    "a default that is a list": ({"default": ["model1"], "models": {"model1": ENTRY}}, "default"),
    "a model named with a path": ({"models": {"../x": {**ENTRY, "file": "../x.pt"}}}, "model name '../x'"),
    "a file elsewhere": ({"models": {"model1": {**ENTRY, "file": "../../x.pt"}}}, "model1.file must be model1.pt"),
    "an entry that is a string": ({"models": {"model1": "model1.pt"}}, "the entry of model1"),
    "an accuracy that is text": ({"models": {"model1": {**ENTRY, "test_accuracy": "high"}}}, "model1.test_accuracy"),
    "an epoch that is a float": ({"models": {"model1": {**ENTRY, "epoch": 50.0}}}, "model1.epoch"),
    "a missing run_id": ({"models": {"model1": {k: v for k, v in ENTRY.items() if k != "run_id"}}}, "model1.run_id"),
    "a cv_record outside results/": ({"models": {"model1": {**ENTRY, "cv_record": "../../etc/passwd"}}}, "cv_record"),
}


@pytest.mark.parametrize("case", list(BAD_INDEXES))
def test_a_bad_index_is_one_error_naming_the_file_and_what_is_wrong(case, tmp_path):
    content, problem = BAD_INDEXES[case]
    weights = weights_with_index(tmp_path, content)
    for read in (read_index, default_model):
        with pytest.raises(LrfpError) as caught:
            read(weights)
        assert str(caught.value).startswith(f"{weights / 'index.json'}: ") and problem in str(caught.value)


def test_a_default_named_outside_weights_is_never_loaded(tmp_path, monkeypatch, face, capsys):
    weights = weights_with_index(tmp_path / "project", {"default": "../../x", "models": {"model1": ENTRY}})
    shutil.copy(ROOT / "weights" / "model1.pt", tmp_path / "x.pt")  # what the old code loaded
    monkeypatch.setattr("lrfp.core.paths.WEIGHTS_DIR", weights)
    monkeypatch.setattr(
        "lrfp.pipeline.inference.Classifier.__init__", lambda *a, **k: pytest.fail("a classifier was loaded")
    )
    code, _, err = run_cli(capsys, "scene", face, "--out", tmp_path / "out.png")
    assert code == 2 and "index.json: the default '../../x' is not one of its models" in one_error_line(err)


def test_lrfp_scene_with_a_corrupt_index_is_one_line(tmp_path, monkeypatch, face, capsys):
    monkeypatch.setattr("lrfp.core.paths.WEIGHTS_DIR", weights_with_index(tmp_path, "{not json"))
    code, _, err = run_cli(capsys, "scene", face, "--out", tmp_path / "out.png")
    assert code == 2 and "index.json: not valid JSON" in one_error_line(err)


def test_the_shipped_index_meets_the_contract():
    index = read_index(ROOT / "weights")
    assert index["default"] in index["models"] and default_model(ROOT / "weights") == index["default"]


def dashboard_frame():
    """What every page runs first (app.py's sidebar picker) and what the Results page asks."""
    from lrfp.app.ui import default_run_id, model_picker

    model_picker()
    default_run_id()


def test_the_dashboard_shows_a_corrupt_index_as_an_error_not_an_exception(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr("lrfp.core.paths.WEIGHTS_DIR", weights_with_index(tmp_path, "[1, 2]"))
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    at = AppTest.from_function(dashboard_frame, default_timeout=30).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert errors and all("index.json: not an lrfp weights index" in e for e in errors)
    assert at.sidebar.selectbox[0].value == "weights/model1"  # the picker still offers the checkpoints


@pytest.mark.parametrize("page", [PAGE["Overview"], PAGE["Results"]])
def test_the_pages_that_read_the_index_show_its_error(page, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr("lrfp.core.paths.WEIGHTS_DIR", weights_with_index(tmp_path, "{not json"))
    monkeypatch.setattr("lrfp.core.paths.DATA_DIR", tmp_path / "absent")
    monkeypatch.setattr("lrfp.core.paths.RUNS_DIR", tmp_path / "runs")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    if page != PAGE["Overview"]:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    assert any("index.json: not valid JSON" in e.value for e in at.main.error)


@pytest.mark.parametrize("name", ["../x", "/tmp/x", ".hidden", "a/b", ""])
def test_publishing_under_a_name_the_index_could_not_hold_is_refused_before_writing(name, tmp_path):
    from lrfp.publishing.families import publish_run
    from lrfp.publishing.production import publish_production

    weights = tmp_path / "weights"
    for publish in (
        lambda: publish_run(tmp_path / "run", name, tmp_path / "results", weights),
        lambda: publish_production(tmp_path / "run", name, None, tmp_path / "results", weights),
    ):
        with pytest.raises(LrfpError, match="not a name to publish under"):
            publish()
    assert not weights.exists()
