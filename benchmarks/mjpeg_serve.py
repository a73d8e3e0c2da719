"""Serve video files as HTTP MJPEG streams on 127.0.0.1, a stand-in for cheap IP cameras.

    python benchmarks/mjpeg_serve.py gate=demo/footage/north-gate/clip0.mp4 market=demo/footage/market/clip0.mp4 \
        --fps 2 --port 8090      # http://127.0.0.1:8090/gate.mjpg and /market.mjpg until Ctrl-C

Each stream plays its file's frames forth and back (no jump for a tracker), at FPS frames a second, to
every client on its own (lrfp.scale.mjpeg, which the live tests and benchmarks/live_soak.py use too).
"""

from __future__ import annotations

import argparse

from lrfp.scale.mjpeg import MjpegServer, jpegs_of


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
