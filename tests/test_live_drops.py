"""Live frames that are not dropped: a slice written while the analysis goes on, seconds of frames held per
stream (a stretch of slow analysis worked off after it, each frame keeping the time it came), --rate's pacing
by the time a frame came, and each drop put down to a cause. No model, no network, no clock
in the assertions: the fake stream, analysis and disk here say what happened in which order."""

import json
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from lrfp.pipeline.detections import Detections
from lrfp.pipeline.frames import Pacer
from lrfp.scale import drops as drops_module
from lrfp.scale import live
from lrfp.scale.ages import Ages
from lrfp.scale.drops import DropLog, Timeline
from lrfp.scale.live import SLICES, STATUS, LiveRun
from lrfp.scale.settings import LiveSettings
from lrfp.scale.stream import HOLD_BYTES, HOLD_S, MIN_HELD, Stream, Taken

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


def test_a_stream_not_paced_holds_its_two_newest_frames_oldest_taken_first_and_drops_the_third_counted():
    """One slow pass of the analysis (two frames come before it takes one) loses no frame; a third pushes the
    oldest out, counted, noted with when it came; the memory held stays two frames whatever comes."""
    noted = []
    stream = Stream("gate", "http://127.0.0.1:9/cam.mjpg", on_drop=lambda *drop: noted.append(drop))
    frames = [Image.new("RGB", (8, 8), (n, 0, 0)) for n in range(5)]
    stream._hold(frames[0], now=0.0)
    stream._hold(frames[1], now=0.2)
    assert stream.dropped == 0 and taken(stream) == [frames[0], frames[1]]
    for n, image in enumerate(frames[2:]):
        stream._hold(image, now=0.4 + 0.2 * n)
    assert stream.dropped == 1 and noted == [("gate", 0.4, 0.8)]
    assert taken(stream) == [frames[3], frames[4]]
    for n in range(100):
        stream._hold(frames[0], now=2.0 + 0.2 * n)
    assert len(stream._held) == MIN_HELD and stream.dropped == 1 + 100 - MIN_HELD


def taken(stream: Stream) -> list:
    """The images STREAM holds, taken oldest first."""
    images = []
    while (frame := stream.take()) is not None:
        images.append(frame.image)
    return images


def test_a_stream_at_its_rate_holds_hold_s_seconds_of_frames_and_drops_none_of_them():
    """At --rate 5, HOLD_S seconds of frames (50) come while the analysis takes none (a crowd in view): none is
    dropped, each is taken oldest first with the time it came; the next pushes the oldest out, counted."""
    noted = []
    stream = Stream("gate", "http://127.0.0.1:9/cam.mjpg", every_s=0.2, on_drop=lambda *drop: noted.append(drop))
    frames = [Image.new("RGB", (8, 8), (n, 0, 0)) for n in range(round(HOLD_S * 5) + 2)]
    for n, image in enumerate(frames[:-2]):
        stream._hold(image, now=0.2 * n)
    assert stream.dropped == 0 and stream.held_peak == stream.counts()["held"] == len(frames) - 2
    first = stream.take()
    assert first is not None and first.image is frames[0] and first.arrived == 0.0
    stream._hold(frames[-2], now=100.0)
    stream._hold(frames[-1], now=100.2)  # one more than HOLD_S seconds held: the oldest goes
    assert stream.dropped == 1 and noted == [("gate", 0.2, 100.2)]
    assert taken(stream) == frames[2:]


def test_a_stream_of_big_decoded_frames_holds_at_most_hold_bytes_but_never_under_two_frames():
    stream = Stream("gate", "rtsp://127.0.0.1:9/cam", every_s=0.2)
    big = Image.new("RGB", (1920, 1080))  # 6 MB a frame, held decoded (not MJPEG)
    for n in range(50):
        stream._hold(big, now=0.2 * n)
    most = HOLD_BYTES // (1920 * 1080 * 3)
    assert len(stream._held) == most and stream.dropped == 50 - most
    huge = Image.new("RGB", (8000, 6000))  # 144 MB: over the bytes alone, still two held
    for n in range(3):
        stream._hold(huge, now=20.0 + 0.2 * n)
    assert len(stream._held) == MIN_HELD


class FakeStream:
    """A camera that always has a new frame; TAKEN counts the frames taken."""

    shown_url, last_frame = "http://camera", None

    def __init__(self) -> None:
        self.taken = 0

    def take(self) -> Taken:
        self.taken += 1
        return Taken(Image.new("RGB", (8, 8)), time.monotonic())

    def oldest_held(self) -> None:
        return None

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


class FedStream(Stream):
    """A stream's real holding and taking, its frames pushed in by the test instead of a reader thread."""

    def start(self) -> "FedStream":
        return self

    def stop(self) -> None:
        pass


