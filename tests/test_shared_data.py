"""Integration on the real public data set (../shared/data/fmd853), skipped when it is absent."""

import json

import pytest
from helpers import SHARED_FMD

from lrfp.cli import main
from lrfp.data.images import read_manifest

pytestmark = [
    pytest.mark.data,
    pytest.mark.training,
    pytest.mark.skipif(not (SHARED_FMD / "annotations").is_dir(), reason="../shared/data/fmd853 is not present"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("fmd") / "fmd853-lr"
    assert main(["data", "build", "--source", str(SHARED_FMD), "--out", str(out)]) == 0
    return out


def test_default_build_matches_the_paper_protocol(built):
    stats = json.loads((built / "stats.json").read_text())
    counts = stats["counts"]
    for split in ("train", "val", "test"):
        assert counts[split]["with_mask"] == counts[split]["without_mask"] > 0
    total = sum(counts[s]["without_mask"] for s in counts)
    assert total == 651  # faces >= 8 px in the source README
    assert counts["val"]["without_mask"] == pytest.approx(total * 0.04, abs=3)
    assert counts["test"]["without_mask"] == pytest.approx(total * 0.16, abs=5)
    assert stats["skipped"] == []
    manifest = read_manifest(built)
    split_of = {}
    for split, items in manifest["splits"].items():
        for item in items:
            assert split_of.setdefault(item["source"], split) == split
    # byte-identical duplicates named in the source README stay together
    for a, b in ((13, 737), (146, 219), (410, 428), (653, 775), (656, 690)):
        pa, pb = f"images/maksssksksss{a}.png", f"images/maksssksksss{b}.png"
        if pa in split_of and pb in split_of:
            assert split_of[pa] == split_of[pb]


def test_short_train_and_evaluate(built, tmp_path, capsys):
    args = [
        "train",
        "--model",
        "model3",
        "--data",
        str(built),
        "--epochs",
        "1",
        "--milestones",
        "1",
        "--input-size",
        "32",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    assert main(args) == 0
    capsys.readouterr()
    ckpt = tmp_path / "model3-adam-32px-s0" / "epoch001.pt"
    assert main(["evaluate", "--model", str(ckpt), "--data", str(built), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == sum(len(v) for k, v in read_manifest(built)["splits"].items() if k == "test")
    assert result["accuracy"] > 0.7  # one epoch already separates the classes well above chance
