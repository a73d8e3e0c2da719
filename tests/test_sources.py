import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from helpers import make_class_folders, make_voc_source
from PIL import Image

from lrfp.data.build import BuildOptions, build_dataset
from lrfp.data.images import DatasetError, load_image, read_manifest
from lrfp.data.splits import assign_splits, parse_split


def split_of_each_crop(manifest):
    return {s["path"]: (split, s) for split, items in manifest["splits"].items() for s in items}


def test_build_writes_an_imagefolder_and_manifest(tiny_dataset):
    manifest = read_manifest(tiny_dataset)
    assert manifest["classes"] == ["with_mask", "without_mask"]
    for items in manifest["splits"].values():
        for item in items:
            assert (tiny_dataset / item["path"]).is_file()
            assert item["path"].startswith(item["label"] + "/")
            assert item["face_px"] >= 8
    on_disk = sorted(str(p.relative_to(tiny_dataset)) for p in tiny_dataset.glob("*/*.png"))
    assert on_disk == sorted(split_of_each_crop(manifest))
    stats = json.loads((tiny_dataset / "stats.json").read_text())
    assert stats["counts"]["train"]["with_mask"] == stats["counts"]["train"]["without_mask"]


def test_crops_keep_native_resolution(tiny_dataset):
    manifest = read_manifest(tiny_dataset)
    for item in manifest["splits"]["test"]:
        w, h = Image.open(tiny_dataset / item["path"]).size
        x0, y0, x1, y1 = item["box"]
        assert (w, h) == (x1 - x0, y1 - y0)


def test_splits_are_disjoint_and_group_aware(tiny_dataset):
    manifest = read_manifest(tiny_dataset)
    source_split = {}
    seen = set()
    for split, items in manifest["splits"].items():
        for item in items:
            assert item["path"] not in seen
            seen.add(item["path"])
            assert source_split.setdefault(item["source"], split) == split, "a photo straddles splits"


def test_balanced_splits_hold_the_proportions_per_class(tmp_path):
    source = make_voc_source(tmp_path / "src", n_images=200, seed=3)
    out = tmp_path / "out"
    stats = build_dataset(source, out, BuildOptions(split=(80, 4, 16), balance=False))
    before = stats["counts"]
    for label in ("with_mask", "without_mask"):
        total = sum(before[s][label] for s in before)
        for split, frac in (("train", 0.80), ("val", 0.04), ("test", 0.16)):
            assert before[split][label] == pytest.approx(total * frac, abs=max(3, total * 0.02))


def test_build_is_deterministic_and_seeded(tmp_path, voc_source):
    a = build_dataset(voc_source, tmp_path / "a", BuildOptions(seed=1))
    b = build_dataset(voc_source, tmp_path / "b", BuildOptions(seed=1))
    assert (tmp_path / "a/manifest.json").read_bytes() == (tmp_path / "b/manifest.json").read_bytes()
    # rebuilding into the same folder replaces it and gives the same bytes
    build_dataset(voc_source, tmp_path / "a", BuildOptions(seed=1))
    assert (tmp_path / "a/manifest.json").read_bytes() == (tmp_path / "b/manifest.json").read_bytes()
    c = build_dataset(voc_source, tmp_path / "c", BuildOptions(seed=2))
    assert a["manifest_sha256"] == b["manifest_sha256"] != c["manifest_sha256"]


def test_exact_duplicates_and_listed_groups_stay_together(tmp_path):
    source = make_voc_source(tmp_path / "src", n_images=40, seed=5)
    # scene1 is a byte copy of scene0; scene2..scene5 are declared near duplicates
    shutil.copy(source / "images/scene0.png", source / "images/scene1.png")
    shutil.copy(source / "annotations/scene0.xml", source / "annotations/scene1.xml")
    (source / "annotations/scene1.xml").write_text(
        (source / "annotations/scene1.xml").read_text().replace("scene0.png", "scene1.png")
    )
    (source / "near_duplicate_groups.csv").write_text(
        "group,image\n" + "".join(f"0,images/scene{i}.png\n" for i in range(2, 6))
    )
    for seed in range(6):
        out = tmp_path / f"out{seed}"
        build_dataset(source, out, BuildOptions(seed=seed, balance=False, split=(50, 25, 25)))
        split_of = {}
        for split, items in read_manifest(out)["splits"].items():
            for item in items:
                split_of[item["source"]] = split
        copies = {split_of[f"images/scene{i}.png"] for i in (0, 1)}
        listed = {split_of[f"images/scene{i}.png"] for i in range(2, 6)}
        assert len(copies) == 1 and len(listed) == 1


