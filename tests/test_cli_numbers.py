"""Every number a user types is finite and in range, or one `lrfp: error:` line (exit code 2), never a traceback:
each numeric option of each command (found by walking the parsers, so a new option is held to it too), the alert
rules' numbers; and a run id is a folder name, never a path."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import cli_commands, one_error_line

from lrfp.cli import argtypes, main
from lrfp.cli.main import build_parser
from lrfp.core.errors import ConfigError
from lrfp.core.numbers import Number
from lrfp.scale.alerts import parse_rule
from lrfp.training.config import TrainConfig

HOSTILE = ("nan", "inf", "-1", "1e400")
# options for which -1 is a meaningful value (none today: seeds, folds, scores, counts and seconds start at 0 or
# above); an entry here must say why, and -1 is then expected to parse
MINUS_ONE_VALID: dict[str, str] = {}


def numeric_options():
    """(command words, option) of every option that takes a number."""
    for words, parser in cli_commands(build_parser()):
        for action in parser._actions:
            if isinstance(action.type, Number) or action.type is argtypes.int_list:
                yield words, action.option_strings[0]


NUMERIC = list(numeric_options())


def test_every_option_with_a_type_reads_numbers_through_the_shared_types():
    """No option reads a number with bare int or float (which take nan, inf and 1e400): the walk below covers
    every numeric option because every one of them has a shared type."""
    bare = [
        (" ".join(words), action.option_strings or action.dest)
        for words, parser in cli_commands(build_parser())
        for action in parser._actions
        if action.type in (int, float)
    ]
    assert bare == []
    assert len(NUMERIC) >= 45  # the walk finds them: train, cv, monitor, scene-bench, detector train, data, app...
    assert {" ".join(w) for w, _ in NUMERIC} >= {"train", "cv", "monitor", "detector train", "data build", "app"}


@pytest.mark.parametrize("words, option", NUMERIC, ids=[f"{' '.join(w)} {o}" for w, o in NUMERIC])
def test_a_hostile_number_is_one_line_and_exit_code_2(words, option, capsys):
    for value in HOSTILE:
        if value == "-1" and option in MINUS_ONE_VALID:
            continue
        with pytest.raises(SystemExit) as done:
            main([*words, f"{option}={value}"])
        line = one_error_line(capsys.readouterr().err)
        assert done.value.code == 2, (option, value)
        assert option in line and repr(value) in line and "Traceback" not in line, line


@pytest.mark.parametrize(
    "rule",
    [
        "compliance:50:1e400",
        "compliance:1e400:5",
        "compliance:nan:5",
        "compliance:50:inf",
        "compliance:50:-1",
        "compliance:50:5:-1",
        "compliance:50:5:1e400",
        "compliance:50:5:nan",
        "silent:nan",
        "silent:inf",
        "silent:-1",
        "gate=silent:1e400",
    ],
)
def test_a_hostile_number_in_an_alert_rule_is_one_line(rule, capsys, tmp_path):
    with pytest.raises(ConfigError, match=r"^--alert .*: (minutes|percent|people) '.*' is not a"):
        parse_rule(rule)
    # and through the command, before any stream is opened or model loaded
    assert main(["monitor", "--live", "http://127.0.0.1:9/x", "--out", str(tmp_path), "--alert", rule]) == 2
    assert one_error_line(capsys.readouterr().err).startswith(f"lrfp: error: --alert {rule}: ")


def test_good_numbers_still_parse():
    parser = build_parser()
    args = parser.parse_args("monitor --live u --out o --rate 2.5 --slice 1 --duration 0.5 --every 0".split())
    assert (args.rate, args.slice, args.duration, args.every) == (2.5, 1.0, 0.5, 0.0)
    args = parser.parse_args("train --model model3 --data d --lr 1 --seed 0 --fold 0 --folds 2".split())
    assert (args.lr, args.seed, args.fold, args.folds) == (1.0, 0, 0, 2)
    rule = parse_rule("gate=compliance:80:10:5")
    assert (rule.camera, rule.percent, rule.minutes, rule.people) == ("gate", 80.0, 10.0, 5)


@pytest.mark.parametrize("run_id", ["../../etc/x8", "/tmp/x8", "a/b", "..", ".hidden", "", "x" * 101])
def test_a_run_id_is_a_name_never_a_path(run_id, tmp_path, capsys):
    for command in (
        ["train", "--model", "model3", "--data", "d"],
        ["detector", "train", "--source", "s", "--data", "d"],
    ):
        with pytest.raises(SystemExit) as done:
            main([*command, "--out", str(tmp_path / "runs"), f"--run-id={run_id}"])
        assert done.value.code == 2 and "not a folder name" in one_error_line(capsys.readouterr().err)
    # train, cv, reproduce and the sweeps resolve their configs: the same check, whoever builds the config
    with pytest.raises(ConfigError, match="not a folder name"):
        dataclasses.replace(TrainConfig(model="model3", data="d", epochs=1), run_id=run_id or "/").resolved()
    assert not (tmp_path / "etc").exists() and list(tmp_path.iterdir()) == []
