"""Shared fixtures (generated face-mask data sets written as real files, tmpfs mounts) and the slow marks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import make_demo_voc_source, make_voc_source

# the kinds of slow test (pyproject.toml describes each)
SLOW_KINDS = ("browser", "training", "detector", "install", "gpu", "data", "load", "ray")


@pytest.hookimpl(tryfirst=True)  # before -m selects: `-m "not slow"` must see the mark added here
def pytest_collection_modifyitems(items):
    """A test of a slow kind is slow: marking it with its kind is enough."""
    for item in items:
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def server_settings():
    """Each test's dashboard reads its settings (lrfp.core.server_settings) from that test's environment."""
    from lrfp.core import server_settings as settings

    settings.current.cache_clear()
    yield
    settings.current.cache_clear()


@pytest.fixture(scope="session")
def demo_voc_source(tmp_path_factory) -> Path:
    return make_demo_voc_source(tmp_path_factory.mktemp("demo-voc"))


@pytest.fixture(scope="session")
def voc_source(tmp_path_factory) -> Path:
    return make_voc_source(tmp_path_factory.mktemp("voc"), n_images=60)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, voc_source) -> Path:
    """A built dataset (crops + manifest) from the generated VOC source, split 60/20/20."""
    from lrfp.data.build import BuildOptions, build_dataset

    out = tmp_path_factory.mktemp("built") / "ds"
    build_dataset(voc_source, out, BuildOptions(split=(60, 20, 20)))
    return out


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size, readonly) -> a fresh tmpfs folder; root only (CI runs as root)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small or read-only file system needs root")
    mounted = []

    def mount(size: str = "64k", readonly: bool = False) -> Path:
        folder = tmp_path / f"fs{len(mounted)}"
        folder.mkdir()
        options = f"size={size}" + (",ro" if readonly else "")
        if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]).returncode:
            pytest.skip("this machine does not allow a tmpfs mount")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)])
