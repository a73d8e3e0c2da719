"""The flags several commands share, each defined here once; their choices come from the modules that own them."""

from __future__ import annotations

from lrfp.cli.argtypes import DETECTOR_SCALE, SCORE, Number, positive_int
from lrfp.core.device import DEVICES, PRECISIONS
from lrfp.data.images import SPLITS
from lrfp.pipeline.detectors import DEFAULT_DETECTOR, DETECTORS
from lrfp.pipeline.inference import BACKENDS
from lrfp.publishing.index import default_model
from lrfp.scale.defaults import DETECT_EVERY, LIVE_DETECTIONS_PER_S
from lrfp.scale.engine import SWEEP_ENGINES, Engine

MODEL_HELP = "checkpoint path or a name in weights/"


def model_or_default(name: str | None) -> str:
    """--model, or the default model named in weights/index.json (the app's), or model3."""
    return name or default_model() or "model3"


def add_model(parser, help: str = f"{MODEL_HELP} (default: the default model)") -> None:
    """--model of the commands that fall back on the default model (see model_or_default)."""
    parser.add_argument("--model", help=help)


def add_required_model(parser) -> None:
    parser.add_argument("--model", required=True, help=MODEL_HELP)


def add_device(parser) -> None:
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="auto: a CUDA GPU when torch sees one, else the CPU (default: %(default)s)",
    )


def add_backend(parser) -> None:
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="auto: onnxruntime where installed, else PyTorch (default: %(default)s)",
    )


def add_classifier(parser) -> None:
    """--backend and --device: how the commands that load a classifier run it."""
    add_backend(parser)
    add_device(parser)


def add_precision(parser) -> None:
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto: bf16 autocast + channels_last where the CPU has native bf16, else fp32",
    )


def add_split(parser) -> None:
    """--split of the commands that read one split of a built dataset or face bank (test by default)."""
    parser.add_argument("--split", default="test", choices=SPLITS)


def add_no_progress(parser, help: str | None = None) -> None:
    parser.add_argument("--no-progress", action="store_true", help=help)


def add_detector(parser, scale_help: str) -> None:
    """--detector, --min-score and --detector-scale (whose help says what it resizes: frames or photos)."""
    parser.add_argument(
        "--detector",
        choices=tuple(DETECTORS),
        default=DEFAULT_DETECTOR,
        help="face detector (default: %(default)s); retinaface is about 3 times faster and finds fewer small faces",
    )
    parser.add_argument(
        "--min-score",
        type=SCORE,
        help="the detector's confidence threshold (default: the detector's own, "
        + ", ".join(f"{k} {d.min_score:g}" for k, d in DETECTORS.items())
        + ")",
    )
    parser.add_argument("--detector-scale", type=DETECTOR_SCALE, help=scale_help)


def add_sweep_engine(parser, what: str) -> None:
    """--engine, --workers, --address of the commands that run many training runs (WHAT: folds, configurations)."""
    parser.add_argument(
        "--engine",
        choices=SWEEP_ENGINES,
        default="local",
        help=f"ray: the {what} run as Ray tasks, --workers at a time, one GPU each where the cluster "
        f"has them, else a share of the CPU cores; each resumes its own run folder "
        f"(default: %(default)s, one after another)",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="with --engine ray: runs at once (default: %(default)s)"
    )
    parser.add_argument("--address", help="with --engine ray: a Ray cluster (default: $RAY_ADDRESS, else a local Ray)")


def sweep_engine(args) -> Engine:
    """The Engine that add_sweep_engine's flags name."""
    return Engine(args.engine, args.workers, args.address)


def add_frame_choice(parser) -> None:
    """`lrfp monitor`'s choice of the frames analysed (--every) and of those the detector looks at (--detect-every)."""
    parser.add_argument(
        "--every",
        type=Number(0),
        default=0.0,
        help="analyse one frame every this many seconds of video (default: every frame)",
    )
    parser.add_argument(
        "--detect-every",
        type=positive_int,
        metavar="K",
        help="run the face detector on every K-th frame analysed of a video or stream and follow its faces "
        f"between with the verdicts of their last detection (default: {DETECT_EVERY} for files; for --live, "
        f"{LIVE_DETECTIONS_PER_S} detections a second: --rate / {LIVE_DETECTIONS_PER_S})",
    )
