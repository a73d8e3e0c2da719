"""Bad input gets one clear answer and loses nothing: a corpus of hostile files, manifests, folders and runs.

Every case is made here, as real files. Full and read-only folders are real tmpfs mounts (root
only, as CI runs); elsewhere those cases are skipped.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import make_class_folders, one_error_line, png_bomb, run_cli
from PIL import Image

from lrfp.cli import main
from lrfp.core.errors import RunError
from lrfp.core.labels import UNSURE
from lrfp.core.locks import OWNER_NAME, folder_lock
from lrfp.data.build import PENDING_NAME, BuildOptions, build_dataset
from lrfp.data.images import MAX_PIXELS, BadImageError, DatasetError, load_image, read_manifest
from lrfp.pipeline.inference import TOO_SMALL, Classifier
from lrfp.pipeline.scene import analyze
from lrfp.training.config import TrainConfig
from lrfp.training.run import fit

WORKING_SIDE = 2048  # a reading size for the draft-decode tests

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- images


def test_a_decompression_bomb_over_the_limit_is_refused_from_its_header():
    bomb = png_bomb(10_000, 10_000)  # 100 MP in about 12 KB
    assert len(bomb) < 40_000
    with pytest.raises(
        BadImageError, match=r"image too large \(10000x10000 px = 100,000,000 pixels; the limit is 50,000,000\)"
    ):
        load_image(io.BytesIO(bomb), name="bomb.png")


def test_a_big_image_under_the_limit_is_brought_to_the_working_size():
    side = int((MAX_PIXELS * 0.9) ** 0.5)  # just under the limit
    img = load_image(io.BytesIO(png_bomb(side, side)), name="big.png", max_side=WORKING_SIDE)
    assert img.mode == "RGB" and max(img.size) == WORKING_SIDE


def test_a_huge_jpeg_is_decoded_reduced_and_keeps_its_exif_orientation():
    photo = Image.new("RGB", (6000, 3000), (90, 120, 150))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    buf = io.BytesIO()
    photo.save(buf, "JPEG", exif=exif, quality=70)
    img = load_image(io.BytesIO(buf.getvalue()), name="phone.jpg", max_side=WORKING_SIDE)
    assert img.size == (WORKING_SIDE // 2, WORKING_SIDE)  # portrait after the EXIF rotation


@pytest.mark.parametrize(
    "payload,name",
    [
        (b"", "empty.png"),
        (b"%PDF-1.4 not an image", "invoice.jpg"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "broken.png"),
        (b"GIF89a", "short.gif"),
    ],
)
def test_files_that_are_not_images_are_named_in_the_error(payload, name, tmp_path):
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(BadImageError, match=name):
        load_image(path)


@pytest.mark.parametrize("as_path", [True, False])
def test_an_empty_file_is_called_empty(as_path, tmp_path):
    """A 0-byte upload read "not a readable image of the accepted formats": its format was not the fault."""
    (tmp_path / "photo.jpg").write_bytes(b"")
    source = tmp_path / "photo.jpg" if as_path else io.BytesIO(b"")
    with pytest.raises(BadImageError, match=r"^photo.jpg: an empty file \(0 bytes\)"):
        load_image(source, name="photo.jpg")


def test_a_truncated_jpeg_is_a_clear_error(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 200, 30)).save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(BadImageError, match="cut.jpg: not a readable image"):
        load_image(tmp_path / "cut.jpg")


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "WEBP", "BMP"])
def test_the_cli_and_the_app_accept_the_same_formats(fmt, tmp_path, capsys, committed_model):
    """A face crop saved in each format the upload accepts gets an answer from `lrfp predict` (a flat square
    of skin colour would rightly get "can't tell": no mouth or nose to see)."""
    path = tmp_path / f"face.{fmt.lower()}"
    Image.open(ROOT / "demo" / "fmd853-lr" / "with_mask" / "maksssksksss0_001.png").convert("RGB").save(path, fmt)
    code, out, err = run_cli(capsys, "predict", "--model", committed_model, "--backend", "torch", path)
    assert code == 0 and out.split("\t")[1] in ("with_mask", "without_mask", UNSURE), err


@pytest.fixture(scope="module")
def committed_model() -> str:
    return str(ROOT / "weights" / "model3.pt")


@pytest.mark.parametrize("size", [(1, 1), (5, 40), (3, 2000)])
def test_an_image_too_small_to_judge_gets_no_label(size, tmp_path, capsys, committed_model):
    path = tmp_path / "tiny.png"
    Image.new("RGB", size, (200, 150, 120)).save(path)
    code, out, _ = run_cli(capsys, "predict", "--model", committed_model, "--backend", "torch", path)
    assert code == 0 and out.strip().split("\t")[1:] == [TOO_SMALL, "-"]


def test_a_scene_face_under_six_px_is_too_small_and_left_out_of_compliance(committed_model):
    class TwoFaces:  # a detector stand-in: one 4 px face and one 30 px face
        def search(self, image):
            from lrfp.pipeline.detect import FaceBox, Search

            return Search(image, budget_mp=0.0, boxes=[FaceBox(0, 0, 4, 4, 0.9), FaceBox(10, 10, 40, 40, 0.9)])

    # unsure=False, check_faces=False: a plain black square is no face either, which the checks would say
    classifier = Classifier(committed_model, backend="torch", unsure=False, check_faces=False)
    result = analyze(Image.new("RGB", (300, 200)), classifier, TwoFaces(), "scene")
    assert [f.label == TOO_SMALL for f in result.faces] == [True, False]
    counts = result.counts()
    assert counts["too_small"] == 1 and counts["compliance"] in (0.0, 1.0)


# ---------------------------------------------------------------- checkpoints


@pytest.mark.parametrize(
    "content",
    [
        b"hello, not a checkpoint",
        b"PK\x03\x04" + b"\x00" * 64,  # a broken zip, as torch files are zips
        pickle.dumps({"format": "lrfp-checkpoint", "evil": Path("/")}),  # a pickled object: never unpickled
    ],
)
def test_a_bad_checkpoint_is_one_line_saying_what_it_is_not(content, tmp_path, capsys):
    path = tmp_path / "model.pt"
    if content.startswith(b"\x80"):
        torch.save({"format": "lrfp-checkpoint", "evil": Path("/")}, path)  # a real torch file with an object in it
    else:
        path.write_bytes(content)
    code, _, err = run_cli(capsys, "predict", "--model", path, path)
    line = one_error_line(err)
    assert code == 2 and "not an lrfp checkpoint" in line and "lrfp train" in line
    assert "weights_only" not in err and "Traceback" not in err


# ---------------------------------------------------------------- dataset builds


def test_a_hostile_manifest_never_leads_the_build_outside_its_folder(tmp_path, voc_source, capsys):
    out = tmp_path / "ds"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    manifest = {"version": 1, "classes": ["../victim", "with_mask"], "splits": {"train": [], "val": [], "test": []}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run_cli(capsys, "data", "build", "--source", voc_source, "--out", out)
    assert code == 2 and "plain folder names" in one_error_line(err)
    assert (victim / "precious.txt").read_text() == "keep me"


def test_manifest_paths_that_climb_out_are_refused(tmp_path):
    manifest = {
        "classes": ["with_mask", "without_mask"],
        "splits": {"train": [{"path": "with_mask/../../etc/passwd", "label": "with_mask"}], "val": [], "test": []},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="not CLASS/FILE"):
        read_manifest(tmp_path)


def test_a_rebuild_removes_only_what_builds_made(tmp_path, voc_source):
    out = tmp_path / "ds"
    build_dataset(voc_source, out, BuildOptions(split=(60, 20, 20)))
    (out / "with_mask" / "mine.txt").write_text("a user's note")
    build_dataset(voc_source, out, BuildOptions(split=(60, 20, 20), seed=3))
    assert (out / "with_mask" / "mine.txt").read_text() == "a user's note"
    listed = {e["path"] for s in read_manifest(out)["splits"].values() for e in s}
    on_disk = {f"{p.parent.name}/{p.name}" for p in out.glob("*/*.png")}
    assert on_disk == listed


@pytest.mark.training
def test_a_build_killed_while_writing_crops_is_cleaned_up_by_the_next(tmp_path, voc_source):
    out = tmp_path / "ds"
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        "from pathlib import Path\nimport PIL.Image\nfrom lrfp.data.build import build_dataset, BuildOptions\n"
        "saved = []\noriginal = PIL.Image.Image.save\n"
        "def save(self, *a, **k):\n    saved.append(1)\n    original(self, *a, **k)\n"
        "    if len(saved) == 10:\n        import os; os.kill(os.getpid(), 9)\n"
        "PIL.Image.Image.save = save\n"
        f"build_dataset(Path({str(voc_source)!r}), Path({str(out)!r}), BuildOptions(split=(60, 20, 20)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert (out / PENDING_NAME).is_file() and not (out / "manifest.json").exists()
    stats = build_dataset(voc_source, out, BuildOptions(split=(60, 20, 20)))
    assert not (out / PENDING_NAME).exists() and (out / "manifest.json").is_file()
    assert len(list(out.glob("*/*.png"))) == sum(sum(c.values()) for c in stats["counts"].values())


def test_a_truncated_manifest_is_named_and_nothing_is_deleted(tmp_path, voc_source, capsys):
    out = tmp_path / "ds"
    build_dataset(voc_source, out, BuildOptions(split=(60, 20, 20)))
    text = (out / "manifest.json").read_text()
    (out / "manifest.json").write_text(text[: len(text) // 2])
    before = sorted(out.rglob("*"))
    code, _, err = run_cli(capsys, "data", "build", "--source", voc_source, "--out", out)
    line = one_error_line(err)
    assert code == 2 and str(out / "manifest.json") in line and "not valid JSON" in line
    assert sorted(out.rglob("*")) == before


def test_empty_val_and_test_splits_are_refused_at_build_time(tmp_path, capsys):
    source = make_class_folders(tmp_path / "src", per_class=2)
    out = tmp_path / "ds"
    code, _, err = run_cli(capsys, "data", "build", "--source", source, "--out", out)
    line = one_error_line(err)
    assert code == 2 and "val" in line and "test" in line and "came out empty" in line
    assert not (out / "manifest.json").exists()


def test_training_refuses_a_dataset_with_an_empty_split(tiny_dataset, tmp_path, capsys):
    data = tmp_path / "ds"
    shutil.copytree(tiny_dataset, data)
    manifest = json.loads((data / "manifest.json").read_text())
    manifest["splits"]["val"] = []
    (data / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run_cli(
        capsys,
        "train",
        "--model",
        "model3",
        "--data",
        data,
        "--epochs",
        "1",
        "--input-size",
        "32",
        "--out",
        tmp_path / "runs",
        "--no-progress",
    )
    assert code == 2 and "the val split(s) are empty" in one_error_line(err)
    code, _, err = run_cli(
        capsys, "evaluate", "--model", ROOT / "weights" / "model3.pt", "--data", data, "--split", "val"
    )
    assert code == 2 and "holds no faces" in one_error_line(err)


def test_the_manifest_is_the_same_wherever_and_however_the_source_is_named(tmp_path, voc_source):
    copy = tmp_path / "a-differently-named-source"
    shutil.copytree(voc_source, copy)
    first = build_dataset(voc_source, tmp_path / "one", BuildOptions(split=(60, 20, 20)))
    second = build_dataset(copy, tmp_path / "two", BuildOptions(split=(60.0, 20.0, 20.0)))
    assert (tmp_path / "one" / "manifest.json").read_bytes() == (tmp_path / "two" / "manifest.json").read_bytes()
    assert first["manifest_sha256"] == second["manifest_sha256"]
    assert str(voc_source.name) not in (tmp_path / "one" / "manifest.json").read_text()


# ---------------------------------------------------------------- runs


def train_config(data, out, **kw) -> TrainConfig:
    base = dict(
        model="model3",
        data=str(data),
        input_size=32,
        epochs=1,
        milestones=(1,),
        precision="fp32",
        batch_size=16,
        out=str(out),
        run_id="same",
    )
    return TrainConfig(**(base | kw))


def hold_lock(folder: Path) -> subprocess.Popen:
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\nfrom lrfp.core.locks import folder_lock\n"
        f"with folder_lock({str(folder)!r}, 'training run'):\n    print('locked', flush=True)\n    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.training
def test_a_second_run_on_the_same_folder_refuses_at_once(tiny_dataset, tmp_path):
    holder = hold_lock(tmp_path / "runs" / "same")
    try:
        start = time.monotonic()
        with pytest.raises(RunError, match=rf"another training run is using this folder \(pid {holder.pid}"):
            fit(train_config(tiny_dataset, tmp_path / "runs"))
        assert time.monotonic() - start < 30
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.training
def test_a_killed_runs_lock_is_taken_over(tiny_dataset, tmp_path, caplog):
    holder = hold_lock(tmp_path / "runs" / "same")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    (tmp_path / "runs" / "same" / ".last.pt.abc123.tmp").write_bytes(b"\x00" * 1000)  # a killed write's temp file
    with caplog.at_level(logging.INFO, logger="lrfp"):
        record = fit(train_config(tiny_dataset, tmp_path / "runs"))
    assert record["status"] == "finished"
    assert any("has ended; taking it over" in line for line in caplog.messages)
    assert not list((tmp_path / "runs" / "same").glob(".*.tmp"))


def test_the_lock_is_free_after_a_run_ends(tmp_path):
    with folder_lock(tmp_path, "training run"):
        pass
    with folder_lock(tmp_path, "training run"):
        assert (tmp_path / OWNER_NAME).read_text().startswith(f"pid {os.getpid()}")


# ---------------------------------------------------------------- folders that cannot be written


def test_training_into_a_full_folder_is_one_line_and_leaves_no_temp_files(tiny_dataset, tmpfs, capsys):
    out = tmpfs("256k")  # room for the record, not for a 8 MB checkpoint
    code, _, err = run_cli(
        capsys,
        "train",
        "--model",
        "model3",
        "--data",
        tiny_dataset,
        "--epochs",
        "1",
        "--input-size",
        "32",
        "--out",
        out,
        "--run-id",
        "r",
        "--no-progress",
    )
    line = one_error_line(err)
    assert code == 2 and "No space left on device" in line and str(out / "r") in line
    assert not list(out.rglob("*.tmp")) and not list(out.rglob("*.pt"))


def test_building_into_a_read_only_folder_is_one_line(voc_source, tmpfs, capsys):
    out = tmpfs(readonly=True)
    code, _, err = run_cli(capsys, "data", "build", "--source", voc_source, "--out", out / "ds")
    line = one_error_line(err)
    assert code == 2 and "Read-only file system" in line and str(out / "ds") in line


def test_building_into_a_full_folder_is_one_line_and_leaves_no_manifest(voc_source, tmpfs, capsys):
    out = tmpfs("24k")
    code, _, err = run_cli(capsys, "data", "build", "--source", voc_source, "--out", out / "ds")
    assert code == 2 and "No space left on device" in one_error_line(err)
    assert not (out / "ds" / "manifest.json").exists() and not list(out.rglob("*.tmp"))


@pytest.mark.parametrize("target", ["/sys/lrfp-test/out.onnx", "/proc/lrfp-test/out.onnx"])
def test_exporting_under_a_system_folder_is_one_line(target, capsys, committed_model):
    code, _, err = run_cli(capsys, "export", "--model", committed_model, "--out", target)
    assert code == 2 and "/lrfp-test" in one_error_line(err)


def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("an internal bug")

    monkeypatch.setattr("lrfp.cli.predict.Classifier", broken)
    with pytest.raises(ValueError, match="an internal bug"):  # not turned into a one-line "user error"
        main(["predict", "--model", "model3", "x.png"])
