"""Per-visitor bounds (issue 27): upload slots served in turn, an analysis cache bounded by bytes, a bounded upload store."""

from __future__ import annotations

import io
import threading
import time

from helpers import png_bomb
from PIL import Image
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from lrfp.app import ui, upload_bounds
from lrfp.app.analysis import Analysis
from lrfp.core.bytecache import ByteCache
from lrfp.core.turns import FairSlots
from lrfp.pipeline import scene
from lrfp.pipeline.detect import FaceBox
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import FaceResult, SceneResult


def served_order(slots: FairSlots, jobs: list[tuple[str, float]]) -> list[str]:
    """The order in which JOBS (visitor, seconds of work), started 0.05 s apart, got their turn."""
    order, lock = [], threading.Lock()

    def job(visitor: str, seconds: float) -> None:
        with slots.turn(visitor):
            with lock:
                order.append(visitor)
            time.sleep(seconds)

    threads = [threading.Thread(target=job, args=j) for j in jobs]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(timeout=10)
    return order


def test_a_visitors_many_uploads_do_not_starve_another_visitor():
    # a sends three, b one after them: b goes second, not last
    assert served_order(FairSlots(1), [("a", 0.3), ("a", 0.1), ("a", 0.1), ("b", 0.1)]) == ["a", "b", "a", "a"]


def test_a_visitor_holds_one_slot_so_a_second_visitor_is_served_at_once():
    # two slots: a's second photo waits for a's first; b's takes the free slot, before it
    assert served_order(FairSlots(2), [("a", 0.4), ("a", 0.1), ("b", 0.1)]) == ["a", "b", "a"]


def test_the_upload_slots_are_served_in_turn_and_nested_turns_do_not_wait():
    with scene.UPLOAD_SLOTS.turn("v"):
        with scene.UPLOAD_SLOTS.turn("v"):  # the page holds the turn while analyze_upload takes it again
            pass


def test_the_cache_is_bounded_by_bytes_and_keeps_no_value_over_its_budget():
    cache = ByteCache(100, len)
    for key in "abc":
        cache.get_or_make(key, lambda: b"x" * 40)
    assert len(cache) == 2 and cache.nbytes == 80  # the oldest went
    assert cache.get_or_make("big", lambda: b"y" * 101) == b"y" * 101 and cache.nbytes == 80  # returned, not kept


def test_one_key_is_made_once_while_threads_ask_for_it_together():
    cache, made = ByteCache(100, len), []

    def make() -> bytes:
        made.append(1)
        time.sleep(0.2)
        return b"z"

    threads = [threading.Thread(target=cache.get_or_make, args=("k", make)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1


def test_an_analysis_is_kept_without_its_decoded_photo():
    # a 7000x7000 1-bit PNG of a few KB in 'one face crop' mode: 147 MB decoded, kept as a picture and a crop
    classifier = Classifier("model3")
    ui.ANALYSES.clear()
    analysis = ui.analyse(png_bomb(7000, 7000), "bomb.png", classifier, None, "face", numbered=True)
    assert (analysis.width, analysis.height) == (7000, 7000) and len(analysis.faces) == 1
    assert max(analysis.faces[0].size) <= 224
    assert 0 < ui.ANALYSES.nbytes == analysis.nbytes < 1_000_000


def test_the_upload_store_keeps_a_visitors_files_within_bounds():
    # the 30 PUTs of 19 MB into one session were all kept
    store = MemoryUploadedFileManager("/_stcore/upload_file")
    upload_bounds.bound_store(store)
    data = b"\0" * 19_000_000
    for i in range(30):
        store.add_file("s1", UploadedFileRec(f"id{i}", f"f{i}.jpg", "image/jpeg", data))
    kept = store.file_storage["s1"]
    assert sum(len(f.data) for f in kept.values()) <= upload_bounds.SESSION_UPLOAD_BYTES and len(kept) == 2
    assert "f29.jpg was not kept: this server holds at most 40 MB" in upload_bounds.refused_upload("s1")
    assert upload_bounds.refused_upload("s1") is None  # said once
    store.add_file("s2", UploadedFileRec("id0", "other.jpg", "image/jpeg", data))  # another visitor has their own
    assert len(store.file_storage["s2"]) == 1


class Uploaded(io.BytesIO):  # Streamlit's UploadedFile: the bytes and a file id
    file_id = "id"


def test_a_batch_over_the_pixel_bound_is_refused_whole():
    bomb = png_bomb(7000, 7000)  # 49 MP in a few KB: bytes and files do not bound it
    assert upload_bounds.batch_problem([Uploaded(bomb)] * 4) is None
    problem = upload_bounds.batch_problem([Uploaded(bomb)] * 5)
    assert problem.startswith("These 5 images hold 245 megapixels; this server analyses at most 200 megapixels")
    assert upload_bounds.header_pixels(b"not an image") == 0


def test_a_face_past_the_photos_edge_is_kept_as_the_classifier_saw_it():
    image = Image.new("RGB", (400, 300), (200, 10, 10))
    result = SceneResult(
        "scene",
        [
            FaceResult(FaceBox(380, -20, 440, 40, 0.9), "with_mask", 0.9),
            FaceResult(FaceBox(0, 0, 400, 300, 0.9), "with_mask", 0.9),
        ],
    )
    analysis = Analysis.of(image, result, numbered=True, side=1400)
    assert analysis.faces[0].size == (60, 60) and analysis.faces[0].getpixel((0, 59)) == (200, 10, 10)
    assert analysis.faces[0].getpixel((59, 0)) == (0, 0, 0)  # padded, as image.crop pads
    assert analysis.faces[1].size == (224, 168)
