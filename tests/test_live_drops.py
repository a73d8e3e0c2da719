"""Live frames that are not dropped: a slice written while the analysis goes on, two frames held per stream,
--rate's pacing by the time a frame came, and each drop put down to a cause. No model, no network, no clock
in the assertions: the fake stream, analysis and disk here say what happened in which order."""

import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from lrfp.pipeline.detections import Detections
from lrfp.pipeline.frames import Pacer
from lrfp.scale import drops as drops_module
from lrfp.scale import live
from lrfp.scale.drops import DropLog, Timeline
from lrfp.scale.live import SLICES, STATUS, LiveRun
from lrfp.scale.settings import LiveSettings
from lrfp.scale.stream import HELD, Stream

WAIT_S = 3.0  # the longest a fake waits for the other side (the old code: it never comes), not a measure
MODEL_S = 0.002  # a fake model's pass, not a measure
START_S = 60.0  # the longest the run may take to reach its first slice on a loaded machine, not a measure


def test_a_camera_at_the_rate_keeps_every_frame_through_its_jitter():
    """Frames at 5 a second, each up to 0.09 s early or late (a network's jitter), then one 0.19 s late and the
    next on time: all due at --rate 5. The pacing before kept a beat that late frames moved on for good, and
    skipped the early frames after them."""
    pacer = Pacer(every_s=0.2, steady=True)
    jitter = [0.0, 0.09, -0.09, 0.05, -0.05, 0.0, -0.09, 0.08, 0.09, -0.08] * 3 + [0.19, 0.0, 0.0, 0.05]
    kept = []
    for k, j in enumerate(jitter):
        t = 0.2 * k + j
        if pacer.due("gate", t):
            pacer.took("gate", t)
            kept.append(k)
    assert kept == list(range(len(jitter)))


def test_a_camera_faster_than_the_rate_is_kept_at_the_rate_never_two_in_one_beat():
    pacer = Pacer(every_s=0.2, steady=True)
    kept = []
    for k in range(250):  # 25 frames a second for 10 s
        t = 0.04 * k
        if pacer.due("gate", t):
            pacer.took("gate", t)
            kept.append(t)
    assert len(kept) in (50, 51)
    beats = [round(t / 0.2) for t in kept]
    assert len(set(beats)) == len(beats)


def test_a_stream_holds_its_two_newest_frames_oldest_taken_first_and_drops_the_third_counted():
    """One slow pass of the analysis (two frames come before it takes one) loses no frame; a third pushes the
    oldest out, counted, noted with when it came; the memory held stays two frames whatever comes."""
    noted = []
    stream = Stream("gate", "http://127.0.0.1:9/cam.mjpg", on_drop=lambda *drop: noted.append(drop))
    frames = [Image.new("RGB", (8, 8), (n, 0, 0)) for n in range(5)]
    stream._hold(frames[0], now=0.0)
    stream._hold(frames[1], now=0.2)
    assert stream.dropped == 0 and stream.take() is frames[0] and stream.take() is frames[1]
    for n, image in enumerate(frames[2:]):
        stream._hold(image, now=0.4 + 0.2 * n)
    assert stream.dropped == 1 and noted == [("gate", 0.4, 0.8)]
    assert stream.take() is frames[3] and stream.take() is frames[4] and stream.take() is None
    for n in range(100):
        stream._hold(frames[0], now=2.0 + 0.2 * n)
    assert len(stream._held) == HELD and stream.dropped == 1 + 100 - HELD


class FakeStream:
    """A camera that always has a new frame; TAKEN counts the frames taken."""

    shown_url, last_frame = "http://camera", None

    def __init__(self) -> None:
        self.taken = 0

    def take(self) -> Image.Image:
        self.taken += 1
        return Image.new("RGB", (8, 8))

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def counts(self) -> dict:
        return {"camera": "gate", "analysed": self.taken}


def test_the_analysis_goes_on_while_a_slice_is_written(tmp_path, monkeypatch):
    """A disk that writes the first slice only once the analysis has taken three more frames: the frames go on
    being analysed while it is written (before, the analysis waited for the slice: a camera's frames were
    pushed out untaken at each slice), and the slice is written whole in the end. Only frames analysed between
    the write's start and its end count, and the run stops only once the write has begun, so a slow machine
    (the first slice late) cannot make it pass or fail."""
    analysed, during_write = [], []
    writing, written_once, three_more = threading.Event(), threading.Event(), threading.Event()

    def analyse(frames):
        time.sleep(MODEL_S)  # a model's pass lets the writer's thread run, as torch does; a fake that never lets go
        analysed.extend(frames)  # starves it (CI: the first write began only after the run was stopped)
        if writing.is_set() and not written_once.is_set():
            during_write.extend(frames)
            if len(during_write) >= 3:
                three_more.set()
        return [Detections.empty() for _ in frames]

    def slow_write(table: pa.Table, path) -> None:
        if not writing.is_set():
            writing.set()
            three_more.wait(WAIT_S)
            written_once.set()
        written(table, path)

    written = live._write
    monkeypatch.setattr(live, "_write", slow_write)
    settings = LiveSettings.parse(["gate=http://127.0.0.1:9/cam.mjpg"], slice_s=1.0)
    run = LiveRun(settings, tmp_path, analyse)
    run.streams = {"gate": FakeStream()}

    def stop_after_three() -> None:
        writing.wait(START_S)
        three_more.wait(WAIT_S)
        run.stopping.set()

    stopper = threading.Thread(target=stop_after_three)
    stopper.start()
    run.run()
    stopper.join()
    assert writing.is_set()  # the first slice's write began before the run was stopped
    assert len(during_write) >= 3  # the analysis went on while the first slice was being written
    slices = sorted((tmp_path / SLICES).glob("frames-*.parquet"))
    assert slices and (tmp_path / STATUS).is_file()
    rows = sum(pq.read_table(p).num_rows for p in slices)
    assert rows == len(analysed) - 1  # every frame in a slice (the warm-up's blank frame in none)


class FakeClock:
    """time.monotonic for lrfp.scale.drops, moved on by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def test_a_drop_is_put_down_to_what_held_the_analysis_longest_while_the_frame_waited(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(drops_module, "time", clock)
    timeline = Timeline()
    drops = DropLog(timeline, t0=clock.now)
    with timeline.doing("analysis"):
        clock.now += 0.05
    with timeline.doing("slice"):
        clock.now += 0.12
        with timeline.doing("gc"):  # a pass of the collector inside: the slice pauses
            clock.now += 0.01
    with timeline.doing("analysis"):
        clock.now += 0.04
    drops.note("gate", 100.02, 100.22)  # waited through 0.03 s of analysis, 0.12 of the slice's, 0.01 of gc
    drops.note("gate", 100.22, 100.221)  # pushed out as it came: the source sent two at once
    clock.now += 65
    with timeline.doing("analysis"):
        clock.now += 0.2
    drops.note("gate", clock.now - 0.19, clock.now)  # a minute later, through an analysis alone
    drops.classify()
    summary = drops.summary()
    assert summary["by_cause"] == {"slice": 1, "burst": 1, "analysis": 1}
    assert [d["cause"] for d in summary["first"]] == ["slice", "burst", "analysis"]
    assert summary["by_minute"] == {"0": 2, "1": 1}
