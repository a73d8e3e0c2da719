"""The argparse types of the numbers and names the command line takes, each checked when it is parsed: a bad one
is one `lrfp: error:` line (exit code 2) before anything runs. Light (no torch): `lrfp app` uses them too.

Every numeric option's type is a Number (lrfp.core.numbers) or int_list; tests/test_cli_numbers.py walks the
parsers to hold every command to it."""

from __future__ import annotations

import argparse

from lrfp.core.errors import ConfigError
from lrfp.core.numbers import Number, whole
from lrfp.core.paths import check_run_id

__all__ = ["Number", "whole", "int_list", "run_name"]  # Number and whole: for the commands' own ranges


positive_int = whole(1)  # counts: epochs, batch sizes, workers, photos
SEED = whole(0, 2**32 - 1)  # what numpy's and torch's generators take
PORT = whole(1, 65535)
SCORE = Number(0, 1)  # a detector's confidence
SHARE = Number(0, 1)  # a share of a whole: of a batch's crops, say
MARGIN = Number(0, 2)  # a box enlarged by this fraction of its side, each side
SLICE_SECONDS = Number(1, 24 * 3600)  # a live run's slice: a second to a day
BUDGET_MP = Number(0, 200, above=True)  # detector megapixels a frame: ten times the pyramid's own largest budget
POSITIVE = Number(0, above=True)  # seconds, rates, factors: any finite number above 0
# one look at a frame resized by up to 8 (a 640 px frame looked at as 5120 px): beyond, its tiles multiply
DETECTOR_SCALE = Number(0, 8, above=True)


def int_list(text: str) -> tuple[int, ...]:
    """An argparse type: "30,50,80" -> (30, 50, 80), each a whole number of at least 1."""
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r:.40}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers of at least 1, got {text!r:.40}")
    return values


def run_name(text: str) -> str:
    """An argparse type: a run id, a folder name under --out, never a path (paths.check_run_id)."""
    try:
        return check_run_id(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
