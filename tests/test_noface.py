"""The no-face set (`lrfp data noface`) and its report in `lrfp scene-bench --noface`."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import run_cli, voc_xml
from PIL import Image, ImageDraw

from lrfp.data import noface_photos, noface_text
from lrfp.data.images import DatasetError
from lrfp.data.noface import KINDS, MANIFEST_COLUMNS, assign_splits, build_noface, read_noface
from lrfp.evaluation.noface_bench import noface_benchmark
from lrfp.pipeline.boxes import FaceBox

DRAWN = tuple(k for k in KINDS if k not in ("photo-region", "wallpaper"))  # made from a seed and the fonts alone


def _voc_with_train_split(root: Path, photos: int = 6) -> tuple[Path, Path]:
    """A VOC source of 640x480 photos with two labelled faces each, and a built set's manifest naming the
    first four as train and the rest as test."""
    rng = random.Random(0)
    (root / "src" / "images").mkdir(parents=True)
    (root / "src" / "annotations").mkdir()
    splits: dict[str, list] = {"train": [], "val": [], "test": []}
    for i in range(photos):
        image = Image.new("RGB", (640, 480), (120, 140, 160))
        draw = ImageDraw.Draw(image)
        objects = []
        for _ in range(2):
            x0, y0, side = rng.randint(0, 560), rng.randint(0, 400), rng.randint(20, 80)
            box = (x0, y0, min(639, x0 + side), min(479, y0 + side))
            draw.ellipse(box, fill=(230, 190, 160))
            objects.append(("with_mask", box))
        name = f"photo{i}.png"
        image.save(root / "src" / "images" / name)
        (root / "src" / "annotations" / f"photo{i}.xml").write_text(voc_xml(name, image.size, objects))
        splits["train" if i < 4 else "test"].append(
            {"path": f"with_mask/{i}.png", "source": f"images/{name}", "label": "x"}
        )
    (root / "data").mkdir()
    (root / "data" / "manifest.json").write_text(json.dumps({"splits": splits, "classes": ["with_mask"]}))
    return root / "src", root / "data"


def test_tiny_build_makes_every_drawn_kind_with_the_fonts_there(tmp_path):
    summary = build_noface(tmp_path / "nf", per_kind=1, kinds=DRAWN)
    rows = read_noface(tmp_path / "nf")
    assert sorted(r["kind"] for r in rows) == sorted(DRAWN)
    assert summary["missing_kinds"] == [] and "latin" in summary["fonts"]
    for row in rows:
        with Image.open(tmp_path / "nf" / row["path"]) as image:
            assert image.size == (int(row["width"]), int(row["height"])) and min(image.size) >= 300
    assert set(rows[0]) == set(MANIFEST_COLUMNS)


def test_with_dejavu_alone_as_on_ci_the_build_draws_five_scripts(tmp_path, monkeypatch):
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not (dejavu / "DejaVuSans.ttf").is_file():
        pytest.skip("fonts-dejavu-core is not installed")
    monkeypatch.setattr(noface_text, "FONT_DIRS", (dejavu,))
    noface_text.font_path.cache_clear()
    try:
        assert sorted(noface_text.available_fonts()) == ["arabic", "cyrillic", "greek", "hebrew", "latin"]
        build_noface(tmp_path / "nf", per_kind=5, kinds=("page",))
        assert {r["detail"].split(",")[0] for r in read_noface(tmp_path / "nf")} == set(noface_text.available_fonts())
    finally:
        noface_text.font_path.cache_clear()


def test_without_a_latin_font_the_build_says_which_packages_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(noface_text, "FONT_DIRS", (tmp_path,))
    noface_text.font_path.cache_clear()
    try:
        with pytest.raises(DatasetError, match="fonts-dejavu-core"):
            build_noface(tmp_path / "nf", per_kind=1, kinds=("page",))
    finally:
        noface_text.font_path.cache_clear()


def test_every_script_with_a_font_gets_a_page(tmp_path):
    scripts = sorted(noface_text.available_fonts())
    build_noface(tmp_path / "nf", per_kind=len(scripts), kinds=("page",))
    assert sorted(r["detail"].split(",")[0] for r in read_noface(tmp_path / "nf")) == scripts


def test_the_same_seed_gives_the_same_set_and_another_seed_another(tmp_path):
    kinds = ("chart", "texture", "sky")
    a = build_noface(tmp_path / "a", seed=3, per_kind=2, kinds=kinds)
    b = build_noface(tmp_path / "b", seed=3, per_kind=2, kinds=kinds)
    c = build_noface(tmp_path / "c", seed=4, per_kind=2, kinds=kinds)
    assert a["fingerprint"] == b["fingerprint"] != c["fingerprint"]


def test_splits_are_by_group_disjoint_and_stable():
    groups = [f"g{i}" for i in range(50)] + ["g1", "g2", "g2"]  # a group's pictures share one split
    split_of = assign_splits(groups, seed=0)
    assert set(split_of) == set(groups)
    assert sorted(split_of.values()).count("train") == 30 and sorted(split_of.values()).count("val") == 10
    assert assign_splits(list(reversed(groups)), seed=0) == split_of  # the order given does not matter
    assert assign_splits(groups, seed=1) != split_of


def test_manifest_splits_name_each_picture_once(tmp_path):
    build_noface(tmp_path / "nf", per_kind=5, kinds=("sky",))
    rows = read_noface(tmp_path / "nf")
    by_split = {s: {r["id"] for r in read_noface(tmp_path / "nf", s)} for s in ("train", "val", "test")}
    assert sum(len(ids) for ids in by_split.values()) == len(rows) == len({r["id"] for r in rows}) == 5
    assert all(by_split.values())  # 5 groups: 3 train, 1 val, 1 test


def test_photo_regions_keep_away_from_every_labelled_face_and_use_train_photos_only(tmp_path):
    source, data = _voc_with_train_split(tmp_path)
    regions = noface_photos.photo_regions(source, data, seed=0, per_photo=3)
    assert regions and {r.photo for r in regions} <= {f"photo{i}.png" for i in range(4)}
    from lrfp.data.voc import read_voc

    for region in regions:
        _, objects, _ = read_voc(source / "annotations" / region.photo.replace(".png", ".xml"))
        for _, (fx0, fy0, fx1, fy1) in objects:
            m = noface_photos.FACE_MARGIN * max(fx1 - fx0, fy1 - fy0)
            x0, y0, x1, y1 = region.box
            assert x1 <= fx0 - m or x0 >= fx1 + m or y1 <= fy0 - m or y0 >= fy1 + m
        assert min(region.box[2] - region.box[0], region.box[3] - region.box[1]) >= noface_photos.REGION_MIN_SIDE


def test_photo_region_pictures_are_in_the_manifest_with_their_photo_as_group(tmp_path):
    source, data = _voc_with_train_split(tmp_path)
    build_noface(tmp_path / "nf", per_kind=4, kinds=("photo-region",), source=source, data=data)
    rows = read_noface(tmp_path / "nf")
    assert rows and all(r["group"].startswith("photo-region/photo") for r in rows)
    assert all(r["licence"].startswith("CC0") for r in rows)


class _OneBox:
    """A detector that finds one box on any picture."""

    def search(self, image):
        return SimpleNamespace(boxes=[FaceBox(1, 2, 21, 22, 0.9)], spent_mp=0.0)

    def describe(self):
        return {"name": "one box"}


class _SaysMask:
    classes = ("with_mask", "without_mask")
    name = "says-mask"

    def predict(self, crops):
        return [SimpleNamespace(label="with_mask", probability=0.9) for _ in crops]

    def not_face_probabilities(self, crops):  # no face check: every box the detector gives is counted
        return [None] * len(crops)


def test_noface_report_counts_every_box_per_kind_and_view(tmp_path):
    build_noface(tmp_path / "nf", per_kind=2, kinds=("chart", "sky"))
    rows = read_noface(tmp_path / "nf")
    report = noface_benchmark(tmp_path / "nf", rows, _SaysMask(), _OneBox())
    for view, k in (("own", 1.0), ("phone", None)):
        figures = report[view]
        assert figures["pictures"] == 4 and figures["boxes"] == 4 and figures["boxes_per_100"] == 100
        assert figures["by_kind"]["sky"]["boxes_per_100"] == 100 and figures["labels"] == {"with_mask": 4}
        box = figures["per_picture"][0]["boxes"][0]
        if k == 1.0:
            assert box[:4] == [1, 2, 21, 22]  # in the picture's own pixels
        else:
            assert box[2] < 21  # the phone frame's box, brought back to the (smaller) picture's pixels


def test_scene_bench_noface_prints_and_records_boxes_per_kind(tmp_path, capsys, monkeypatch):
    build_noface(tmp_path / "nf", per_kind=1, kinds=("chart", "sky"))
    monkeypatch.setattr("lrfp.cli.scene.Classifier", lambda *a, **k: _SaysMask())
    monkeypatch.setattr("lrfp.cli.scene.FaceDetector", lambda *a, **k: _OneBox())
    out = tmp_path / "r.json"
    code, printed, _ = run_cli(
        capsys, "scene-bench", "--noface", str(tmp_path / "nf"), "--noface-split", "all", "--out", str(out)
    )
    assert code == 0 and "sky" in printed and "100.0" in printed
    record = json.loads(out.read_text())
    assert record["noface"]["phone"]["boxes"] == 2 and record["noface"]["own"]["by_kind"]["chart"]["boxes"] == 1
    assert (
        record["noface_set"]["fingerprint"]
        == json.loads((tmp_path / "nf" / "manifest.json").read_text())["fingerprint"]
    )


def test_scene_bench_needs_photos_or_noface(capsys):
    code, _, err = run_cli(capsys, "scene-bench")
    assert code != 0 and "--noface" in err


def test_scene_bench_refuses_an_unknown_noface_view_in_one_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "scene-bench", "--noface", str(tmp_path), "--noface-views", "own,fisheye")
    assert code != 0 and "--noface-views" in err and "fisheye" in err and len(err.strip().splitlines()) == 1


def test_noface_set_missing_is_one_clear_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "scene-bench", "--noface", str(tmp_path / "nowhere"))
    assert code != 0 and "lrfp data noface" in err and len(err.strip().splitlines()) == 1


def test_a_rebuild_replaces_its_own_pictures_and_refuses_a_folder_of_other_files(tmp_path):
    build_noface(tmp_path / "nf", per_kind=3, kinds=("sky",))
    build_noface(tmp_path / "nf", per_kind=1, kinds=("sky",))
    assert len(list((tmp_path / "nf" / "images" / "sky").iterdir())) == 1 == len(read_noface(tmp_path / "nf"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.tex").write_text("keep me")
    with pytest.raises(DatasetError, match="not empty"):
        build_noface(tmp_path / "other", per_kind=1, kinds=("sky",))
    assert (tmp_path / "other" / "thesis.tex").read_text() == "keep me"


def test_scene_bench_takes_several_noface_splits(tmp_path, capsys, monkeypatch):
    build_noface(tmp_path / "nf", per_kind=5, kinds=("sky",))  # 3 train, 1 val, 1 test
    monkeypatch.setattr("lrfp.cli.scene.Classifier", lambda *a, **k: _SaysMask())
    monkeypatch.setattr("lrfp.cli.scene.FaceDetector", lambda *a, **k: _OneBox())
    out = tmp_path / "r.json"
    argv = ("scene-bench", "--noface", str(tmp_path / "nf"), "--noface-views", "own", "--out", str(out))
    assert run_cli(capsys, *argv, "--noface-split", "train,val")[0] == 0
    assert json.loads(out.read_text())["noface"]["own"]["pictures"] == 4
    with pytest.raises(SystemExit):
        run_cli(capsys, *argv, "--noface-split", "train,holdout")
    assert "'train,holdout': give all, or some of train,val,test" in capsys.readouterr().err


def test_no_face_pans_are_footage_like_the_examples_and_no_person_is_counted_on_them(tmp_path):
    from dataclasses import asdict

    import av

    from lrfp.data.footage import CLIP_FPS, CLIP_FRAMES, write_noface_pans
    from lrfp.evaluation.tracking import follow
    from lrfp.pipeline.detect import FaceDetector
    from lrfp.pipeline.looks import FOOTAGE_FINEST_SIDE

    build_noface(tmp_path / "nf", per_kind=1, kinds=("texture", "page"))
    pans = write_noface_pans(tmp_path / "nf", None, tmp_path / "pans")
    assert sorted(name.split("/")[0] for name in pans) == ["page", "texture"]
    detector = FaceDetector(finest_side=FOOTAGE_FINEST_SIDE)  # the monitor's footage look, without the face check
    for clip in pans.values():
        with av.open(str(clip)) as container:
            images = [frame.to_image() for frame in container.decode(video=0)]
        assert len(images) == CLIP_FRAMES and {image.size for image in images} == {(320, 240)}
        frames = [
            (i, i / CLIP_FPS, [asdict(b) | {"size": b.size, "label": "too_small"} for b in detector.detect(image)])
            for i, image in enumerate(images)
        ]
        assert follow(frames)[1] == 0  # the people the monitor's tracker counts there
    with pytest.raises(DatasetError, match="no manifest.csv"):
        write_noface_pans(tmp_path / "pans", "val", tmp_path / "more")
