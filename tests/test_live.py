"""`lrfp monitor --live`: the demo footage served as an HTTP MJPEG stream on 127.0.0.1, cut mid-way."""

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import pytest

from lrfp.core import paths
from lrfp.core.errors import ConfigError
from lrfp.publishing.index import default_model
from lrfp.scale.alerts import Alerts, parse_rule
from lrfp.scale.live import SLICES, STATUS, LiveRun, read_slices
from lrfp.scale.monitor import Settings
from lrfp.scale.stream import check_live

pytestmark = pytest.mark.detector  # runs the face detector on a few dozen frames


def demo_jpegs():
    """The frames of a demo clip with faces of 40 px (maksssksksss389), as JPEG files."""
    with av.open(str(paths.DEMO_DIR / "footage" / "north-gate" / "clip0.mp4")) as container:
        frames = [f.to_image() for f in container.decode(video=0)]
    out = []
    for image in frames:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


class MjpegServer:
    """Serves JPEGS as multipart MJPEG at FPS, forth and back (no jump for the tracker); the first
    connection is cut after CUT frames."""

    def __init__(self, jpegs, fps=10, cut=12):
        self.connections = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=frame")
                self.end_headers()
                sent = 0
                try:
                    while not owner.stopped.is_set():
                        data = (jpegs + jpegs[-2:0:-1])[sent % (2 * len(jpegs) - 2)]
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data)
                        )
                        self.wfile.write(data + b"\r\n")
                        sent += 1
                        if owner.connections == 1 and sent == cut:
                            return  # the cut: the connection closes mid-stream
                        time.sleep(1 / fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.stopped = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cam.mjpg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    "item, message",
    [("ftp://x/cam", "rtsp://, http"), ("/etc/passwd", "rtsp://, http"), ("http:///nohost", "names no host")],
)
def test_a_live_input_that_is_no_stream_is_refused(item, message):
    with pytest.raises(ConfigError, match=message):
        check_live(item)


def test_a_cut_stream_is_reconnected_and_sliced_into_people_and_an_alert(tmp_path):
    classifier, detector = Settings(model=default_model() or "model3", detector="retinaface", detector_scale=1.0).load()
    server = MjpegServer(demo_jpegs())
    alerts = Alerts([parse_rule("gate=compliance:100:5:1")], out=tmp_path)  # any face without a mask raises it
    try:
        run = LiveRun([f"gate={server.url}"], tmp_path, classifier, detector, rate=5, slice_s=2.0, alerts=alerts)
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
    assert (
        stream["dropped"] > 0 and stream["read"] >= stream["analysed"] + stream["dropped"]
    )  # 10 frames/s sent, 5 taken at most
    people = read_slices(tmp_path, "people").to_pandas()
    assert 1 <= len(people) < frames["faces"].sum() / 2  # people, not a face per frame
    assert len(alerts.rows) >= 1 and alerts.rows[0]["camera"] == "gate"
    status = json.loads((tmp_path / STATUS).read_text())
    assert status["streams"][0]["reconnects"] == stream["reconnects"]
