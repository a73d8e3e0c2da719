"""People, not frames: faces followed across frames (lrfp.pipeline.people), the per-person table and
compliance counted over people (lrfp.scale.people)."""

import time

import pandas as pd
import pytest

from lrfp.core import labels
from lrfp.pipeline.people import PeopleTracker
from lrfp.scale.people import people_counts, people_of


def face(x, y, side, label="with_mask", probability=0.95):
    return {"x0": x, "y0": y, "x1": x + side, "y1": y + side, "size": side, "label": label, "probability": probability}


def walk(frames=8, step=15, side=9, labels_a=None):
    """Two small faces panning left by STEP px a frame (more than their size), as in the demo clips,
    and a false detection in one frame only."""
    rows = []
    for i in range(frames):
        faces = [
            face(200 - step * i, 40, side, *(labels_a[i] if labels_a else ("with_mask", 0.95))),
            face(260 - step * i, 120, side, "without_mask", 0.9),
        ]
        if i == 3:
            faces.append(face(10, 200, 8, "without_mask", 0.6))
        rows.append(
            {
                "camera": "gate",
                "source": "/v.mp4",
                "kind": "video",
                "frame": i,
                "offset_s": i / 2,
                "time": pd.Timestamp("2024-05-06 08:00") + pd.Timedelta(seconds=i / 2),
                "status": "ok",
                "face_rows": faces,
            }
        )
    return pd.DataFrame(rows)


def test_small_faces_moving_more_than_their_size_stay_one_person_each():
    people = people_of(walk()).to_pandas()
    assert len(people) == 2  # not 16 one-frame tracks, and the one-frame detection is no person
    assert sorted(people["frames"]) == [8, 8]
    assert set(people["label"]) == {"with_mask", "without_mask"}
    assert (people["first_s"] == 0).all() and (people["last_s"] == 3.5).all()
    assert people["first_seen"].min() == pd.Timestamp("2024-05-06 08:00")


def test_a_person_gets_the_confident_majority_of_its_sightings():
    # 4 sure "with mask", 1 sure "without", 3 doubtful "without": the doubtful ones do not vote
    seen = [("with_mask", 0.9)] * 4 + [("without_mask", 0.95)] + [("without_mask", 0.55)] * 3
    person = people_of(walk(labels_a=seen)).to_pandas().set_index("best_y0").loc[40]
    assert (person["label"], person["share"], person["votes"]) == ("with_mask", 0.8, 5)


def test_frames_without_faces_are_followed_too():
    tracker = PeopleTracker()
    for i in range(6):
        tracker.see(i, float(i), None, [face(100, 100, 30)] if i < 3 else [])
    assert tracker.see(6, 6.0, None, []) == []
    assert [p["frames"] for p in tracker.finished()] == [3]


def test_best_crop_is_the_biggest_face():
    tracker = PeopleTracker()
    for i, side in enumerate([20, 30, 26]):
        tracker.see(i, i / 10, None, [face(100 + i, 100, side)])
    (row,) = tracker.finished()
    assert (row["best_frame"], row["best_x1"] - row["best_x0"]) == (1, 30)


def test_finished_hands_back_only_people_gone_for_the_rejoin_time():
    tracker = PeopleTracker(lost_s=2.0, rejoin_s=4.0)
    for i in range(4):
        tracker.see(i, float(i), None, [face(100, 100, 30)])
    assert tracker.finished(now_s=6.5) == [] and len(tracker.current()) == 1
    assert len(tracker.finished(now_s=7.5)) == 1 and tracker.current() == []


def test_compliance_counts_people_not_frames():
    # one masked person seen in 100 frames, three unmasked people seen once each: 1 of 4 people
    people = pd.DataFrame(
        {"camera": ["a"] * 4, "label": ["with_mask"] + ["without_mask"] * 3, "frames": [100, 2, 2, 2]}
    )
    counted = people_counts(people, ["camera"]).iloc[0]
    assert (counted["people"], counted["with_mask"], counted["compliance"]) == (4, 1, 0.25)
    assert set(labels.COUNT_COLUMNS[1:]) <= set(counted.index)


def test_unknown_tracker_or_match_is_refused_by_name():
    with pytest.raises(ValueError, match="tracker 'nope'"):
        PeopleTracker("nope")
    with pytest.raises(ValueError, match="match 'hamming'"):
        PeopleTracker(match="hamming")


def follow(tracker, frames, start=0, at=None):
    """FRAMES (each a list of faces) seen by TRACKER at 2 frames a second from frame START."""
    for i, faces in enumerate(frames, start):
        tracker.see(i, i / 2, at + pd.Timedelta(seconds=i / 2) if at is not None else None, faces)


def test_a_face_gone_for_a_moment_comes_back_as_the_same_person():
    tracker = PeopleTracker()
    # seen 2 s, hidden 3 s (longer than the library keeps a lost track), back a few px away
    follow(tracker, [[face(100, 100, 30)]] * 4 + [[]] * 6 + [[face(104, 101, 30)]] * 4)
    assert [p["frames"] for p in tracker.finished()] == [8]


def test_a_pan_that_turns_keeps_its_people():
    # three 40 px faces under a 320 px window panned 11 px a frame forth and back (benchmarks/mjpeg_serve.py)
    # for 60 s: the first leaves the view for 4.5 s each pass, the last for a moment
    loop = list(range(8)) + list(range(6, 0, -1))
    frames = []
    for k in range(120):
        left = 11 * loop[k % len(loop)]
        frames.append([face(x - left, 60 + 10 * n, 40) for n, x in enumerate((30, 150, 290)) if 0 <= x - left <= 280])
    tracker = PeopleTracker()
    follow(tracker, frames)
    assert len(tracker.finished()) == 3


