"""What a new user's machine has: declared dependencies only, every module importable, `pip install .` working."""
from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

import lrfp

ROOT = Path(__file__).resolve().parents[1]
UNDECLARED = ROOT.parent / "shared" / "tools" / "undeclared-imports.py"


def test_installed_distributions_are_consistent():
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("module", sorted(m.name for m in pkgutil.walk_packages(lrfp.__path__, "lrfp.")))
def test_every_module_of_the_package_imports(module):
    importlib.import_module(module)


@pytest.mark.skipif(not UNDECLARED.is_file(), reason="../shared/tools is not beside the project")
def test_every_third_party_import_is_declared():
    out = subprocess.run([sys.executable, str(UNDECLARED)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture(scope="module")
def installed_package(tmp_path_factory) -> Path:
    """lrfp as `pip install .` lays it out (a wheel installed into a folder), without its dependencies."""
    wheels = tmp_path_factory.mktemp("wheel")
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / "lrfp"  # a copy: the build writes build/ into its source tree
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv*", "runs", "data", "build", "test-output",
                                                                "*.egg-info", "__pycache__"))  # fmt: skip
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True,
                   cwd=wheels)  # fmt: skip
    wheel = next(wheels.glob("lrfp-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "lrfp/shipped/weights/model3.pt" in names and "lrfp/shipped/results/summary.csv" in names
    subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return target


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # the installed copy first on the path, so the checkout's (editable) lrfp is not the one imported
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRFP_")} | {"PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_a_non_editable_install_finds_the_shipped_weights_from_any_folder(installed_package, tmp_path):
    face = tmp_path / "face.png"
    Image.new("RGB", (24, 24), (200, 160, 120)).save(face)
    where = run_installed(installed_package, tmp_path, "-c", "import lrfp.paths as p; print(p.WEIGHTS_DIR)")
    assert where.stdout.strip().startswith(str(installed_package)), where.stdout + where.stderr
    out = run_installed(installed_package, tmp_path, "-m", "lrfp.cli", "predict", "--model", "model3", str(face))
    assert out.returncode == 0, out.stderr
    label = out.stdout.split("\t")[1]
    assert label in ("with_mask", "without_mask")
    assert "warning" not in out.stderr  # the shipped ONNX graph serves it: nothing exported, no fallback


def test_lrfp_home_must_be_a_folder(installed_package, tmp_path):
    env_run = subprocess.run([sys.executable, "-m", "lrfp.cli", "predict", "--model", "model3", "x.png"], cwd=tmp_path,
                             env=os.environ | {"PYTHONPATH": str(installed_package), "LRFP_HOME": str(tmp_path / "nope")},
                             capture_output=True, text=True)  # fmt: skip
    assert env_run.returncode == 2
    assert env_run.stderr.strip().splitlines() == [f"lrfp: error: LRFP_HOME={tmp_path / 'nope'}: no such folder; "
                                                   "point it at an lrfp project (weights/, results/)"]  # fmt: skip


def test_the_core_never_imports_the_app_subpackage():
    """lrfp.app serves the dashboard only: the core reads, installs and tests without a screen."""
    import ast

    for path in Path(lrfp.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")] + [f".{a.name}" for a in node.names if not node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n in (".app", "lrfp.app") or n.startswith((".app.", "lrfp.app.")) for n in names), path
