"""Hostile input for `lrfp scene` on videos and for `lrfp predict`: one clear answer, nothing lost, nothing half-written.

Every video is made here as a real file (OpenCV's MJPEG writer, or PyAV muxing JPEGs); the frames
are tiny, so the real detector and the committed model3 keep each test to about a second.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from helpers import mjpeg_avi, one_error_line, png_bomb, run_cli
from PIL import Image

import lrfp.pipeline.frame_rows as frame_rows
import lrfp.pipeline.video as video
from lrfp.cli.main import build_parser
from lrfp.data.images import BadImageError, load_image
from lrfp.pipeline.detect import Search

ROOT = Path(__file__).resolve().parents[1]
MODEL = str(ROOT / "weights" / "model3.pt")
FAST = ("--model", MODEL, "--backend", "torch", "--no-progress")
CROWD = ROOT / "demo" / "scenes" / "images" / "maksssksksss52.jpg"  # a street photo of 20-odd people


def spoil_frames(path: Path, which) -> None:
    """Overwrite the JPEG data of the given frames with random bytes; the AVI index stays valid."""
    data = bytearray(path.read_bytes())
    starts = [m.start() for m in re.finditer(b"\xff\xd8", data)]
    rng = np.random.default_rng(0)
    for k in which:
        size = int.from_bytes(data[starts[k] - 4 : starts[k]], "little")  # the "00dc" chunk's length, before the JPEG
        data[starts[k] : starts[k] + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def jpeg(size) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buf, "JPEG")
    return buf.getvalue()


def jpeg_claiming(size) -> bytes:
    """A 16x16 JPEG whose frame header (SOF0) says SIZE: a huge frame to any reader, in 600 bytes."""
    data = bytearray(jpeg((16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = size[1].to_bytes(2, "big") + size[0].to_bytes(2, "big")
    return bytes(data)


def jpeg_avi(path: Path, header_size, frames) -> Path:
    """An MJPEG AVI whose header says HEADER_SIZE, holding FRAMES (JPEG files as bytes; sizes may differ)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=10)
        stream.width, stream.height = header_size
        stream.pix_fmt = "yuvj420p"
        for i, frame in enumerate(frames):
            packet = av.Packet(frame)
            packet.stream, packet.pts, packet.dts = stream, i, i
            container.mux(packet)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frame_count(path: Path) -> int:
    return int(cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FRAME_COUNT))


# ---------------------------------------------------------------- 1. --out is the input


@pytest.mark.parametrize("how", ["same", "relative", "symlink", "hardlink"])
def test_an_out_that_is_the_input_is_refused_before_anything_is_touched(how, tmp_path, capsys, monkeypatch):
    clip = mjpeg_avi(tmp_path / "clip.avi")
    before = sha(clip)
    monkeypatch.chdir(tmp_path)
    out = {
        "same": clip,
        "relative": Path("..") / tmp_path.name / "clip.avi",
        "symlink": tmp_path / "link.avi",
        "hardlink": tmp_path / "hard.avi",
    }[how]
    if how == "symlink":
        out.symlink_to(clip)
    elif how == "hardlink":
        os.link(clip, out)
    code, stdout, err = run_cli(capsys, "scene", clip, "--out", out, *FAST)
    line = one_error_line(err)
    assert code == 2 and str(out) in line and "is the input itself" in line and stdout == ""
    assert sha(clip) == before and frame_count(clip) == 12
    assert not list(tmp_path.glob("*.csv"))


# ---------------------------------------------------------------- 2. frames over the pixel limit, a failed writer


def test_video_frames_over_the_pixel_limit_are_refused_from_the_header(tmp_path, capsys, monkeypatch):
    huge = jpeg_avi(tmp_path / "huge.avi", (10_000, 10_000), [jpeg_claiming((10_000, 10_000))])  # headers: 100 MP
    loaded = []
    monkeypatch.setattr("lrfp.pipeline.inference.Classifier", lambda *a, **k: loaded.append(a))
    code, stdout, err = run_cli(capsys, "scene", huge, "--out", tmp_path / "out.mp4", *FAST)
    line = one_error_line(err)
    assert code == 2 and "huge.avi: frames too large (10000x10000 px = 100,000,000 pixels" in line
    assert loaded == [] and stdout == ""  # refused before the model loads, and before any frame is decoded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.avi"]


