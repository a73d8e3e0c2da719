"""What a new user's machine has: declared dependencies only, every module importable, `pip install .` working."""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import PAGE, free_port, wait_until_healthy, wait_until_idle
from PIL import Image

import lrfp

ROOT = Path(__file__).resolve().parents[1]
UNDECLARED = ROOT.parent / "shared" / "tools" / "undeclared-imports.py"


@pytest.mark.install
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
    anywhere = shutil.ignore_patterns(".git", ".venv*", "*.egg-info", "__pycache__")

    def ignore(folder, names):  # the checkout's own runs/, data/, build/ (not lrfp/data)
        top = {"runs", "data", "build", "test-output"} & set(names) if Path(folder) == ROOT else set()
        return anywhere(folder, names) | top

    shutil.copytree(ROOT, source, ignore=ignore)
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run(
        pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True, cwd=wheels
    )
    wheel = next(wheels.glob("lrfp-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "lrfp/shipped/weights/model3.pt" in names and "lrfp/shipped/results/summary.csv" in names
    subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return target


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # the installed copy first on the path, so the checkout's (editable) lrfp is not the one imported
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRFP_")} | {"PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.install
def test_a_non_editable_install_finds_the_shipped_weights_from_any_folder(installed_package, tmp_path):
    face = tmp_path / "face.png"
    Image.new("RGB", (24, 24), (200, 160, 120)).save(face)
    where = run_installed(installed_package, tmp_path, "-c", "import lrfp.core.paths as p; print(p.WEIGHTS_DIR)")
    assert where.stdout.strip().startswith(str(installed_package)), where.stdout + where.stderr
    out = run_installed(installed_package, tmp_path, "-m", "lrfp.cli", "predict", "--model", "model3", str(face))
    assert out.returncode == 0, out.stderr
    label = out.stdout.split("\t")[1]
    assert label in ("with_mask", "without_mask")
    assert "warning" not in out.stderr  # the shipped ONNX graph serves it: nothing exported, no fallback


@pytest.mark.install
def test_the_wheel_ships_the_dashboard(installed_package):
    """The pages, the script `lrfp app` serves and the Streamlit settings, as the wheel installed them."""
    package = installed_package / "lrfp"
    pages = sorted(p.name for p in (package / "shipped" / "views").glob("*.py"))
    assert (
        pages
        == sorted(p.name for p in (ROOT / "views").glob("*.py"))
        == sorted(Path(script).name for script in PAGE.values())
    )
    # Streamlit puts the entry script's folder first on sys.path: nothing there may shadow a top-level name
    assert sorted(p.name for p in (package / "app" / "serve").iterdir() if p.name != "__pycache__") == [
        "__init__.py",
        "main.py",
    ]
    config = package / "shipped" / "streamlit" / "config.toml"
    assert config.read_text() == (ROOT / ".streamlit" / "config.toml").read_text()
    where = run_installed(
        installed_package,
        installed_package,
        "-c",
        "import lrfp.core.paths as p; print(p.APP_ENTRY, p.VIEWS_DIR, p.STREAMLIT_CONFIG, sep='\\n')",
    )
    assert where.stdout.split() == [
        str(package / "app" / "serve" / "main.py"),
        str(package / "shipped" / "views"),
        str(config),
    ], where.stdout + where.stderr


def test_the_streamlit_settings_become_flags():
    from lrfp.cli.dashboard import streamlit_flags

    settings = {
        "server": {"headless": True, "maxUploadSize": 20, "folderWatchBlacklist": ["a", "b"]},
        "theme": {"sidebar": {"primaryColor": "#ff0000"}},
    }
    assert streamlit_flags(settings) == [
        "--server.headless=true",
        "--server.maxUploadSize=20",
        "--server.folderWatchBlacklist=a",
        "--server.folderWatchBlacklist=b",
        "--theme.sidebar.primaryColor=#ff0000",
    ]


def test_lrfp_app_rejects_a_broken_settings_file_and_other_commands_unknown_options(monkeypatch, tmp_path, capsys):
    from lrfp.cli import main

    bad = tmp_path / "config.toml"
    bad.write_text("[server\n")
    monkeypatch.setattr("lrfp.core.paths.STREAMLIT_CONFIG", bad)
    assert main(["app"]) == 2
    assert capsys.readouterr().err.startswith(f"lrfp: error: {bad}: ")
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--server.port=1"])
    assert exit_.value.code == 2 and "unrecognized arguments: --server.port=1" in capsys.readouterr().err


@pytest.mark.install
@pytest.mark.browser
def test_lrfp_app_serves_the_installed_dashboard_from_another_folder(installed_package, tmp_path):
    """`lrfp app` from a folder holding another lrfp (as a clone does): command and server import the installed one."""
    (tmp_path / "lrfp").mkdir()
    (tmp_path / "lrfp" / "__init__.py").write_text("raise ImportError('the lrfp of the current folder was imported')\n")
    command = installed_package / "bin" / "lrfp"
    assert command.is_file(), "pip installed no `lrfp` command"
    port, log = free_port(), tmp_path / "server.log"
    # PYTHONVERBOSE: Python logs the file of every module it imports, lrfp's included
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LRFP_", "STREAMLIT_"))} | {
        "PYTHONPATH": str(installed_package),
        "PYTHONVERBOSE": "1",
    }
    url = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(command), "app", "--port", str(port), "--address", "127.0.0.1"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        if not wait_until_healthy(url, proc, timeout=60):
            pytest.fail(f"lrfp app did not answer on {url} (exit code {proc.poll()}):\n" + log.read_text()[-3000:])
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        if cmdline.is_file():  # the command became the server (exec), which runs the installed entry script
            assert str(installed_package / "lrfp" / "app" / "serve" / "main.py") in cmdline.read_text()
        chromium = shutil.which("chromium")
        visited = bool(chromium and importlib.util.find_spec("playwright"))
        if visited:  # the page itself, as a visitor sees it (Debian's chromium driven by Playwright)
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
                try:
                    page = browser.new_page()
                    page.goto(url, timeout=60_000)
                    title = page.get_by_role("heading", name="Face masks at low resolution")
                    title.or_(page.locator('[data-testid="stException"]')).first.wait_for(timeout=90_000)
                    wait_until_idle(page)
                    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:3000]
                    assert title.count() == 1
                    assert "Dataset" in page.locator('[data-testid="stSidebar"]').inner_text()
                finally:
                    browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[text.find("Traceback") :][:3000]
    # lrfp's own modules (a clone's folder may be called lrfp too: its virtual environment's packages are not)
    imported = set(re.findall(r"/[^\s']*?/lrfp/(?![^\s']*site-packages)[^\s']*\.pyc?", text))
    assert imported and all(p.startswith(str(installed_package)) for p in imported), sorted(imported)
    if visited:  # the server ran the installed pages
        assert str(installed_package / "lrfp" / "app" / "navigation.py") in imported


@pytest.mark.install
def test_lrfp_home_must_be_a_folder(installed_package, tmp_path):
    env_run = subprocess.run(
        [sys.executable, "-m", "lrfp.cli", "predict", "--model", "model3", "x.png"],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(installed_package), "LRFP_HOME": str(tmp_path / "nope")},
        capture_output=True,
        text=True,
    )
    assert env_run.returncode == 2
    assert env_run.stderr.strip().splitlines() == [
        f"lrfp: error: LRFP_HOME={tmp_path / 'nope'}: no such folder; point it at an lrfp project (weights/, results/)"
    ]
