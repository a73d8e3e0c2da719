"""weights/index.json: what is published, checked on every read, and which model the app opens with."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lrfp.core import paths
from lrfp.core.errors import ConfigError, LrfpError
from lrfp.models.onnx_backend import ExportError, export_onnx, shipped_graph_matches

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"


class WeightsIndexError(LrfpError):
    """A weights/index.json that does not hold what its readers need."""


# a published model's name: a plain file name, so NAME.pt, NAME.md and NAME.onnx stay inside weights/
MODEL_NAME = paths.NAME


FIX_INDEX = "fix it, or remove it and publish again (`lrfp publish`)"


def check_model_name(name: str) -> None:
    """Refuse, before anything is written, a name to publish under that index.json could not hold."""
    if not MODEL_NAME.fullmatch(name):
        raise ConfigError(
            f"{name!r:.80}: not a name to publish under; choose one of letters, digits, . _ - (`--name model3-robust`)"
        )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, float) or _is_int(value)


def _is_results_path(value) -> bool:
    return isinstance(value, str) and not Path(value).is_absolute() and ".." not in Path(value).parts


# field: (required, check, what it must be); other fields are kept and never read
INDEX_FIELDS = {
    "run_id": (True, lambda v: isinstance(v, str), "a string"),
    "epoch": (True, _is_int, "an integer"),
    "input_size": (True, _is_int, "an integer"),
    "test_accuracy": (True, _is_number, "a number"),
    "val_accuracy": (False, _is_number, "a number"),
    "val_loss": (False, _is_number, "a number"),
    "extra": (False, lambda v: isinstance(v, bool), "true or false"),
    "production": (False, lambda v: isinstance(v, bool), "true or false"),
    "classes": (False, lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v), "a list of class names"),
    "cv_record": (False, lambda v: v is None or _is_results_path(v), "null or a path inside results/"),
    "cv_score": (False, lambda v: v is None or _is_number(v), "null or a number"),
}


def check_index(index, where) -> None:
    """The one contract on weights/index.json, checked by every reader (read_index): a JSON object whose
    "models" maps plain names to entries of the types INDEX_FIELDS gives, each naming its file NAME.pt,
    and whose "default", when set, is one of those names."""

    def require(ok, problem: str) -> None:
        if not ok:
            raise WeightsIndexError(f"{where}: {problem}; {FIX_INDEX}")

    require(
        isinstance(index, dict) and isinstance(index.get("models"), dict),
        'not an lrfp weights index (a JSON object whose "models" maps names to entries)',
    )
    for name, entry in index["models"].items():
        require(
            MODEL_NAME.fullmatch(name), f"model name {name!r:.80} is not a plain file name (letters, digits, . _ -)"
        )
        require(isinstance(entry, dict), f"the entry of {name} is not an object")
        require(entry.get("file") == f"{name}.pt", f"{name}.file must be {name}.pt, got {entry.get('file')!r:.80}")
        for field, (required, ok, what) in INDEX_FIELDS.items():
            if required or field in entry:
                require(
                    field in entry and ok(entry[field]), f"{name}.{field} must be {what}, got {entry.get(field)!r:.80}"
                )
        require(entry.get("cv_score") is None or "classes" in entry, f"{name} has a cv_score but no classes")
    default = index.get("default")
    require(
        default is None or (isinstance(default, str) and default in index["models"]),
        f"the default {default!r:.80} is not one of its models",
    )
    require(isinstance(index.get("default_chosen_by", ""), str), "default_chosen_by must be a string")


def read_index(weights_dir: Path | None = None) -> dict:
    """weights/index.json, checked (check_index), or an empty index when nothing is published yet."""
    index_path = Path(weights_dir or paths.WEIGHTS_DIR) / INDEX_NAME
    if not index_path.is_file():
        return {"models": {}}
    try:
        index = json.loads(index_path.read_bytes())
    except (ValueError, RecursionError) as exc:  # bad JSON, bytes that are not text, nesting too deep
        raise WeightsIndexError(f"{index_path}: not valid JSON ({exc}); {FIX_INDEX}") from exc
    check_index(index, index_path)
    return index


def choose_default(entries: dict[str, dict]) -> str:
    """The family of index entries the app opens with (see DEFAULT_CHOICE)."""
    return max(
        entries, key=lambda k: (entries[k]["test_accuracy"], entries[k]["val_accuracy"], -entries[k]["val_loss"])
    )


def default_model(weights_dir: Path | None = None) -> str | None:
    """Name of the app's default checkpoint in weights/, or None when nothing is published."""
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    name = read_index(weights_dir).get("default")
    if name and (weights_dir / f"{name}.pt").is_file():
        return name
    found = sorted(p.stem for p in weights_dir.glob("*.pt"))
    return found[0] if found else None


def ship_default_onnx(weights_dir: Path, index: dict) -> None:
    """Write the ONNX graph of the app's default beside its checkpoint (parity-checked), so no
    visitor's first prediction waits for an export, and remove the graphs of the other models:
    they are exported once into the user's cache when first picked (a few seconds), which keeps
    the repository small. A graph ONNX cannot express is left out (PyTorch serves it)."""
    default = index.get("default")
    for name in index["models"]:
        onnx_path = weights_dir / f"{name}.onnx"
        if name != default:
            onnx_path.unlink(missing_ok=True)
        elif not shipped_graph_matches(weights_dir / f"{name}.pt", onnx_path):
            onnx_path.unlink(missing_ok=True)  # never leave a graph of an older checkpoint beside it
            try:
                export_onnx(weights_dir / f"{name}.pt", onnx_path)
            except ExportError as exc:
                log.info(f"{name}: no ONNX graph shipped ({exc})")
