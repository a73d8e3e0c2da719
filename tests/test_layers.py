"""The package's layers, checked: the import-linter contract in pyproject.toml, no import cycle between
modules, and no lrfp import hidden inside a function."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

import lrfp

PACKAGE = Path(lrfp.__file__).parent
ROOT = PACKAGE.parent
LINT = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
]


def contract() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]


def lint(root: Path) -> subprocess.CompletedProcess:
    """lint-imports over the lrfp found under ROOT, with the contract of this repository's pyproject.toml."""
    return subprocess.run(
        [*LINT, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=os.environ | {"PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_room_imports_only_the_rooms_below_it():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_every_subpackage_is_a_layer_of_the_contract():
    rooms = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    layered = {name.strip() for line in contract()["layers"] for name in line.split("|")}
    assert rooms == layered, f"not in the contract: {rooms - layered}; no such room: {layered - rooms}"
    # lrfp/__main__.py (`python -m lrfp`) is the command line's entry, as lrfp.cli.__main__ is
    assert not [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")], (
        "modules outside every room"
    )


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check can fail: the data room made to import the pipeline above it."""
    copy = tmp_path / "lrfp"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "shipped"))
    voc = copy / "data" / "voc.py"
    voc.write_text(voc.read_text() + "\nfrom lrfp.pipeline.scene import analyze  # planted\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "lrfp.data.voc -> lrfp.pipeline.scene" in result.stdout, result.stdout


def module_cycles(graph) -> list[set[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = set()
            while not group or module not in group:
                group.add(stack.pop())
            on_stack.difference_update(group)
            if len(group) > 1:
                groups.append(group)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_two_modules_import_each_other():
    assert module_cycles(grimp.build_graph("lrfp", cache_dir=None)) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert module_cycles(graph) == [{"p.a", "p.b", "p.c"}]


def imports_inside_functions(path: Path) -> list[str]:
    found = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)):
                names = [child.module or ""] if isinstance(child, ast.ImportFrom) else [a.name for a in child.names]
                if getattr(child, "level", 0) or any(n == "lrfp" or n.startswith("lrfp.") for n in names):
                    found.append(f"{path}:{child.lineno}")
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def test_no_lrfp_import_hides_inside_a_function():
    """An import inside a function is how a cycle hides; the layers leave none to hide."""
    assert [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in imports_inside_functions(path)] == []


def test_the_hidden_import_finder_finds_one(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from lrfp.core import errors\n\n\ndef f():\n    from lrfp.core import paths\n    return paths\n"
    )
    assert imports_inside_functions(planted) == [f"{planted}:5"]


MAX_MODULE_LINES = 350  # a module that grows past this has more than one job: split it along them


def test_no_module_is_over_the_line_limit():
    sizes = {str(p.relative_to(PACKAGE.parent)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}
