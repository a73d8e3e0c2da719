"""Per-stream frame processing for the live webcam: scene analysis plus a frames-per-second meter.

Called from streamlit-webrtc's worker thread, so it touches no Streamlit API; the page reads the
counters from the main thread.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from PIL import Image

from ..scene import analyze, annotate


class FrameProcessor:
    def __init__(self, classifier, detector, window: int = 30):
        self.classifier = classifier
        self.detector = detector
        self.frames = 0
        self.last_counts: dict = {}
        self._times: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    @property
    def fps(self) -> float:
        with self._lock:
            if len(self._times) < 2:
                return 0.0
            return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    def process(self, image: Image.Image) -> Image.Image:
        result = analyze(image, self.classifier, self.detector, mode="scene")
        with self._lock:
            self._times.append(time.perf_counter())
            self.frames += 1
            self.last_counts = result.counts()
        return annotate(image, result, fps=self.fps)
