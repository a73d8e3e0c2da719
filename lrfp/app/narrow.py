"""Tables a phone can read: the table itself on a wide screen, its rows stacked on a narrow one.

A table of five or more columns is wider than a 390 px phone: st.dataframe scrolls it sideways (the rest of
each row out of view) and st.table squeezes its cells until "0.9862 ± 0.0059" breaks over three lines.
A page draws both: the table in a container a narrow screen hides, and each row as a short paragraph (what
the row is, in bold, then each column's name and value, a value never broken inside) in one a wide screen
hides. CSS media queries choose in the browser: Streamlit does not tell the server a screen's width.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime

import pandas as pd
import streamlit as st

from lrfp.app.plain import plain

NARROW_PX = 640  # Streamlit's own breakpoint: below it, st.columns stack one under another
WIDE, NARROW = "wide_", "narrow_"  # the containers' key prefixes; Streamlit gives each the class st-key-<key>
STYLE = (
    "<style>"
    f"@media (max-width: {NARROW_PX - 0.02}px) {{ [class*='st-key-{WIDE}'] {{ display: none !important; }} }}"
    f"@media (min-width: {NARROW_PX}px) {{ [class*='st-key-{NARROW}'] {{ display: none !important; }} }}"
    "</style>"
)
FOLDED_ROWS = 8  # a longer stack opens folded: a phone scrolls past it to the next section
NBSP = "\u00a0"
JOINER = "\u2060"  # a word joiner: a browser breaks a line after a dash ("0.97–" / "0.99)"), not beside one of these


def unbroken(text: str) -> str:
    """Markdown TEXT (escaped by plain) that a line never breaks inside: spaces no-break, dashes (a hyphen
    escaped as \\-) joined to their neighbours."""
    for dash in ("–", "\\-"):
        text = text.replace(dash, f"{JOINER}{dash}{JOINER}")
    return text.replace(" ", NBSP)


def use_style() -> None:
    """The media queries, once a page run (the frame calls it before the page)."""
    st.html(STYLE)


def cell(value: object, fmt: str | None = None) -> str:
    """A table's value as text: FMT (printf style, '%.2f') for a number, a dash for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "–"
    if isinstance(value, datetime):  # pandas' Timestamp too: whole seconds, as the wide table shows them
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if fmt and isinstance(value, int | float):
        return fmt % value
    return str(value)


def stacked(table: pd.DataFrame, formats: Mapping[str, str] | None = None) -> list[str]:
    """Each row of TABLE as markdown: its first column in bold, then 'column: value' for each other column,
    separated by ' · ' (an empty cell left out). Names and values are escaped (lrfp.app.plain); a line breaks
    only between two of them or between a name and its value (or inside one wider than the screen)."""
    formats = formats or {}
    first, *others = table.columns
    rows = []
    for _, row in table.iterrows():
        values = {column: cell(row[column], formats.get(column)) for column in others}
        # a name and its value may go on two lines (together wider than a phone: "balanced accuracy (95 %
        # interval): 0.9880 (0.9746–0.9969)" broke inside its numbers), each of them never
        pairs = (f"{unbroken(plain(column))}: {unbroken(plain(value))}" for column, value in values.items() if value)
        # a line breaks after a separator, never before one: no line starts with "·"
        rows.append(f"**{plain(cell(row[first], formats.get(first)))}**  \n" + f"{NBSP}· ".join(pairs))
    return rows


def table(shown: pd.DataFrame, key: str, wide: Callable[[], object], formats: Mapping[str, str] | None = None) -> None:
    """A table drawn by WIDE on a wide screen, and SHOWN (the same rows, or those rows with fewer, longer
    columns) as stacked rows on a narrow one (KEY: unique on the page)."""
    with st.container(key=f"{WIDE}{key}"):
        wide()
    with st.container(key=f"{NARROW}{key}"):
        rows = stacked(shown, formats)
        if len(rows) > FOLDED_ROWS:
            with st.expander(f"The {len(rows)} rows"):
                st.markdown("\n\n".join(rows))
        else:
            st.markdown("\n\n".join(rows))
