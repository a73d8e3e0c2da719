"""The Overview's figures: the default model's own scores, and its model card laid out for any screen."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd

from lrfp.core import paths
from lrfp.core.metrics import wilson_interval
from lrfp.core.records import read_json
from lrfp.data.build import STATS_NAME
from lrfp.publishing.cards import classes_in_words, settings_in_words


def default_model_figures(name: str, index: dict, results_dir: Path | None = None) -> dict:
    """The scores of weights/NAME that the headline shows, each from the record that measured it.

    cv: balanced accuracy over the cross-validation folds (mean, sd, folds), or None for a model
    chosen without `lrfp cv`; test: accuracy on the test faces with its 95 % interval and n, from
    `lrfp faces-eval` (labelled crops, bootstrap interval) for a production model, else from its run
    record (Wilson interval); None where the record is not in results/.
    """
    results_dir = Path(results_dir or paths.RESULTS_DIR)
    info = index.get("models", {}).get(name, {})
    figures: dict = {"cv": None, "test": None}
    cv_path = results_dir / info["cv_record"] if info.get("cv_record") else None
    if cv_path and cv_path.is_file():
        cv = read_json(cv_path)
        score = cv["balanced_accuracy"]["score"]
        figures["cv"] = {"mean": score["mean"], "sd": score["sd"], "folds": len(cv.get("folds", [])) or None}
    # a production model's test figures are `lrfp faces-eval`'s (as its card gives them); a reproduction
    # model's are its run's, on the test split it was built with
    faces = results_dir / "production" / "faces" / f"{name}.json"
    if info.get("production") and faces.is_file():
        label = read_json(faces)["views"]["label"]
        low, high = label["accuracy_interval"]
        figures["test"] = {
            "accuracy": label["accuracy"],
            "low": low,
            "high": high,
            "n": label["n"],
            "interval": "bootstrap",
        }
    elif info.get("run_id"):
        run = next(
            (
                p
                for p in (results_dir / "production" / "runs", results_dir / "runs", results_dir / "extra")
                if (p / f"{info['run_id']}.json").is_file()
            ),
            None,
        )
        if run is not None:
            milestones = read_json(run / f"{info['run_id']}.json")["milestones"]
            test = milestones.get(str(info.get("epoch")), next(iter(milestones.values())))["test"]
            low, high = wilson_interval(test["accuracy"] * test["n"], test["n"])
            figures["test"] = {
                "accuracy": test["accuracy"],
                "low": low,
                "high": high,
                "n": test["n"],
                "interval": "Wilson",
            }
    return figures


# a Python dict as a card's writer printed it before the cards said it in words (a card written then may
# still be in a weights folder): "{'num_classes': 2, 'pretrained': 'imagenet'}"
PRINTED_DICT = re.compile(r"\{'[^{}]*\}")


def _in_words(printed: re.Match) -> str:
    """A printed dict as a reader writes it, "(num classes 2, pretrained imagenet)"; left as it is unless a
    dict of plain values."""
    try:
        found = ast.literal_eval(printed.group())
    except (ValueError, SyntaxError):
        return printed.group()
    if not isinstance(found, dict):
        return printed.group()
    return settings_in_words(found)


# the classes as a card's writer listed them before: "classes with_mask, without_mask", "order with_mask, ..."
CLASS_LIST = re.compile(r"\b(classes|order) ([a-z_]+(?:, [a-z_]+)*)")


def _class_words(listed: re.Match) -> str:
    return f"{listed.group(1)} " + classes_in_words(listed.group(2).split(", "))


def card_blocks(markdown: str) -> list[str | pd.DataFrame]:
    """A model card as markdown text and tables, in order, for the page to show the tables with st.table.

    A markdown table is as wide as its longest cells and is cut off on a phone (the page stacks its rows
    there: lrfp.app.narrow). Headings drop two levels: the card sits in an expander under the page's own. A
    card written before the cards said their settings and classes in words reads as one written now.
    """
    blocks: list[str | pd.DataFrame] = []
    text: list[str] = []
    table: list[list[str]] = []

    def cells(line: str) -> list[str]:
        return [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]

    for line in CLASS_LIST.sub(_class_words, PRINTED_DICT.sub(_in_words, markdown)).splitlines() + [""]:
        if line.lstrip().startswith("|"):
            if text:
                blocks.append("\n".join(text))
                text = []
            if not set(line.strip()) <= set("|-: "):  # not the header's underline
                table.append(cells(line))
            continue
        if table:
            blocks.append(pd.DataFrame(table[1:], columns=table[0]))
            table = []
        text.append("##" + line if line.startswith("#") else line)
    if "\n".join(text).strip():
        blocks.append("\n".join(text))
    return [b for b in blocks if not isinstance(b, str) or b.strip()]


def split_note(test_faces: int, data_dir: Path | None = None) -> str:
    """How the headline's TEST_FACES stand to the test split the Dataset and Results pages count: those are the
    same photos' faces balanced between the classes (the build's stats.json); '' where the build says nothing."""
    try:
        counts = read_json(Path(data_dir or paths.DATA_DIR) / STATS_NAME)["counts"]["test"]
        balanced = sum(int(n) for n in counts.values())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ""
    if balanced >= test_faces:
        return ""
    return f" (every face; the test split of the Dataset and Results pages keeps {balanced} of them, as many of each class)"
