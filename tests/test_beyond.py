"""ONNX export and parity, Grad-CAM, the resolution study, scenes and videos, bad input on that path."""

import io
import json

import numpy as np
import pytest
import torch
from helpers import SHARED_FMD
from PIL import Image

from lrfp.data.images import ACCEPTED_FORMATS, IMAGENET_MEAN, IMAGENET_STD, BadImageError, load_image
from lrfp.models.checkpoint import CheckpointError, atomic_save, make_checkpoint
from lrfp.models.registry import create_model, model_kwargs
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.gradcam import gradcam, last_conv
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze
from lrfp.pipeline.video import VideoError, process


def save_checkpoint(tmp_path, name="model3", size=64, **kw) -> str:
    torch.manual_seed(0)
    kwargs = model_kwargs(name, **kw)
    model = create_model(name, **kwargs).eval()
    path = tmp_path / f"{name}.pt"
    atomic_save(
        make_checkpoint(
            model,
            name=name,
            kwargs=kwargs,
            classes=["with_mask", "without_mask"],
            input_size=size,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
        ),
        path,
    )
    return str(path)


@pytest.mark.parametrize(
    "name,size,kw",
    [
        ("model3", 64, {}),
        ("model3", 16, {}),
        ("model1", 64, {"norm": "groupnorm_ws"}),
        ("model1", 32, {"norm": "batchnorm"}),
        ("model2", 64, {"norm": "groupnorm"}),
        ("mobilenet_v2", 64, {"pretrained": "none"}),
    ],
)
def test_onnx_logits_match_pytorch(tmp_path, monkeypatch, name, size, kw):
    monkeypatch.setattr("lrfp.models.onnx_backend.CACHE_DIR", tmp_path / "cache")
    path = save_checkpoint(tmp_path, name, size, **kw)
    eager = Classifier(path, backend="torch")
    onnx = Classifier(path, backend="onnx")
    assert onnx.backend == "onnx" and onnx.classes == eager.classes and onnx.input_size == size
    for batch in (1, 7):  # the exported batch dimension is dynamic
        x = torch.randn(batch, 3, size, size)
        assert torch.allclose(eager.logits(x), onnx.logits(x), atol=1e-4)


def test_auto_backend_falls_back_to_pytorch_where_onnx_cannot_export(tmp_path, monkeypatch, caplog):
    from lrfp.models.onnx_backend import ExportError

    def refuse(*args, **kwargs):
        raise ExportError("this graph cannot be exported")

    monkeypatch.setattr("lrfp.models.onnx_backend.CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr("lrfp.models.onnx_backend.export_onnx", refuse)
    path = save_checkpoint(tmp_path, "model1", 32, norm="batchnorm")
    assert Classifier(path, backend="auto").backend == "torch"
    assert [r.message for r in caplog.records if "using PyTorch" in r.message]  # one warning line says so
    with pytest.raises(ExportError):
        Classifier(path, backend="onnx")


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime"])
def test_auto_backend_falls_back_to_pytorch_when_an_onnx_package_is_missing(tmp_path, monkeypatch, missing):
    monkeypatch.setattr("lrfp.models.onnx_backend.CACHE_DIR", tmp_path / "cache")
    monkeypatch.setitem(__import__("sys").modules, missing, None)  # `import onnx` now raises ImportError
    clf = Classifier(save_checkpoint(tmp_path), backend="auto")
    assert clf.backend == "torch" and clf.predict([Image.new("RGB", (20, 20))])[0].label in clf.classes


def test_a_shipped_onnx_graph_is_used_only_for_the_checkpoint_it_was_made_from(tmp_path, monkeypatch):
    from lrfp.models.onnx_backend import export_onnx, open_session

    monkeypatch.setattr("lrfp.models.onnx_backend.CACHE_DIR", tmp_path / "cache")
    path = save_checkpoint(tmp_path)
    export_onnx(path, tmp_path / "model3.onnx")
    assert open_session(path).path == tmp_path / "model3.onnx"  # used as shipped: nothing exported
    assert not (tmp_path / "cache").exists()
    torch.manual_seed(1)  # a different checkpoint under the same name: the old graph must not serve it
    kwargs = model_kwargs("model3")
    atomic_save(
        make_checkpoint(
            create_model("model3", **kwargs),
            name="model3",
            kwargs=kwargs,
            classes=["with_mask", "without_mask"],
            input_size=64,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
        ),
        path,
    )
    assert open_session(path).path.parent == tmp_path / "cache"


def test_an_onnx_file_without_lrfp_metadata_is_refused(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"not a model")
    with pytest.raises(CheckpointError):
        Classifier(tmp_path / "x.onnx")


def test_gradcam_gives_a_normalized_map_and_leaves_the_model_as_it_was(tmp_path):
    clf = Classifier(save_checkpoint(tmp_path), backend="torch")
    face = Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 18, 3), dtype=np.uint8))
    before = clf.logits(clf.transform(face).unsqueeze(0))
    heat, target = gradcam(clf, face)
    assert heat.shape == (64, 64) and 0 <= heat.min() and heat.max() <= 1
    assert target == int(before.argmax())
    assert all(p.grad is None for p in clf.model.parameters())
    assert all(m.inplace for m in clf.model.modules() if isinstance(m, torch.nn.ReLU))
    assert torch.equal(before, clf.logits(clf.transform(face).unsqueeze(0)))
    assert isinstance(last_conv(clf.model), torch.nn.Conv2d)