def test_a_stretch_of_slow_analysis_drops_no_frame_and_is_worked_off_each_frame_with_the_time_it_came(tmp_path):
    """Four cameras at --rate 5; for 20 passes the analysis is slow (three frames of each camera come while it
    analyses one: a crowd in view), then fast (one frame every second pass). With two frames held, 39 of each
    camera's 80 were dropped; held by seconds, none is: every frame is analysed, in order, its row with the
    offset it came at (not when it was taken, seconds later), its age at analysis counted. The passes are counted,
    not timed."""
    cameras = [f"cam{n}" for n in range(4)]
    settings = LiveSettings.parse([f"{c}=http://127.0.0.1:9/{c}.mjpg" for c in cameras], rate=5.0, slice_s=600.0)

    def analyse(frames):
        time.sleep(MODEL_S)  # a model's pass lets the other threads run, as torch does
        return [Detections.empty() for _ in frames]

    run = LiveRun(settings, tmp_path, analyse)
    run.streams = {
        c: FedStream(c, f"http://127.0.0.1:9/{c}.mjpg", every_s=0.2, on_drop=run.drops.note) for c in cameras
    }
    for stream in run.streams.values():
        stream.pacer = Pacer()  # the frames come faster than the rate here: none skipped
    arrived: dict[str, list[float]] = {c: [] for c in cameras}
    slow_passes, each = 20, 80
    passes = 0

    def feed() -> None:  # after each pass over the streams: the frames that came during it
        nonlocal passes
        passes += 1
        new = 3 if passes <= slow_passes else passes % 2
        for camera, stream in run.streams.items():
            for _ in range(min(new, each - len(arrived[camera]))):
                arrived[camera].append(time.monotonic())
                stream._hold(Image.new("RGB", (8, 8)), now=arrived[camera][-1])
        done = all(len(a) == each for a in arrived.values()) and not any(s._held for s in run.streams.values())
        if done or passes > 100 * each:  # the second: a run that never takes them all fails, not hangs
            run.stopping.set()

    run.stream.add_sink(feed, on="idle")
    run.run()
    status = json.loads((tmp_path / STATUS).read_text())
    assert [s["dropped"] for s in status["streams"]] == [0] * 4
    assert [s["analysed"] for s in status["streams"]] == [each] * 4
    assert min(s["held_peak"] for s in status["streams"]) >= 2 * slow_passes  # the backlog the burst left
    rows = live.read_slices(tmp_path).to_pandas()
    for camera in cameras:
        offsets = rows[rows["camera"] == camera].sort_values("frame")["offset_s"].tolist()
        assert offsets == [round(t - run.t0, 3) for t in arrived[camera]]
    assert [int(run.ages[c].bins.sum()) for c in cameras] == [each] * 4


def test_frame_ages_give_their_quantiles_and_max_within_a_bin():
    ages = Ages()
    assert ages.summary() == {"p50": None, "p95": None, "p99": None, "max": 0.0}
    for n in range(100):
        ages.add(n / 10)  # 0.0 to 9.9 s
    ages.add(500.0)  # past the last bin: counted there, its max kept
    summary = ages.summary()
    assert 4.9 <= summary["p50"] <= 5.1 and 9.4 <= summary["p95"] <= 9.6 and summary["max"] == 500.0


def test_the_command_line_says_how_late_a_stream_s_frames_were_analysed():
    from lrfp.cli.scene import age_note

    ages = Ages()
    for age in (0.4, 0.5, 3.2):
        ages.add(age)
    assert age_note(ages.summary()) == ", analysed 0.5 s after they came (median; at most 3.2 s)"
    assert age_note(Ages().summary()) == age_note(None) == ""  # no frame analysed; a run before the ages


def test_a_person_in_frames_still_held_at_a_slice_is_not_ended_before_they_are_analysed(tmp_path):
    """The analysis 15 s behind a camera (its frames held): a person last seen 5 s into the run, in the newest
    frame analysed, is not ended at the slice written 20 s into it (the held frames may show them still, and
    would count them again as a new person); once the analysis has caught up, they are."""
    settings = LiveSettings.parse(["gate=http://127.0.0.1:9/cam.mjpg"], rate=5.0)
    run = LiveRun(settings, tmp_path, analyse=None)
    stream = FedStream("gate", "http://127.0.0.1:9/cam.mjpg", every_s=0.2)
    run.streams = {"gate": stream}
    run.t0 = time.monotonic() - 20.0  # the run began 20 s ago
    tracker = run.trackers["gate"]
    face = {"x0": 100, "y0": 100, "x1": 140, "y1": 140, "size": 40, "label": "with_mask", "probability": 0.95}
    for k in range(5):
        tracker.see(k, 4.2 + 0.2 * k, None, [face])
    stream._hold(Image.new("RGB", (8, 8)), now=run.t0 + 5.2)  # the next frame, still held
    try:
        run.flush()
        assert len(tracker.current()) == 1  # not ended: the analysis has seen the camera up to 5.2 s only
        stream.take()
        run.flush()
        assert tracker.current() == []  # caught up (nothing held): unseen for 15 s, ended
    finally:
        run.writer.close()
