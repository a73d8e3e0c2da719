"""`lrfp scene-bench --noface`: its flags, the pictures they pick, and the report's part (the pipeline's
boxes on pictures with no face, lrfp.evaluation.noface_bench)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lrfp.core.errors import ConfigError
from lrfp.core.records import file_sha256
from lrfp.data.images import SPLITS
from lrfp.data.noface import MANIFEST_CSV, read_noface
from lrfp.evaluation.noface_bench import NOFACE_VIEWS, noface_benchmark, noface_table


def _splits(text: str) -> str:
    """An argparse type: all, or splits separated by commas."""
    if text != "all" and not set(text.split(",")) <= set(SPLITS):
        raise argparse.ArgumentTypeError(f"{text!r}: give all, or some of {','.join(SPLITS)} separated by commas")
    return text


def add_arguments(parser) -> None:
    parser.add_argument(
        "--noface",
        metavar="DIR",
        help="also count the boxes on a no-face set (`lrfp data noface`), per kind, at each --noface-views",
    )
    parser.add_argument(
        "--noface-split",
        default="test",
        type=_splits,
        help=f"the no-face set's splits, comma-separated ({', '.join(SPLITS)}), or all (default: test)",
    )
    parser.add_argument(
        "--noface-views",
        default=",".join(NOFACE_VIEWS),
        help="own (each picture at its own size) and/or phone (at 4032 px) (default: %(default)s)",
    )


def _views(args) -> tuple[str, ...]:
    views = tuple(args.noface_views.split(","))
    if not set(views) <= set(NOFACE_VIEWS):
        raise ConfigError(
            f"--noface-views takes {' and/or '.join(NOFACE_VIEWS)}, comma-separated; got {args.noface_views!r}"
        )
    return views


def rows(args) -> list[dict]:
    """The no-face pictures of --noface-split, every --every-th ([] without --noface); ConfigError or
    DatasetError for a bad view or set."""
    if not args.noface:
        return []
    _views(args)
    picked = [
        r
        for r in read_noface(Path(args.noface))
        if args.noface_split == "all" or r["split"] in args.noface_split.split(",")
    ]
    return picked[:: args.every]


def report(args, pictures: list[dict], classifier, detector) -> dict:
    """The record's `noface` (per view) and `noface_set` parts; the table printed."""
    figures = noface_benchmark(Path(args.noface), pictures, classifier, detector, _views(args))
    print(noface_table(figures))
    return {
        "noface": figures,
        "noface_set": {
            "folder": args.noface,
            "split": args.noface_split,
            "every": args.every,
            "fingerprint": file_sha256(Path(args.noface) / MANIFEST_CSV),
        },
    }