def test_resolution_study_rows(tmp_path, tiny_dataset):
    from lrfp.evaluation.resolution import SIZES, resolution_study

    clf = Classifier(save_checkpoint(tmp_path, size=32), backend="torch")
    report = resolution_study(clf, str(tiny_dataset))
    assert [r["face_px"] for r in report["rows"]] == ["native", *SIZES]
    assert all(0 <= r["accuracy"] <= 1 and r["n"] == report["rows"][0]["n"] for r in report["rows"])


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return Classifier(save_checkpoint(tmp_path_factory.mktemp("ck")), backend="torch")


@pytest.mark.parametrize("size", [(0, 0), (4, 4), (641, 479)])
def test_empty_tiny_and_odd_frames_give_a_result(classifier, detector, size):
    frame = Image.new("RGB", size, (120, 120, 120))
    result = analyze(frame, classifier, detector, mode="scene")
    assert result.faces == [] and result.counts()["compliance"] is None


def test_grayscale_frame_is_accepted(classifier, detector):
    assert analyze(Image.new("L", (320, 240), 90), classifier, detector, mode="scene").faces == []


@pytest.mark.detector
@pytest.mark.data
@pytest.mark.skipif(not SHARED_FMD.is_dir(), reason="needs real photos from ../shared/data/fmd853")
def test_scene_on_a_video_made_from_local_photos(tmp_path, classifier, detector):
    import cv2

    video = tmp_path / "street.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5, (640, 480))
    for i in (0, 0, 4, 4, 200):
        frame = load_image(SHARED_FMD / "images" / f"maksssksksss{i}.png").resize((640, 480))
        writer.write(cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2BGR))
    writer.release()
    out, csv_path, rows = process(video, tmp_path / "out.mp4", classifier, detector)
    assert len(rows) == 5 and out.stat().st_size > 0
    assert sum(r["faces"] for r in rows) >= 5
    assert (
        csv_path.read_text()
        .splitlines()[0]
        .startswith("frame,time_s,faces,with_mask,without_mask,incorrect,too_small,unsure,compliance")
    )
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_truncated_and_empty_videos_are_clear_errors(tmp_path, classifier, detector):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    for name in ("empty.mp4", "junk.mp4"):
        with pytest.raises(VideoError, match=name):
            process(tmp_path / name, tmp_path / "o.mp4", classifier, detector)
    with pytest.raises(BadImageError, match="unknown kind"):
        (tmp_path / "notes.txt").write_text("x")
        process(tmp_path / "notes.txt", None, classifier, detector)


def encode(image: Image.Image, fmt: str, **kw) -> io.BytesIO:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    buf.seek(0)
    return buf


@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "CMYK", "I;16", "LA"])
def test_uploads_of_any_mode_become_rgb(mode):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    img = load_image(encode(Image.new(mode, (30, 20)), fmt), formats=ACCEPTED_FORMATS, name="u")
    assert img.mode == "RGB" and img.size == (30, 20)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    img = Image.new("I;16", (4, 4), 40000)
    assert load_image(encode(img, "PNG")).getpixel((0, 0))[0] == 40000 // 256


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    assert load_image(encode(img, "JPEG", exif=exif)).size == (20, 40)


def test_upload_checks_the_content_not_the_name(monkeypatch):
    ppm = encode(Image.new("RGB", (10, 10)), "PPM")  # an image, but not of an accepted format
    with pytest.raises(BadImageError, match="accepted formats"):
        load_image(ppm, formats=ACCEPTED_FORMATS, name="photo.png")
    with pytest.raises(BadImageError, match="not a readable image"):
        load_image(io.BytesIO(b"<html>hello</html>"), formats=ACCEPTED_FORMATS, name="photo.jpg")
    monkeypatch.setattr("lrfp.data.images.MAX_PIXELS", 1000)
    with pytest.raises(BadImageError, match="too large"):
        load_image(encode(Image.new("RGB", (100, 100)), "PNG"), formats=ACCEPTED_FORMATS, name="huge.png")


@pytest.mark.detector
def test_scene_bench_matches_one_to_one_and_scores_the_whole_pipeline(tmp_path, capsys, demo_voc_source):
    from lrfp.cli import main
    from lrfp.data.voc import match

    labels = [(0, 0, 10, 10), (20, 20, 30, 30), (50, 50, 60, 60)]
    found = [(1, 1, 11, 11), (0, 0, 9, 9), (21, 19, 31, 29), (80, 80, 90, 90)]
    assert match(labels, found) == {
        0: 1,
        1: 2,
    }  # the better of two overlapping detections (IoU 0.81 > 0.68); the far one unmatched
    code = main(
        [
            "scene-bench",
            "--source",
            str(demo_voc_source),
            "--model",
            "model3",
            "--backend",
            "torch",
            "--no-progress",
            "--out",
            str(tmp_path / "sb.json"),
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "sb.json").read_text())
    assert report["photos"] == 6 and report["labelled_faces"] == 42  # the faces the demo build cut from them
    assert 0.5 < report["recall"] <= 1 and 0.5 < report["accuracy"] <= 1
    assert report["end_to_end"] <= min(report["recall"], report["accuracy"])
