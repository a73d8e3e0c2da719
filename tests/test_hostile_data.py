"""`lrfp data build` against hostile sources: clashing names, impossible boxes, looping links, paths
that climb out, an --out inside the source, a full disk. Each source is made here, in tmp_path."""

from __future__ import annotations

import errno
import json
import os
import re
from collections import defaultdict
from pathlib import Path

import PIL.Image
import pytest
from helpers import make_class_folders, make_voc_source, run_cli
from PIL import Image, ImageOps

from lrfp.data.build import PENDING_NAME, BuildOptions, build_dataset
from lrfp.data.images import load_image, read_manifest

SPLIT = ("--split", "50,25,25")


def entries(out: Path) -> list[tuple[str, dict]]:
    return [(split, e) for split, items in read_manifest(out)["splits"].items() for e in items]


def assert_one_file_per_entry_and_one_split_per_photo(out: Path) -> None:
    listed = [e["path"] for _, e in entries(out)]
    assert len(listed) == len(set(listed)), "a crop path is listed twice"
    assert sorted(listed) == sorted(f"{p.parent.name}/{p.name}" for p in out.glob("*/*.png"))
    splits_of = defaultdict(set)
    for split, e in entries(out):
        splits_of[e["source"]].add(split)
    assert all(len(s) == 1 for s in splits_of.values()), "a photo's faces are in two splits"


def set_first_box(xml: Path, **coords) -> None:
    """Replace coordinates of the first <object> of a VOC file (xmin=..., xmax=...)."""
    text = xml.read_text()
    for key, value in coords.items():
        text = re.sub(rf"<{key}>[^<]*</{key}>", f"<{key}>{value}</{key}>", text, count=1)
    xml.write_text(text)


# ---------------------------------------------------------------- 1. photos sharing a stem


def test_photos_sharing_a_stem_get_their_own_crops_in_one_split_each(tmp_path):
    source = make_voc_source(tmp_path / "src", n_images=30, seed=1)
    for i in range(10):  # sceneI.jpg: another photo (colours inverted) with the same stem and boxes
        ImageOps.invert(Image.open(source / f"images/scene{i}.png")).save(source / f"images/scene{i}.jpg")
        text = (source / f"annotations/scene{i}.xml").read_text().replace(f"scene{i}.png", f"scene{i}.jpg")
        (source / f"annotations/scene{i}-jpg.xml").write_text(text)
    boxes = sum(len(re.findall("<object>", x.read_text())) for x in (source / "annotations").glob("*.xml"))
    for seed in range(3):
        out = tmp_path / f"out{seed}"
        build_dataset(source, out, BuildOptions(split=(50, 25, 25), balance=False, seed=seed))
        assert_one_file_per_entry_and_one_split_per_photo(out)
        assert len(entries(out)) == boxes
        for _, e in entries(out):  # each file holds the face of the photo the manifest names
            face = load_image(source / e["source"]).crop(tuple(e["box"]))
            assert Image.open(out / e["path"]).convert("RGB").tobytes() == face.tobytes(), e
    # a photo whose stem no other shares keeps its plain name (and the real set its fingerprint)
    names = {Path(e["path"]).name for _, e in entries(out) if e["source"] == "images/scene20.png"}
    assert names and all(re.fullmatch(r"scene20_\d{3}\.png", n) for n in names)


def test_class_folder_files_sharing_a_stem_are_both_kept(tmp_path):
    source = make_class_folders(tmp_path / "src", per_class=10)
    for label in ("with_mask", "without_mask"):
        for i in range(3):
            png = source / label / f"{label}_{i:03d}.png"
            ImageOps.invert(Image.open(png)).save(png.with_suffix(".jpg"))
    stats = build_dataset(source, tmp_path / "out", BuildOptions(split=(50, 25, 25), balance=False))
    assert sum(sum(c.values()) for c in stats["counts"].values()) == 26
    assert_one_file_per_entry_and_one_split_per_photo(tmp_path / "out")


def test_two_annotations_of_one_photo_keep_the_first(tmp_path):
    source = make_voc_source(tmp_path / "src", n_images=20, seed=2)
    (source / "annotations/scene0-again.xml").write_text((source / "annotations/scene0.xml").read_text())
    stats = build_dataset(source, tmp_path / "out", BuildOptions(split=(50, 25, 25), balance=False))
    assert_one_file_per_entry_and_one_split_per_photo(tmp_path / "out")
    # the first by name is kept; the other is skipped, named with the one kept
    assert stats["skipped"] == [
        f"{source}/annotations/scene0.xml: annotates images/scene0.png, which scene0-again.xml already does"
    ]


def test_a_manifest_with_a_path_twice_is_a_bug_that_stops_the_build(tmp_path, monkeypatch):
    source = make_voc_source(tmp_path / "src", n_images=20, seed=3)
    monkeypatch.setattr("lrfp.data.collect.Crop.path", property(lambda c: f"{c.label}/same_{c.index:03d}.png"))
    with pytest.raises(RuntimeError, match="bug: the manifest lists"):
        build_dataset(source, tmp_path / "out", BuildOptions(split=(50, 25, 25)))
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- 2. impossible boxes


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-Infinity"])
def test_a_box_with_a_coordinate_that_is_not_finite_is_skipped_and_counted(value, tmp_path, capsys):
    source = make_voc_source(tmp_path / "src", n_images=20, seed=4, faces_per_image=(2, 3))
    set_first_box(source / "annotations/scene0.xml", xmax=value)
    code, out, err = run_cli(
        capsys, "data", "build", "--source", source, "--out", tmp_path / "out", *SPLIT, "--no-balance"
    )
    assert code == 0, err
    assert "1 face box(es) skipped" in out and "scene0.xml: object 1" in out and "not finite numbers" in out
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert len(stats["skipped_boxes"]) == 1 and stats["skipped"] == []
    # the photo's other faces are kept
    assert any(e["source"] == "images/scene0.png" for _, e in entries(tmp_path / "out"))


