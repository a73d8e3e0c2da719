"""The `lrfp` command line."""

from lrfp.cli.commands import main

__all__ = ["main"]