def test_a_frame_bigger_than_its_header_says_is_refused_too(tmp_path, capsys, monkeypatch):
    grow = jpeg_avi(tmp_path / "grow.avi", (160, 120), [jpeg((160, 120)), jpeg((400, 300))])
    monkeypatch.setattr("lrfp.data.images.MAX_PIXELS", 160 * 120)
    code, stdout, err = run_cli(capsys, "scene", grow, "--out", tmp_path / "out.mp4", *FAST)
    assert code == 2 and "frames too large (400x300 px = 120,000 pixels; the limit is 19,200" in one_error_line(err)
    assert stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["grow.avi"]


@pytest.mark.detector  # on frames as wide as the encoder takes
@pytest.mark.parametrize("encoder", sorted({video.video_encoder(), video.FALLBACK_ENCODER}))
def test_a_writer_that_cannot_encode_the_frames_is_an_error_not_a_claimed_output(
    encoder, tmp_path, capsys, monkeypatch
):
    if encoder not in video.MAX_SIDE:
        pytest.skip(f"the widest frame {encoder} takes is not known here")
    monkeypatch.setattr(video, "video_encoder", lambda: encoder)
    width = video.MAX_SIDE[encoder] + 10  # under the pixel limit, over what the encoder takes
    wide = jpeg_avi(tmp_path / "wide.avi", (width, 64), [jpeg((width, 64))])
    code, stdout, err = run_cli(capsys, "scene", wide, "--out", tmp_path / "out.mp4", *FAST)
    line = one_error_line(err)
    assert code == 2 and "wide.avi" in line and f"{width}x64" in line and video.ENCODER_NAMES[encoder] in line
    assert stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["wide.avi"]


# ---------------------------------------------------------------- 3. an --out lrfp cannot write


@pytest.mark.parametrize(
    "source,out", [("clip.avi", "a.txt"), ("face.png", "b.txt"), ("face.png", "b.mp4"), ("clip.avi", "c.png")]
)
def test_an_out_of_a_kind_lrfp_does_not_write_is_one_line_naming_what_it_does(source, out, tmp_path, capsys):
    mjpeg_avi(tmp_path / "clip.avi")
    Image.new("RGB", (200, 150), (100, 120, 140)).save(tmp_path / "face.png")
    code, stdout, err = run_cli(capsys, "scene", tmp_path / source, "--out", tmp_path / out, *FAST)
    line = one_error_line(err)
    allowed = video.VIDEO_OUT_SUFFIXES if source.endswith(".avi") else video.IMAGE_OUT_SUFFIXES
    assert code == 2 and out in line and all(s in line for s in allowed) and "Traceback" not in err
    assert stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi", "face.png"]


# ---------------------------------------------------------------- 4. unreadable frames


def test_unreadable_frames_are_skipped_and_counted_in_the_summary_and_the_csv(tmp_path, capsys):
    clip = mjpeg_avi(tmp_path / "clip.avi")
    spoil_frames(clip, [3, 4, 5])
    code, stdout, err = run_cli(capsys, "scene", clip, "--out", tmp_path / "out.mp4", *FAST)
    assert code == 0, err
    assert stdout.startswith("9 frame(s)") and "3 frame(s) skipped" in stdout
    lines = (tmp_path / "out.csv").read_text().splitlines()
    status = [line.split(",")[frame_rows.CSV_FIELDS.index("status")] for line in lines[1:]]
    assert status == ["ok"] * 3 + ["unreadable"] * 3 + ["ok"] * 6
    assert frame_count(tmp_path / "out.mp4") == 9


def test_a_video_without_one_readable_frame_is_an_error_and_leaves_nothing(tmp_path, capsys):
    clip = mjpeg_avi(tmp_path / "clip.avi", frames=4)
    spoil_frames(clip, range(4))
    code, stdout, err = run_cli(capsys, "scene", clip, "--out", tmp_path / "out.mp4", *FAST)
    assert code == 2 and "clip.avi: none of its 4 frames could be decoded" in one_error_line(err)
    assert stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi"]


