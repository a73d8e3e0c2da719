"""The answers a face can get, the count column each has in lrfp's tables, and compliance: defined once.

A new answer (an "unsure" for a face whose mouth and nose cannot be seen, say) is one line in LABELS:
its count column and colour then appear in the scene CSV, the monitor's tables and the Monitor page, and an
answer that is not a judgement (JUDGED False) is left out of compliance as "too small" is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import pandas as pd

WITH_MASK = "with_mask"
WITHOUT_MASK = "without_mask"
INCORRECT = "mask_weared_incorrect"  # the third class, as the source annotations spell it
TOO_SMALL = "too_small"
UNSURE = "unsure"  # "can't tell": the face's mouth and nose cannot be seen (lrfp.pipeline.inference)


@dataclass(frozen=True)
class Label:
    name: str  # as the classifier answers it
    column: str  # its count column
    text: str  # how it reads on screen and in tags
    color: tuple[int, int, int]  # its boxes' RGB colour on annotated images
    palette: str  # the nearest colour of Streamlit's markdown palette, for the pages' colour keys
    judged: bool  # whether it counts in compliance's denominator
    masked: bool = False  # whether it counts in compliance's numerator
    explained: str = ""  # the colour key's words where they say more than the tag's


LABELS = (
    Label(WITH_MASK, "with_mask", "with mask", (46, 160, 67), "green", judged=True, masked=True),
    Label(WITHOUT_MASK, "without_mask", "without mask", (220, 50, 47), "red", judged=True),
    # a mask worn wrongly protects no one
    Label(INCORRECT, "incorrect", "mask worn incorrectly", (245, 140, 0), "orange", judged=True),
    Label(TOO_SMALL, "too_small", "too small to judge", (150, 150, 150), "gray", judged=False),
    Label(
        UNSURE,
        "unsure",
        "can't tell",
        (90, 110, 200),
        "blue",
        judged=False,
        explained="can't tell (mouth and nose hidden)",
    ),
)
BY_NAME = {label.name: label for label in LABELS}
# the columns of a count: every face, then one per label
COUNT_COLUMNS = ("faces", *(label.column for label in LABELS))
# each label's count column as a table's heading reads it ("without mask" for without_mask)
COLUMN_TEXT = {label.column: label.text for label in LABELS}
MASKED_COLUMNS = tuple(label.column for label in LABELS if label.masked)
UNJUDGED_COLUMNS = tuple(label.column for label in LABELS if not label.judged)
# faces without a proper mask (the worst moments rank frames by them)
UNMASKED_COLUMNS = tuple(label.column for label in LABELS if label.judged and not label.masked)


def text(name: str) -> str:
    """How the answer NAME reads on a page, a chart's legend or a tag: 'with mask' for with_mask; a name
    LABELS does not know, with its underscores as spaces."""
    return BY_NAME[name].text if name in BY_NAME else name.replace("_", " ")


def judged(name: str) -> bool:
    """Whether a face labelled NAME counts in compliance (an unknown label does not)."""
    return name in BY_NAME and BY_NAME[name].judged


def count(names: Iterable[str]) -> dict[str, int]:
    """{"faces": n, <column>: n per label} for the labels NAMES of some faces."""
    names = list(names)
    return {"faces": len(names), **{label.column: sum(n == label.name for n in names) for label in LABELS}}


def unmasked(counts: Mapping[str, Any]) -> Any:
    """The faces without a proper mask in a count (UNMASKED_COLUMNS): a number, or a pandas column for a table
    (the worst moments rank frames by it)."""
    return sum(counts[c] for c in UNMASKED_COLUMNS)


@overload
def compliance(counts: Mapping[str, int]) -> float | None: ...


@overload
def compliance(counts: Mapping[str, pd.Series]) -> pd.Series: ...


def compliance(counts: Mapping[str, Any]) -> Any:
    """Masked faces over judged ones, from a count (COUNT_COLUMNS) of numbers or of pandas columns:
    None for a number with no face judged; for columns, NaN where none was."""
    masked = sum(counts[c] for c in MASKED_COLUMNS)
    judged_faces = counts["faces"] - sum(counts[c] for c in UNJUDGED_COLUMNS)
    if hasattr(judged_faces, "where"):  # pandas: a Series or a sum of one
        return (masked / judged_faces).where(judged_faces > 0)
    return masked / judged_faces if judged_faces else None
