"""Plotly figures for the dashboard, built from the tables in results/ and the dataset stats."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..results import paper_table


def _label(df: pd.DataFrame) -> pd.Series:
    return df["model"] + " " + df["variant"].fillna("-").astype(str)


def accuracy_vs_paper(summary: pd.DataFrame, metric: str = "accuracy") -> go.Figure:
    """Ours (solid) and the paper's (dashed) accuracy or loss by epochs, one colour per configuration."""
    paper_metric = {"accuracy": "paper_accuracy", "avg_loss": "paper_avg_loss"}[metric]
    ours = summary.assign(config=_label(summary), source="ours", value=summary[metric])
    paper = summary.dropna(subset=[paper_metric]).assign(config=_label(summary), source="paper",
                                                           value=lambda d: d[paper_metric])  # fmt: skip
    both = pd.concat([ours, paper], ignore_index=True)
    both["deviation"] = both["deviation"].fillna("")
    fig = px.line(both, x="epochs", y="value", color="config", line_dash="source", markers=True,
                  hover_data=["deviation", "input_size"], labels={"value": metric.replace("_", " ")})  # fmt: skip
    fig.update_xaxes(tickvals=[30, 50, 80])
    return fig


def training_curves(record: dict) -> go.Figure:
    hist = pd.DataFrame(record["history"])
    long = hist.melt(id_vars="epoch", value_vars=["train_loss", "val_loss", "train_accuracy", "val_accuracy"])
    long["kind"] = long["variable"].str.split("_").str[1]
    long["split"] = long["variable"].str.split("_").str[0]
    fig = px.line(long, x="epoch", y="value", color="split", facet_col="kind", markers=False)
    fig.update_yaxes(matches=None, showticklabels=True)
    return fig


def confusion_heatmap(matrix: list[list[int]], classes: list[str], title: str = "") -> go.Figure:
    fig = px.imshow(matrix, x=classes, y=classes, text_auto=True, color_continuous_scale="Blues",
                    labels={"x": "predicted", "y": "true", "color": "faces"}, title=title)  # fmt: skip
    return fig


def accuracy_by_face_size(summary: pd.DataFrame) -> go.Figure:
    bins = [c for c in summary.columns if c.startswith("accuracy_face_")]
    labelled = summary.assign(config=_label(summary) + " @" + summary["epochs"].astype(str))[["config", *bins]]
    long = labelled.melt(id_vars="config", value_vars=bins, var_name="face size", value_name="accuracy")
    long["face size"] = long["face size"].str.removeprefix("accuracy_face_") + " px"
    return px.bar(long, x="config", y="accuracy", color="face size", barmode="group")


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
