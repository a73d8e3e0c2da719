"""Publish a production model: its checkpoint and ONNX graph in weights/, a model card, an index entry.

The app's default is the production model with the best cross-validated score (`lrfp cv`), never
a test-split figure: the test photos report, they do not choose. The card states what the model
was chosen on, its cross-validation (mean ± sd over folds) beside the other configurations tried,
and its test figures with 95 % intervals: on labelled crops, on crops shrunk to 16 px, on the
detector's crops, and on whole photos (`lrfp faces-eval`, `lrfp scene-bench`) when those were run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lrfp.core import paths
from lrfp.core.errors import RunError
from lrfp.core.records import read_json, write_json_atomic
from lrfp.models.checkpoint import ship_copy
from lrfp.publishing.cards import classes_in_words, command_line, settings_in_words, sizes_in_words
from lrfp.publishing.index import INDEX_NAME, check_model_name, read_index, ship_default_onnx
from lrfp.training.config import with_defaults
from lrfp.training.recipes import LABEL_SMOOTHING
from lrfp.training.run_folder import RECORD_NAME

log = logging.getLogger(__name__)

CV_CHOICE = (
    "highest cross-validated score among the production models: mean balanced accuracy of labelled "
    "and detector crops over 5 folds of the train+val photos, grouped by photo (`lrfp cv`); the test "
    "split chose nothing"
)
RUNS_SUBDIR = Path("production") / "runs"


def is_production_run(run_dir: Path) -> bool:
    record_path = Path(run_dir) / RECORD_NAME
    if not record_path.is_file():
        raise RunError(f"{run_dir}: no record.json; pass a run folder made by `lrfp train`")
    return read_json(record_path)["config"].get("recipe") == "production"


def publish_production(
    run_dir: Path, name: str, cv_path: Path | None, results_dir: Path | None = None, weights_dir: Path | None = None
) -> dict:
    """Copy the run's last checkpoint to weights/NAME.pt, keep its record in results/production/runs/,
    write its card and index entry (with its CV score, if `cv_path` names its `lrfp cv` record),
    then make the best production model by CV score the app's default."""
    check_model_name(name)
    run_dir = Path(run_dir)
    record = read_json(run_dir / RECORD_NAME)
    if record.get("status") != "finished":
        raise RunError(f"{run_dir}: the run has not finished; publish it once `lrfp train` has ended")
    if record["config"].get("recipe") != "production":
        raise RunError(f"{run_dir}: not a production run (`lrfp train --recipe production`); use `lrfp publish --run`")
    results_dir = Path(results_dir or paths.RESULTS_DIR)
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    cv_record = _inside(cv_path, results_dir) if cv_path else None
    cv = read_json(cv_path) if cv_path else None
    if cv is not None and not _same_configuration(cv["config"], record["config"]):
        raise RunError(f"{cv_path}: cross-validates another configuration than {record['run_id']}")
    epoch = max(int(e) for e in record["milestones"])
    weights_dir.mkdir(parents=True, exist_ok=True)
    ship_copy(run_dir / record["milestones"][str(epoch)]["checkpoint"], weights_dir / f"{name}.pt")
    write_json_atomic(record, results_dir / RUNS_SUBDIR / f"{record['run_id']}.json")
    index = read_index(weights_dir)
    index["models"][name] = {
        "file": f"{name}.pt",
        "run_id": record["run_id"],
        "epoch": epoch,
        "input_size": record["config"]["input_size"],
        "production": True,
        "extra": True,
        "classes": record["data"]["classes"],
        "cv_record": cv_record,
        "cv_score": cv["balanced_accuracy"]["score"]["mean"] if cv else None,
        "test_accuracy": record["milestones"][str(epoch)]["test"]["accuracy"],
    }
    choose_production_default(index)
    write_json_atomic(index, weights_dir / INDEX_NAME)
    ship_default_onnx(weights_dir, index)
    (weights_dir / f"{name}.md").write_text(production_card(name, index["models"][name], record, results_dir))
    return index["models"][name]


def _inside(cv_path: Path, results_dir: Path) -> str:
    """The CV record's path relative to results/ (the card and the Results page read it from there)."""
    try:
        return str(Path(cv_path).resolve().relative_to(Path(results_dir).resolve()))
    except ValueError:
        raise RunError(
            f"{cv_path}: keep cross-validation records in {results_dir}/production/cv/, where `lrfp cv` writes them"
        ) from None


def _same_configuration(cv_config: dict, run_config: dict) -> bool:
    keys = (
        "model",
        "pretrained",
        "input_size",
        "epochs",
        "lr",
        "batch_size",
        "seed",
        "include_incorrect",
        "data",
        "class_weights",
    )
    cv_config, run_config = with_defaults(cv_config), with_defaults(run_config)
    return all(cv_config[k] == run_config[k] for k in keys)


def choose_production_default(index: dict) -> None:
    """Make the two-class production model with the best CV score the default, when there is one."""
    scored = {k: v for k, v in index["models"].items() if v.get("cv_score") is not None and len(v["classes"]) == 2}
    if scored:
        index["default"] = max(scored, key=lambda k: scored[k]["cv_score"])
        index["default_chosen_by"] = CV_CHOICE


