"""`lrfp train` and `lrfp cv` flags generated from TrainConfig's fields, and the namespace turned back into one.

A field `batch_size: int = 64` becomes `--batch-size BATCH_SIZE` (type int, default 64); a field without a default is
a required flag; a bool is a switch; `tuple[int, ...]` is read as "30,50,80". Choices come from the modules that own
them; the help text from FIELD_HELP."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing

from lrfp.cli import argtypes, options
from lrfp.data.degrade import DEGRADE_PRESETS
from lrfp.models.registry import DEFAULT_NORM, DEFAULT_PRETRAINED, MAX_INPUT, MODEL_NAMES, NORMS, PRETRAINED, spec
from lrfp.training.config import MAX_LR, OPTIMIZERS, TrainConfig
from lrfp.training.recipe import CLASS_WEIGHTS, recipe_names, recipe_of

FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
TYPES = typing.get_type_hints(TrainConfig)

# fields that no command line sets, and why
NO_FLAG = {"momentum": "SGD's momentum: the paper gives none, 0.9 (the common choice) stays fixed"}

# the allowed values of a field, from the module that owns them
FIELD_CHOICES = {
    "model": MODEL_NAMES,
    "norm": NORMS,
    "pretrained": PRETRAINED,
    "optimizer": OPTIMIZERS,
    "recipe": recipe_names(),
    "degrade": tuple(DEGRADE_PRESETS),
    "class_weights": CLASS_WEIGHTS,
}
LEARNING_RATE = argtypes.Number(0, MAX_LR, above=True)  # train's, cv's and the detector's
# the numbers a field takes (a new numeric field must say its range here; TrainConfig checks them again)
FIELD_NUMBERS = {
    "epochs": argtypes.positive_int,
    "lr": LEARNING_RATE,
    "batch_size": argtypes.positive_int,
    "input_size": argtypes.whole(1, MAX_INPUT),
    "seed": argtypes.SEED,
    "fold": argtypes.whole(0),
    "folds": argtypes.whole(2),
}
# fields whose flag is a shared one, defined once in options
SHARED = {"device": options.add_device, "precision": options.add_precision}


def _shown(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "the last epoch"
    return str(value)


def recipes_default(name: str, model_attr: str | None = None, recipes: tuple[str, ...] | None = None) -> str:
    """Help text for a field the recipes fill: each recipe's default (of RECIPES; default all), or with
    MODEL_ATTR, for a recipe that leaves it to the model, the models' ModelSpec value ("model3 64, others 224")."""
    said = []
    for recipe in map(recipe_of, recipes or recipe_names()):
        if name in recipe.defaults:
            said.append(f"{recipe.name}: {_shown(recipe.defaults.get(name))}")
        elif model_attr:
            values = {m: getattr(spec(m), model_attr) for m in MODEL_NAMES}
            common = max(set(values.values()), key=list(values.values()).count)
            odd = ", ".join(f"{m} {v}" for m, v in values.items() if v != common)
            said.append(f"{recipe.name}: the model's ({odd}, others {common})")
        elif FIELDS[name].default is None:
            said.append(f"{recipe.name}: required")
    return "default: " + "; ".join(said)


def field_default(name: str) -> str:
    return f"({_shown(FIELDS[name].default)})"


