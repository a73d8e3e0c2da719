"""Plotly figures for the dashboard, built from the tables in results/ and the dataset stats."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from ..models import REGISTRY
from ..results import paper_table
from ..scene_bench import VIEWS


EXPERIMENTS = {1: "1 · model1", 2: "2 · model2", 3: "3 · model3", 4: "4 · transfer models"}


def configuration(df: pd.DataFrame) -> pd.Series:
    """A readable name per configuration: 'model1 batchnorm', 'model3', 'mobilenet_v2 (ImageNet)'."""
    variant = df["variant"].fillna("-").astype(str).replace({"-": "", "scratch": "(from scratch)", "imagenet": "(ImageNet)"})
    return (df["model"] + " " + variant).str.strip()


@st.cache_data(max_entries=4, show_spinner=False)  # 0.5 s to build, the same for every visitor of a results/
def ours_vs_paper(summary: pd.DataFrame) -> go.Figure:
    """Small multiples, one panel per experiment: test accuracy (%) by epochs, ours solid with its
    95 % interval, the paper's dashed, one colour per configuration."""
    # "ours, 64 px" and "ours, 224 px" are drawn apart when a configuration ran at both sizes
    ours = summary.assign(source="ours, " + summary["input_size"].astype(int).astype(str) + " px",
                          accuracy=100 * summary["accuracy"],
                          plus=100 * (summary["accuracy_high"] - summary["accuracy"]),
                          minus=100 * (summary["accuracy"] - summary["accuracy_low"]))  # fmt: skip
    paper = summary.dropna(subset=["paper_accuracy"]).assign(source="paper", plus=0.0, minus=0.0,
                                                               accuracy=lambda d: 100 * d["paper_accuracy"])  # fmt: skip
    both = pd.concat([ours, paper], ignore_index=True)
    # one colour per normalization in experiments 1-2 and per network in 3-4, the same in every panel
    with_norms = [name for name, model in REGISTRY.items() if model.norms]
    both["curve"] = both["variant"].where(both["model"].isin(with_norms), both["model"])
    both["experiment"] = both["experiment"].map(EXPERIMENTS)
    fig = px.line(both, x="epochs", y="accuracy", color="curve", line_dash="source", markers=True,
                  facet_col="experiment", error_y="plus", error_y_minus="minus",
                  category_orders={"experiment": list(EXPERIMENTS.values()),
                                   "source": sorted(ours["source"].unique()) + ["paper"]},
                  labels={"accuracy": "test accuracy (%)"}, height=420)  # fmt: skip
    fig.for_each_annotation(lambda a: a.update(text="Experiment " + a.text.split("=", 1)[-1]))
    fig.update_xaxes(tickvals=[30, 50, 80], title="epochs")
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, title=None))
    fig.for_each_trace(lambda t: t.update(name=t.name.replace(", ", " · ")))
    return fig


def best_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Each configuration's best milestone on test (an optimistic pick, said where it is shown)."""
    best = summary.loc[summary.groupby(configuration(summary))["accuracy"].idxmax()]
    return best.assign(configuration=configuration(best)).sort_values("accuracy")


def ranking(summary: pd.DataFrame, paper_best: float | None = None) -> go.Figure:
    """Configurations by their best test accuracy, with 95 % intervals; the paper's best as a line."""
    best = best_rows(summary)
    fig = go.Figure(go.Scatter(
        x=100 * best["accuracy"], y=best["configuration"] + " @" + best["epochs"].astype(str), mode="markers",
        error_x=dict(type="data", symmetric=False, array=100 * (best["accuracy_high"] - best["accuracy"]),
                     arrayminus=100 * (best["accuracy"] - best["accuracy_low"])),
        marker=dict(size=9), hovertemplate="%{y}: %{x:.2f} %<extra></extra>"))  # fmt: skip
    if paper_best is not None:
        fig.add_vline(x=100 * paper_best, line_dash="dash", annotation_text=f"paper's best {100 * paper_best:.2f} %")
    fig.update_layout(xaxis_title="test accuracy (%) with 95 % interval", height=60 + 32 * len(best),
                      margin=dict(l=10, r=10, t=30, b=10))  # fmt: skip
    return fig


def face_size_heatmap(summary: pd.DataFrame) -> go.Figure:
    """Accuracy (%) by face size for each configuration at its best milestone."""
    best = best_rows(summary)
    bins = [c for c in summary.columns if c.startswith("accuracy_face_")]
    fig = px.imshow(100 * best[bins].to_numpy(dtype=float), x=[c.removeprefix("accuracy_face_") + " px" for c in bins],
                    y=best["configuration"] + " @" + best["epochs"].astype(str), text_auto=".1f", aspect="auto",
                    color_continuous_scale="RdYlGn", zmin=85, zmax=100,
                    labels={"x": "face size (shorter side in the source photo)", "color": "accuracy (%)"})  # fmt: skip
    fig.update_layout(height=80 + 30 * len(best), margin=dict(l=10, r=10, t=30, b=10))
    return fig


