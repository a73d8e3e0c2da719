"""Video files as HTTP MJPEG cameras on 127.0.0.1: `lrfp monitor --live` tried without a camera, and the stream
behind the live tests and the soak benchmark (benchmarks/mjpeg_serve.py serves files from the command line).

Each stream plays its frames forth and back (no jump for a tracker), at FPS frames a second, to every client on
its own. drop() closes every open connection once (a camera's network cut); CUT_AFTER closes the first
connection after that many frames.
"""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import av
from PIL import Image


def jpegs_of(path: str, size: tuple[int, int] | None = None, quality: int = 85) -> list[bytes]:
    """The frames of a video as JPEG bytes, resized to SIZE (width, height) when given."""
    with av.open(path) as container:
        images: list[Image.Image] = [f.to_image() for f in container.decode(video=0)]
    out = []
    for image in images:
        if size:
            image = image.resize(size)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        out.append(buffer.getvalue())
    return out


class MjpegServer:
    """Streams by name (/<name>.mjpg; a query string is ignored), each a list of JPEG frames, at FPS a second."""

    def __init__(self, streams: dict[str, list[bytes]], fps: float = 10.0, port: int = 0, cut_after: int = 0):
        self.streams, self.fps, self.cut_after = streams, fps, cut_after
        self.sent = dict.fromkeys(streams, 0)  # frames written, over every connection
        self.connections = 0
        self.generation = 0  # drop() moves it on: connections of an older one close
        self.stopped = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = urlsplit(self.path).path.strip("/").removesuffix(".mjpg")
                if name not in owner.streams:
                    self.send_error(404)
                    return
                owner.connections += 1
                first, born = owner.connections == 1, owner.generation
                frames = owner.streams[name]
                loop = frames + frames[-2:0:-1] if len(frames) > 2 else frames
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=frame")
                self.end_headers()
                n, due = 0, time.monotonic()
                try:
                    while not owner.stopped.is_set() and owner.generation == born:
                        data = loop[n % len(loop)]
                        head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data)
                        self.wfile.write(head + data + b"\r\n")
                        owner.sent[name] += 1
                        n += 1
                        if first and n == owner.cut_after:
                            return  # the cut: the connection closes mid-stream
                        due += 1 / owner.fps
                        time.sleep(max(0.0, due - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.mjpg"

    def drop(self) -> None:
        """Close every open connection (the clients reconnect)."""
        self.generation += 1

    def close(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()