def test_a_person_gone_over_a_slice_boundary_is_written_once():
    tracker = PeopleTracker()
    follow(tracker, [[face(100, 100, 30)]] * 4)
    written = tracker.finished(now_s=4.5)  # a live slice ends 3 s after the face was last seen
    follow(tracker, [[face(102, 100, 30)]] * 4, start=10)
    written += tracker.finished()
    assert [p["frames"] for p in written] == [8]


def test_a_restarted_live_run_goes_on_with_the_people_the_last_one_left_in_view(tmp_path):
    from lrfp.scale.live import LiveRun, read_slices
    from lrfp.scale.settings import LiveSettings

    stream, start = LiveSettings.parse(["gate=http://127.0.0.1:9/cam.mjpg"]), pd.Timestamp.now()
    first = LiveRun(stream, tmp_path, None)  # no stream is opened: the tracker is fed here
    first.t0 = time.monotonic()  # as run() starts it
    follow(first.trackers["gate"], [[face(100, 100, 30)]] * 4, at=start - pd.Timedelta(seconds=20))
    first.flush()  # a slice handed to the writer's thread with the person in view...
    first.writer.close()  # ...and on disk (lrfp.scale.writer), then the run is killed
    second = LiveRun(stream, tmp_path, None)
    second.t0 = time.monotonic()
    follow(second.trackers["gate"], [[face(101, 100, 30)]] * 4, at=start)
    second.flush(final=True)
    people = read_slices(tmp_path, "people").to_pandas()
    assert len(people) == 1 and people["frames"].iloc[0] == 8
    assert people["first_seen"].iloc[0] == (start - pd.Timedelta(seconds=20)).floor("ms")


def test_a_row_of_faces_keeps_who_is_who_as_the_pan_turns():
    # five 42 px faces 70 px apart panned forth and back, as a live stream reads it: a frame in four dropped
    # and the times uneven; the library's motion guess at each turn would hand each track its neighbour's face
    loop = list(range(8)) + list(range(6, 0, -1))
    tracker, seen, k = PeopleTracker(), {}, 0
    while k < 120:
        left = 11 * loop[k % len(loop)]
        faces = [face(100 + 70 * n - left, 40 + 3 * n, 42) for n in range(5)]
        for n, person in enumerate(tracker.see(k, k / 2 + 0.15 * (k * 7 % 3 - 1), None, faces)):
            seen.setdefault(person, set()).add(n)
        k += 2 if k % 4 == 3 else 1
    seen.pop(-1, None)
    assert len(tracker.finished()) == 5 and sorted(map(sorted, seen.values())) == [[0], [1], [2], [3], [4]]


def test_a_crowd_panned_by_about_its_spacing_keeps_who_is_who():
    # a crowd of 14 px faces 20 px apart, the view panned 12 px a frame (north-gate/clip2 of the demo footage):
    # each face stands nearer its neighbour's last place than its own; the view's common motion is taken out first
    tracker, seen = PeopleTracker(), {}
    for k in range(8):
        faces = [face(40 + 20 * col - 12 * k + 200, 40 + 30 * row, 14) for row in range(3) for col in range(6)]
        for n, person in enumerate(tracker.see(k, k / 2, None, faces)):
            seen.setdefault(person, set()).add(n)
    seen.pop(-1, None)
    # no face ever given another's person, so no more people than faces (the library itself gives the first
    # column's tracks to the second at its first step, and names none of the first column's faces)
    assert all(len(faces) == 1 for faces in seen.values()) and len(tracker.finished()) <= 18


def test_a_crowd_panned_forth_and_back_and_missed_now_and_then_is_counted_once_each():
    # 18 faces of 14 px about 20 px apart under a window panned 12 px a frame forth and back for 30 s, each face
    # missed in one frame of seven: a face back after a missed frame stands where the view's moves since put it
    loop, tracker = list(range(8)) + list(range(6, 0, -1)), PeopleTracker()
    for k in range(60):
        left = 12 * loop[k % len(loop)]
        grid = [(row, col) for row in range(3) for col in range(6) if (k * 3 + (row * 6 + col) * 5) % 7]
        tracker.see(k, k / 2, None, [face(200 + 20 * col + 7 * row - left, 40 + 30 * row, 14) for row, col in grid])
    assert len(tracker.finished()) == 18  # 34 with the nearest last place, 25 with only the last frame's step


def test_the_views_step_is_found_for_a_pan_a_turn_and_a_still_camera():
    from lrfp.pipeline.view_motion import common_step

    row = [(100.0 + 24 * n + 5 * (n % 3), 60.0 + 4 * (n % 2)) for n in range(8)]  # like faces of 12 px, in a row
    left = [(x - 12, y) for x, y in row]
    assert common_step(left, [12] * 8, row, reach=2.5) == (-12.0, 0.0)
    assert common_step(row, [12] * 8, row, reach=2.5, before=(-12.0, 0.0)) == (0.0, 0.0)  # the pan stops
    assert common_step(row, [12] * 8, left, reach=2.5, before=(-12.0, 0.0)) == (12.0, 0.0)  # and turns
    assert common_step(row[:5], [12] * 5, [], reach=2.5) == (0.0, 0.0)  # nothing seen before


def test_a_face_the_detector_kept_with_a_low_score_is_a_person():
    # the detector keeps boxes scored 0.5 or more; one scored 0.55 in every frame is a person all the same
    tracker = PeopleTracker()
    follow(tracker, [[face(100, 100, 30) | {"score": 0.55}]] * 4)
    assert [p["frames"] for p in tracker.finished()] == [4]
