"""`lrfp monitor --live`: the demo footage served as an HTTP MJPEG stream on 127.0.0.1, cut mid-way."""

import json
import os
import threading
import time

import av
import pandas as pd
import pytest

from lrfp.app import monitor_view
from lrfp.cli import main
from lrfp.core import paths
from lrfp.core.errors import ConfigError
from lrfp.core.labels import UNMASKED_COLUMNS
from lrfp.publishing.index import default_model
from lrfp.scale.alerts import ALERTS_TABLE
from lrfp.scale.engine import Engine
from lrfp.scale.live import SLICES, STATUS, STILLS, STILLS_KEEP_S, LiveRun, read_slices, still_name
from lrfp.scale.live_ray import run_on_ray
from lrfp.scale.mjpeg import MjpegServer, jpegs_of
from lrfp.scale.settings import LiveSettings, Settings, cameras_of
from lrfp.scale.stream import check_live

pytestmark = pytest.mark.detector  # runs the face detector on a few dozen frames


def demo_jpegs():
    """The frames of a demo clip with faces of 40 px (maksssksksss389), as JPEG files."""
    return jpegs_of(str(paths.DEMO_DIR / "footage" / "north-gate" / "clip0.mp4"))


@pytest.mark.parametrize(
    "item, message",
    [("ftp://x/cam", "rtsp://, http"), ("/etc/passwd", "rtsp://, http"), ("http:///nohost", "names no host")],
)
def test_a_live_input_that_is_no_stream_is_refused(item, message):
    with pytest.raises(ConfigError, match=message):
        check_live(item)


def test_a_cut_stream_is_reconnected_and_sliced_into_people_and_an_alert(tmp_path):
    analyse = Settings(model=default_model() or "model3", detector="retinaface", detector_scale=1.0).analysis()
    server = MjpegServer({"cam": demo_jpegs()}, cut_after=12)  # the first connection is cut after 12 frames
    rules = ["gate=compliance:100:5:1"]  # any face without a mask raises it
    try:
        run = LiveRun(LiveSettings.parse([f"gate={server.url('cam')}"], rules, rate=5, slice_s=2.0), tmp_path, analyse)
        alerts = run.alerts
        summary = run.run(duration_s=9)
    finally:
        server.close()
    (stream,) = summary["streams"]
    assert server.connections >= 2 and stream["reconnects"] >= 1  # the cut was survived
    slices = sorted((tmp_path / SLICES).glob("frames-*.parquet"))
    assert len(slices) >= 4 and summary["slices"] == len(slices)
    frames = read_slices(tmp_path).to_pandas()
    assert len(frames) == stream["analysed"] >= 4 and (frames["camera"] == "gate").all()
    assert frames["offset_s"].is_monotonic_increasing
    assert 0 <= stream["age_s"]["p50"] <= stream["age_s"]["max"]  # each frame's age at analysis, counted
    assert (
        stream["skipped"] > 0 and stream["read"] >= stream["analysed"] + stream["skipped"] + stream["dropped"]
    )  # 10 frames/s sent, 5 kept at most: the others skipped
    people = read_slices(tmp_path, "people").to_pandas()
    assert 1 <= len(people) < frames["faces"].sum() / 2  # people, not a face per frame
    assert len(alerts.rows) >= 1 and alerts.rows[0]["camera"] == "gate"
    status = json.loads((tmp_path / STATUS).read_text())
    assert status["streams"][0]["reconnects"] == stream["reconnects"]
    # a still of the worst frame of each slice that had a face without a mask, which the Monitor page draws
    unmasked = frames[list(UNMASKED_COLUMNS)].sum(axis=1)
    stills = {p.name for p in (tmp_path / STILLS).glob("*.jpg")}
    named = {still_name(r.camera, r.frame, r.offset_s): r for r in frames[unmasked > 0].itertuples()}
    assert stills and stills <= set(named)
    kept = frames.loc[[named[n].Index for n in stills]].iloc[0]
    drawn = monitor_view.annotated(kept, folder=tmp_path)
    assert drawn is not None and max(drawn.size) >= 640
    unkept = kept.copy()
    unkept["offset_s"] += 0.001  # a frame of the slice that was not its worst: no still, the page says why
    assert monitor_view.annotated(unkept, folder=tmp_path) is None
    # the page's worst moments of a live run are its frames with a still
    shown = monitor_view.with_stills(frames, tmp_path)
    assert {still_name(r.camera, r.frame, r.offset_s) for r in shown.itertuples()} == stills


