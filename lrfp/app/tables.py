"""The Results page's tables (pandas, with Streamlit's column settings): the experiments, the scene and view
benchmarks, cross-validation and the production model's faces. The figures are in lrfp.app.charts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lrfp.app.charts import configuration
from lrfp.evaluation.scene_bench import VIEWS
from lrfp.pipeline.detect import DEFAULT_DETECTOR, PYRAMID_STEP
from lrfp.pipeline.detectors import DETECTORS

TABLE_COLUMNS = {
    "experiment": ("Exp.", "The paper's experiment (1-4)", "%d"),
    "configuration": ("Configuration", "Network and normalization or weights", None),
    "input_size": ("Input px", "Side of the square image the network sees (px)", "%d"),
    "epochs": ("Epochs", "Training epochs (the paper's milestones: 30, 50, 80)", "%d"),
    "accuracy": ("Acc. %", "Our test accuracy (%) on the 208 test faces", "%.2f"),
    "interval": ("95 % CI", "95 % Wilson interval of our test accuracy (%)", None),
    "avg_loss": ("Loss", "Our mean test loss", "%.4f"),
    "paper_accuracy": ("Paper %", "The paper's test accuracy (%) on its own test set", "%.2f"),
    "paper_avg_loss": ("Paper loss", "The paper's mean test loss", "%.4f"),
    "deviation": (
        "Deviation",
        "How our run differs from the paper's setup (docs/reproduction.md: what differs from the paper)",
        None,
    ),
}


def results_columns() -> dict:
    """Streamlit column settings for `results_table`: formats and the full meaning of each short header."""
    return {
        header: (
            st.column_config.NumberColumn(help=help, format=fmt) if fmt else st.column_config.TextColumn(help=help)
        )
        for header, help, fmt in TABLE_COLUMNS.values()
    }


def results_formats() -> dict[str, str]:
    """The number format of each of `results_table`'s headers that has one (its stacked rows on a phone)."""
    return {header: fmt for header, _, fmt in TABLE_COLUMNS.values() if fmt}


def results_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as people read it: words for column names, percentages, the interval as text."""
    df = summary.assign(
        configuration=configuration(summary),
        interval=[
            f"{100 * lo:.1f}–{100 * hi:.1f}" for lo, hi in zip(summary["accuracy_low"], summary["accuracy_high"])
        ],
    )
    for col in ("accuracy", "paper_accuracy"):  # balanced accuracy equals accuracy on the balanced test split
        df[col] = 100 * df[col]
    # the deviations in a few words (docs/reproduction.md gives them in full)
    df["deviation"] = (
        df["deviation"]
        .fillna("")
        .str.replace(r"input (\d+) px instead of 224 px \(CPU budget\)", r"\1 px, not 224", regex=True)
        .str.replace("trained from scratch: ImageNet weights unavailable offline", "no ImageNet weights")
    )
    return df[list(TABLE_COLUMNS)].rename(columns={k: v[0] for k, v in TABLE_COLUMNS.items()})


def stacked_results(table: pd.DataFrame) -> pd.DataFrame:
    """`results_table` for stacked rows on a phone: what each row is (experiment, configuration, input size,
    epochs) in one first column, the figures after it."""
    name = [
        f"Exp. {exp}: {conf}, {size} px, {epochs} epochs"
        for exp, conf, size, epochs in zip(table["Exp."], table["Configuration"], table["Input px"], table["Epochs"])
    ]
    return table.drop(columns=["Exp.", "Configuration", "Input px", "Epochs"]).assign(Run=name)[
        ["Run", "Acc. %", "95 % CI", "Loss", "Paper %", "Paper loss", "Deviation"]
    ]


def scene_table(reports: list[dict]) -> pd.DataFrame:
    """One row per model of `lrfp scene-bench`: faces found, found faces right, both, by the numbers."""
    pct = lambda x: None if x is None else 100 * x  # noqa: E731
    # what tells the models apart (the detector is the same for all) before the cost, which a wide screen shows too
    rows = [
        {
            "Model": r["model"],
            **_key_figures(r),
            "Found faces right (%)": pct(r["accuracy"]),
            "Balanced (%)": pct(r["balanced_accuracy"]),
            **_cost(r),
            **{f"Found, {k} px (%)": pct(v["recall"]) for k, v in r["recall_by_size"].items()},
            "Photos": r["photos"],
            "Labelled faces": r["labelled_faces"],
        }
        for r in reports
    ]
    return pd.DataFrame(rows).sort_values("Found and right (%)", ascending=False)


def _key_figures(r: dict) -> dict:
    """What a scene-bench row is read for, in the order the tables show it first (a phone shows
    two or three columns before it scrolls): found, found and right, and that figure's interval."""
    return {
        "Found (%)": 100 * r["recall"],
        "Found and right (%)": 100 * r["end_to_end"],
        "95 % interval": "{:.1f}–{:.1f}".format(*(100 * x for x in r["end_to_end_interval"])),
    }