# each field's help, as `lrfp train` says it (absent: no help)
FIELD_HELP = {
    "model": recipes_default("model"),
    "norm": f"model1/model2 normalization ({DEFAULT_NORM})",
    "pretrained": f"transfer models' starting weights ({DEFAULT_PRETRAINED})",
    "data": "dataset folder built by `lrfp data build`, or with --recipe production a face bank file; "
    + recipes_default("data"),
    "recipe": "paper: the thesis protocol; production: all faces, detector-like crops, heavy augmentation "
    + field_default("recipe"),
    "fold": "production: hold out this cross-validation fold (0-based) as validation",
    "folds": "number of cross-validation folds " + field_default("folds"),
    "include_incorrect": "production: also learn mask_weared_incorrect",
    "class_weights": "production: weigh classes by 1/share (inverse) or 1/sqrt(share)",
    "epochs": recipes_default("epochs"),
    "milestones": "epochs at which the test split is evaluated and a checkpoint kept; " + recipes_default("milestones"),
    "optimizer": recipes_default("optimizer", "optimizer"),
    "input_size": "px; " + recipes_default("input_size", "default_input"),
    "degrade": "simulate low-resolution outdoor video while training",
    "out": "runs folder " + field_default("out"),
    "run_id": "run folder name; default from model, variant, optimizer, size, seed",
    "init_from": "a checkpoint (a run's epochNNN.pt, a file of weights/) of the same model, norm and classes: "
    "the run starts from its weights instead of the seed's; a run that resumes goes on from its own last.pt",
}

# `lrfp train`'s flags, in the order its help lists them: every field but NO_FLAG's
TRAIN_FLAGS = (
    "model",
    "norm",
    "pretrained",
    "data",
    "recipe",
    "fold",
    "folds",
    "include_incorrect",
    "class_weights",
    "device",
    "epochs",
    "milestones",
    "optimizer",
    "lr",
    "batch_size",
    "input_size",
    "seed",
    "precision",
    "degrade",
    "out",
    "run_id",
    "init_from",
)


def field_type(name: str):
    """The field's type without `| None`."""
    hint = TYPES[name]
    if isinstance(hint, types.UnionType):
        (hint,) = [t for t in typing.get_args(hint) if t is not type(None)]
    return hint


def add_field_flag(parser, name: str, **override) -> None:
    """The flag of TrainConfig field NAME: type, default and choices from the field, help from FIELD_HELP;
    OVERRIDE changes a default or help for one command (argparse's keywords)."""
    if name in SHARED:
        SHARED[name](parser)
        if FIELDS[name].default is None:  # unset: the recipe's
            parser.set_defaults(**{name: None})
        return
    field, kind = FIELDS[name], field_type(name)
    kwargs: dict[str, typing.Any] = {"help": FIELD_HELP.get(name)}  # add_argument's keywords
    if kind is bool:  # a switch: --name sets True (a field that defaults to True gets --no-name too)
        kwargs |= (
            {"action": argparse.BooleanOptionalAction, "default": True} if field.default else {"action": "store_true"}
        )
    else:
        kwargs |= {"required": True} if field.default is dataclasses.MISSING else {"default": field.default}
        if name in FIELD_CHOICES:
            kwargs["choices"] = FIELD_CHOICES[name]
        elif kind == tuple[int, ...]:
            kwargs["type"] = argtypes.int_list
        elif kind in (int, float):  # a number: finite and in its field's range, or one line at parse time
            if name not in FIELD_NUMBERS:  # a new number: say so when the parser is built, not when a user types it
                raise TypeError(f"TrainConfig.{name}: give its range in FIELD_NUMBERS")
            kwargs["type"] = FIELD_NUMBERS[name]
        elif name == "run_id":
            kwargs["type"] = argtypes.run_name
        elif kind is not str:  # a new kind of field: say so when the parser is built, not when a user types it
            raise TypeError(f"TrainConfig.{name}: the command line has no reading of {kind}")
    parser.add_argument("--" + name.replace("_", "-"), **(kwargs | override))


def add_config_flags(parser, names, overrides: dict | None = None) -> None:
    """The flags of the TrainConfig fields NAMES, in that order; OVERRIDES: field name -> argparse keywords."""
    for name in names:
        add_field_flag(parser, name, **(overrides or {}).get(name, {}))


def config_from(args, **fixed) -> TrainConfig:
    """A TrainConfig of the fields the command line has (the others keep their defaults), and FIXED."""
    given = {name: getattr(args, name) for name in FIELDS if hasattr(args, name)}
    return TrainConfig(**(given | fixed))
