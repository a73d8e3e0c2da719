"""The monitor's defaults, written once: light to import (the command line's help reads them before any
model or table library is loaded); lrfp.scale.settings checks values against them."""

from __future__ import annotations

import math

RATE = 10.0  # --rate: frames analysed a second per live stream, at most
SLICE_S = 60.0  # --slice: seconds of a live run per slice written
DETECT_EVERY = 1  # --detect-every for files: the detector on every frame, as before the option
# live streams: the detector this many times a second of frames analysed (at --rate 10, every 5th frame: a
# quarter of every frame's CPU, compliance within 0.6 points of it on 24 640x480 pans of fmd853 photos and 2 on the
# 6 demo pans; benchmarks/detect_every.py, benchmarks/frame_costs.py)
LIVE_DETECTIONS_PER_S = 2


def live_every(rate: float) -> int:
    """--detect-every's default for a live stream analysed RATE frames a second: LIVE_DETECTIONS_PER_S a second."""
    return max(1, round(rate / LIVE_DETECTIONS_PER_S)) if math.isfinite(rate) else DETECT_EVERY