def _cost(r: dict) -> dict:
    """What a scene-bench row costs: boxes on no labelled face, and time."""
    return {"Unmatched / photo": r["unmatched_per_photo"], "ms / photo": r["ms_per_photo_median"]}


def views_table(reports: list[dict]) -> pd.DataFrame:
    """One row per detector setting and view of the same labelled photos: found by face size, found and
    right, boxes on non-faces. Photos of the train split chose the setting; test rows are reported once."""

    def setting(r):
        d = r.get("detector", {})
        name = d.get("detector", "retinaface")  # records made before there was a choice used RetinaFace
        if d.get("looks") == "one":
            return f"{name}, one look {d['scale']:g}x" + (
                f" ≤ {d['max_side']} px (first default)" if d.get("max_side") else ""
            )
        if d.get("looks") == "pyramid":
            # a record made before the detector's score changed is not today's default: it says its score
            kind = DETECTORS.get(name)
            score = d.get("min_score")
            other_score = kind is not None and score is not None and score != kind.min_score
            default = name == DEFAULT_DETECTOR and d.get("step") == PYRAMID_STEP and not other_score
            return (
                f"{name} pyramid, steps of {d.get('step', 2)}"
                + (f", keeping {score:g}" if other_score else "")
                + (" (default)" if default else "")
            )
        return (
            f"{name}, 1x + {d.get('enlarge', 3):g}x"
            + (f" asking {d['enlarged_min_score']:g}" if d.get("enlarged_min_score") != d.get("min_score") else "")
            + (f" (commit {d['commit']})" if d.get("commit") else "")
        )

    pct = lambda x: None if x is None else 100 * x  # noqa: E731

    def by_size(r):  # in the frame's pixels where recorded (the size the detector saw), else the photo's own
        bins = r.get("recall_by_frame_size") or r["recall_by_size"]
        return {f"Found, {k} px (%)": pct(v["recall"]) for k, v in bins.items() if v["labelled"]}

    rows = [
        {
            "Photos": r["photos_from"].split(" split")[0].split(" of the ")[-1],
            "View": r.get("view", "1x"),
            "Detector": setting(r),
            # records of one setting made at different commits (before and after a change) read alike: the
            # record's name tells them apart, beside the setting so that a screen's width shows it
            "Record": r.get("name", ""),
            **_key_figures(r),
            **_cost(r),
            **by_size(r),
        }
        for r in reports
    ]
    order = {v: i for i, v in enumerate(VIEWS)}
    table = pd.DataFrame(rows)
    return table.sort_values(["Photos", "View", "Detector"], key=lambda c: c.map(order) if c.name == "View" else c)


def _mean_sd(v: dict) -> str:
    return f"{100 * v['mean']:.2f} ± {100 * v['sd']:.2f}"


def cv_table(reports: list[dict]) -> pd.DataFrame:
    """One row per configuration of `lrfp cv`: balanced accuracy (%) mean ± sd over the folds."""
    # first what tells the configurations apart (model, input size, classes: the run ids differ only at their
    # end, which a pinned column cuts), then the score and its parts; the run's own name last
    rows = [
        {
            "Configuration": "{} {}px {}-class{}".format(
                r["config"]["model"],
                r["config"]["input_size"],
                3 if r["config"].get("include_incorrect") else 2,
                " √w" if r["config"].get("class_weights") == "sqrt" else "",  # classes weighed by 1/sqrt(share)
            ),
            "Score": _mean_sd(r["balanced_accuracy"]["score"]),
            "Labelled crops": _mean_sd(r["balanced_accuracy"]["label"]),
            "At 16 px": _mean_sd(r["balanced_accuracy"]["label_16px"]),
            "Detector crops": _mean_sd(r["balanced_accuracy"]["detector"]),
            "Input (px)": r["config"]["input_size"],
            "Classes": 3 if r["config"].get("include_incorrect") else 2,
            "Model": r["config"]["model"],
            "Epochs": r["config"]["epochs"],
            "Folds": len(r["folds"]),
            "Run": r["name"],
            "_score": r["balanced_accuracy"]["score"]["mean"],
        }
        for r in reports
    ]
    return pd.DataFrame(rows).sort_values(["Classes", "_score"], ascending=[True, False]).drop(columns="_score")


def faces_table(reports: list[dict]) -> pd.DataFrame:
    """One row per model of `lrfp faces-eval`: balanced accuracy (%) with its 95 % interval, per kind of crop."""

    def cell(v: dict) -> str:
        lo, hi = v["balanced_accuracy_interval"]
        return f"{100 * v['balanced_accuracy']:.1f} ({100 * lo:.1f}–{100 * hi:.1f})"

    rows = [
        {
            "Model": r["model"],
            "Faces": r["views"]["label"]["n"],
            "Labelled crops": cell(r["views"]["label"]),
            "At 16 px": cell(r["views"]["label_16px"]),
            "Detector crops": cell(r["views"]["detector"]),
            "_sort": r["views"]["detector"]["balanced_accuracy"],
        }
        for r in reports
    ]
    return pd.DataFrame(rows).sort_values("_sort", ascending=False).drop(columns="_sort")
