"""The command line built from its owners' facts: TrainConfig's fields are `train`'s flags and come back as the same
config, and a shared flag has the same choices, default and help in every command, the owners' choices."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
from helpers import cli_commands

from lrfp.cli import main
from lrfp.cli.config_flags import NO_FLAG
from lrfp.cli.main import build_parser
from lrfp.core.device import DEVICES, PRECISIONS
from lrfp.models.registry import MODEL_NAMES
from lrfp.pipeline.detect import DETECTORS
from lrfp.pipeline.inference import BACKENDS
from lrfp.scale.engine import Engine
from lrfp.training.config import TrainConfig

FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
# every flag of `lrfp train` away from its default, and the config it must give
EVERY_TRAIN_FLAG = (
    "--model resnet18 --data bank.json --norm groupnorm --pretrained none --epochs 3 --milestones 1,2 "
    "--optimizer adamw --lr 0.01 --batch-size 8 --input-size 96 --seed 2 --precision fp32 --out o "
    "--run-id r --degrade outdoor --recipe production --fold 1 --folds 4 --include-incorrect "
    "--device cpu --class-weights sqrt --init-from start.pt"
)
EVERY_TRAIN_FIELD = TrainConfig(
    model="resnet18",
    data="bank.json",
    norm="groupnorm",
    pretrained="none",
    epochs=3,
    milestones=(1, 2),
    optimizer="adamw",
    lr=0.01,
    batch_size=8,
    input_size=96,
    seed=2,
    precision="fp32",
    out="o",
    run_id="r",
    degrade="outdoor",
    recipe="production",
    fold=1,
    folds=4,
    include_incorrect=True,
    device="cpu",
    class_weights="sqrt",
    init_from="start.pt",
)


def options_of(parser) -> dict[str, argparse.Action]:
    return {a.option_strings[0]: a for a in parser._actions if a.option_strings}


PARSERS = {" ".join(words): parser for words, parser in cli_commands(build_parser())}  # "train", "data build", ...


def config_given_to(monkeypatch, target: str, argv: str) -> TrainConfig:
    """The TrainConfig the command hands to TARGET (fit, cross_validate), which is stopped there."""
    given = []

    def stop(cfg, **_kwargs):
        given.append(cfg)
        raise KeyboardInterrupt

    monkeypatch.setattr(target, stop)
    assert main(argv.split()) == 130
    return given[0]


def test_every_trainconfig_field_is_a_train_flag_with_the_fields_default():
    args = PARSERS["train"].parse_args([])  # every setting unset: the model and the data too (the recipe's)
    flags = options_of(PARSERS["train"])
    assert set(NO_FLAG) <= set(FIELDS), "NO_FLAG names a field TrainConfig no longer has"
    for name, field in FIELDS.items():
        if name in NO_FLAG:
            continue
        assert "--" + name.replace("_", "-") in flags, f"TrainConfig.{name} has no `lrfp train` flag"
        if field.default is not dataclasses.MISSING:
            assert getattr(args, name) == field.default, f"--{name}'s default is not TrainConfig's"


def test_train_gives_fit_the_config_of_its_flags(monkeypatch):
    unset = [n for n, f in FIELDS.items() if n not in NO_FLAG and getattr(EVERY_TRAIN_FIELD, n) == f.default]
    assert not unset, f"the test leaves {unset} at the default: give them a flag value above"
    cfg = config_given_to(monkeypatch, "lrfp.cli.train.fit", "train " + EVERY_TRAIN_FLAG)
    assert cfg == EVERY_TRAIN_FIELD


def test_cv_gives_the_production_config_with_its_own_defaults(monkeypatch):
    cfg = config_given_to(monkeypatch, "lrfp.cli.train.cross_validate", "cv --model model3 --data b.json")
    assert cfg == TrainConfig(model="model3", data="b.json", out="runs/cv", recipe="production")
    cfg = config_given_to(
        monkeypatch,
        "lrfp.cli.train.cross_validate",
        "cv --model resnet18 --data b.json --epochs 2 --lr 0.01 --batch-size 8 --input-size 96 "
        "--seed 1 --precision fp32 --folds 3 --include-incorrect --class-weights sqrt --device cpu "
        "--pretrained none --out o",
    )
    assert cfg == TrainConfig(
        model="resnet18",
        data="b.json",
        pretrained="none",
        epochs=2,
        lr=0.01,
        batch_size=8,
        input_size=96,
        seed=1,
        precision="fp32",
        out="o",
        recipe="production",
        folds=3,
        include_incorrect=True,
        device="cpu",
        class_weights="sqrt",
    )


@pytest.mark.parametrize("target,argv", [("cross_validate", "cv --model model3"), ("reproduce", "reproduce")])
def test_the_sweeps_get_one_engine_of_their_flags(monkeypatch, target, argv):
    given = []

    def stop(*_args, engine, **_kwargs):
        given.append(engine)
        raise KeyboardInterrupt

    monkeypatch.setattr(f"lrfp.cli.train.{target}", stop)
    assert main(f"{argv} --data b.json".split()) == 130
    assert main(f"{argv} --data b.json --engine ray --workers 3 --address ray://h:10001".split()) == 130
    assert given == [Engine(), Engine("ray", workers=3, address="ray://h:10001")]


def test_milestones_are_read_as_comma_separated_integers(capsys):
    args = PARSERS["train"].parse_args(["--model", "model3", "--data", "d", "--milestones", "5, 10,"])
    assert args.milestones == (5, 10)
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--model", "model3", "--data", "d", "--milestones", "5,x"])
    assert exit_.value.code == 2 and "expected comma-separated integers, got '5,x'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, owners",
    [("--backend", BACKENDS), ("--precision", PRECISIONS), ("--device", DEVICES), ("--detector", tuple(DETECTORS))],
)
def test_a_shared_flag_is_the_same_in_every_command_with_its_owners_choices(flag, owners):
    having = {cmd: options_of(p)[flag] for cmd, p in PARSERS.items() if flag in options_of(p)}
    assert len(having) >= 3, f"{flag} is in {sorted(having)} only"
    for cmd, action in having.items():
        assert tuple(action.choices) == tuple(owners), f"`lrfp {cmd} {flag}` choices differ from the owner's"
    # defined once: the same default and help wherever it appears; a TrainConfig setting the recipe fills
    # (the precision) is unset (None) in train and cv
    filled = {c for c in ("train", "cv") if FIELDS.get(flag[2:]) is not None and FIELDS[flag[2:]].default is None}
    assert all(having[c].default is None for c in filled & set(having))
    shared = [a for c, a in having.items() if c not in filled]
    assert len({(a.default, a.help, a.type) for a in shared}) == 1, {c: a.help for c, a in having.items()}
    assert len({(a.help, a.type) for a in having.values()}) == 1


def test_the_flags_sit_where_the_commands_use_them():
    """The shared flags reach the commands that read them (a command losing --device would still parse)."""
    where = {
        flag: {cmd for cmd, p in PARSERS.items() if flag in options_of(p)}
        for flag in ("--backend", "--precision", "--device", "--detector")
    }
    assert where["--backend"] == {"evaluate", "predict", "scene", "monitor", "scene-bench", "faces-eval", "resolution"}
    assert where["--precision"] == {"train", "cv", "reproduce", "detector train"}
    assert where["--device"] == where["--backend"] | where["--precision"]
    assert where["--detector"] == {"scene", "monitor", "scene-bench"}
    for cmd in ("train", "cv", "reproduce"):
        assert tuple(options_of(PARSERS[cmd])["--model"].choices) == MODEL_NAMES


def test_the_production_recipe_alone_gives_the_shipped_models_run(monkeypatch):
    """`lrfp train --recipe production` and `lrfp cv`, no other flag but the device: the recorded configuration
    of the shipped production model and of its cross-validation, from the recipe's defaults (`--out` aside)."""
    results = Path(__file__).resolve().parents[1] / "results" / "production"
    for command, target, record in (
        ("train --recipe production", "fit", "runs/prod-mobilenet_v2-imagenet-adamw-64px-s0.json"),
        ("cv", "cross_validate", "cv/mobilenet_v2-imagenet-adamw-64px-s0.json"),
    ):
        cfg = config_given_to(monkeypatch, f"lrfp.cli.train.{target}", f"{command} --device cpu").resolved()
        recorded = json.loads((results / record).read_text())["config"]
        recorded["milestones"] = tuple(recorded["milestones"])
        same = [k for k in recorded if hasattr(cfg, k) and k != "out"]
        assert {k: getattr(cfg, k) for k in same} == {k: recorded[k] for k in same}
