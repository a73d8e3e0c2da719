"""Per-stream frame processing for the live webcam: scene analysis plus a frames-per-second meter.

Called from streamlit-webrtc's worker thread, so it touches no Streamlit API; the page reads the
counters from the main thread.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque

from PIL import Image

from lrfp.core.errors import ConfigError
from lrfp.data.images import MAX_PIXELS
from lrfp.pipeline.frames import Analysed, Frame, FrameStream, scene_analysis
from lrfp.pipeline.scene import annotate

REFUSED_SIZE = (320, 240)  # what a refused frame is answered with


class FrameProcessor:
    """The webcam's frames, pushed one at a time through lrfp.pipeline.frames.FrameStream: each analysed,
    metered (its frame rate and counts, for the page) and drawn."""

    def __init__(self, classifier, detector, window: int = 30):
        self.frames = self.refused = 0  # refused: frames over the files' pixel limit, not analysed
        self.last_counts: dict = {}
        self._times: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()
        self.stream = FrameStream(scene_analysis(classifier, detector)).add_sink(self._meter)

    @property
    def fps(self) -> float:
        with self._lock:
            if len(self._times) < 2:
                return 0.0
            return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    def _meter(self, item: Analysed) -> None:
        with self._lock:
            self._times.append(time.perf_counter())
            self.frames += 1
            self.last_counts = item.faces.counts() if item.faces is not None else {}

    def process(self, image: Image.Image) -> Image.Image:
        if image.width * image.height > MAX_PIXELS:  # a browser can send any size: a blank frame back, counted
            with self._lock:
                self.refused += 1
            return Image.new("RGB", REFUSED_SIZE)
        (item,) = self.stream.push(Frame(self.frames, time.perf_counter(), image))
        assert item.faces is not None  # a frame from the browser is decoded
        return annotate(image, item.faces.scene(), fps=self.fps)


# A public STUN server lets a browser on another network find this server's public address; a
# TURN server relays the video where no direct path exists (strict NAT, corporate firewalls).
DEFAULT_ICE_SERVERS = [{"urls": ["stun:stun.l.google.com:19302"]}]


def ice_servers(env=os.environ) -> list[dict]:
    """The WebRTC ICE servers of the live webcam, from the server's settings.

    LRFP_ICE_SERVERS: a JSON list of RTCIceServer objects, replacing the default public STUN
    server (`[]` for none: enough when browser and server share a machine or a LAN).
    LRFP_TURN_URL (with LRFP_TURN_USERNAME and LRFP_TURN_CREDENTIAL): a TURN server added to them.
    """
    text = env.get("LRFP_ICE_SERVERS")
    try:
        servers = DEFAULT_ICE_SERVERS if text is None else json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f'LRFP_ICE_SERVERS is not valid JSON ({exc}); e.g. \'[{{"urls": ["stun:host:3478"]}}]\''
        ) from exc
    if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
        raise ConfigError("LRFP_ICE_SERVERS must be a JSON list of objects with 'urls'")
    if env.get("LRFP_TURN_URL"):
        servers = servers + [
            {
                "urls": [env["LRFP_TURN_URL"]],
                "username": env.get("LRFP_TURN_USERNAME", ""),
                "credential": env.get("LRFP_TURN_CREDENTIAL", ""),
            }
        ]
    return servers
