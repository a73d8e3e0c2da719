"""The face detector lrfp fine-tunes: CenterFace in PyTorch against its ONNX graph, the training crops and
targets, a short run that lowers the loss and resumes to the same weights, and the shipped graph."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch
from PIL import Image

from lrfp.core import paths
from lrfp.data.face_boxes import BoxedPhoto, FaceCrops, boxed_photos
from lrfp.data.voc import photos_of
from lrfp.models.centerface import STRIDE, CenterFace, decode, encode, load_onnx_weights, padded, pretrained
from lrfp.pipeline.detect import CenterFaceBackend, FaceDetector
from lrfp.training import detector as training
from lrfp.training.detector import DetectorConfig, detector_loss, fit_detector, load_finetuned

SCENE = paths.DEMO_DIR / "scenes" / "images" / "maksssksksss389.jpg"


def test_centerface_in_pytorch_gives_the_onnx_graphs_outputs():
    import onnxruntime as ort

    rgb = np.asarray(Image.open(SCENE).convert("RGB"))
    x = padded(rgb)
    session = ort.InferenceSession(CenterFaceBackend.graph().SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, {CenterFaceBackend.INPUT: x})
    with torch.no_grad():
        got = pretrained().scores(torch.from_numpy(x))
    for e, g in zip(expected, got):
        assert e.shape == tuple(g.shape)
        np.testing.assert_allclose(g.numpy(), e, atol=1e-4)


def test_weights_of_another_network_are_refused():
    from onnx import numpy_helper

    graph = CenterFaceBackend.graph()
    conv = next(t for t in graph.graph.initializer if len(t.dims) == 4)
    wider = np.zeros((conv.dims[0] + 1, *conv.dims[1:]), np.float32)  # one layer of another width
    conv.CopyFrom(numpy_helper.from_array(wider, conv.name))
    with pytest.raises(ValueError, match="does not fit|another network"):
        load_onnx_weights(CenterFace(), graph)


@pytest.mark.parametrize("box", [(40, 52, 48, 62), (10, 20, 110, 140), (100, 3, 131, 40)])
def test_a_faces_targets_decode_back_to_its_box(box):
    t = encode(np.array([box], np.float32), np.zeros((0, 4), np.float32), 256)
    heat = t["heat"].numpy()
    assert heat.max() == 1.0 and t["centre"].sum() == 1
    found = decode(heat, t["size"].numpy(), t["offset"].numpy(), 0.99, 256, 256)
    assert len(found) == 1
    np.testing.assert_allclose(found[0, :4], box, atol=0.5)


def test_unlabelled_and_cut_faces_are_neither_face_nor_background():
    faces = np.array([[100, 100, 140, 150], [-30, 10, 10, 60]], np.float32)  # the second mostly outside the crop
    ignore = np.array([[200, 200, 240, 240]], np.float32)
    t = encode(faces, ignore, 256)
    weight = t["weight"][0]
    assert t["centre"].sum() == 1  # only the whole face is a target
    assert weight[200 // STRIDE + 2, 200 // STRIDE + 2] == 0  # unlabelled face: no loss
    assert weight[30 // STRIDE, 0] == 0  # the cut face: no loss
    assert weight[125 // STRIDE, 120 // STRIDE] == 1 and weight[10, 40] == 1  # the face and plain background: taught


def test_crops_depend_only_on_seed_epoch_and_index(demo_voc_source):
    photos = boxed_photos(sorted((demo_voc_source / "annotations").glob("*.xml")))
    a, b = FaceCrops(photos, 4, encode, seed=3), FaceCrops(photos, 4, encode, seed=3)
    b[0], b[2]  # other draws in between change nothing
    assert torch.equal(a[1][0], b[1][0]) and torch.equal(a[1][1]["heat"], b[1][1]["heat"])
    a.set_epoch(1)
    assert not torch.equal(a[1][0], b[1][0])


def _fixed_loss(model, photos) -> float:
    crops = FaceCrops(photos, 8, encode, seed=99, crop=128, augment=False)
    images = torch.stack([crops[i][0] for i in range(8)])
    batch = {k: torch.stack([crops[i][1][k] for i in range(8)]) for k in crops[0][1]}
    with torch.no_grad():
        return float(detector_loss(model.eval()(images), batch)["total"])


@pytest.mark.training
def test_a_short_run_lowers_the_loss_and_resumes_to_the_same_weights(demo_voc_source, tmp_path, monkeypatch):
    photos = boxed_photos(sorted((demo_voc_source / "annotations").glob("*.xml")))
    cfg = DetectorConfig(epochs=3, crops_per_epoch=16, batch_size=4, crop=128, lr=2e-4, precision="fp32", dev_every=3)
    data = {"fingerprint": "demo"}
    whole = fit_detector(cfg, photos, photos[:1], tmp_path / "whole", "test", data)
    assert whole["status"] == "finished" and "dev" in whole["history"][-1]
    assert _fixed_loss(load_finetuned(tmp_path / "whole" / "final.pt"), photos) < _fixed_loss(pretrained(), photos)

    real_epoch = training.train_epoch

    def killed_at_3(model, crops, epoch, *args):
        if epoch == 3:
            raise KeyboardInterrupt
        return real_epoch(model, crops, epoch, *args)

    monkeypatch.setattr(training, "train_epoch", killed_at_3)
    with pytest.raises(KeyboardInterrupt):
        fit_detector(cfg, photos, photos[:1], tmp_path / "killed", "test", data)
    monkeypatch.setattr(training, "train_epoch", real_epoch)
    resumed = fit_detector(cfg, photos, photos[:1], tmp_path / "killed", "test", data)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    a = load_finetuned(tmp_path / "whole" / "final.pt").state_dict()
    b = load_finetuned(tmp_path / "killed" / "final.pt").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(Exception, match="other settings"):
        fit_detector(
            DetectorConfig(epochs=4, crops_per_epoch=16, batch_size=4, crop=128),
            photos,
            [],
            tmp_path / "killed",
            "test",
            data,
        )


@pytest.mark.training
def test_a_run_the_old_code_saved_resumes_to_the_weights_of_an_uninterrupted_one(demo_voc_source, tmp_path):
    """last.pt and record.json as fit_detector wrote them before the run folder was shared with the
    classifier's runs (and before negative_share and start were settings): the run goes on from them."""
    photos = boxed_photos(sorted((demo_voc_source / "annotations").glob("*.xml")))
    cfg = DetectorConfig(epochs=2, crops_per_epoch=8, batch_size=4, crop=128, precision="fp32", device="cpu")
    data = {"fingerprint": "demo"}
    fit_detector(cfg, photos, [], tmp_path / "whole", "test", data)

    # epoch 1 trained and saved the way the old fit_detector did
    torch.manual_seed(cfg.seed)
    model = pretrained().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=4, pct_start=0.1)
    crops = FaceCrops(photos, cfg.crops_per_epoch, encode, cfg.seed, cfg.crop)
    entry = training.train_epoch(model, crops, 1, cfg, optimizer, schedule, False, "cpu")
    old_config = {k: v for k, v in asdict(cfg).items() if k not in ("negative_share", "start")}
    old = tmp_path / "old"
    old.mkdir()
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict()}
    torch.save(state | {"epoch": 1, "config": old_config, "data": data}, old / "last.pt")
    record = {"run_id": cfg.run_id, "config": old_config | {"bf16": False}, "command": "old", "data": data}
    record |= {"environment": {}, "history": [entry], "status": "running"}
    (old / "record.json").write_text(json.dumps(record))

    resumed = fit_detector(cfg, photos, [], old, "test", data)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2] and resumed["history"][0] == entry
    assert resumed["status"] == "finished"
    a = load_finetuned(tmp_path / "whole" / "final.pt").state_dict()
    b = load_finetuned(old / "final.pt").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_file_that_is_not_a_finetuned_detector_is_refused(tmp_path):
    bad = tmp_path / "final.pt"
    torch.save({"weights": 1}, bad)
    with pytest.raises(Exception, match="not a CenterFace fine-tuned"):
        load_finetuned(bad)