def test_a_portrait_phone_video_is_read_upright(tmp_path, capsys):
    """PyAV applies no display rotation itself; OpenCV did, so lrfp turns the frames."""
    with av.open(str(tmp_path / "phone.mp4"), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 80, 40
        stream.set_display_rotation(90)
        for _ in range(2):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((40, 80, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    code, _, err = run_cli(capsys, "scene", tmp_path / "phone.mp4", "--out", tmp_path / "out.mp4", *FAST)
    assert code == 0, err
    with av.open(str(tmp_path / "out.mp4")) as out:
        assert (out.streams.video[0].width, out.streams.video[0].height) == (40, 80)


# ---------------------------------------------------------------- 5. a full disk


def _fail_after_first_frame(monkeypatch):
    write = video._Encoder.write
    calls = []

    def failing(self, image):
        calls.append(1)
        if len(calls) > 1:  # as FFmpeg's muxer reports it: the temporary file's name, ENOSPC
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.container.name)
        write(self, image)

    monkeypatch.setattr(video._Encoder, "write", failing)


def test_a_full_disk_names_the_output_and_leaves_no_partial_files(tmp_path, capsys, monkeypatch):
    clip = mjpeg_avi(tmp_path / "clip.avi", frames=4)
    _fail_after_first_frame(monkeypatch)
    code, stdout, err = run_cli(capsys, "scene", clip, "--out", tmp_path / "out.mp4", *FAST)
    line = one_error_line(err)
    assert code == 2 and f"{tmp_path / 'out.mp4'}: No space left on device" in line and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi"]  # no video, no CSV, no temporary file


def test_a_full_disk_while_writing_the_csv_names_the_csv_and_leaves_no_video(tmp_path, capsys, monkeypatch):
    clip = mjpeg_avi(tmp_path / "clip.avi", frames=2)

    def full(path, rows):
        Path(path).write_text("frame,")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a write() reports it: no file name

    monkeypatch.setattr(video, "write_csv", full)  # as video.py names it
    code, stdout, err = run_cli(capsys, "scene", clip, "--out", tmp_path / "out.mp4", *FAST)
    assert code == 2 and f"{tmp_path / 'out.csv'}: No space left on device" in one_error_line(err)
    assert stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi"]


@pytest.mark.detector  # on 20 frames, until the file system is full
def test_a_really_full_file_system_is_one_line_and_leaves_nothing(tmp_path, tmpfs, capsys):
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(tmp_path / "noise.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for _ in range(20):  # noise: the annotated video needs far more than 64 KB
        writer.write(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
    writer.release()
    full = tmpfs("64k")
    code, stdout, err = run_cli(capsys, "scene", tmp_path / "noise.avi", "--out", full / "out.mp4", *FAST)
    assert code == 2 and f"{full / 'out.mp4'}: No space left on device" in one_error_line(err) and stdout == ""
    assert list(full.iterdir()) == []


# ---------------------------------------------------------------- 6. a folder


def test_scene_on_a_folder_says_it_is_a_folder_and_what_it_takes(tmp_path, capsys):
    code, _, err = run_cli(capsys, "scene", tmp_path, *FAST)
    line = one_error_line(err)
    assert code == 2 and f"{tmp_path}: is a folder" in line and ".mp4" in line and ".png" in line


# ---------------------------------------------------------------- 7.-10. lrfp predict


@pytest.fixture
def faces(tmp_path):
    """Two readable face crops and one file that is not an image."""
    for name in ("one.png", "two.png"):
        Image.new("RGB", (40, 40), (180, 140, 110)).save(tmp_path / name)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    return tmp_path


def test_predict_on_one_bad_file_is_one_error_line_and_exit_2(faces, capsys):
    code, stdout, err = run_cli(capsys, "predict", faces / "bad.png", *FAST[:4])
    assert code == 2 and stdout == ""
    assert one_error_line(err).startswith(f"lrfp: error: {faces / 'bad.png'}: not a readable image")


def test_predict_goes_on_past_a_bad_file_and_exits_2_at_the_end(faces, capsys):
    code, stdout, err = run_cli(capsys, "predict", faces / "one.png", faces / "bad.png", faces / "two.png", *FAST[:4])
    assert code == 2
    assert [line.split("\t")[0] for line in stdout.splitlines()] == [str(faces / "one.png"), str(faces / "two.png")]
    assert one_error_line(err).startswith(f"lrfp: error: {faces / 'bad.png'}: ")


def test_a_name_with_a_newline_or_tab_stays_on_one_line(tmp_path, capsys):
    names = ["new\nline.png", "tab\tbed.png"]
    for name in names:
        Image.new("RGB", (40, 40), (180, 140, 110)).save(tmp_path / name)
    (tmp_path / "bad\nfile.png").write_bytes(b"junk")
    code, stdout, err = run_cli(
        capsys, "predict", *(tmp_path / n for n in names), tmp_path / "bad\nfile.png", *FAST[:4]
    )
    lines = stdout.splitlines()
    assert code == 2 and len(lines) == 2 and all(len(line.split("\t")) == 3 for line in lines)
    assert [line.split("\t")[0] for line in lines] == [repr(str(tmp_path / n)) for n in names]
    assert repr(str(tmp_path / "bad\nfile.png")) in one_error_line(err)


def test_predict_on_a_crowd_points_to_lrfp_scene(capsys):
    code, stdout, err = run_cli(capsys, "predict", CROWD, *FAST[:4])
    assert code == 0 and len(stdout.splitlines()) == 1
    notes = [line for line in err.splitlines() if line.startswith("lrfp: note:")]
    assert len(notes) == 1 and str(CROWD) in notes[0] and f"lrfp scene {CROWD}" in notes[0], err
    assert int(re.search(r"sees (\d+) faces", notes[0]).group(1)) >= 10


def test_predict_on_a_face_crop_runs_no_detector(faces, capsys, monkeypatch):
    monkeypatch.setattr("lrfp.cli.predict.FaceDetector", lambda *a, **k: pytest.fail("the detector ran on a face crop"))
    code, _, err = run_cli(capsys, "predict", faces / "one.png", *FAST[:4])
    assert code == 0 and err == ""


def test_predict_without_model_uses_the_default_model_as_scene_does(faces, capsys, monkeypatch):
    import lrfp.pipeline.inference
    from lrfp.publishing.index import default_model

    names = []
    real = lrfp.pipeline.inference.Classifier
    monkeypatch.setattr("lrfp.cli.predict.Classifier", lambda name, **kw: names.append(name) or real(name, **kw))
    code, stdout, err = run_cli(capsys, "predict", faces / "one.png", "--backend", "torch")
    assert code == 0 and stdout.startswith(f"{faces / 'one.png'}\t"), err
    assert names == [default_model()] and names[0]


# ---------------------------------------------------------------- 11. the pixel limit's message


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_just_over_the_limit_says_by_how_much(tmp_path):
    (tmp_path / "big.png").write_bytes(png_bomb(8660, 5774))  # 50,002,840 px: "50 MP" on both sides before
    with pytest.raises(BadImageError, match=r"8660x5774 px = 50,002,840 pixels; the limit is 50,000,000\)"):
        load_image(tmp_path / "big.png")


# ---------------------------------------------------------------- 12. --help and the docs say what the code does


def subparser(name: str):
    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices[name]


@pytest.mark.parametrize("command", ["scene", "predict"])
def test_help_shows_each_default_the_code_uses(command):
    from lrfp.data.images import FACE_CROP_MAX_SIDE
    from lrfp.pipeline.detect import DEFAULT_DETECTOR, DETECTORS

    parser = subparser(command)
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if action.default not in (None, False, "==SUPPRESS=="):
            assert f"(default: {action.default})" in text, action.dest
    if command == "scene":
        assert all(f"{name} {kind.min_score:g}" in text for name, kind in DETECTORS.items())
        assert f"enlarged up to {DETECTORS[DEFAULT_DETECTOR].enlarge:g}x" in text
        assert ", ".join(frame_rows.CSV_FIELDS) in text
    else:
        assert f"over {FACE_CROP_MAX_SIDE} px" in text and "exit code is 2" in text


def test_the_cli_docs_list_every_csv_column_the_code_writes(tmp_path):
    class NoFaces:  # a detector stand-in: the header does not depend on what is found
        def search(self, image):
            return Search(image, budget_mp=0.0)

    Image.new("RGB", (200, 150)).save(tmp_path / "street.png")
    from lrfp.pipeline.inference import Classifier

    _, csv_path, _ = video.process(tmp_path / "street.png", None, Classifier(MODEL, backend="torch"), NoFaces())
    header = csv_path.read_text().splitlines()[0].split(",")
    page = " ".join((ROOT / "docs" / "cli.md").read_text().split())
    found = re.search(r"the CSV has one row per frame: `([^`]+)`", page)
    assert found, "docs/cli.md no longer describes the scene CSV as 'the CSV has one row per frame: `...`'"
    assert [c.strip() for c in found.group(1).split(",")] == header == frame_rows.CSV_FIELDS