@pytest.mark.ray
def test_on_ray_each_group_of_streams_is_an_actor_and_the_run_reads_as_one(tmp_path, monkeypatch):
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    settings = Settings(model=default_model() or "model3", detector="retinaface", detector_scale=1.0)
    server = MjpegServer({"cam": demo_jpegs()})  # no cut: three clients of one clip
    items = [f"{name}={server.url('cam')}?{name}" for name in ("gate", "market", "yard")]
    try:
        summary = run_on_ray(
            LiveSettings.parse(items, ["compliance:100:5:1"], rate=4, slice_s=2.0),
            tmp_path,
            settings,
            engine=Engine("ray", workers=2),
            duration_s=12,  # room for the actors to load their models on a busy machine
        )
    finally:
        server.close()
        ray.shutdown()
    assert summary["groups"] == 2 and sorted(s["camera"] for s in summary["streams"]) == ["gate", "market", "yard"]
    for part in ("g0", "g1"):  # each actor wrote its own slices, counts and alerts
        assert list((tmp_path / SLICES).glob(f"frames-*-{part}.parquet"))
        assert (tmp_path / f"live-{part}.json").is_file() and (tmp_path / f"alerts-{part}.parquet").is_file()
    status = json.loads((tmp_path / STATUS).read_text())  # merged: one run for a reader
    assert status["groups"] == 2 and status["running"] is False and len(status["streams"]) == 3
    frames = read_slices(tmp_path).to_pandas()
    assert set(frames["camera"]) == {"gate", "market", "yard"}
    assert len(frames) == sum(s["analysed"] for s in summary["streams"])
    for _, rows in frames.groupby("camera"):  # a stream stays on its actor: its frames count up without a gap
        assert list(rows.sort_values("frame")["frame"]) == list(range(len(rows)))
    alerts = pd.read_parquet(tmp_path / ALERTS_TABLE)
    assert set(alerts["camera"]) == {"gate", "market", "yard"} and len(alerts) == summary["alerts"]