@pytest.mark.detector
def test_the_shipped_finetuned_detector_finds_the_example_photos_faces(demo_voc_source):
    from lrfp.data.voc import match

    photos = boxed_photos(sorted((demo_voc_source / "annotations").glob("*.xml")))
    detector = FaceDetector("centerface-masks")
    assert detector.describe()["detector"] == "centerface-masks" and detector.describe()["graph"] == "int8"
    found = sum(
        len(match(p.faces.tolist(), [(b.x0, b.y0, b.x1, b.y1) for b in detector.detect(p.image)])) for p in photos
    )
    assert found >= 0.8 * sum(len(p.faces) for p in photos)  # 36 of 42 when shipped (the generic one: 37)


def test_train_photos_are_split_again_with_near_duplicates_together():
    from lrfp.experiments.detector import split_train_photos

    source = paths.PROJECT_ROOT.parent / "shared" / "data" / "fmd853" if paths.PROJECT_ROOT else None
    if source is None or not source.is_dir():
        pytest.skip("needs ../shared/data")
    train, held = split_train_photos(source, paths.DEMO_DIR / "fmd853-lr")
    assert not set(train) & set(held)
    assert set(train) | set(held) == set(photos_of(source, paths.DEMO_DIR / "fmd853-lr", "train"))
    assert 0.1 < len(held) / (len(train) + len(held)) < 0.3


def test_boxed_photos_carry_every_labelled_class(demo_voc_source):
    photos = boxed_photos(sorted((demo_voc_source / "annotations").glob("*.xml")))
    assert all(isinstance(p, BoxedPhoto) and len(p.faces) for p in photos)


def test_a_missing_finetuned_graph_is_said_plainly(tmp_path, monkeypatch):
    from lrfp.pipeline import backends

    monkeypatch.setattr(backends, "FINE_TUNED_GRAPH", tmp_path / "none.onnx")
    monkeypatch.setattr(backends.FineTunedCenterFaceBackend, "_sessions", {})
    with pytest.raises(backends.DetectorUnavailableError, match="lrfp detector export"):
        FaceDetector("centerface-masks")


def test_a_file_that_is_not_a_checkpoint_at_all_is_refused(tmp_path):
    bad = tmp_path / "final.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match="not a CenterFace fine-tuned"):
        load_finetuned(bad)
