"""`lrfp data facecheck` killed while it mines goes on from where it was, to the same crops and manifest as a
build that ran through (the detector replaced by a fixed one: the test is of the build's bookkeeping)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from PIL import Image

from lrfp.core import resumable
from lrfp.experiments import facecheck
from lrfp.pipeline.boxes import FaceBox


class FixedDetector:
    """Two boxes at fixed places of any picture, whatever it shows."""

    def __init__(self, kind: str | None = None):
        self.kind = kind

    def detect(self, image):
        w, h = image.size
        return [
            FaceBox(round(w * 0.05), round(h * 0.1), round(w * 0.25), round(h * 0.45), 0.9),
            FaceBox(round(w * 0.55), round(h * 0.5), round(w * 0.8), round(h * 0.9), 0.8),
        ]

    def describe(self):
        return {"detector": "fixed"}


class Killed(Exception):
    pass


@pytest.fixture
def noface_set(tmp_path) -> Path:
    """A no-face set of six noise pictures, as `lrfp data noface` lists them."""
    folder = tmp_path / "noface"
    (folder / "pictures").mkdir(parents=True)
    rng = random.Random(1)
    with open(folder / "manifest.csv", "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["path", "kind", "split"])
        for i in range(6):
            name = f"pictures/p{i}.png"
            Image.frombytes("RGB", (90, 60), rng.randbytes(90 * 60 * 3)).save(folder / name)
            rows.writerow([name, "screen" if i % 2 else "page", "train"])
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.training
@pytest.mark.parametrize("killed_in", ["read_labelled_photo", "load_image"])  # the photos' part, the no-face part
def test_a_killed_facecheck_build_resumes_to_the_same_crops(
    voc_source, tiny_dataset, noface_set, tmp_path, monkeypatch, killed_in
):
    monkeypatch.setattr(facecheck, "FaceDetector", FixedDetector)
    monkeypatch.setattr(resumable, "SAVE_EVERY_S", 0.0)  # saved after every photo, so the kill falls mid-way
    reader = getattr(facecheck, killed_in)

    def build(out: Path, kill_on: int | None = None) -> tuple[dict, list]:
        """The build into OUT, killed on the KILL_ON-th photo or picture read; (manifest, what it read)."""
        read: list = []

        def counted(*args, **kwargs):
            read.append(args)
            if len(read) == kill_on:
                raise Killed
            return reader(*args, **kwargs)

        with monkeypatch.context() as patched:
            patched.setattr(facecheck, killed_in, counted)
            return facecheck.build_facecheck(voc_source, tiny_dataset, out, noface=noface_set), read

    whole, every = build(tmp_path / "whole")
    with pytest.raises(Killed):
        build(tmp_path / "resumed", kill_on=5)
    assert not (tmp_path / "resumed" / "manifest.json").exists()
    resumed, read = build(tmp_path / "resumed")
    assert resumed == whole and sum(len(entries) for entries in whole["splits"].values()) > 100
    assert tree(tmp_path / "resumed") == tree(tmp_path / "whole")
    assert read == every[4:]  # the four done before the kill are not mined again; the fifth is
