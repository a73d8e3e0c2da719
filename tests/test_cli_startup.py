"""The command line answers at once: `lrfp --help` loads no command's module and no heavy library, and a
command loads its own module only (lrfp.cli.main's registry, COMMANDS)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lrfp.cli.main import COMMANDS, build_parser, command_named

HEAVY = ("torch", "torchvision", "sklearn", "ray", "streamlit", "onnxruntime", "cv2", "pandas")
COMMAND_MODULES = sorted({c.module for c in COMMANDS})

# runs ARGV as `python -m lrfp` does, then prints which of MODULES are loaded, as JSON on its last line
CHILD = """
import json, runpy, sys
argv, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["lrfp", *argv]
try:
    runpy.run_module("lrfp", run_name="__main__", alter_sys=True)
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "loaded": [m for m in modules if m in sys.modules]}))
"""


def loaded_by(argv: list[str], modules) -> tuple[int, list[str], str]:
    """(exit code, which of MODULES `python -m lrfp ARGV` loaded, its output) in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(argv), json.dumps(list(modules))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    *output, last = done.stdout.splitlines()
    report = json.loads(last)
    return report["code"], report["loaded"], "\n".join(output)


def test_help_loads_no_heavy_library_and_no_command_module():
    code, loaded, text = loaded_by(["--help"], HEAVY + tuple(COMMAND_MODULES))
    assert code == 0 and loaded == []
    assert all(c.name in text for c in COMMANDS)  # and it still lists every command


@pytest.mark.parametrize("command", ["report", "app"])
def test_a_command_loads_its_own_module_only(command):
    module = next(c.module for c in COMMANDS if c.name == command)
    code, loaded, _ = loaded_by([command, "--help"], COMMAND_MODULES)
    assert code == 0 and loaded == [module]


def test_every_command_of_the_registry_adds_its_arguments_from_its_module():
    parsers = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert list(parsers) == [c.name for c in COMMANDS]
    for command in COMMANDS:
        assert callable(getattr(importlib.import_module(command.module), command.add))
        assert parsers[command.name].get_default("func") or parsers[command.name]._subparsers, command.name


def test_the_command_is_the_first_word_that_is_no_option():
    assert command_named(["--help"]) == "" and command_named([]) == ""
    assert command_named(["predict", "--model", "model3", "face.png"]) == "predict"
    assert command_named(["-h", "data", "build"]) == "data"


def test_predict_on_a_face_crop_loads_no_torchvision():
    """`lrfp predict` on one crop: torchvision costs about a second to import (torch._dynamo through
    torchvision.ops); the inference transform does without it, and the detector imports it only to merge boxes."""
    crop = str(Path(__file__).resolve().parents[1] / "demo" / "fmd853-lr" / "with_mask" / "maksssksksss0_001.png")
    code, loaded, text = loaded_by(["predict", crop], ("torchvision", "lrfp.pipeline.scene"))
    assert code == 0 and loaded == []
    assert text.split("\t")[1] == "with_mask"
