"""Bounded work per image and a waiting visitor told (issue 34, items 1 and 8): at most MAX_FACES faces analysed
per image, those the detector is surest of, said on the page, in `lrfp scene`'s line and CSV; crops made and
classified a batch at a time; a visitor's place in line, then its analysis's progress."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import PAGE
from PIL import Image
from streamlit.testing.v1 import AppTest

from lrfp.app import ui, waiting
from lrfp.core import paths
from lrfp.core.turns import FairSlots
from lrfp.pipeline import scene
from lrfp.pipeline.detect import FaceBox
from lrfp.pipeline.inference import Prediction
from lrfp.pipeline.looks import Search

ROOT = Path(__file__).resolve().parents[1]
CROWD = paths.DEMO_DIR / "scenes" / "images" / "maksssksksss389.jpg"  # 12 labelled faces


class Crowd:
    """A detector stand-in finding N faces on a grid, scored so that the odd ones are surer."""

    def __init__(self, n: int):
        self.boxes = [FaceBox(10 * i, 0, 10 * i + 8, 8, 0.9 if i % 2 else 0.5) for i in range(n)]

    def search(self, image: Image.Image) -> Search:
        search = Search(image, budget_mp=0.0)
        search.boxes = list(self.boxes)
        return search


class SpyClassifier:
    """Answers 'with_mask' for every crop and notes each batch it is given, and the crops made by then."""

    def __init__(self, crops_made: list[int]):
        self.batches: list[int] = []
        self.crops_before: list[int] = []
        self._crops_made = crops_made

    def predict(self, images: list[Image.Image]) -> list[Prediction]:
        self.batches.append(len(images))
        self.crops_before.append(self._crops_made[0])
        return [Prediction("with_mask", 0.9, {}) for _ in images]

    def not_face_probabilities(self, images: list[Image.Image]) -> list[float | None]:
        """The face check: every crop holds a face (the cap and the batches are what is tested here)."""
        return [0.0] * len(images)


@pytest.fixture
def crop_count(monkeypatch) -> list[int]:
    """The number of face crops analyze() has made so far (one cell, so the spy reads it live)."""
    made = [0]
    crop = scene._crop

    def counting(image, box):
        made[0] += 1
        return crop(image, box)

    monkeypatch.setattr(scene, "_crop", counting)
    return made


def test_an_image_with_more_faces_than_the_cap_keeps_those_the_detector_is_surest_of(monkeypatch, crop_count):
    monkeypatch.setattr(scene, "MAX_FACES", 5)
    result = scene.analyze(Image.new("RGB", (1000, 400)), SpyClassifier(crop_count), Crowd(12), "scene")
    assert (len(result.faces), result.found, result.unanalysed) == (5, 12, 7)
    assert [f.box.x0 for f in result.faces] == [10, 30, 50, 70, 90]  # the surest, left to right
    assert scene.cap_note(len(result.faces), result.found).startswith("5 of 12 faces analysed: at most 5 per image")
    assert result.counts()["faces"] == 5


def test_faces_are_cropped_and_classified_a_batch_at_a_time(monkeypatch, crop_count):
    monkeypatch.setattr(scene, "MAX_FACES", 1000)
    spy, heard = SpyClassifier(crop_count), []
    result = scene.analyze(
        Image.new("RGB", (3000, 400)), spy, Crowd(150), "scene", progress=lambda d, t: heard.append((d, t))
    )
    assert len(result.faces) == result.found == 150
    assert max(spy.batches) <= scene.FACE_BATCH and sum(spy.batches) == 150
    # when each batch is classified, only its own crops and those of the batches before it exist
    assert spy.crops_before == [sum(spy.batches[: i + 1]) for i in range(len(spy.batches))]
    assert heard[0] == (0, 150) and heard[-1] == (150, 150) and len(heard) == len(spy.batches) + 1


def wait_until(condition, seconds: float = 20) -> None:
    """Until CONDITION() holds (threads on their way); fails the test after SECONDS."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


