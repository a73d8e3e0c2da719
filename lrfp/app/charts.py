"""Plotly figures for the dashboard, built from the tables in results/ and the dataset stats."""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from lrfp.core import labels
from lrfp.models.registry import REGISTRY
from lrfp.reporting.results import paper_table

EXPERIMENTS = {1: "1 · model1", 2: "2 · model2", 3: "3 · model3", 4: "4 · transfer models"}


def configuration(df: pd.DataFrame) -> pd.Series:
    """A readable name per configuration: 'model1 batchnorm', 'model3', 'mobilenet_v2 (ImageNet)'."""
    variant = (
        df["variant"].fillna("-").astype(str).replace({"-": "", "scratch": "(from scratch)", "imagenet": "(ImageNet)"})
    )
    return (df["model"] + " " + variant).str.strip()


# a legend beside a plot takes half a phone's width: every chart keeps its legend under the plot
LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0, title=None)
PALETTE = px.colors.qualitative.Plotly
# accuracy points between the lowest point of the experiment charts and their axis's bottom: a point on the
# bottom edge is cut in half (the paper's resnet18, 80.00 % at 50 epochs, on a range from 80)
ROOM = 1.0


def legend_below(fig: go.Figure, y: float = -0.3) -> go.Figure:
    return fig.update_layout(legend=LEGEND_BELOW | {"y": y})


def titled(fig: go.Figure, text: str) -> go.Figure:
    """A title under the strip of tool buttons: a phone shows the buttons at all times, over the title."""
    return fig.update_layout(
        title=dict(text=text, x=0, xanchor="left", yref="container", y=1, yanchor="top", pad=dict(t=32)), margin_t=72
    )


def _curves(summary: pd.DataFrame) -> pd.Series:
    """What a colour stands for: the normalization in experiments 1-2, the network in 3-4."""
    with_norms = [name for name, model in REGISTRY.items() if model.norms]
    return summary["variant"].where(summary["model"].isin(with_norms), summary["model"])


@st.cache_data(max_entries=4, show_spinner=False)  # the same for every visitor of a results/
def ours_vs_paper(summary: pd.DataFrame) -> list[go.Figure]:
    """One figure per experiment (a phone shows them one under another): test accuracy (%) by epochs.

    Colour is the configuration, one legend entry each, the same in every figure. Line style is the
    source, keyed in grey under the legend: ours at the paper's input size solid, ours at the smaller
    size the CPU allowed dotted (both with their 95 % interval), the paper's dashed with open markers.
    """
    ours = summary.assign(
        curve=_curves(summary),
        y=100 * summary["accuracy"],
        plus=100 * (summary["accuracy_high"] - summary["accuracy"]),
        minus=100 * (summary["accuracy"] - summary["accuracy_low"]),
    )
    # the paper has one figure per configuration and epoch, whatever size we ran it at
    paper = ours.dropna(subset=["paper_accuracy"]).drop_duplicates(["experiment", "curve", "epochs"])
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(sorted(ours["curve"].unique()))}
    low = min(ours["accuracy_low"].min(), paper["paper_accuracy"].min(skipna=True) if len(paper) else 1.0)
    # the same scale in every figure, so that they compare, with ROOM under the lowest point
    y_range = [5 * math.floor((100 * low - ROOM) / 5), 100.5]
    figures = []
    for experiment, title in EXPERIMENTS.items():
        rows = ours[ours["experiment"] == experiment]
        if rows.empty:
            continue
        fig = go.Figure()
        sizes: dict[str, set[int]] = {"solid": set(), "dot": set()}  # input sizes drawn in each line style
        for curve, group in rows.groupby("curve", sort=True):
            full = group["input_size"].max()  # where a configuration ran at two sizes, the larger is the paper's
            traces = [
                (f"ours at {size} px", "solid" if size == full else "dot", g)
                for size, g in group.groupby("input_size", sort=False)
            ]
            for size in group["input_size"].unique():
                sizes["solid" if size == full else "dot"].add(int(size))
            p = paper[(paper["experiment"] == experiment) & (paper["curve"] == curve)]
            if len(p):
                traces.append(("paper", "dash", p.assign(y=100 * p["paper_accuracy"])))
            for i, (source, dash, g) in enumerate(traces):
                g = g.sort_values("epochs")
                fig.add_trace(
                    go.Scatter(
                        x=g["epochs"],
                        y=g["y"],
                        name=curve,
                        legendgroup=curve,
                        showlegend=i == 0,
                        mode="lines+markers",
                        line=dict(color=colours[curve], dash=dash),
                        marker=dict(symbol="circle-open" if source == "paper" else "circle", size=7),
                        error_y=None
                        if source == "paper"
                        else dict(array=g["plus"], arrayminus=g["minus"], thickness=1),
                        hovertemplate=f"{curve}, {source}<br>%{{x}} epochs: %{{y:.2f}} %<extra></extra>",
                    )
                )
        # the key to the line styles: grey entries that draw nothing
        key = [
            (f"ours at {' / '.join(map(str, sorted(sizes[dash], reverse=True)))} px", dash, "circle")
            for dash in ("solid", "dot")
            if sizes[dash]
        ] + [("paper", "dash", "circle-open")] * (len(paper) > 0)
        for name, dash, symbol in key:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    name=name,
                    mode="lines+markers",
                    hoverinfo="skip",
                    line=dict(color="grey", dash=dash),
                    marker=dict(symbol=symbol),
                )
            )
        fig.update_layout(height=420, margin=dict(l=10, r=10, b=10), legend=LEGEND_BELOW | {"y": -0.22})
        titled(fig, f"Experiment {title}")
        fig.update_xaxes(tickvals=[30, 50, 80], title="epochs")
        fig.update_yaxes(range=y_range, title="test accuracy (%)")
        figures.append(fig)
    return figures


