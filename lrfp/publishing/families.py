"""Publish the best checkpoint of each model family to weights/, with a model card.

Each family's checkpoint is chosen on the VALIDATION split (highest accuracy, then lowest loss,
at a milestone epoch). The app's default is then the family whose checkpoint scores best on the
TEST split: the 52-face validation split cannot tell the families apart (all reach 100 %), and
the app should open with the most accurate model. The price, written into index.json and shown
by the app, is that the default's test figure is optimistic by the choice among a few families.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lrfp.core import paths
from lrfp.core.errors import RunError
from lrfp.core.metrics import FACE_SIZE_BINS, wilson_interval
from lrfp.core.records import read_json, write_json_atomic
from lrfp.models.checkpoint import ship_copy
from lrfp.models.registry import REGISTRY
from lrfp.publishing.cards import command_line, confusion_table, settings_in_words, sizes_in_words
from lrfp.publishing.index import INDEX_NAME, check_model_name, choose_default, read_index, ship_default_onnx
from lrfp.publishing.production import RUNS_SUBDIR, choose_production_default, production_card
from lrfp.reporting.results import load_records
from lrfp.training.run_folder import RECORD_NAME

log = logging.getLogger(__name__)

FAMILY_CHOICE = "validation accuracy, then loss, among its family's milestones"
DEFAULT_CHOICE = (
    "highest test accuracy among the published families (then validation accuracy and loss); "
    "chosen on the test split, so its test figure is optimistic"
)
# families small enough for git (< ~20 MB as fp32 checkpoints)
PUBLISHED_FAMILIES = tuple(name for name, model in REGISTRY.items() if model.published)


def _val_at(record: dict, epoch: int) -> tuple[float, float]:
    entry = next(h for h in record["history"] if h["epoch"] == epoch)
    return entry["val_accuracy"], entry["val_loss"]


def best_milestone(records: list[dict]) -> tuple[dict, int] | None:
    """(record, epoch) with the best validation accuracy, then lowest validation loss."""
    candidates = [(r, int(e)) for r in records if r.get("status") == "finished" for e in r["milestones"]]
    if not candidates:
        return None
    return max(candidates, key=lambda c: (_val_at(*c)[0], -_val_at(*c)[1]))


def _index_entry(name: str, record: dict, epoch: int, **extra) -> dict:
    val_acc, val_loss = _val_at(record, epoch)
    return {
        "file": f"{name}.pt",
        "run_id": record["run_id"],
        "epoch": epoch,
        "val_accuracy": val_acc,
        "val_loss": val_loss,
        "test_accuracy": record["milestones"][str(epoch)]["test"]["accuracy"],
        "input_size": record["config"]["input_size"],
        **extra,
    }


def model_card(name: str, record: dict, epoch: int, chosen_by: str | None = None) -> str:
    cfg, test = record["config"], record["milestones"][str(epoch)]["test"]
    meta = record.get("experiment", {})
    val_acc, val_loss = _val_at(record, epoch)
    bins = test.get("by_face_size", {})
    low, high = wilson_interval(test["accuracy"] * test["n"], test["n"])  # 95 %, Wilson
    lines = [
        f"# {name}: model card",
        "",
        f"- **Model**: `{cfg['model']}` {settings_in_words(cfg['model_kwargs'])}, input {cfg['input_size']} px, "
        f"{cfg['optimizer']} lr {cfg['lr']}, batch {cfg['batch_size']}, {epoch} epochs (seed {cfg['seed']}).",
        f"- **Run**: `{record['run_id']}`; record in `results/runs/{record['run_id']}.json`.",
        command_line(record["command"], cfg["model"]),
        f'- **Data**: `{record["data"]["root"]}` built by `lrfp data build` from the Kaggle "Face Mask Detection" '
        f"set (CC0), manifest sha256 `{record['data']['manifest_sha256'][:16]}…`; split sizes {sizes_in_words(record['data']['sizes'])}.",
        f"- **Chosen by** {chosen_by or FAMILY_CHOICE}: validation accuracy {val_acc:.4f} (loss {val_loss:.4f}).",
        "- **Training augmentation**: random rotation and horizontal flip"
        + (
            f", plus the `{cfg['degrade']}` low-resolution simulation (`lrfp.data.degrade`)."
            if cfg.get("degrade")
            else "."
        ),
        f"- **Deviation from the paper**: {meta.get('deviation') or 'none'}.",
        "",
        "## Test metrics",
        "",
        "| accuracy | 95 % interval | balanced accuracy | avg loss | ROC-AUC | n |",
        "|---|---|---|---|---|---|",
        f"| {test['accuracy']:.4f} | {low:.4f}–{high:.4f} | {test['balanced_accuracy']:.4f} | {test['avg_loss']:.4f} | "
        f"{test.get('roc_auc', float('nan')):.4f} | {test['n']} |",
        "",
        "Confusion matrix (test faces by their true class and the class the model gave them):",
        "",
        *confusion_table(test["confusion_matrix"], test["classes"]),
        "",
        "By face size (shorter side of the face box in the source photo):",
        "",
        "| face size | accuracy | n |",
        "|---|---|---|",
        *[f"| {b} px | {bins[b]['accuracy']:.4f} | {bins[b]['n']} |" for b, _, _ in FACE_SIZE_BINS if b in bins],
        "",
        "## Limits",
        "",
        "- Trained on about 1000 face crops from web photos (many selfie series of few people); the test "
        "split is about 200 faces, so one error moves accuracy by about 0.5 points.",
        "- Two classes only: a mask worn below the nose was left out of training and gets either label.",
        "- Every face is resized to the input size above whatever its own size; accuracy differs by "
        "face size (see the table).",
        "",
    ]
    return "\n".join(lines)


def publish(results_dir: Path | None = None, weights_dir: Path | None = None) -> dict:
    """Copy each family's best milestone checkpoint to weights/<family>.pt, write cards and index.json."""
    records = load_records(results_dir)
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    index = read_index(weights_dir)
    for family in PUBLISHED_FAMILIES:
        chosen = best_milestone([r for r in records if r["config"]["model"] == family])
        if chosen is None:
            continue
        record, epoch = chosen
        src = Path(record["config"]["out"]) / record["run_id"] / record["milestones"][str(epoch)]["checkpoint"]
        if not src.is_file():
            log.info(f"{family}: {src} is not on this machine; kept the published one")
            continue
        weights_dir.mkdir(parents=True, exist_ok=True)
        ship_copy(src, weights_dir / f"{family}.pt")
        (weights_dir / f"{family}.md").write_text(model_card(family, record, epoch))
        entry = index["models"][family] = _index_entry(family, record, epoch)
        log.info(
            f"{family}: {record['run_id']} epoch {epoch} -> weights/{family}.pt (test accuracy {entry['test_accuracy']:.4f})"
        )
    families = {k: v for k, v in index["models"].items() if not v.get("extra")}
    if families:
        index["default"] = choose_default(families)
        index["default_chosen_by"] = DEFAULT_CHOICE
        choose_production_default(index)  # a production model chosen by cross-validation comes first
        write_json_atomic(index, weights_dir / INDEX_NAME)
        ship_default_onnx(weights_dir, index)
    return index