def test_a_waiting_visitor_hears_its_place_in_line():
    slots = FairSlots(1)
    release = {v: threading.Event() for v in "abc"}
    places: dict[str, list[int]] = {"b": [], "c": []}

    def take_turn(visitor: str) -> None:
        with slots.turn(visitor, waiting=places[visitor].append if visitor in places else None):
            release[visitor].wait(20)

    threads = {v: threading.Thread(target=take_turn, args=(v,)) for v in "abc"}
    threads["a"].start()
    wait_until(lambda: slots._busy == {"a"})
    threads["b"].start()
    wait_until(lambda: places["b"] == [1])
    threads["c"].start()
    wait_until(lambda: places["c"] == [2])
    release["a"].set()
    wait_until(lambda: places["c"] == [2, 1])  # c moved up when b got its turn
    release["b"].set()
    release["c"].set()
    for t in threads.values():
        t.join(20)
    assert places == {"b": [1], "c": [2, 1]} and not slots._waiting and not slots._busy


def test_a_visitor_who_leaves_the_line_keeps_no_one_waiting():
    slots = FairSlots(1)
    release, served = threading.Event(), []

    def hold() -> None:
        with slots.turn("a"):
            release.wait(20)

    def leave(place: int) -> None:
        raise RuntimeError("the visitor's page run was stopped")

    def wait_for_turn(visitor: str, told) -> None:
        try:
            with slots.turn(visitor, waiting=told):
                served.append(visitor)
        except RuntimeError:
            pass

    holder = threading.Thread(target=hold)
    holder.start()
    wait_until(lambda: slots._busy == {"a"})
    wait_for_turn("b", leave)  # told its place, it leaves the line at once
    c = threading.Thread(target=wait_for_turn, args=("c", None))
    c.start()
    release.set()
    for t in (holder, c):
        t.join(20)
    assert served == ["c"] and not slots._waiting


def test_the_page_logic_tells_the_place_in_line_then_each_stage(monkeypatch):
    slots = FairSlots(1)
    monkeypatch.setattr(ui, "UPLOAD_SLOTS", slots)
    monkeypatch.setattr(scene, "UPLOAD_SLOTS", slots)
    ui.ANALYSES.clear()
    release, lines = threading.Event(), []

    def hold() -> None:
        with slots.turn("another visitor"):
            release.wait(20)

    holder = threading.Thread(target=hold)
    holder.start()
    wait_until(lambda: slots._busy == {"another visitor"})
    answer = threading.Thread(
        target=ui.analyse,
        args=(CROWD.read_bytes(), CROWD.name, ui.get_classifier("model3"), ui.get_detector(), "scene"),
        kwargs={"tell": lines.append},
    )
    answer.start()
    wait_until(lambda: bool(lines))
    assert lines == [waiting.waiting_line(1)]
    assert "(1st in line)" in lines[0]
    release.set()
    answer.join(60)
    holder.join(20)
    assert lines[1] == waiting.STARTED and lines[-1] == waiting.DRAWING
    counts = [line for line in lines if line.startswith("Classifying faces:")]
    assert counts[0].startswith("Classifying faces: 0 of ") and re.match(r"Classifying faces: (\d+) of \1…", counts[-1])


def test_ordinals_read_as_written():
    assert [waiting.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]


def test_the_classify_page_says_how_many_faces_were_analysed_of_those_found(monkeypatch):
    monkeypatch.setattr(scene, "MAX_FACES", 2)
    ui.ANALYSES.clear()  # an analysis kept by another test had every face
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(PAGE["Classify"]).run()
    assert not at.exception, at.exception
    summary = next(m.value for m in at.markdown if " face(s)" in m.value)
    assert re.search(r": 2 face\(s\) \(\*\*2 of (\d+) faces analysed: at most 2 per image", summary), summary
    assert int(re.search(r"2 of (\d+) faces", summary).group(1)) > 2
    assert len(at.table[0].value) == 2  # the table lists the faces analysed
    ui.ANALYSES.clear()


def test_lrfp_scene_reads_the_cap_from_its_setting_and_says_it(tmp_path):
    env = os.environ | {"LRFP_MAX_FACES": "3", "PYTHONPATH": str(ROOT)}
    out = tmp_path / "crowd.png"
    done = subprocess.run(
        [sys.executable, "-m", "lrfp", "scene", str(CROWD), "--model", "model3", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = re.search(r"3 of (\d+) faces analysed: at most 3 per image", done.stdout)
    assert found, done.stdout
    (row,) = csv.DictReader(out.with_suffix(".csv").open())
    assert row["faces"] == "3" and row["faces_found"] == found.group(1) and int(found.group(1)) > 3
