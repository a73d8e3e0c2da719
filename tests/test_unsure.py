"""The "can't tell" answer: a face whose mouth and nose cannot be seen gets no mask label, is counted apart
and is left out of compliance; the data set it is learnt from."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from helpers import SHARED_FMD
from PIL import Image

from lrfp.cli.main import main
from lrfp.core import paths
from lrfp.core.records import read_json
from lrfp.data.images import read_manifest, split_samples
from lrfp.data.occlusion import CLASSES, build_occlusion
from lrfp.data.voc import photos_of, read_labelled_photo
from lrfp.pipeline import inference
from lrfp.pipeline.detect import FaceBox
from lrfp.pipeline.inference import UNSURE, Classifier
from lrfp.pipeline.scene import FaceResult, SceneResult

SCENE = paths.DEMO_DIR / "scenes" / "images" / "maksssksksss389.jpg"
# hand-made from a shipped example photo (commuters in masks): the man in front with his mask; the same
# face cut by the frame under his eyes; the same face with its lower half behind the head of the woman
# seen from behind on his left (her hair and her mask's strings)
MASKED_FACE = (122, 112, 188, 205)
UNDER_THE_EYES = (122, 112, 188, 163)
BACK_OF_A_HEAD = (42, 105, 110, 170)


def hand_made_crops() -> dict[str, Image.Image]:
    photo = Image.open(SCENE).convert("RGB")
    face = photo.crop(MASKED_FACE)
    behind = face.copy()
    cover = face.height // 2
    behind.paste(photo.crop(BACK_OF_A_HEAD).resize((face.width, cover)), (0, face.height - cover))
    return {"face": face, "cut": photo.crop(UNDER_THE_EYES), "behind": behind}


@pytest.fixture(scope="module")
def classifier():
    return Classifier("prod-mobilenet_v2")


def test_a_face_whose_mouth_and_nose_are_hidden_is_answered_cant_tell(classifier):
    crops = hand_made_crops()
    face, cut, behind = classifier.predict([crops["face"], crops["cut"], crops["behind"]])
    assert face.label == "with_mask"
    assert cut.label == UNSURE and behind.label == UNSURE
    assert cut.probability >= inference.HIDDEN_AT and "hidden" in cut.probabilities


def test_without_the_check_every_face_gets_a_mask_label(classifier):
    plain = Classifier("prod-mobilenet_v2", unsure=False)
    assert all(p.label in plain.classes for p in plain.predict(list(hand_made_crops().values())))


def test_cant_tell_is_counted_apart_and_left_out_of_compliance():
    box = FaceBox(0, 0, 10, 10, 0.9)
    result = SceneResult(
        "scene",
        [
            FaceResult(box, "with_mask", 0.9),
            FaceResult(box, "without_mask", 0.8),
            FaceResult(box, UNSURE, 0.95),
            FaceResult(box, UNSURE, 0.9),
        ],
    )
    counts = result.counts()
    assert counts["unsure"] == 2 and counts["faces"] == 4
    assert counts["compliance"] == 0.5  # 1 of the 2 faces that could be judged


def test_a_missing_visibility_check_is_said_and_nothing_is_answered_cant_tell(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(paths, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(inference, "_checks", {})
    with caplog.at_level(logging.WARNING):
        assert inference.visibility_check() is None
    assert "visibility.pt is missing" in caplog.text


def test_the_occlusion_set_is_split_like_its_build(voc_source, tiny_dataset, tmp_path):
    manifest = build_occlusion(voc_source, tiny_dataset, tmp_path / "occ")
    assert manifest["classes"] == list(CLASSES)
    built = read_manifest(tiny_dataset)["splits"]
    for split, entries in manifest["splits"].items():
        assert {e["label"] for e in entries} == set(CLASSES)
        assert {e["source"] for e in entries} <= {e["source"] for e in built[split]}
        samples, _ = split_samples(tmp_path / "occ", split)  # readable as any built data set
        assert len(samples) == len(entries)


# a box of a shipped example photo (a dense crowd) marked "back of a head" by hand (test_hand_marked.json)
CROWD = paths.DEMO_DIR / "scenes" / "images" / "maksssksksss52.jpg"


def test_the_back_of_a_head_marked_by_hand_is_still_cant_tell(classifier):
    marked = read_json(paths.RESULTS_DIR / "unsure" / "test_hand_marked.json")["items"]
    box = next(i["box"] for i in marked if i["photo"] == "maksssksksss52.png" and i["why"] == "back of a head")
    (answer,) = classifier.predict([Image.open(CROWD).convert("RGB").crop(tuple(box))])
    assert answer.label == UNSURE


def test_the_occlusion_set_can_cut_faces_from_tight_to_loose(voc_source, tiny_dataset, tmp_path):
    def ratios(margin):
        manifest = build_occlusion(voc_source, tiny_dataset, tmp_path / str(margin), margin=margin)
        entries = [e for split in manifest["splits"].values() for e in split if e["kind"] == "face"]
        return [min(Image.open(tmp_path / str(margin) / e["path"]).size) / e["face_px"] for e in entries]

    assert max(ratios(None)) < 1.25  # the label box give or take a tenth, as the shipped check learnt
    loose = ratios(0.3)
    assert min(loose) < 1.0 and max(loose) > 1.3


def test_the_occlusion_set_can_add_a_loose_pair_of_every_face(voc_source, tiny_dataset, tmp_path):
    plain = build_occlusion(voc_source, tiny_dataset, tmp_path / "plain")
    loose = build_occlusion(voc_source, tiny_dataset, tmp_path / "loose", loose=0.5)
    count = {name: sum(len(v) for v in m["splits"].values()) for name, m in (("plain", plain), ("loose", loose))}
    assert count["loose"] == 2 * count["plain"] and loose["options"]["loose"] == 0.5
    pairs = [e for v in loose["splits"].values() for e in v if "_loose" in e["path"]]
    assert {e["label"] for e in pairs} == set(CLASSES)
    ratios = [min(Image.open(tmp_path / "loose" / e["path"]).size) / e["face_px"] for e in pairs if e["kind"] == "face"]
    assert max(ratios) > 1.5  # up to half a face beyond each side, where the photo has room


def test_a_margin_out_of_range_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's own exit: one `lrfp: error:` line, code 2
        main(["data", "occlusion", "--source", "s", "--data", "d", "--out", str(tmp_path / "o"), "--margin", "-1"])
    assert (
        stop.value.code == 2 and "--margin: '-1' is not a number of at least 0 and at most 1" in capsys.readouterr().err
    )
    assert not (tmp_path / "o").exists()


def test_the_occlusion_set_can_hold_out_train_photos_for_validation(voc_source, tiny_dataset, tmp_path):
    train_sources = sorted({e["source"] for e in read_manifest(tiny_dataset)["splits"]["train"]})
    held = frozenset(Path(s).stem for s in train_sources[:3])
    manifest = build_occlusion(voc_source, tiny_dataset, tmp_path / "occ", held_out=held)
    where = {s: {Path(e["source"]).stem for e in entries} for s, entries in manifest["splits"].items()}
    assert held <= where["val"] and not held & where["train"]
    assert manifest["options"]["held_out_train_photos"] == 3


def test_the_occlusion_set_takes_a_face_check_sets_detector_boxes_for_training(voc_source, tiny_dataset, tmp_path):
    boxes = tmp_path / "facecheck"
    (boxes / "face").mkdir(parents=True)
    Image.new("RGB", (40, 48), "tan").save(boxes / "face" / "a.png")
    listed = [
        {"path": "face/a.png", "label": "face", "kind": "box-phone", "source": "images/p.png", "box": [0, 0, 40, 48]},
        {"path": "face/a.png", "label": "face", "kind": "copy", "source": "images/p.png", "box": [0, 0, 40, 48]},
        {"path": "face/a.png", "label": "not_face", "kind": "box-1x", "source": "images/p.png", "box": [0, 0, 40, 48]},
    ]
    splits = {"train": listed, "val": listed[:1], "test": []}
    (boxes / "manifest.json").write_text(json.dumps({"splits": splits}))
    plain = build_occlusion(voc_source, tiny_dataset, tmp_path / "plain")
    boxed = build_occlusion(voc_source, tiny_dataset, tmp_path / "boxed", boxes=boxes)
    added = boxed["splits"]["train"][len(plain["splits"]["train"]) :]
    assert boxed["splits"]["train"][: -len(added)] == plain["splits"]["train"]  # the faces' crops unchanged
    assert [(e["label"], e["kind"]) for e in added] == [("visible", "box"), ("hidden", "cut")]  # the face box only
    assert boxed["splits"]["val"] == plain["splits"]["val"] and boxed["options"]["boxes_manifest_sha256"]
    visible, cut = (Image.open(tmp_path / "boxed" / e["path"]) for e in added)
    assert visible.size == (40, 48) and cut.width == 40 and cut.height <= 0.55 * 48  # its upper part


def visible_val_faces() -> list[tuple[Image.Image, tuple]]:
    """(photo, label box) of every labelled face of 8 px or more of the validation photos."""
    faces = []
    for xml in photos_of(SHARED_FMD, paths.DEMO_DIR / "fmd853-lr", "val"):
        photo = read_labelled_photo(xml)
        image = photo.image.convert("RGB")
        faces += [(image, b) for b in photo.boxes if min(b[2] - b[0], b[3] - b[1]) >= 8]
    return faces


def cut_at(image: Image.Image, box, margin: float) -> Image.Image:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return image.crop((round(x0 - margin * w), round(y0 - margin * h), round(x1 + margin * w), round(y1 + margin * h)))


# issue 35's goal, not met yet: under 1 % of visible faces "can't tell" however they are cut. The check learnt from
# boxes give or take a tenth reads a wide margin, and some tight boxes on big masked faces, as a face cut by the
# frame; one retrained on loose crops as well (`lrfp data occlusion --loose 0.5`) met it on the validation photos
# only at a threshold that let most hand-marked hidden boxes through, and one fine-tuned on the detector's boxes too
# (stop 41) met it on the test photos but let hidden faces through (weights/checks/visibility.md)
NOT_YET = pytest.mark.xfail(strict=True, reason="issue 35: visible faces cut loose or tight answered can't tell")


@pytest.mark.skipif(not (SHARED_FMD / "annotations").is_dir(), reason="needs ../shared/data/fmd853")
@pytest.mark.parametrize("margin", [0.0, 0.25, pytest.param(0.5, marks=NOT_YET)])
def test_visible_faces_cut_tight_or_loose_are_rarely_cant_tell(classifier, margin):
    # the labelled faces of the validation photos, all plainly visible to their annotators: the check learnt
    # from boxes give or take a tenth read a loose crop as a cut face (4 of 140 at a quarter beyond each side)
    faces = visible_val_faces()
    answers = classifier.predict([cut_at(image, box, margin) for image, box in faces])
    assert len(faces) == 140 and sum(a.label == UNSURE for a in answers) < 0.01 * len(faces)


@NOT_YET
def test_plainly_visible_demo_crops_cut_tight_get_a_mask_label(classifier):
    # the shipped demo set's test crops, cut at their annotators' boxes from photos no check learnt from: faces
    # labelled with or without a mask, so their mouth and nose can be seen (the check learnt from boxes give
    # or take a tenth answers 5 of the 208 "can't tell")
    demo = paths.DEMO_DIR / "fmd853-lr"
    entries = read_manifest(demo)["splits"]["test"]
    answers = classifier.predict([Image.open(demo / e["path"]).convert("RGB") for e in entries])
    assert len(entries) == 208 and sum(a.label == UNSURE for a in answers) < 0.01 * len(entries)


@NOT_YET
@pytest.mark.parametrize("margin", [0.0, 0.25, 0.5])
def test_the_example_photos_faces_cut_tight_or_loose_get_a_mask_label(classifier, margin):
    # the labelled faces of the Classify page's example photos (test photos), as a detector with a wide margin
    # would hand them over: the check learnt from boxes give or take a tenth answers 4, 4 and 11 of 92 "can't
    # tell" cut tight, a quarter and half a face beyond each side
    crops = []
    for name, faces in read_json(paths.DEMO_DIR / "scenes" / "labels.json").items():
        photo = Image.open(paths.EXAMPLES_DIR / name).convert("RGB")
        for face in faces:
            box = face["box"]
            if face["label"] in classifier.classes and min(box[2] - box[0], box[3] - box[1]) >= 8:
                crops.append(cut_at(photo, box, margin))
    answers = classifier.predict(crops)
    assert len(crops) == 92 and sum(a.label == UNSURE for a in answers) < 0.01 * len(crops)