def test_boxes_outside_the_photo_are_skipped_and_boxes_partly_outside_are_clipped(tmp_path, capsys):
    source = make_voc_source(tmp_path / "src", n_images=20, seed=5, faces_per_image=(2, 3))
    set_first_box(source / "annotations/scene0.xml", xmin=500, xmax=520)  # the photo is 120x80
    set_first_box(source / "annotations/scene1.xml", xmin=100, xmax=130, ymin=10, ymax=40)
    set_first_box(source / "annotations/scene2.xml", xmin=40, xmax=20)  # inverted
    code, out, err = run_cli(
        capsys, "data", "build", "--source", source, "--out", tmp_path / "out", *SPLIT, "--no-balance"
    )
    assert code == 0, err
    assert "2 face box(es) skipped" in out
    assert "lies outside the 120x80 photo" in out and "scene2.xml: object 1" in out and "empty or inverted" in out
    clipped = [e for _, e in entries(tmp_path / "out") if e["source"] == "images/scene1.png" and e["box"][0] == 100]
    assert len(clipped) == 1 and Image.open(tmp_path / "out" / clipped[0]["path"]).size == (20, 30)


# ---------------------------------------------------------------- 3. unreadable files


def test_a_looping_link_in_a_voc_source_is_skipped_and_counted(tmp_path, capsys):
    source = make_voc_source(tmp_path / "src", n_images=20, seed=6)
    os.symlink("loop.xml", source / "annotations/loop.xml")
    os.symlink("scene3.png", source / "images/scene3.png.tmp")
    (source / "images/scene3.png").unlink()
    os.rename(source / "images/scene3.png.tmp", source / "images/scene3.png")  # scene3.png -> itself
    code, out, err = run_cli(capsys, "data", "build", "--source", source, "--out", tmp_path / "out", *SPLIT)
    assert code == 0, err
    assert "2 source file(s) skipped" in out
    assert "loop.xml: cannot be read (Too many levels of symbolic links)" in out
    assert "scene3.png: cannot be read (Too many levels of symbolic links)" in out


def test_a_looping_link_in_a_class_folder_source_is_skipped_and_counted(tmp_path, capsys):
    source = make_class_folders(tmp_path / "src", per_class=10)
    os.symlink("loop.png", source / "with_mask/loop.png")
    code, out, err = run_cli(capsys, "data", "build", "--source", source, "--out", tmp_path / "out", *SPLIT)
    assert code == 0, err
    assert "1 source file(s) skipped" in out and "loop.png: cannot be read (Too many levels of symbolic links)" in out


# ---------------------------------------------------------------- 4. file names that leave images/


@pytest.mark.parametrize("name", ["../../outside.png", "../outside.png", "sub/scene0.png", "/{tmp}/outside.png"])
def test_an_annotation_naming_a_file_outside_images_is_refused(name, tmp_path, capsys):
    source = make_voc_source(tmp_path / "src", n_images=20, seed=7)
    Image.new("RGB", (120, 80), "red").save(tmp_path / "outside.png")
    (source / "images/sub").mkdir()
    name = name.format(tmp=str(tmp_path).strip("/"))
    xml = source / "annotations/scene0.xml"
    xml.write_text(xml.read_text().replace("scene0.png", name))
    code, out, err = run_cli(capsys, "data", "build", "--source", source, "--out", tmp_path / "out", *SPLIT)
    assert code == 0, err
    assert f"scene0.xml: <filename> {name!r} must be the plain name of a file in images/" in out
    assert {e["source"] for _, e in entries(tmp_path / "out")} <= {f"images/scene{i}.png" for i in range(1, 20)}


# ---------------------------------------------------------------- 5. --out inside the source


def test_an_out_inside_a_class_folder_source_is_refused(tmp_path, capsys):
    source = make_class_folders(tmp_path / "src", per_class=10)
    code, _, err = run_cli(capsys, "data", "build", "--source", source, "--out", source / "built", *SPLIT)
    assert code == 2 and err.startswith("lrfp: error: ") and len(err.strip().splitlines()) == 1
    assert "inside the class-folder source" in err and "choose an --out outside it" in err
    assert sorted(p.name for p in source.iterdir()) == ["with_mask", "without_mask"]


# ---------------------------------------------------------------- 6. a full disk


def test_a_full_disk_names_the_crop_being_written_and_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    source = make_voc_source(tmp_path / "src", n_images=20, seed=8)
    out = tmp_path / "out"
    original = PIL.Image.Image.save
    calls = []

    def save(self, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) == 5:  # a full disk while writing the fifth crop, half of it written
            Path(fp).write_bytes(b"\x89PNG half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, fp, *args, **kwargs)

    monkeypatch.setattr(PIL.Image.Image, "save", save)
    code, _, err = run_cli(capsys, "data", "build", "--source", source, "--out", out, *SPLIT)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"lrfp: error: {calls[4]}: No space left on device")
    assert not list(out.rglob("*.png")) and not (out / "manifest.json").exists() and not (out / PENDING_NAME).exists()
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "data", "build", "--source", source, "--out", out, *SPLIT)
    assert code == 0, err
    assert_one_file_per_entry_and_one_split_per_photo(out)
