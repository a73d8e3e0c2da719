"""The one loop of analysed frames (lrfp.pipeline.frames) and the one value of a frame's faces
(lrfp.pipeline.detections), from the detector to the tracker and the tables, scores kept."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import mjpeg_avi
from PIL import Image
from test_hostile_video import spoil_frames

import lrfp.scale.settings as settings
from lrfp.app.live import FrameProcessor
from lrfp.app.monitor_view import scene_of
from lrfp.core.errors import ConfigError
from lrfp.pipeline.detections import Detections
from lrfp.pipeline.frames import Frame, FrameStream, Pacer, VideoError
from lrfp.pipeline.people import PeopleTracker
from lrfp.scale.defaults import SLICE_S
from lrfp.scale.live import LiveRun
from lrfp.scale.rows import SCHEMA, analyse_source, parquet_bytes
from lrfp.scale.settings import LiveSettings
from lrfp.scale.sources import Source


def faces(*boxes, score=0.9, label="with_mask") -> Detections:
    """Detections of BOXES (x0, y0, side), each with the detector's SCORE."""
    return Detections(
        np.array([[x, y, x + side, y + side] for x, y, side in boxes], dtype=int).reshape(-1, 4),
        np.full(len(boxes), score),
        np.full(len(boxes), 0.97),
        [label] * len(boxes),
        np.full(len(boxes), 0.88),
    )


class CountingAnalysis:
    """An analysis that finds one face in each frame, and notes how many frames each call was given."""

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, frames):
        assert all(f.image is not None for f in frames)
        self.calls.append(len(frames))
        return [faces((10, 10, 20)) for _ in frames]


def frames(*offsets, image=True):
    return [Frame(i, t, Image.new("RGB", (64, 48)) if image else None) for i, t in enumerate(offsets)]


# --- the frame loop -------------------------------------------------------------------------------------------


def test_a_source_of_three_frames_calls_each_sink_in_order_then_the_end():
    heard = []
    stream = FrameStream(CountingAnalysis())
    stream.add_sink(lambda item: heard.append(("tracker", item.frame.index)))
    stream.add_sink(lambda item: heard.append(("table", item.frame.index, len(item.faces))))
    stream.add_sink(lambda: heard.append(("end",)), on="end")
    done = list(stream.run(frames(0.0, 0.5, 1.0)))
    assert heard == [
        ("tracker", 0),
        ("table", 0, 1),
        ("tracker", 1),
        ("table", 1, 1),
        ("tracker", 2),
        ("table", 2, 1),
        ("end",),
    ]
    assert [d.frame.index for d in done] == [0, 1, 2] and stream.counts.analysed == 3


def test_a_frame_that_is_not_due_is_dropped_and_counted_and_never_analysed():
    analysis = CountingAnalysis()
    stream = FrameStream(analysis, Pacer(every_s=1.0))
    kept = [item.frame.offset_s for item in stream.run(frames(0.0, 0.4, 1.0, 1.2, 2.5))]
    assert kept == [0.0, 1.0, 2.5]
    assert (stream.counts.read, stream.counts.dropped, stream.counts.analysed) == (5, 2, 3)
    assert sum(analysis.calls) == 3


def test_a_steady_pace_keeps_a_frame_for_its_beat_up_to_half_a_beat_early_and_never_two_in_one_beat():
    pacer = Pacer(every_s=1.0, steady=True)
    taken = []
    for t in (0.0, 0.5, 1.05, 1.9, 2.0, 3.7, 4.0, 4.2, 5.0):
        if pacer.due("gate", t):
            pacer.took("gate", t)
            taken.append(t)
    # beats at 1, 2 (1.9 kept for it, 2.0 then over the rate), 3 (3.7 late: the beat moves to 4.2), 4.2, 5.2
    assert taken == [0.0, 1.05, 1.9, 3.7, 4.0, 5.0]


def test_frames_are_analysed_a_batch_at_a_time_and_an_idle_source_empties_the_batch():
    analysis = CountingAnalysis()
    stream = FrameStream(analysis, batch=2)
    idle = []
    stream.add_sink(lambda: idle.append(len(analysis.calls)), on="idle")
    source = [*frames(0.0, 0.1, 0.2), None, *frames(0.3)]
    assert len(list(stream.run(source))) == 4
    assert analysis.calls == [2, 1, 1] and idle == [2]  # the third frame waited for no fourth while idle


def test_a_source_with_no_frame_or_no_readable_frame_is_one_clear_error():
    for source, message in (([], "cam: holds no frame"), (frames(0, 1, 2, image=False), "cam: none of its 3 frames")):
        stream = FrameStream(CountingAnalysis())
        stream.drain(source)
        with pytest.raises(VideoError, match=message):
            stream.counts.check("cam")


def test_a_bad_video_is_one_error_row_with_the_same_words_as_lrfp_scene(tmp_path):
    clip = mjpeg_avi(tmp_path / "clip.avi", frames=4)
    spoil_frames(clip, range(4))
    analysis = CountingAnalysis()
    table = analyse_source(Source(str(clip), "gate", "video", "", "k"), analysis).to_pylist()
    assert [(r["status"], r["error"]) for r in table] == [
        ("error", f"{clip}: none of its 4 frames could be decoded (corrupt, or not a video)")
    ]
    assert analysis.calls == []