def production_card(name: str, entry: dict, record: dict, results_dir: Path) -> str:
    cfg = record["config"]
    cv = read_json(results_dir / entry["cv_record"]) if entry.get("cv_record") else None
    faces_path = results_dir / "production" / "faces" / f"{name}.json"
    scene_path = results_dir / "scene" / f"{name}.json"
    lines = [
        f"# {name}: model card (production)",
        "",
        f"- **Model**: `{cfg['model']}` {settings_in_words(cfg['model_kwargs'])}, input {cfg['input_size']} px; classes "
        + classes_in_words(record["data"]["classes"])
        + ".",
        f"- **Recipe** (`lrfp train --recipe {cfg['recipe']}`, see `lrfp/training/recipes.py` and "
        f"`lrfp/data/bank_crops.py`): every training face (no subsampling), class-weighted cross entropy with "
        f"label smoothing {LABEL_SMOOTHING}, {cfg['optimizer']} with a one-cycle "
        f"schedule peaking at {cfg['lr']}, batch {cfg['batch_size']}, {cfg['epochs']} epochs, seed {cfg['seed']}. "
        "Crops like the detector's: half the time RetinaFace's own box for the face, else the labelled box, both "
        "jittered; flips, small affine, colour jitter, 20 % greyscale, half the time shrunk to 8-48 px and back.",
        f"- **Run**: `{record['run_id']}`; record in `results/{RUNS_SUBDIR}/{record['run_id']}.json`.",
        command_line(record["command"], cfg["model"]),
        f'- **Data**: face bank `{record["data"]["root"]}` (`lrfp facebank build` on the Kaggle "Face Mask '
        f'Detection" set, CC0), sha256 `{record["data"]["manifest_sha256"][:16]}…`; faces '
        f"{sizes_in_words(record['data']['sizes'])}, each from the photos of its split in the default build.",
        f"- **Chosen by**: {CV_CHOICE if cv else 'the configuration that cross-validation chose for the two-class model; trained once'}.",
        "",
    ]
    if cv:
        lines += _cv_table(cv, entry, results_dir)
    lines += _test_figures(name, faces_path, scene_path)
    lines += [
        "## Limits",
        "",
        f"- Trained on {record['data']['sizes']['train']:,} faces from the train photos of one web-photo set (many selfie series of few people); our test photos "
        "come from the same set, so they say little about photos from elsewhere.",
        "- Faces the detector misses are never classified; in crowds, faces under 16 px are often missed.",
        "- Its probabilities are not calibrated: the class weights and label smoothing hold a plainly masked face "
        'near 80 % "with mask". The labels are what cross-validation and the test figures measure.',
        "",
    ]
    return "\n".join(lines)


def _cv_table(cv: dict, entry: dict, results_dir: Path) -> list[str]:
    """The card's cross-validation table: every configuration scored like CV's (two or three classes)."""
    lines = [
        "## Cross-validation (train+val photos, grouped by photo)",
        "",
        "| configuration | score | labelled crops | at 16 px | detector crops |",
        "|---|---|---|---|---|",
    ]
    for other in sorted((results_dir / "production" / "cv").glob("*.json")):
        compared = read_json(other)
        if compared["config"].get("include_incorrect") != cv["config"].get("include_incorrect"):
            continue  # two- and three-class scores do not compare
        o = compared["balanced_accuracy"]
        mark = " (this model)" if other.name == Path(entry["cv_record"]).name else ""
        lines.append(
            f"| `{other.stem}`{mark} | "
            + " | ".join(f"{o[k]['mean']:.4f} ± {o[k]['sd']:.4f}" for k in ("score", "label", "label_16px", "detector"))
            + " |"
        )
    lines += ["", "Balanced accuracy, mean ± sd over the folds.", ""]
    return lines


def _test_figures(name: str, faces_path: Path, scene_path: Path) -> list[str]:
    """The card's test-photo figures: crops and whole photos, where they were measured."""
    lines = ["## Test photos (reported, never used to choose)", ""]
    if faces_path.is_file():
        views = read_json(faces_path)["views"]
        lines += ["| crops | n | accuracy (95 % interval) | balanced accuracy (95 % interval) |", "|---|---|---|---|"]
        for view, title in (
            ("label", "labelled box"),
            ("label_16px", "labelled box shrunk to 16 px"),
            ("detector", "RetinaFace's box"),
        ):
            v = views[view]
            lines.append(
                f"| {title} | {v['n']} | {v['accuracy']:.4f} ({_span(v['accuracy_interval'])}) | "
                f"{v['balanced_accuracy']:.4f} ({_span(v['balanced_accuracy_interval'])}) |"
            )
        lines.append("")
    else:
        lines += [f"Not measured yet: `lrfp faces-eval --model {name} --data data/fmd853-faces.json`.", ""]
    if scene_path.is_file():
        s = read_json(scene_path)
        lines += [
            f"Whole photos (`lrfp scene-bench`, {s['photos']} photos, {s['labelled_faces']} labelled faces): "
            f"found {s['recall']:.1%}; found faces labelled right {s['accuracy']:.1%}; found and right "
            f"{s['end_to_end']:.1%} ({_span(s['end_to_end_interval'], pct=True)}); median "
            f"{s['ms_per_photo_median']:.0f} ms per photo.",
            "",
        ]
    return lines


def _span(interval, pct: bool = False) -> str:
    lo, hi = interval
    return f"{lo:.1%}–{hi:.1%}" if pct else f"{lo:.4f}–{hi:.4f}"