TABLE_COLUMNS = {"experiment": "Experiment", "configuration": "Configuration",
                 "input_size": "Input (px)", "epochs": "Epochs", "accuracy": "Accuracy (%)",
                 "interval": "95 % interval", "avg_loss": "Loss",
                 "paper_accuracy": "Paper acc. (%)", "paper_avg_loss": "Paper loss", "deviation": "Deviation"}  # fmt: skip


def results_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as people read it: words for column names, percentages, the interval as text."""
    df = summary.assign(configuration=configuration(summary),
                        interval=[f"{100 * lo:.1f}–{100 * hi:.1f}" for lo, hi in zip(summary["accuracy_low"], summary["accuracy_high"])])  # fmt: skip
    for col in ("accuracy", "paper_accuracy"):  # balanced accuracy equals accuracy on the balanced test split
        df[col] = 100 * df[col]
    # the deviations in a few words (the README gives them in full)
    df["deviation"] = (df["deviation"].fillna("").str.replace(r"input (\d+) px instead of 224 px \(CPU budget\)", r"\1 px, not 224",
                                                              regex=True)
                       .str.replace("trained from scratch: ImageNet weights unavailable offline", "no ImageNet weights"))  # fmt: skip
    return df[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)


def training_curves(record: dict) -> go.Figure:
    """Loss and accuracy by epoch, train and validation; markers so that a one-epoch run shows points."""
    hist = pd.DataFrame(record["history"])
    long = hist.melt(id_vars="epoch", value_vars=["train_loss", "val_loss", "train_accuracy", "val_accuracy"])
    long["kind"] = long["variable"].str.split("_").str[1]
    long["split"] = long["variable"].str.split("_").str[0].replace({"val": "validation"})
    fig = px.line(long, x="epoch", y="value", color="split", facet_col="kind", markers=True, height=320,
                  category_orders={"kind": ["loss", "accuracy"]})  # fmt: skip
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    fig.update_yaxes(matches=None, showticklabels=True, title=None)
    return fig


def confusion_heatmap(matrix: list[list[int]], classes: list[str], title: str = "") -> go.Figure:
    fig = px.imshow(matrix, x=classes, y=classes, text_auto=True, color_continuous_scale="Blues",
                    labels={"x": "predicted", "y": "true", "color": "faces"}, title=title)  # fmt: skip
    return fig


def class_balance(stats: dict) -> go.Figure:
    rows = [{"split": s, "class": c, "faces": n} for s, counts in stats["counts"].items() for c, n in counts.items()]
    return px.bar(pd.DataFrame(rows), x="split", y="faces", color="class", barmode="group", text_auto=True)


def face_size_histogram(stats: dict) -> go.Figure:
    hist = stats["face_size_histogram"]
    rows = [{"face size (px)": b, "class": c, "faces": n} for c, counts in hist["counts"].items()
            for b, n in zip(hist["bins"], counts)]  # fmt: skip
    return px.bar(pd.DataFrame(rows), x="face size (px)", y="faces", color="class", barmode="group")


def paper_headline() -> dict:
    paper = paper_table()
    best = paper.loc[paper["accuracy"].idxmax()]
    return {"model": best["model"], "epochs": int(best["epochs"]), "accuracy": float(best["accuracy"]),
            "avg_loss": float(best["avg_loss"])}  # fmt: skip


def resolution_curves(reports: list[dict]) -> go.Figure:
    """Accuracy against face size, one curve per model; native accuracy as a dotted line each."""
    rows = [{"model": r["model"], "face size (px)": row["face_px"], "accuracy": row["accuracy"],
             "balanced accuracy": row["balanced_accuracy"]}
            for r in reports for row in r["rows"] if row["face_px"] != "native"]  # fmt: skip
    fig = px.line(pd.DataFrame(rows), x="face size (px)", y="accuracy", color="model", markers=True,
                  hover_data=["balanced accuracy"])  # fmt: skip
    for r in reports:
        native = next(row["accuracy"] for row in r["rows"] if row["face_px"] == "native")
        fig.add_hline(y=native, line_dash="dot", opacity=0.4, annotation_text=f"{r['model']} native")
    fig.update_xaxes(type="log", tickvals=[8, 12, 16, 24, 32, 48, 64])
    return fig


def scene_table(reports: list[dict]) -> pd.DataFrame:
    """One row per model of `lrfp scene-bench`: faces found, found faces right, both, by the numbers."""
    pct = lambda x: None if x is None else 100 * x  # noqa: E731
    rows = [{"Model": r["model"], "Photos": r["photos"], "Labelled faces": r["labelled_faces"],
             "Found (%)": pct(r["recall"]),
             **{f"Found, {k} px (%)": pct(v["recall"]) for k, v in r["recall_by_size"].items()},
             "Found faces right (%)": pct(r["accuracy"]), "Balanced (%)": pct(r["balanced_accuracy"]),
             "Found and right (%)": pct(r["end_to_end"]),
             "95 % interval": "{:.1f}–{:.1f}".format(*(100 * x for x in r["end_to_end_interval"])),
             "Unmatched / photo": r["unmatched_per_photo"], "ms / photo": r["ms_per_photo_median"]}
            for r in reports]  # fmt: skip
    return pd.DataFrame(rows).sort_values("Found and right (%)", ascending=False)


def views_table(reports: list[dict]) -> pd.DataFrame:
    """One row per detector setting and view of the same labelled photos: found by face size, found and
    right, boxes on non-faces. Photos of the train split chose the setting; test rows are reported once."""
    def setting(r):
        d = r.get("detector", {})
        if d.get("looks") == "one":
            return f"one look {d['scale']:g}x" + (f", at most {d['max_side']} px (earlier default)" if d.get("max_side") else "")
        return "adaptive" + (f" (enlarged look asks {d['enlarged_min_score']:g})" if d.get("enlarged_min_score") != d.get("min_score") else "")

    pct = lambda x: None if x is None else 100 * x  # noqa: E731
    rows = [{"Photos": r["photos_from"].split(" split")[0], "View": r.get("view", "1x"), "Detector": setting(r),
             "Found (%)": pct(r["recall"]),
             **{f"{k} px (%)": pct(v["recall"]) for k, v in r["recall_by_size"].items()},
             "Found and right (%)": pct(r["end_to_end"]),
             "95 % interval": "{:.1f}–{:.1f}".format(*(100 * x for x in r["end_to_end_interval"])),
             "Unmatched / photo": r["unmatched_per_photo"], "ms / photo": r["ms_per_photo_median"]}
            for r in reports]  # fmt: skip
    order = {v: i for i, v in enumerate(VIEWS)}
    table = pd.DataFrame(rows)
    return table.sort_values(["Photos", "View", "Detector"], key=lambda c: c.map(order) if c.name == "View" else c)


def _mean_sd(v: dict) -> str:
    return f"{100 * v['mean']:.2f} ± {100 * v['sd']:.2f}"


def cv_table(reports: list[dict]) -> pd.DataFrame:
    """One row per configuration of `lrfp cv`: balanced accuracy (%) mean ± sd over the folds."""
    rows = [{"Configuration": r["name"], "Model": r["config"]["model"],
             "Classes": 3 if r["config"].get("include_incorrect") else 2, "Input (px)": r["config"]["input_size"],
             "Epochs": r["config"]["epochs"], "Folds": len(r["folds"]),
             "Score": _mean_sd(r["balanced_accuracy"]["score"]),
             "Labelled crops": _mean_sd(r["balanced_accuracy"]["label"]),
             "At 16 px": _mean_sd(r["balanced_accuracy"]["label_16px"]),
             "Detector crops": _mean_sd(r["balanced_accuracy"]["detector"]),
             "_score": r["balanced_accuracy"]["score"]["mean"]} for r in reports]  # fmt: skip
    return pd.DataFrame(rows).sort_values(["Classes", "_score"], ascending=[True, False]).drop(columns="_score")


def faces_table(reports: list[dict]) -> pd.DataFrame:
    """One row per model of `lrfp faces-eval`: balanced accuracy (%) with its 95 % interval, per kind of crop."""
    def cell(v: dict) -> str:
        lo, hi = v["balanced_accuracy_interval"]
        return f"{100 * v['balanced_accuracy']:.1f} ({100 * lo:.1f}–{100 * hi:.1f})"

    rows = [{"Model": r["model"], "Faces": r["views"]["label"]["n"], "Labelled crops": cell(r["views"]["label"]),
             "At 16 px": cell(r["views"]["label_16px"]), "Detector crops": cell(r["views"]["detector"]),
             "_sort": r["views"]["detector"]["balanced_accuracy"]} for r in reports]  # fmt: skip
    return pd.DataFrame(rows).sort_values("_sort", ascending=False).drop(columns="_sort")
