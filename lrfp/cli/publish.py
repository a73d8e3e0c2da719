"""`lrfp publish` (checkpoints to weights/ with their cards) and `lrfp report` (the results tables)."""

from __future__ import annotations

from pathlib import Path

from lrfp.core import paths
from lrfp.core.errors import ConfigError, LrfpError
from lrfp.publishing.families import publish, publish_run, rewrite_cards
from lrfp.publishing.index import read_index
from lrfp.publishing.production import is_production_run, publish_production
from lrfp.reporting.report import update_results_page
from lrfp.reporting.results import write_summary


def cmd_publish(args) -> int:
    if args.cards:
        print(f"rewrote the model cards of {', '.join(rewrite_cards())}")
        return 0

    if args.run and is_production_run(Path(args.run)):
        name = args.name or Path(args.run).name
        entry = publish_production(Path(args.run), name, Path(args.cv) if args.cv else None)
        score = f"cross-validated score {entry['cv_score']:.4f}" if args.cv else "not cross-validated"
        print(f"published {args.run} as weights/{name}.pt ({score}); default model: {read_index().get('default')}")
        return 0
    if args.cv:
        raise ConfigError("--cv goes with --run of a production run (`lrfp train --recipe production`)")
    if args.run:
        entry = publish_run(Path(args.run), args.name or Path(args.run).name)
        print(f"published {args.run} as weights/{args.name}.pt (test accuracy {entry['test_accuracy']:.4f})")
        return 0
    index = publish()
    print(f"default model: {index.get('default')}")
    return 0


def cmd_report(args) -> int:
    df = write_summary()
    if not update_results_page():
        raise LrfpError(f"{paths.RESULTS_PAGE} has no results markers to fill")
    print(f"{paths.RESULTS_PAGE} results tables updated from {len(df)} summary row(s)")
    return 0


def add_publish(pub) -> None:
    pub.add_argument("--run", help="instead: publish the last milestone of this one finished run folder")
    pub.add_argument("--name", help="with --run: the name in weights/ (default: the run folder's name)")
    pub.add_argument(
        "--cv",
        help="with --run of a production run: its `lrfp cv` record; the best such model by "
        "cross-validated score becomes the app's default",
    )
    pub.add_argument("--cards", action="store_true", help="only rewrite every model card from its run record")
    pub.set_defaults(func=cmd_publish)


def add_report(report) -> None:
    report.set_defaults(func=cmd_report)