def best_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Each configuration's best milestone on test (an optimistic pick, said where it is shown)."""
    best = summary.loc[summary.groupby(configuration(summary))["accuracy"].idxmax()]
    return best.assign(configuration=configuration(best)).sort_values("accuracy")


def ranking(summary: pd.DataFrame, paper_best: float | None = None) -> go.Figure:
    """Configurations by their best test accuracy, with 95 % intervals; the paper's best as a line."""
    best = best_rows(summary)
    fig = go.Figure(
        go.Scatter(
            x=100 * best["accuracy"],
            y=best["configuration"] + " @" + best["epochs"].astype(str),
            mode="markers",
            error_x=dict(
                type="data",
                symmetric=False,
                array=100 * (best["accuracy_high"] - best["accuracy"]),
                arrayminus=100 * (best["accuracy"] - best["accuracy_low"]),
            ),
            marker=dict(size=9),
            hovertemplate="%{y}: %{x:.2f} %<extra></extra>",
        )
    )
    if paper_best is not None:
        fig.add_vline(
            x=100 * paper_best,
            line_dash="dash",
            annotation_text=f"paper's best {100 * paper_best:.2f} %",
            annotation_position="top left",
        )
    # no accuracy is over 100 %: the axis stops there (a label past the line stretched it to 110)
    fig.update_xaxes(range=[5 * int(100 * best["accuracy_low"].min() // 5), 100.5])
    fig.update_layout(xaxis_title="test accuracy (%)", height=80 + 32 * len(best), margin=dict(l=10, r=10, t=30, b=10))
    return fig


HEATMAP_TEXT_PX = 13


def face_size_heatmap(summary: pd.DataFrame) -> go.Figure:
    """Accuracy (%) by face size for each configuration at its best milestone, best on top as in `ranking`."""
    best = best_rows(summary).iloc[::-1]  # imshow draws its first row on top; the ranking's best is on top
    bins = [c for c in summary.columns if c.startswith("accuracy_face_")]
    sizes = [c.removeprefix("accuracy_face_").replace(">=", "≥").replace("-", "–") + " px" for c in bins]
    fig = px.imshow(
        100 * best[bins].to_numpy(dtype=float),
        x=sizes,
        y=best["configuration"] + " @" + best["epochs"].astype(str),
        text_auto=".1f",
        aspect="auto",
        color_continuous_scale="RdYlGn",
        zmin=85,
        zmax=100,
        labels={"x": "", "color": "accuracy (%)"},
    )
    # the numbers are in the cells, at a size a phone reads; no colour bar to take the cells' width
    fig.update_traces(textfont_size=HEATMAP_TEXT_PX, hovertemplate="%{y}, %{x}: %{z:.1f} %<extra></extra>")
    # the size labels on top, under the tool buttons a phone always shows
    fig.update_layout(height=100 + 30 * len(best), margin=dict(l=10, r=10, t=60, b=10), coloraxis_showscale=False)
    fig.update_xaxes(side="top", tickangle=0)
    return fig


EPOCH_TICKS = 8  # an epoch axis has at most about this many ticks


def epoch_axis(first: int, last: int, ticks: int = EPOCH_TICKS) -> dict:
    """An epoch axis's settings from epoch FIRST to LAST: ticks on whole epochs, 1, 2, 5, 10, 20… apart (plotly's
    own put a one-epoch run's at 0.5 and 1.5), and room for the markers at either end."""
    step = next(s for k in range(7) for s in (10**k, 2 * 10**k, 5 * 10**k) if (last - first) <= ticks * s)
    room = max(0.5, (last - first) / 40)
    return {"tickmode": "linear", "tick0": 0, "dtick": step, "range": [first - room, last + room]}


def training_curves(record: dict) -> go.Figure:
    """Loss and accuracy by epoch, train and validation; markers so that a one-epoch run shows points."""
    hist = pd.DataFrame(record["history"])
    hist[["train_accuracy", "val_accuracy"]] *= 100
    long = hist.melt(id_vars="epoch", value_vars=["train_loss", "val_loss", "train_accuracy", "val_accuracy"])
    long["kind"] = long["variable"].str.split("_").str[1].replace({"accuracy": "accuracy (%)"})
    long["split"] = long["variable"].str.split("_").str[0].replace({"val": "validation"})
    fig = px.line(
        long,
        x="epoch",
        y="value",
        color="split",
        facet_col="kind",
        markers=True,
        height=340,
        category_orders={"kind": ["loss", "accuracy (%)"]},
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    fig.update_yaxes(matches=None, showticklabels=True, title=None)
    fig.update_xaxes(**epoch_axis(int(hist["epoch"].min()), int(hist["epoch"].max())))
    return legend_below(fig)


def confusion_heatmap(matrix: list[list[int]], classes: list[str], title: str = "") -> go.Figure:
    names = [c.replace("_", " ") for c in classes]
    fig = px.imshow(
        matrix,
        x=names,
        y=names,
        text_auto=True,
        color_continuous_scale="Blues",
        labels={"x": "predicted", "y": "true", "color": "faces"},
    )
    # the counts are in the cells: no colour bar to squeeze them on a phone
    fig.update_traces(textfont_size=HEATMAP_TEXT_PX)
    fig.update_layout(coloraxis_showscale=False, height=340, margin=dict(l=10, r=10, t=40, b=10))
    return titled(fig, title) if title else fig


# the dataset's charts name and colour each class as every page does (lrfp.core.labels), in its order
CLASS_COLOURS = {label.text: f"rgb{label.color}" for label in labels.LABELS}
CLASS_ORDER = list(CLASS_COLOURS)
SPLIT_ORDER = ["train", "val", "test"]


def _by_class(rows: list[dict], x: str, **bars) -> go.Figure:
    """Bars of ROWS (each with "class" the classifier's name) by X, a colour per class in its words."""
    data = pd.DataFrame(rows)
    data["class"] = data["class"].map(labels.text)
    orders = {"class": CLASS_ORDER, "split": SPLIT_ORDER}
    fig = px.bar(
        data,
        x=x,
        y="faces",
        color="class",
        barmode="group",
        color_discrete_map=CLASS_COLOURS,
        category_orders=orders,
        **bars,
    )
    return legend_below(fig)


def class_balance(stats: dict) -> go.Figure:
    rows = [{"split": s, "class": c, "faces": n} for s, counts in stats["counts"].items() for c, n in counts.items()]
    return _by_class(rows, "split", text_auto=True)


def face_size_histogram(stats: dict) -> go.Figure:
    hist = stats["face_size_histogram"]
    rows = [
        {"face size (px)": b, "class": c, "faces": n}
        for c, counts in hist["counts"].items()
        for b, n in zip(hist["bins"], counts)
    ]
    return _by_class(rows, "face size (px)")


def paper_headline() -> dict:
    paper = paper_table()
    best = paper.loc[paper["accuracy"].idxmax()]
    return {
        "model": best["model"],
        "epochs": int(best["epochs"]),
        "accuracy": float(best["accuracy"]),
        "avg_loss": float(best["avg_loss"]),
    }


def resolution_curves(reports: list[dict]) -> go.Figure:
    """Accuracy against face size, one curve per model; native accuracy as a dotted line each."""
    rows = [
        {
            "model": r["model"],
            "face size (px)": row["face_px"],
            "test accuracy (%)": 100 * row["accuracy"],
            "balanced accuracy (%)": 100 * row["balanced_accuracy"],
        }
        for r in reports
        for row in r["rows"]
        if row["face_px"] != "native"
    ]
    fig = px.line(
        pd.DataFrame(rows),
        x="face size (px)",
        y="test accuracy (%)",
        color="model",
        markers=True,
        hover_data={"balanced accuracy (%)": ":.1f", "test accuracy (%)": ":.1f"},
        height=420,
    )
    colours = {t.name: t.line.color for t in fig.data}
    for r in reports:
        native = next(row["accuracy"] for row in r["rows"] if row["face_px"] == "native")
        # in the model's colour, labelled on hover: five labels on the lines ran into each other
        fig.add_hline(y=100 * native, line_dash="dot", line_color=colours.get(r["model"]), opacity=0.6)
    fig.update_xaxes(type="log", tickvals=[8, 12, 16, 24, 32, 48, 64])
    return legend_below(fig)
