"""The detector trained with negatives (issue 35, item 2): crops of what is not a face teach background
everywhere, hard negatives on labelled photos keep their faces, boxes that may be faces stay out of the
loss, a run with negatives resumes to the same weights, and a run starts from an exported int8 graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lrfp.core.errors import RunError
from lrfp.data.face_boxes import BoxedPhoto, FaceCrops, NegativeSpot, boxed_photos
from lrfp.experiments.detector_negatives import Negatives, ignore_boxes, read_verdicts
from lrfp.models.centerface import STRIDE, encode, from_graph, padded
from lrfp.training import detector as training
from lrfp.training.detector import DetectorConfig, detector_loss, fit_detector, load_finetuned

NONE = np.zeros((0, 4), np.float32)


def _no_face_picture(seed: int = 0, size: tuple[int, int] = (300, 200)) -> BoxedPhoto:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return BoxedPhoto(f"noface-{seed}", Image.fromarray(pixels), NONE, NONE)


def _face_photo() -> BoxedPhoto:
    image = Image.new("RGB", (200, 160), (90, 120, 150))
    return BoxedPhoto("face.png", image, np.array([[60, 40, 100, 90]], np.float32), NONE)


def test_a_no_face_crop_is_background_everywhere_and_costs_where_the_model_fires():
    crops = FaceCrops(
        [_face_photo()],
        6,
        encode,
        crop=128,
        negatives=[NegativeSpot(_no_face_picture(), None, 4.0)],
        negative_share=1.0,
    )
    for i in range(6):
        _, target = crops[i]
        assert target["heat"].max() == 0 and not target["centre"].any()
        assert bool((target["weight"] == 1).all())  # every cell taught: nothing here may be a face
    batch = {k: torch.stack([crops[i][1][k] for i in range(2)]) for k in crops[0][1]}
    grid = 128 // STRIDE
    quiet = torch.full((2, 1, grid, grid), -12.0)
    firing = quiet.clone()
    firing[0, 0, 10, 10] = 4.0  # one cell takes this background for a face
    others = [torch.zeros(2, c, grid, grid) for c in (2, 2, 10)]
    loss_quiet = float(detector_loss((quiet, *others), batch)["heat"])  # type: ignore[arg-type]
    loss_firing = float(detector_loss((firing, *others), batch)["heat"])  # type: ignore[arg-type]
    assert loss_quiet < 1e-6 < loss_firing


def test_a_hard_negative_is_cut_around_its_box_and_keeps_the_photos_faces():
    photo = _face_photo()
    box = (150, 100, 170, 124)  # a box a detector took for a face, away from the labelled one: painted red
    photo.image.paste((255, 0, 0), box)
    spot = NegativeSpot(photo, tuple(map(float, box)), 1.0)  # type: ignore[arg-type]
    crops = FaceCrops([photo], 20, encode, crop=128, augment=False, negatives=[spot], negative_share=1.0)
    seen_face = False
    for i in range(20):
        image, target = crops[i]
        red = (image[0] > 200) & (image[1] < 60) & (image[2] < 60)
        assert red.sum() > 100  # the box is in the crop, at about the size the detector saw it
        cells = red.reshape(32, STRIDE, 32, STRIDE).any(3).any(1)
        assert float(target["heat"][0][cells].max()) < 0.5 and bool((target["weight"][0][cells] == 1).all())
        seen_face |= bool(target["centre"].any())  # the labelled face, when the crop reaches it
    assert seen_face


def test_without_negatives_the_crops_are_the_ones_a_run_without_them_saw():
    photos = [_face_photo()]
    plain = FaceCrops(photos, 4, encode, seed=5, crop=96)
    with_empty = FaceCrops(photos, 4, encode, seed=5, crop=96, negatives=[], negative_share=0.5)
    for i in range(4):
        assert torch.equal(plain[i][0], with_empty[i][0])


def test_the_share_of_negative_crops_follows_the_option():
    negatives = [NegativeSpot(_no_face_picture(), None, 1.0)]
    crops = FaceCrops([_face_photo()], 200, encode, crop=64, augment=False, negatives=negatives, negative_share=0.3)
    noisy = [
        float(crops[i][0].std(dim=(1, 2)).mean()) > 12 for i in range(200)
    ]  # the no-face picture is noise, the photo plain
    assert 0.2 < np.mean(noisy) < 0.4


def test_boxes_that_may_be_faces_stay_out_of_the_loss_and_looked_at_non_faces_leave_it():
    teacher = {"a.png": [[10, 10, 30, 30], [50, 50, 70, 70]]}
    negatives = Negatives(not_faces={"a.png": [[11, 10, 31, 30]]}, kept_out={"b.png": [[1, 1, 9, 9]]})
    out = ignore_boxes(teacher, negatives)
    assert out == {"a.png": [[50, 50, 70, 70]], "b.png": [[1, 1, 9, 9]]}


def test_verdicts_other_than_yes_no_unsure_are_refused(tmp_path):
    good = tmp_path / "looked.csv"
    good.write_text("crop,looks_like_face\ncrops/a.png,no\ncrops/b.png,unsure\n")
    assert read_verdicts(good) == {"crops/a.png": "no", "crops/b.png": "unsure"}
    bad = tmp_path / "bad.csv"
    bad.write_text("crop,looks_like_face\ncrops/a.png,maybe\n")
    with pytest.raises(RunError, match="yes, no or unsure"):
        read_verdicts(bad)


@pytest.mark.detector
def test_a_run_starts_from_the_shipped_int8_graph():
    import onnxruntime as ort

    from lrfp.pipeline.detect import FINE_TUNED_GRAPH

    rgb = np.asarray(_no_face_picture(3, (160, 128)).image)
    rgb = np.ascontiguousarray(np.concatenate([rgb, np.asarray(_face_photo().image.resize((160, 128)))], 0))
    x = padded(rgb)
    session = ort.InferenceSession(str(FINE_TUNED_GRAPH), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"input.1": x})[0]
    with torch.no_grad():
        got = from_graph(FINE_TUNED_GRAPH).scores(torch.from_numpy(x))[0].numpy()
    assert np.abs(got - expected).max() < 0.15  # int8 activations against float ones


@pytest.mark.detector
def test_a_graph_with_a_weight_missing_is_refused(tmp_path):
    import onnx

    from lrfp.pipeline.detect import FINE_TUNED_GRAPH

    graph = onnx.load(str(FINE_TUNED_GRAPH))
    graph.graph.initializer.pop()  # the last weight gone
    onnx.save(graph, str(tmp_path / "broken.onnx"))
    with pytest.raises(ValueError, match="no weight"):
        from_graph(tmp_path / "broken.onnx")


@pytest.mark.training
def test_a_run_with_negatives_resumes_to_the_same_weights(demo_voc_source, tmp_path, monkeypatch):
    photos = boxed_photos(sorted((demo_voc_source / "annotations").glob("*.xml")))
    negatives = [NegativeSpot(_no_face_picture(i), None, 2.0) for i in range(2)]
    negatives.append(NegativeSpot(photos[0], (0.0, 0.0, 12.0, 12.0), 1.0))
    cfg = DetectorConfig(epochs=2, crops_per_epoch=8, batch_size=4, crop=96, precision="fp32", negative_share=0.5)
    data = {"fingerprint": "demo+negatives"}
    fit_detector(cfg, photos, [], tmp_path / "whole", "test", data, negatives=negatives)
    real_epoch = training.train_epoch

    def killed_at_2(model, crops, epoch, *args):
        if epoch == 2:
            raise KeyboardInterrupt
        return real_epoch(model, crops, epoch, *args)

    monkeypatch.setattr(training, "train_epoch", killed_at_2)
    with pytest.raises(KeyboardInterrupt):
        fit_detector(cfg, photos, [], tmp_path / "killed", "test", data, negatives=negatives)
    monkeypatch.setattr(training, "train_epoch", real_epoch)
    fit_detector(cfg, photos, [], tmp_path / "killed", "test", data, negatives=negatives)
    a = load_finetuned(tmp_path / "whole" / "final.pt").state_dict()
    b = load_finetuned(tmp_path / "killed" / "final.pt").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(RunError, match="other settings"):  # another share is another run
        fit_detector(
            DetectorConfig(**{**cfg.__dict__, "negative_share": 0.2}), photos, [], tmp_path / "killed", "test", data
        )


def test_a_run_begun_before_negatives_existed_still_resumes():
    old = {k: v for k, v in DetectorConfig().__dict__.items() if k not in ("negative_share", "start")}
    assert training._settings(old) == training._settings(DetectorConfig().__dict__)


def test_the_card_says_what_the_detector_was_shown_that_is_not_a_face():
    from lrfp.experiments.detector import negatives_lines

    negatives = {
        "noface_folder": "data/noface",
        "noface_fingerprint": "98c4641be4076ab9",
        "noface_train_pictures": 263,
        "mined_boxes": "data/noface/negatives/negatives.csv",
        "looked_at": "results/detector/mined-boxes-looked-at.csv",
        "boxes": {"noface own": 465, "noface phone": 1922, "train-photo no": 48, "train-photo yes": 363},
    }
    text = "\n".join(negatives_lines(negatives, 0.3))
    assert "30% of the crops" in text and "263 train pictures" in text and "48 not faces" in text
    assert "363 faces nobody labelled" in text and "0 that cannot be told" in text
    assert negatives_lines(None, 0.0) == []
