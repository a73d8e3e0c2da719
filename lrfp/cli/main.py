"""The `lrfp` command line: one module per family of commands, each adding its parsers and running them."""
from __future__ import annotations

import argparse
import sys

from lrfp.cli import dashboard, data, detector, evaluate, predict, publish, scene, train
from lrfp.core import paths
from lrfp.core.console import show_messages
from lrfp.core.errors import LrfpError, describe_os_error
from lrfp.core.progress import show_bars

# the commands, in the order `lrfp --help` lists them: each adds its parser (and the function that runs it)
COMMANDS = (data.add_data, data.add_facebank, train.add_train, evaluate.add_evaluate, predict.add_predict,
            predict.add_export, scene.add_scene, scene.add_monitor, scene.add_scene_bench, detector.add_detector, train.add_cv,
            evaluate.add_faces_eval, evaluate.add_resolution, train.add_reproduce, publish.add_publish,
            publish.add_report, dashboard.add_app)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lrfp", description="Face-mask classification for low-resolution faces.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passes_unknown", False):  # only `lrfp app` passes options on (to streamlit)
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.streamlit_args = unknown
    # what lrfp says (epoch lines, resumes) as plain lines on stdout; library warnings (a fallback to
    # PyTorch, say) as one line each on stderr
    show_messages()
    show_bars(False if getattr(args, "no_progress", False) else None)  # the one switch for progress bars
    try:
        paths.check_home()
        return args.func(args)
    except LrfpError as exc:  # the user's to fix; a bug's ValueError keeps its traceback
        print(f"lrfp: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        message = describe_os_error(exc)
        if message is None:
            raise
        print(f"lrfp: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lrfp: interrupted; `lrfp train` resumes from the last finished epoch", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
