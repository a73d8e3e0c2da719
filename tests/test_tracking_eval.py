"""Tracks scored against hand-marked ones (lrfp.evaluation.tracking) and the hand-marked demo tracks."""

from pathlib import Path

import pytest

from lrfp.evaluation.tracking import follow, read_marks, score
from lrfp.pipeline.people import PeopleTracker

TRACKS = Path(__file__).resolve().parents[1] / "demo" / "tracks"


def test_one_person_split_into_two_tracks_scores_as_worked_out_by_hand():
    box = (0, 0, 10, 10)
    marks = {f: [(7, box)] for f in range(4)}
    tracked = {0: [(1, box)], 1: [(1, box)], 2: [(2, box)], 3: [(2, box)]}
    # IDF1: person 7 is matched to track 1 (or 2) for 2 of its 4 frames: 2 * 2 / (4 + 4) = 0.5;
    # one switch (1 -> 2); MOTA = (4 matched - 0 false - 1 switch) / 4 marked = 0.75
    assert score(marks, tracked) == {"IDF1": 0.5, "IDSW": 1, "MOTA": 0.75, "marked": 1, "tracked": 2}


def test_a_box_off_by_more_than_half_is_no_match():
    marks = {0: [(1, (0, 0, 10, 10))]}
    assert score(marks, {0: [(1, (6, 0, 16, 10))]})["IDF1"] == 0.0  # IoU 4/16


def test_marks_are_read_as_mot_boxes_and_a_bad_line_is_named(tmp_path):
    path = tmp_path / "clip.csv"
    path.write_text("# frame,id,x,y,w,h\n0,3,10,20,30,40\n1,3,12,20,30,40\n")
    assert read_marks(path) == {0: [(3, (10, 20, 40, 60))], 1: [(3, (12, 20, 42, 60))]}
    path.write_text("0,3,10,20,30,forty\n")
    with pytest.raises(ValueError, match="line 1: frame,id,x,y,w,h"):
        read_marks(path)


def test_the_tracker_is_scored_on_the_people_it_counts():
    face = {"x0": 100, "y0": 100, "x1": 130, "y1": 130, "size": 30, "label": "with_mask", "probability": 0.9}
    blip = {"x0": 10, "y0": 200, "x1": 18, "y1": 208, "size": 8, "label": "with_mask", "probability": 0.6}
    frames = [(i, i / 2, [face] + ([blip] if i == 2 else [])) for i in range(5)]
    tracked, counted = follow(frames, PeopleTracker())
    assert counted == 1 and all(len(faces) == 1 for faces in tracked.values())  # the blip is no person
    assert len(tracked) == 4  # the first sighting, named a frame later, is not scored


@pytest.mark.parametrize("clip", sorted(p.relative_to(TRACKS).as_posix() for p in TRACKS.glob("*/*.csv")))
def test_the_hand_marked_tracks_are_whole(clip):
    marks = read_marks(TRACKS / clip)
    assert sorted(marks) == list(range(8))  # every frame of the demo clip (lrfp.data.footage.write_example)
    for faces in marks.values():
        ids = [i for i, _ in faces]
        assert len(ids) == len(set(ids))  # one box per person a frame
        assert all(0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240 for _, (x0, y0, x1, y1) in faces)
