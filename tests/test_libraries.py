"""Where lrfp hands work to a well-kept library, the result is checked against an independent one:
portable folder locks (filelock), box matching (torchvision's box_iou), the intervals (scipy), and the
annotated video (PyAV writing H.264, which browsers play)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from helpers import mjpeg_avi, run_cli
from PIL import Image
from scipy import stats

import lrfp.pipeline.video as video
from lrfp.core.metrics import balanced_accuracy_interval, wilson_interval
from lrfp.data.voc import match

ROOT = Path(__file__).resolve().parents[1]
FAST = ("--model", str(ROOT / "weights" / "model3.pt"), "--backend", "torch", "--no-progress")


# ---------------------------------------------------------------- locks


def test_the_package_imports_and_locks_a_folder_where_fcntl_does_not_exist(tmp_path):
    """Windows has no fcntl: the core, its folder lock included, must not need it."""
    code = (
        "import sys; sys.modules['fcntl'] = None  # `import fcntl` now raises ImportError, as on Windows\n"
        "from lrfp.core.locks import folder_lock\n"
        f"with folder_lock({str(tmp_path)!r}, 'training run'):\n    print('locked')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout == "locked\n", done.stderr[-2000:]


# ---------------------------------------------------------------- matching


def iou_by_hand(a, b) -> float:
    """The IoU of two (x0, y0, x1, y1) boxes in plain Python; 0 for boxes of no area."""
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_by_hand(labels, found, threshold=0.3) -> dict[int, int]:
    """scene_bench's rule, written out: pairs one to one, highest IoU first, none under the threshold."""
    pairing: dict[int, int] = {}
    for score, i, j in sorted(
        ((iou_by_hand(a, b), i, j) for i, a in enumerate(labels) for j, b in enumerate(found)), reverse=True
    ):
        if score >= threshold and i not in pairing and j not in pairing.values():
            pairing[i] = j
    return pairing


def random_boxes(rng: random.Random, n: int) -> list[tuple]:
    boxes = []
    for _ in range(n):
        x, y, w, h = rng.uniform(0, 80), rng.uniform(0, 60), rng.uniform(0, 30), rng.uniform(0, 30)
        boxes.append((x, y, x + w, y + h) if rng.random() > 0.1 else (x, y, x, y + h))  # a few of no area
    return boxes


def test_match_pairs_faces_as_the_rule_written_out_does():
    rng = random.Random(0)
    for _ in range(300):
        labels, found = random_boxes(rng, rng.randint(0, 6)), random_boxes(rng, rng.randint(0, 6))
        if labels and rng.random() < 0.3:  # ties: a labelled box detected exactly, twice
            found += [labels[0], labels[0]]
        assert match(labels, found) == match_by_hand(labels, found), (labels, found)
    assert match([(0, 0, 10, 10)], [(0, 0, 10, 10), (1, 1, 11, 11)]) == {0: 0}
    assert match([], [(0, 0, 1, 1)]) == {} and match([(0, 0, 1, 1)], []) == {}


# ---------------------------------------------------------------- intervals


@pytest.mark.parametrize("correct,n", [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (47, 50), (500, 1000), (1, 853)])
def test_wilson_interval_is_scipys(correct, n):
    ci = stats.binomtest(correct, n).proportion_ci(confidence_level=0.95, method="wilson")
    # lrfp's z is 1.96, scipy's the exact 97.5 % normal quantile (1.95996...)
    assert wilson_interval(correct, n) == pytest.approx((ci.low, ci.high), abs=2e-5)


def test_balanced_accuracy_interval_is_scipys_bootstrap_within_its_noise():
    """Both resample each class on its own (scipy resamples each sample independently) and take
    percentiles of the mean recall; only their random draws differ."""
    y_true = np.array([0] * 40 + [1] * 15)
    y_pred = np.array([0] * 34 + [1] * 6 + [1] * 9 + [0] * 6)
    hits = [(y_pred[y_true == c] == c).astype(float) for c in (0, 1)]
    ours = balanced_accuracy_interval(y_true, y_pred, n_boot=4000)
    theirs = stats.bootstrap(
        hits,
        lambda a, b, axis: (a.mean(axis) + b.mean(axis)) / 2,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        random_state=1,
    ).confidence_interval
    assert ours == pytest.approx((theirs.low, theirs.high), abs=0.02)
    assert ours[0] < (34 / 40 + 9 / 15) / 2 < ours[1]


# ---------------------------------------------------------------- the annotated video


def stream_of(path: Path) -> tuple[str, str, int, int, int]:
    """(codec, pixel format, width, height, frames decoded) of PATH's video."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.format.name, stream.width, stream.height, frames


def test_the_annotated_video_is_h264_where_pyav_has_an_encoder_for_it(tmp_path, capsys):
    expected = "h264" if {"libx264", "libopenh264"} & av.codec.codecs_available else "mpeg4"
    code, _, err = run_cli(
        capsys, "scene", mjpeg_avi(tmp_path / "clip.avi", frames=5), "--out", tmp_path / "out.mp4", *FAST
    )
    assert code == 0, err
    assert stream_of(tmp_path / "out.mp4") == (expected, "yuv420p", 160, 120, 5)
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 1 + 5  # the per-frame CSV, as before


def odd_clip(path: Path, frames: int = 3, size=(161, 121)) -> Path:
    """An MJPEG AVI of an odd frame size (OpenCV's MJPEG writer rounds sizes down to even)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p"
        for i in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_image(Image.new("RGB", size, (40 * i, 90, 120)))))
        container.mux(stream.encode())
    return path


def test_an_odd_frame_size_gets_one_black_column_and_row_in_h264(tmp_path, capsys):
    if video.video_encoder() not in video.H264_ENCODERS:
        pytest.skip("no H.264 encoder in this PyAV build")
    code, _, err = run_cli(capsys, "scene", odd_clip(tmp_path / "odd.avi"), "--out", tmp_path / "out.mkv", *FAST)
    assert code == 0, err
    assert stream_of(tmp_path / "out.mkv") == ("h264", "yuv420p", 162, 122, 3)


def test_without_an_h264_encoder_the_video_is_mpeg4_as_before(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(video, "video_encoder", lambda: video.FALLBACK_ENCODER)
    code, _, err = run_cli(capsys, "scene", odd_clip(tmp_path / "odd.avi"), "--out", tmp_path / "out.mp4", *FAST)
    assert code == 0, err
    assert stream_of(tmp_path / "out.mp4") == ("mpeg4", "yuv420p", 161, 121, 3)
