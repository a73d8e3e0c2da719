"""Recipes behind one interface: a third recipe trains through the unchanged engine, the engine names no
recipe, and a run tells its subscribers what it does."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import lrfp.training.recipe as recipe_registry
from lrfp.core.errors import ConfigError
from lrfp.core.events import EpochEnd, Milestone, RunEnd
from lrfp.training.config import TrainConfig
from lrfp.training.recipe import Recipe, recipe_names, recipe_of, register
from lrfp.training.run import fit

ENGINE = [Path(recipe_registry.__file__).with_name(name) for name in ("config.py", "loop.py", "run.py", "data.py")]


class Squares:
    """Tiny in-memory faces: a bright square (class 1) or none (class 0) on noise."""

    classes = ["plain", "square"]

    def __init__(self, n: int, seed: int, size: int):
        gen = torch.Generator().manual_seed(seed)
        self.targets = [i % 2 for i in range(n)]
        self.images = torch.rand(n, 3, size, size, generator=gen) * 0.5
        for i, t in enumerate(self.targets):
            if t:
                self.images[i, :, size // 4 : size // 2, size // 4 : size // 2] = 1.0
        self.samples = [SimpleNamespace(face_px=None) for _ in range(n)]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i):
        return self.images[i], self.targets[i]


class SquaresRecipe(Recipe):
    name = "squares"

    def default_optimizer(self, model) -> str:
        return "adam"

    def check(self, cfg) -> None:
        if cfg.degrade:
            raise ConfigError("squares are degraded enough")
        super().check(cfg)

    def run_id_parts(self, cfg, parts: list[str]) -> list[str]:
        return ["sq", *parts]

    def datasets(self, cfg) -> dict:
        return {
            split: Squares(n, seed, cfg.input_size)
            for split, n, seed in (("train", 24, 0), ("val", 8, 1), ("test", 8, 2))
        }

    def fingerprint(self, cfg) -> str:
        return "squares-v1"


@pytest.fixture
def squares():
    register(SquaresRecipe())
    yield
    del recipe_registry._REGISTRY["squares"]


def test_a_third_recipe_trains_through_the_unchanged_engine(squares, tmp_path):
    events = []
    cfg = TrainConfig(
        model="model3",
        data="none",
        recipe="squares",
        epochs=1,
        milestones=(1,),
        input_size=32,
        batch_size=8,
        precision="fp32",
        out=str(tmp_path),
        device="cpu",
    )
    record = fit(cfg, subscribers=[events.append])
    assert record["run_id"] == "sq-model3-adam-32px-s0" and record["status"] == "finished"
    assert record["data"] == {
        "root": "none",
        "manifest_sha256": "squares-v1",
        "classes": ["plain", "square"],
        "sizes": {"train": 24, "val": 8, "test": 8},
    }
    assert (tmp_path / record["run_id"] / "epoch001.pt").is_file()
    assert [type(e) for e in events] == [EpochEnd, Milestone, RunEnd]
    assert events[0].entry == record["history"][0] and events[1].checkpoint == "epoch001.pt"
    with pytest.raises(ConfigError, match="degraded enough"):
        TrainConfig(model="model3", data="none", recipe="squares", degrade="x").resolved()


def test_the_engine_names_no_recipe():
    assert {"paper", "production"} <= set(recipe_names())
    for module in ENGINE:
        text = module.read_text()
        assert not re.search(r"recipe\s*[!=]=", text), module.name
        assert "lrfp.training.recipes" not in text and "bank_crops" not in text, module.name


def test_an_unknown_recipe_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"recipe must be one of \('paper', 'production'"):
        TrainConfig(model="model3", data="x", recipe="nope").resolved()
    assert recipe_of("production").resumable_changes == recipe_of("paper").resumable_changes - {"epochs"}
