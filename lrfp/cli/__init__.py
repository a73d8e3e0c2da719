"""The `lrfp` command line."""

from lrfp.cli.main import main

__all__ = ["main"]