def publish_run(run_dir: Path, name: str, results_dir: Path | None = None, weights_dir: Path | None = None) -> dict:
    """Publish the last milestone of one finished run as weights/<name>.pt (with card and index entry);
    its record is kept as results/extra/<run_id>.json."""
    check_model_name(name)
    run_dir = Path(run_dir)
    record = read_json(run_dir / RECORD_NAME)
    if record.get("status") != "finished":
        raise RunError(f"{run_dir}: the run has not finished; publish it once `lrfp train` has ended")
    epoch = max(int(e) for e in record["milestones"])
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    weights_dir.mkdir(parents=True, exist_ok=True)
    ship_copy(run_dir / record["milestones"][str(epoch)]["checkpoint"], weights_dir / f"{name}.pt")
    (weights_dir / f"{name}.md").write_text(model_card(name, record, epoch, chosen_by="the last epoch of its run"))
    write_json_atomic(record, Path(results_dir or paths.RESULTS_DIR) / "extra" / f"{record['run_id']}.json")
    index = read_index(weights_dir)
    index["models"][name] = _index_entry(name, record, epoch, extra=True)
    write_json_atomic(index, weights_dir / INDEX_NAME)
    ship_default_onnx(weights_dir, index)
    return index["models"][name]


def rewrite_cards(results_dir: Path | None = None, weights_dir: Path | None = None) -> list[str]:
    """Rewrite the model card of every checkpoint in index.json from its run record (no checkpoint
    needed): for a change of the card's format. Returns the names rewritten."""
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    results_dir = Path(results_dir or paths.RESULTS_DIR)
    done = []

    for name, entry in read_index(weights_dir)["models"].items():
        if entry.get("production"):
            record = read_json(results_dir / RUNS_SUBDIR / f"{entry['run_id']}.json")
            (weights_dir / f"{name}.md").write_text(production_card(name, entry, record, results_dir))
            done.append(name)
            continue
        folder = "extra" if entry.get("extra") else "runs"
        record = read_json(results_dir / folder / f"{entry['run_id']}.json")
        chosen_by = "the last epoch of its run" if entry.get("extra") else None
        (weights_dir / f"{name}.md").write_text(model_card(name, record, entry["epoch"], chosen_by=chosen_by))
        done.append(name)
    return done