# --- the detections value --------------------------------------------------------------------------------------


def test_the_detections_go_to_arrow_and_back_with_their_scores():
    found = faces((10, 20, 30), (50, 60, 12), score=0.61234567)
    found.face_score[1], found.probability[1], found.track[0] = math.nan, math.nan, 7
    table = pa.Table.from_pylist([{"status": "ok", "face_rows": found.rows()}], schema=SCHEMA)
    back = Detections.from_rows(pq.read_table(pa.BufferReader(parquet_bytes(table))).column("face_rows")[0])
    assert back.xyxy.tolist() == found.xyxy.tolist() and back.label == found.label
    assert back.score.tolist() == [0.6123, 0.6123]  # rounded to the table's 4 decimals, kept
    assert back.face_score[0] == 0.97 and math.isnan(back.face_score[1]) and math.isnan(back.probability[1])
    assert back.track.tolist() == [7, -1] and back.sizes.tolist() == [30, 12]
    assert Detections.from_rows(found.to_arrow()).rows() == found.rows()


def test_a_table_written_before_scores_were_kept_reads_as_sure_detections():
    old = [{"x0": 1, "y0": 2, "x1": 11, "y1": 12, "size": 10, "label": "with_mask", "probability": 0.9}]
    read = Detections.from_rows(old)
    assert math.isnan(read.score[0]) and read.supervision().confidence.tolist() == [1.0]


def test_the_monitor_page_draws_a_table_face_with_its_own_score():
    (face,) = scene_of({"face_rows": faces((10, 20, 30), score=0.42).rows()}).faces
    assert face.box.score == 0.42 and face.face_score == 0.97


def test_the_tracker_gets_the_detector_score_an_unsure_box_continues_a_person_but_starts_none():
    """ByteTrack's second association: a face found surely in frames 0-5, unsurely in frame 3, stays one person;
    a box the detector was unsure of in every frame (a false detection, often) starts no person."""
    tracker = PeopleTracker()
    for i in range(6):
        sure = faces((100 + 2 * i, 100, 30), score=0.3 if i == 3 else 0.9)
        unsure = faces((300, 300, 30), score=0.3, label="without_mask")
        both = Detections(
            np.vstack([sure.xyxy, unsure.xyxy]),
            np.concatenate([sure.score, unsure.score]),
            np.concatenate([sure.face_score, unsure.face_score]),
            sure.label + unsure.label,
            np.concatenate([sure.probability, unsure.probability]),
        )
        tracker.see(i, i / 2, None, both)
    (person,) = tracker.finished()
    assert person["frames"] == 6 and person["label"] == "with_mask"


def test_the_webcam_pushes_each_frame_through_the_stream_and_draws_its_faces():
    processor = FrameProcessor(classifier=None, detector=None)
    processor.stream.analyse = CountingAnalysis()  # one face at (10, 10), 20 px
    frame = Image.new("RGB", (64, 48), "white")
    drawn = processor.process(frame)
    processor.process(frame)
    assert (processor.frames, processor.last_counts["faces"], processor.stream.counts.analysed) == (2, 1, 2)
    assert drawn.size == frame.size and drawn.getpixel((10, 20)) != (255, 255, 255)  # the face's box


# --- a live run's settings ---------------------------------------------------------------------------------------


def test_a_live_runs_streams_and_rules_are_checked_once_and_handed_on_as_they_are(tmp_path, monkeypatch):
    calls = []
    for name in ("check_live", "parse_rule"):
        real = getattr(settings, name)
        monkeypatch.setattr(settings, name, lambda *args, real=real, name=name: calls.append(name) or real(*args))
    live = LiveSettings.parse(
        ["gate=http://127.0.0.1:9/a.mjpg", "yard=http://127.0.0.1:9/b.mjpg"], ["compliance:80:1"], rate=2
    )
    run = LiveRun(live.group(live.cameras[1:]), tmp_path, CountingAnalysis())  # what a Ray actor is given
    assert sorted(calls) == ["check_live", "check_live", "parse_rule"]  # once each, none again for the actor
    assert list(run.streams) == ["yard"] and [r.text for r in run.alerts.rules] == ["compliance:80:1"]
    assert (live.rate, live.slice_s) == (2, SLICE_S)


@pytest.mark.parametrize(
    "items, rules, webhook, message",
    [
        (["ftp://x/cam"], [], None, "rtsp://, http"),
        (["gate=http://h/a", "gate=http://h/b"], [], None, "two streams named"),
        (["http://h/a", "http://h/a"], [], None, "two streams of one address"),
        (["http://h/a"], ["compliance:50"], None, "not a rule"),
        (["http://h/a"], [], "file:///etc/passwd", "http:// or https:// URL"),
    ],
)
def test_a_bad_live_setting_is_one_clear_error_before_anything_runs(items, rules, webhook, message):
    with pytest.raises(ConfigError, match=message):
        LiveSettings.parse(items, rules, webhook=webhook)