def h264_clip(path, repeats: int = 4) -> None:
    """The demo clip as H.264 (the RTSP server serves H.264 and H.265 only), played forth and back REPEATS times."""
    with av.open(str(paths.DEMO_DIR / "footage" / "north-gate" / "clip0.mp4")) as container:
        frames = [f.to_image() for f in container.decode(video=0)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = *frames[0].size, "yuv420p"
        stream.options = {"g": "2"}  # a key frame every second: a client joins without a long wait
        for image in (frames + frames[::-1]) * repeats:
            out.mux(stream.encode(av.VideoFrame.from_image(image)))
        out.mux(stream.encode())


def test_an_rtsp_camera_is_read_over_tcp(tmp_path):
    """The demo footage served over RTSP (aio-rtsp-toolkit's file server, the test extra) to `lrfp monitor --live`."""
    import asyncio
    import socket

    rtsp = pytest.importorskip("aio_rtsp_toolkit.server")
    (tmp_path / "media").mkdir()
    h264_clip(tmp_path / "media" / "gate.mp4")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.new_event_loop()
    serving = loop.create_task(rtsp.serve(str(tmp_path / "media"), host="127.0.0.1", port=port))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    out = tmp_path / "out"
    try:
        code = main(
            [
                "monitor",
                "--live",
                f"gate=rtsp://127.0.0.1:{port}/gate.mp4?play_count=0",
                "--out",
                str(out),
                "--engine",
                "local",
                "--rate",
                "2",
                "--slice",
                "3",
                "--duration",
                "10",  # the server's first frames come in a burst after a few seconds: one of them is kept
                "--detector",
                "retinaface",
                "--detector-scale",
                "1.0",
                "--model",
                default_model() or "model3",
            ]
        )
    finally:
        loop.call_soon_threadsafe(serving.cancel)
        loop.call_soon_threadsafe(loop.stop)
    assert code == 0
    (stream,) = json.loads((out / STATUS).read_text())["streams"]
    assert stream["camera"] == "gate" and stream["url"].startswith("rtsp://") and stream["analysed"] >= 4
    frames = read_slices(out).to_pandas()
    assert len(frames) == stream["analysed"] and frames["faces"].sum() > 0  # the clip's faces, found over RTSP


def test_stills_older_than_a_week_are_removed_as_new_ones_are_written(tmp_path):
    run = LiveRun(LiveSettings.parse(["gate=http://127.0.0.1:9/cam.mjpg"]), tmp_path, None)  # no stream is opened
    stills = tmp_path / STILLS
    stills.mkdir()
    old, recent = stills / "old.jpg", stills / "recent.jpg"
    for path in (old, recent):
        path.write_bytes(b"jpeg")
    week_ago = time.time() - STILLS_KEEP_S - 60
    os.utime(old, (week_ago, week_ago))
    run._write_stills({})
    assert not old.exists() and recent.exists()


def jpeg_of(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


# Pillow warns of a big image while reading its header; lrfp.data.images silences that warning, pytest brings it back
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_frames_over_the_pixel_limit_are_refused_by_their_header_counted_and_the_stream_kept(monkeypatch):
    """A camera sending 7100x7100 frames (50.4 MP, over the files' 50 MP) between small ones: each big frame is
    refused from its JPEG header before it is decoded, counted in the stream's counts (live.json), and the
    small frames that follow are read as before, on the same connection."""
    from PIL import Image

    from lrfp.data.images import MAX_PIXELS
    from lrfp.scale.stream import Stream

    side = int(MAX_PIXELS**0.5) + 30
    big, small = jpeg_of(Image.new("L", (side, side), 90)), jpeg_of(Image.new("RGB", (64, 48), "white"))
    decoded = decoded_sizes(monkeypatch)
    server = MjpegServer({"cam": [small, big, small, big]}, fps=20)
    stream = Stream("gate", server.url("cam")).start()
    try:
        deadline = time.monotonic() + 60
        while (stream.refused < 3 or stream.read < 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        image = stream.take().image
    finally:
        stream.stop()
        server.close()
    counts = stream.counts()
    assert counts["refused"] >= 3 and counts["read"] >= 3 and counts["reconnects"] == 0, counts
    assert server.connections == 1 and image is not None and image.size == (64, 48)
    assert decoded and max(decoded) == 64 * 48  # no big frame was decoded


def decoded_sizes(monkeypatch) -> list[int]:
    """The pixels of each frame PyAV makes an image of (VideoFrame.to_image calls PIL's Image.frombytes)."""
    from PIL import Image

    sizes: list[int] = []
    made = Image.frombytes
    monkeypatch.setattr(
        Image, "frombytes", lambda mode, size, *a, **k: sizes.append(size[0] * size[1]) or made(mode, size, *a, **k)
    )
    return sizes


def test_a_live_frame_replaced_before_it_is_taken_is_never_decoded(monkeypatch):
    """An MJPEG camera sending faster than the analysis takes: its frames are read and pushed out as JPEG bytes,
    and only the one taken is decoded."""
    from lrfp.scale.stream import MIN_HELD, Stream

    server = MjpegServer({"cam": demo_jpegs()}, fps=50)
    decoded = decoded_sizes(monkeypatch)
    stream = Stream("gate", server.url("cam")).start()
    try:
        deadline = time.monotonic() + 60
        while stream.read < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        before = list(decoded)
        image = stream.take().image
    finally:
        stream.stop()
        server.close()
    assert stream.read >= 12 and stream.dropped >= stream.read - MIN_HELD - 1, stream.counts()  # 1: the one taken
    assert before == [] and image is not None and decoded == [image.width * image.height]


def test_the_webcam_refuses_a_frame_over_the_pixel_limit_without_analysing_it():
    from PIL import Image

    from lrfp.app.live import REFUSED_SIZE, FrameProcessor
    from lrfp.data.images import MAX_PIXELS

    side = int(MAX_PIXELS**0.5) + 30
    processor = FrameProcessor(classifier=None, detector=None)  # neither is reached
    answer = processor.process(Image.new("L", (side, side)))
    assert answer.size == REFUSED_SIZE and (processor.refused, processor.frames) == (1, 0)


def test_an_unnamed_stream_is_named_by_its_place_never_by_its_address():
    cameras = cameras_of(["http://10.1.2.3:8080/secret-path/cam.mjpg", "gate=rtsp://10.1.2.4/s", "/dev/video0"])
    assert cameras == (
        ("camera-1", "http://10.1.2.3:8080/secret-path/cam.mjpg"),
        ("gate", "rtsp://10.1.2.4/s"),
        ("video0", "/dev/video0"),
    )
