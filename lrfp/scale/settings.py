"""What a `lrfp monitor` run is made from, each value checked here, once (its defaults: lrfp.scale.defaults).

Settings: what makes a table (the model, the detector, --every, --detect-every); a rerun into the same folder must use the
same, or its rows would mix (OUT/settings.json). LiveSettings: a live run's, made and checked once from the
command line's (or a caller's) text by LiveSettings.parse, then handed as it is to the local run, to each Ray
actor and to the dashboard: its streams as (camera, url), its alert rules parsed, --rate, --slice, --webhook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lrfp.core.errors import ConfigError
from lrfp.pipeline.detect import DEFAULT_DETECTOR, DETECTORS, FaceDetector
from lrfp.pipeline.frames import Analyze, scene_analysis
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.interval import CameraGroup
from lrfp.pipeline.looks import FOOTAGE_FINEST_SIDE
from lrfp.scale.alerts import Rule, parse_rule
from lrfp.scale.defaults import DETECT_EVERY, RATE, SLICE_S
from lrfp.scale.stream import check_live
from lrfp.scale.webhook import check_url


@dataclass(frozen=True)
class Settings:
    """What makes a table: a rerun into the same folder must use the same, or its rows would mix."""

    model: str
    backend: str = "auto"
    device: str = "auto"
    detector: str = DEFAULT_DETECTOR
    detector_scale: float | None = None
    min_score: float | None = None
    every: float = 0.0
    detect_every: int = DETECT_EVERY  # the detector on every this many-th frame analysed (lrfp.pipeline.interval)
    # small frames get one more enlarged look, to this many px on their shorter side (None: the pyramid of photos)
    finest_side: int | None = FOOTAGE_FINEST_SIDE

    def __post_init__(self) -> None:
        if not (math.isfinite(self.every) and self.every >= 0):
            raise ConfigError(f"--every {self.every:g}: give 0 (every frame) or a number of seconds")
        every = self.detect_every
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"--detect-every {every!r}: give a whole number of frames, 1 or more")
        side = self.finest_side
        if side is not None and (isinstance(side, bool) or not isinstance(side, int) or side < 1):
            raise ConfigError(f"finest_side {side!r}: give a whole number of px, 1 or more, or None")

    def load(self, device: str | None = None) -> tuple[Classifier, FaceDetector]:
        """(classifier, detector) as these settings make them."""
        classifier = Classifier(self.model, backend=self.backend, device=device or self.device)
        # a camera's frames are at their own resolution: the check for pictures enlarged beyond their detail
        # (lrfp.pipeline.detail) would cost every detection frame and change nothing; and footage keeps its
        # detector's footage score where it has one (the people tracker counts people from every box)
        kind = DETECTORS.get(self.detector)
        footage = kind.footage_min_score if kind else None
        detector = FaceDetector(
            self.detector,
            min_score=footage if self.min_score is None else self.min_score,
            enlarged_min_score=footage,
            scale=self.detector_scale,
            finest_side=self.finest_side,
            at_detail=False,
        )
        return classifier, detector

    def analyser(self, classifier: Classifier, detector: FaceDetector) -> Analyze:
        """A new analysis of frames with these models: every frame's (lrfp.pipeline.frames.scene_analysis) at
        --detect-every 1, else lrfp.pipeline.interval.CameraGroup, which keeps each camera's faces between calls
        (a new one for each file: one file's faces are not followed into the next)."""
        if self.detect_every == 1:
            return scene_analysis(classifier, detector)
        return CameraGroup(classifier, detector, self.detect_every)

    def analysis(self, device: str | None = None) -> Analyze:
        """The analysis these settings make (analyser), its models loaded."""
        return self.analyser(*self.load(device))


def cameras_of(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(camera, url) of each --live input; ConfigError for a bad one, for two of one camera name, or for one
    stream given twice (unnamed streams are named by their place, so two of one URL no longer share a name)."""
    cameras = tuple(check_live(item, number) for number, item in enumerate(items, start=1))
    names, urls = [c for c, _ in cameras], [u for _, u in cameras]
    if len(set(names)) < len(names):
        raise ConfigError(f"--live: two streams named {max(names, key=names.count)!r}; name them NAME=URL")
    if len(set(urls)) < len(urls):
        twice = max(cameras, key=lambda c: urls.count(c[1]))
        raise ConfigError(f"--live: two streams of one address (the stream of {twice[0]!r}, given twice)")
    return cameras


@dataclass(frozen=True)
class LiveSettings:
    """A live run's settings, checked (make it with parse): each stream's (camera, url) and the alert rules."""

    cameras: tuple[tuple[str, str], ...]
    rules: tuple[Rule, ...] = ()
    rate: float = RATE
    slice_s: float = SLICE_S
    webhook: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0 and math.isfinite(self.slice_s) and self.slice_s > 0):
            raise ConfigError(f"--rate {self.rate:g} and --slice {self.slice_s:g}: give numbers over 0")

    @classmethod
    def parse(
        cls,
        items: list[str],
        rules: list[str] | None = None,
        rate: float = RATE,
        slice_s: float = SLICE_S,
        webhook: str | None = None,
    ) -> LiveSettings:
        """The settings of --live ITEMS and --alert RULES: ConfigError, before any model loads, for a bad URL,
        two streams of one name, a bad rule, a rate or slice not over 0, or a --webhook that is no http(s) URL."""
        rules_parsed = tuple(parse_rule(rule) for rule in rules or [])
        return cls(cameras_of(items), rules_parsed, rate, slice_s, check_url(webhook) if webhook else None)

    @property
    def items(self) -> list[str]:
        return [f"{camera}={url}" for camera, url in self.cameras]

    def group(self, cameras: tuple[tuple[str, str], ...]) -> LiveSettings:
        """These settings for some of the streams (one Ray actor's group)."""
        return LiveSettings(cameras, self.rules, self.rate, self.slice_s, self.webhook)
