"""The README is a front page whose commands CI runs, and the docs/ pages hold what it no longer does."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from lrfp.core import paths
from lrfp.reporting.report import END, START, results_markdown

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_readme_is_a_front_page():
    assert len(README.splitlines()) <= 250


def test_ci_runs_the_readmes_test_command_word_for_word():
    install, test = "pip install -e . && streamlit run app.py", 'pip install -e ".[test]" && python -m pytest'
    assert install in README and test in README
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci and ci[-1] == test  # the last line: CI's verdict is the tests'


def test_every_local_link_of_the_readme_leads_to_a_file_and_heading():
    """mkdocs checks the links inside docs/; the README's into docs/ are checked here."""
    links = re.findall(r"\]\(([^)#]+?)(?:#([^)]+))?\)", README)
    local = [(target, anchor) for target, anchor in links if not target.startswith(("http://", "https://"))]
    assert local, "the README links nowhere"
    for target, anchor in local:
        assert (ROOT / target).is_file(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", (ROOT / target).read_text(), re.MULTILINE)
            slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
            assert anchor in slugs, (target, anchor)


def test_the_reproduction_page_holds_the_tables_lrfp_report_writes():
    page = (ROOT / "docs" / "reproduction.md").read_text()
    assert paths.RESULTS_PAGE == ROOT / "docs" / "reproduction.md"
    tables = page.split(START, 1)[1].split(END, 1)[0]
    assert tables.strip() == results_markdown(pd.read_csv(paths.RESULTS_DIR / "summary.csv")).strip()


def test_mkdocs_lists_every_page_of_docs():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages == set(re.findall(r": (\S+\.md)$", nav, re.MULTILINE))


def test_the_layout_page_names_every_module_of_the_package():
    """docs/layout.md says what each module does: a module it leaves out is one a reader cannot find (ten were)."""
    layout = (ROOT / "docs" / "layout.md").read_text()
    modules = {p.name for p in (ROOT / "lrfp").rglob("*.py") if p.stem not in ("__init__", "__main__")}
    assert not sorted(name for name in modules if name not in layout)
