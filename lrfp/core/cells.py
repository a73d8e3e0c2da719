"""Cells of the CSV files lrfp writes for people: text a spreadsheet would run as a formula is escaped.

Excel, LibreOffice and Google Sheets read a cell that begins with = + - or @ as a formula (and some
skip a leading tab or carriage return first), so a camera name such as `=HYPERLINK(...)` from a
mapping file would run when the CSV is opened. As the spreadsheet guidance (OWASP, "CSV Injection")
says, such a cell gets a leading apostrophe, which spreadsheets show as text. Numbers are left as
they are: -3 is a number, not a formula.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: T) -> T | str:
    """VALUE, with a leading apostrophe when it is text a spreadsheet would take for a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of FRAME whose text columns hold safe_cell's values (numbers and times unchanged)."""
    import pandas as pd  # here: safe_cell, for one name on a line, needs no pandas

    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    return frame.assign(**{c: frame[c].map(safe_cell) for c in text})
