"""Settings read from environment variables, each checked once, where it is read.

A bad value never fails an import (a command or a page imports many modules, and a traceback
helps no one): the setting keeps its default meanwhile, and check_settings(), which the command
line and the app call first (through paths.check_home), raises the problem as one line naming
the variable.
"""

from __future__ import annotations

import os

from lrfp.core.errors import ConfigError

_problems: dict[str, str] = {}  # variable -> what is wrong with its value


def count(name: str, text: str, default: int) -> int:
    """TEXT, the value of environment variable NAME, as a whole number of 1 or more; DEFAULT when it is empty;
    ConfigError naming the variable otherwise. Every count lrfp reads from its environment is read here."""
    text = text.strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{name}={text!r}: give a whole number of 1 or more (unset: {default})")
    return int(text)


def positive_int(name: str, default: int) -> int:
    """Environment variable NAME as a whole number of 1 or more (count()); DEFAULT when it is unset or empty, or
    meanwhile when it is bad, which check_settings() then reports."""
    try:
        return count(name, os.environ.get(name, ""), default)
    except ConfigError as exc:
        _problems[name] = str(exc)
        return default


def check_settings() -> None:
    """ConfigError naming every environment setting read with a bad value."""
    if _problems:
        raise ConfigError("; ".join(_problems.values()))