def test_a_photo_saved_twice_is_found_by_its_look_and_kept_in_one_split(tmp_path):
    source = make_voc_source(tmp_path / "src", n_images=40, seed=3)
    for i in range(20):  # scene{i}.jpg: a JPEG copy of scene{i}.png, annotated alike (listed nowhere)
        png = source / "images" / f"scene{i}.png"
        Image.open(png).save(png.with_suffix(".jpg"), quality=90)
        xml = (source / "annotations" / f"scene{i}.xml").read_text().replace(f"scene{i}.png", f"scene{i}.jpg")
        (source / "annotations" / f"scene{i}-copy.xml").write_text(xml)
    stats = build_dataset(source, tmp_path / "out", BuildOptions(balance=False, split=(50, 25, 25)))
    split_of = {e["source"]: split for split, items in read_manifest(tmp_path / "out")["splits"].items() for e in items}
    assert all(split_of[f"images/scene{i}.png"] == split_of[f"images/scene{i}.jpg"] for i in range(20))
    # the stats list the groups found: each pair, and no two different scenes
    assert sorted(stats["similar_photo_groups"]) == sorted(
        [f"images/scene{i}.jpg", f"images/scene{i}.png"] for i in range(20)
    )


def test_assign_splits_keeps_class_ratios_with_uneven_groups():
    # one big crowd photo of the rare class, many small ones: the crowd must not land in val
    groups = {"crowd": Counter(without_mask=40)}
    groups |= {f"g{i}": Counter(with_mask=3, without_mask=1) for i in range(200)}
    assignment = assign_splits(groups, ("with_mask", "without_mask"), (80, 4, 16), seed=0)
    assert assignment["crowd"] == "train"
    got = {split: Counter() for split in ("train", "val", "test")}
    for g, split in assignment.items():
        got[split].update(groups[g])
    # both classes cannot match exactly (the crowd skews the rare class); both come close
    for label, total in (("with_mask", 600), ("without_mask", 240)):
        assert got["val"][label] == pytest.approx(total * 0.04, rel=0.2)
        assert got["test"][label] == pytest.approx(total * 0.16, rel=0.15)


def test_corrupt_files_are_named_and_skipped(tmp_path, caplog):
    source = make_voc_source(tmp_path / "src", n_images=30, seed=7)
    (source / "annotations/scene3.xml").write_text("<annotation><object>")
    (source / "images/scene4.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    stats = build_dataset(source, tmp_path / "out", BuildOptions(split=(60, 20, 20)))
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]  # the CLI prints them on stderr
    assert any("scene3.xml" in w for w in warned) and any("scene4.png" in w for w in warned)
    assert len(stats["skipped"]) == 2
    sources = {i["source"] for items in read_manifest(tmp_path / "out")["splits"].values() for i in items}
    assert "images/scene4.png" not in sources


def test_class_folder_source_is_split_and_copied(tmp_path):
    source = make_class_folders(tmp_path / "crops", per_class=25)
    stats = build_dataset(source, tmp_path / "out", BuildOptions(split=(60, 20, 20)))
    assert sum(sum(c.values()) for c in stats["counts"].values()) == 50
    assert stats["counts"]["test"]["with_mask"] == 5


def test_missing_class_folder_is_a_clear_error(tmp_path):
    source = make_class_folders(tmp_path / "crops", per_class=5)
    shutil.rmtree(source / "without_mask")
    (source / "other").mkdir()
    (source / "other" / "x.png").write_bytes((source / "with_mask" / "with_mask_000.png").read_bytes())
    with pytest.raises(DatasetError, match="without_mask"):
        build_dataset(source, tmp_path / "out")


def test_refuses_to_overwrite_a_foreign_folder(tmp_path, voc_source):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        build_dataset(voc_source, tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_parse_split():
    assert parse_split("80,4,16") == pytest.approx((80, 4, 16))
    assert parse_split("8,1,1") == pytest.approx((80, 10, 10))
    with pytest.raises(ValueError):
        parse_split("80,20")


def test_the_demo_set_is_made_from_the_source_with_test_split_scenes_only(tmp_path, voc_source):
    from lrfp.data.demo import build_demo
    from lrfp.data.voc import parse_voc

    out = tmp_path / "demo"
    build_demo(voc_source, out, scenes=())  # no scenes: just the build, to learn its test split
    test_photos = sorted({Path(e["source"]).stem for e in read_manifest(out / "fmd853-lr")["splits"]["test"]})
    train_photo = Path(read_manifest(out / "fmd853-lr")["splits"]["train"][0]["source"]).stem
    build_demo(voc_source, out, scenes=test_photos[:2])
    for name in test_photos[:2]:
        shipped = out / "scenes" / "images" / f"{name}.jpg"
        assert shipped.read_bytes()[:2] == b"\xff\xd8"  # a JPEG re-encode, not a copy of the source file
        source_name, _ = parse_voc(voc_source / "annotations" / f"{name}.xml")
        assert load_image(shipped).size == load_image(voc_source / "images" / source_name).size
    assert not (out / "scenes" / "annotations").exists(), "the source's annotation files are not shipped"
    # every face labelled in a shipped scene, not only those the balanced build kept: the pages count and draw them
    from lrfp.data.demo import labelled_faces

    for name in test_photos[:2]:
        _, objects = parse_voc(voc_source / "annotations" / f"{name}.xml")
        assert labelled_faces(out / "scenes" / "images" / f"{name}.jpg") == objects
    assert labelled_faces(out / "scenes" / "images" / f"{train_photo}.jpg") is None
    with pytest.raises(DatasetError, match="not in the test split"):
        build_demo(voc_source, tmp_path / "other", scenes=[train_photo])
