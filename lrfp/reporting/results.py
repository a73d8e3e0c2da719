"""Run records in results/ as pandas tables, beside the paper's reported numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lrfp.core import paths
from lrfp.core.metrics import FACE_SIZE_BINS, wilson_interval
from lrfp.core.records import atomic_path, read_json
from lrfp.models.registry import spec

PAPER_CSV = Path(__file__).with_name("paper_results.csv")
RUNS_SUBDIR = "runs"
SUMMARY_NAME = "summary.csv"
SUMMARY_COLUMNS = [
    "experiment",
    "paper_table",
    "model",
    "variant",
    "pretrained",
    "optimizer",
    "input_size",
    "epochs",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "n",
    "balanced_accuracy",
    "avg_loss",
    "paper_accuracy",
    "paper_avg_loss",
    "deviation",
    "seconds_per_epoch",
    "run_id",
]


def paper_table() -> pd.DataFrame:
    """Tables 4-9 of the paper: accuracy as a fraction (the paper prints percent)."""
    df = pd.read_csv(PAPER_CSV)
    df["accuracy"] = df.pop("accuracy_pct") / 100
    return df


def load_records(results_dir: Path | None = None) -> list[dict]:
    runs = Path(results_dir or paths.RESULTS_DIR) / RUNS_SUBDIR
    return [read_json(p) for p in sorted(runs.glob("*.json"))] if runs.is_dir() else []


def load_production_records(results_dir: Path | None = None) -> list[dict]:
    """The run records of the production models (`lrfp train --recipe production`), results/production/runs/."""
    runs = Path(results_dir or paths.RESULTS_DIR) / "production" / RUNS_SUBDIR
    return [read_json(p) for p in sorted(runs.glob("*.json"))] if runs.is_dir() else []


def _load_folder(subfolder: str, results_dir: Path | None) -> list[dict]:
    folder = Path(results_dir or paths.RESULTS_DIR) / subfolder
    return [read_json(p) | {"name": p.stem} for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def load_resolution_reports(results_dir: Path | None = None) -> list[dict]:
    """The records of `lrfp resolution` in results/resolution/."""
    return _load_folder("resolution", results_dir)


def load_scene_reports(results_dir: Path | None = None) -> list[dict]:
    """The records of `lrfp scene-bench` in results/scene/."""
    return _load_folder("scene", results_dir)


def load_view_reports(results_dir: Path | None = None) -> list[dict]:
    """The scene-bench records of every detector setting in every view (results/benchmarks/views/)."""
    return _load_folder("benchmarks/views", results_dir)


def load_cv_reports(results_dir: Path | None = None) -> list[dict]:
    """The records of `lrfp cv` in results/production/cv/, named by configuration."""
    return _load_folder("production/cv", results_dir)


def load_face_reports(results_dir: Path | None = None) -> list[dict]:
    """The records of `lrfp faces-eval` in results/production/faces/."""
    return _load_folder("production/faces", results_dir)


def summary_rows(record: dict) -> list[dict]:
    """One row per milestone epoch of a run record."""
    cfg, meta = record["config"], record.get("experiment", {})
    variant = cfg.get("norm") or cfg.get("pretrained") or "-"
    rows = []
    for epoch, result in sorted(record["milestones"].items(), key=lambda kv: int(kv[0])):
        test = result["test"]
        row = {
            "experiment": meta.get("experiment"),
            "paper_table": meta.get("paper_table"),
            "model": cfg["model"],
            "variant": meta.get("variant", variant),
            "pretrained": cfg.get("pretrained") or "none",
            "optimizer": cfg["optimizer"],
            "input_size": cfg["input_size"],
            "epochs": int(epoch),
            "accuracy": test["accuracy"],
            # 95 % Wilson interval: with about 200 test faces, one face is half a point
            "accuracy_low": wilson_interval(test["accuracy"] * test["n"], test["n"])[0],
            "accuracy_high": wilson_interval(test["accuracy"] * test["n"], test["n"])[1],
            "n": test["n"],
            "balanced_accuracy": test["balanced_accuracy"],
            "avg_loss": test["avg_loss"],
            "deviation": meta.get("deviation", ""),
            "seconds_per_epoch": record.get("seconds_per_epoch"),
            "run_id": record["run_id"],
        }
        for name, _, _ in FACE_SIZE_BINS:
            row[f"accuracy_face_{name}"] = test.get("by_face_size", {}).get(name, {}).get("accuracy")
        rows.append(row)
    return rows


def summary_frame(records: list[dict]) -> pd.DataFrame:
    rows = [row for r in records for row in summary_rows(r)]
    bins = [f"accuracy_face_{name}" for name, _, _ in FACE_SIZE_BINS]
    df = pd.DataFrame(
        rows, columns=[c for c in SUMMARY_COLUMNS if c not in ("paper_accuracy", "paper_avg_loss")] + bins
    )
    if df.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS + bins)
    paper = paper_table().rename(columns={"accuracy": "paper_accuracy", "avg_loss": "paper_avg_loss"})
    # the paper's table is keyed by its own variant names; our deviation runs map to the same row
    df["_paper_variant"] = df.apply(lambda r: _paper_variant(r["model"], r["variant"]), axis=1)
    df = df.merge(
        paper[["model", "variant", "epochs", "paper_accuracy", "paper_avg_loss"]].rename(
            columns={"variant": "_paper_variant"}
        ),
        on=["model", "_paper_variant", "epochs"],
        how="left",
    ).drop(columns="_paper_variant")
    # configurations beyond the paper have no table: keep the column integer, not float
    df["paper_table"] = df["paper_table"].astype("Int64")
    return df[SUMMARY_COLUMNS + bins].sort_values(["experiment", "model", "variant", "epochs"], ignore_index=True)


def _paper_variant(model: str, variant: str) -> str:
    """The paper's row for one of ours: its own variant, else the model's one paper variant (our
    from-scratch VGG-16 stands in the paper's ImageNet row, marked as a deviation)."""
    known = spec(model).paper_variants
    return variant if variant in known else known[0]


def write_summary(results_dir: Path | None = None) -> pd.DataFrame:
    results_dir = Path(results_dir or paths.RESULTS_DIR)
    df = summary_frame(load_records(results_dir))
    with atomic_path(results_dir / SUMMARY_NAME) as tmp:
        df.to_csv(tmp, index=False, float_format="%.4f")
    return df
