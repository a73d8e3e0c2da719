"""Numbers a user types (a command-line option, an alert rule): finite and in range, or one line saying what
range was wanted. Never nan, inf or 1e400 (float's inf), which would run 0 s, overflow a time or fill a record."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from lrfp.core.errors import ConfigError


@dataclass(frozen=True)
class Number:
    """A finite number from LOW to HIGH (a whole one when WHOLE; LOW itself refused when ABOVE), read from text.
    Called, it is an argparse type: a bad value is one `lrfp: error:` line when the command line is parsed."""

    low: float
    high: float = math.inf
    whole: bool = False
    above: bool = False

    def read(self, text: str) -> float:
        """TEXT as a number in range; ConfigError saying what was wanted."""
        try:
            value = int(text) if self.whole else float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not self.holds(value):  # NaN fails both
            raise ConfigError(f"{text!r:.40} is not {self.wanted}")
        return value

    def __call__(self, text: str) -> float:
        """As an argparse type: its errors are ArgumentTypeError, whose text argparse shows."""
        try:
            return self.read(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    def holds(self, value: float) -> bool:
        return (value > self.low if self.above else value >= self.low) and value <= self.high

    @property
    def wanted(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        low = f"above {_shown(self.low)}" if self.above else f"of at least {_shown(self.low)}"
        return f"{kind} {low}" + (f" and at most {_shown(self.high)}" if math.isfinite(self.high) else "")


def _shown(bound: float) -> str:
    return str(int(bound)) if bound == int(bound) else f"{bound:g}"


def whole(low: int, high: float = math.inf) -> Number:
    return Number(low, high, whole=True)
