"""Serve video files as HTTP MJPEG streams on 127.0.0.1, a stand-in for cheap IP cameras.

    python benchmarks/mjpeg_serve.py gate=demo/footage/north-gate/clip0.mp4 market=demo/footage/market/clip0.mp4 \
        --fps 2 --port 8090      # http://127.0.0.1:8090/gate.mjpg and /market.mjpg until Ctrl-C

Each stream plays its file's frames forth and back (no jump for a tracker), at FPS frames a second, to
every client on its own. `drop()` closes every open connection once (a camera's network cut); the
soak benchmark (benchmarks/live_soak.py) uses it.
"""

from __future__ import annotations

import argparse
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av


def jpegs_of(path: str, size: tuple[int, int] | None = None, quality: int = 85) -> list[bytes]:
    """The frames of a video as JPEG bytes, resized to SIZE (width, height) when given."""
    with av.open(path) as container:
        images = [f.to_image() for f in container.decode(video=0)]
    out = []
    for image in images:
        if size:
            image = image.resize(size)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        out.append(buffer.getvalue())
    return out


class MjpegServer:
    """Streams by name (/<name>.mjpg), each a list of JPEG frames, served at FPS frames a second."""

    def __init__(self, streams: dict[str, list[bytes]], fps: float = 10.0, port: int = 0):
        self.streams, self.fps = streams, fps
        self.sent = {name: 0 for name in streams}  # frames written, over every connection
        self.connections = 0
        self.generation = 0  # drop() moves it on: connections of an older one close
        self.stopped = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.strip("/").removesuffix(".mjpg")
                if name not in owner.streams:
                    self.send_error(404)
                    return
                owner.connections += 1
                born = owner.generation
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
                        due += 1 / owner.fps
                        time.sleep(max(0.0, due - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.mjpg"

    def drop(self) -> None:
        """Close every open connection (the clients reconnect)."""
        self.generation += 1

    def close(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("streams", nargs="+", metavar="NAME=VIDEO")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--size", help="WIDTHxHEIGHT to resize the frames to (default: as they are)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x")) if args.size else None
    streams = {name: jpegs_of(path, size) for name, _, path in (s.partition("=") for s in args.streams)}
    server = MjpegServer(streams, args.fps, args.port)
    for name in streams:
        print(server.url(name), flush=True)
    try:
        server.stopped.wait()
    except KeyboardInterrupt:
        server.close()


if __name__ == "__main__":
    main()
