"""The `lrfp` command line: one registry of commands, each command's module imported only when it runs.

`lrfp --help` needs no command's module, only COMMANDS below. `lrfp predict ...` imports lrfp.cli.predict
(and what it needs) and no other command's module, so no command waits for another's libraries."""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass

from lrfp.core import paths
from lrfp.core.console import show_messages
from lrfp.core.errors import LrfpError, describe_os_error
from lrfp.core.progress import show_bars
from lrfp.data.formats import ACCEPTED_FORMATS


@dataclass(frozen=True)
class Command:
    """A command of `lrfp`: its name, the line `lrfp --help` shows, and where its arguments come from:
    MODULE's function ADD(parser), which adds the arguments (and description, epilog) to the command's
    parser and sets func, the function that runs it."""

    name: str
    help: str
    module: str
    add: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        getattr(importlib.import_module(self.module), self.add)(parser)


# the commands, in the order `lrfp --help` lists them
COMMANDS = (
    Command("data", "build the face-crop dataset", "lrfp.cli.data", "add_data"),
    Command(
        "facebank",
        "labelled faces with the detector's boxes (the production recipe's data)",
        "lrfp.cli.data",
        "add_facebank",
    ),
    Command("train", "train one model; resumes RUN_DIR/last.pt when present", "lrfp.cli.train", "add_train"),
    Command("evaluate", "evaluate a checkpoint on a class-folder dataset", "lrfp.cli.evaluate", "add_evaluate"),
    Command(
        "predict",
        f"classify face images ({', '.join(ACCEPTED_FORMATS)}, judged by content)",
        "lrfp.cli.predict",
        "add_predict",
    ),
    Command(
        "export",
        "export a checkpoint to a single-file ONNX model (dynamic batch size)",
        "lrfp.cli.predict",
        "add_export",
    ),
    Command(
        "scene",
        "annotate an image or video: every face boxed and labelled, plus a per-frame CSV",
        "lrfp.cli.scene",
        "add_scene",
    ),
    Command(
        "monitor",
        "many cameras' videos and photos -> one table of per-frame mask compliance (Ray)",
        "lrfp.cli.scene",
        "add_monitor",
    ),
    Command(
        "scene-bench",
        "the whole pipeline (detector + classifier) on annotated photos",
        "lrfp.cli.scene",
        "add_scene_bench",
    ),
    Command(
        "detector", "train a face detector for masked, small faces, and export it", "lrfp.cli.detector", "add_detector"
    ),
    Command(
        "cv",
        "production recipe: k-fold cross-validation grouped by photo (train+val photos only)",
        "lrfp.cli.train",
        "add_cv",
    ),
    Command(
        "faces-eval",
        "score a model on a face bank's faces: labelled box, shrunk to 16 px, detector box",
        "lrfp.cli.evaluate",
        "add_faces_eval",
    ),
    Command("resolution", "accuracy with test faces shrunk to 8..64 px", "lrfp.cli.evaluate", "add_resolution"),
    Command("reproduce", "run the paper's experiments still missing from results/", "lrfp.cli.train", "add_reproduce"),
    Command(
        "publish",
        "copy each family's best checkpoint (by validation) to weights/ with a card",
        "lrfp.cli.publish",
        "add_publish",
    ),
    Command(
        "report",
        "rewrite results/summary.csv and the results tables of docs/reproduction.md",
        "lrfp.cli.publish",
        "add_report",
    ),
    Command(
        "app", "serve the dashboard (streamlit run, with lrfp's Streamlit settings)", "lrfp.cli.dashboard", "add_app"
    ),
)


# Modules that read environment settings when they are imported (lrfp.pipeline.upload_limits: LRFP_UPLOAD_SLOTS
# and LRFP_MAX_UPLOAD_FILES). Every command imported them before the registry, so a bad value stopped any command
# with one line (paths.check_home); they are imported before a command runs so that it still does. They are
# light (no torch); --help never gets here.
SETTINGS_MODULES = ("lrfp.pipeline.upload_limits",)


class Parser(argparse.ArgumentParser):
    """argparse's parser (and its commands' parsers) with an error as one line, `lrfp: error: COMMAND: ...`, exit
    code 2, like lrfp's own errors: no usage block to read past."""

    def error(self, message: str):
        command = self.prog.removeprefix("lrfp").strip()
        self.exit(2, f"lrfp: error: {command + ': ' if command else ''}{message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with ONLY the arguments of that one command (the others are listed by
    name and help line, their modules not imported)."""
    parser = Parser(prog="lrfp", description="Face-mask classification for low-resolution faces.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command_parser = sub.add_parser(command.name, help=command.help)
        if only is None or command.name == only:
            command.add_arguments(command_parser)
    return parser


def command_named(argv: list[str]) -> str:
    """The command ARGV runs: its first word that is not an option (lrfp itself has no option but --help);
    an empty string when there is none (`lrfp`, `lrfp --help`)."""
    return next((word for word in argv if not word.startswith("-")), "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=command_named(argv))
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passes_unknown", False):  # only `lrfp app` passes options on (to streamlit)
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.streamlit_args = unknown
    # what lrfp says (epoch lines, resumes) as plain lines on stdout; library warnings (a fallback to
    # PyTorch, say) as one line each on stderr
    show_messages()
    show_bars(False if getattr(args, "no_progress", False) else None)  # the one switch for progress bars
    try:
        for module in SETTINGS_MODULES:
            importlib.import_module(module)
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
