"""The one switch for progress bars."""

import io

import pytest

from lrfp.core import progress


@pytest.fixture(autouse=True)
def restore():
    yield
    progress.show_bars(None)


def drawn(shown) -> str:
    progress.show_bars(shown)
    out = io.StringIO()
    for _ in progress.bar(range(3), file=out, desc="work"):
        pass
    return out.getvalue()


def test_the_switch_turns_bars_on_and_off():
    assert "work" in drawn(True)
    assert drawn(False) == ""


def test_left_alone_tqdm_shows_no_bar_where_nobody_looks():
    assert drawn(None) == ""  # a StringIO is not a terminal
