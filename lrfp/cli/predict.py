"""`lrfp predict` (face images, one label each) and `lrfp export` (a checkpoint as ONNX)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from lrfp.cli import options
from lrfp.core.cells import safe_cell
from lrfp.data.images import FACE_CROP_MAX_SIDE, BadImageError, load_image
from lrfp.models.onnx_backend import export_onnx
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier, resolve_checkpoint

# `lrfp predict` reads an image at most this big (px, longer side): one face, the model resizes it anyway
PREDICT_SIDE = 2048
# an image whose shorter side is over data.FACE_CROP_MAX_SIDE is searched for faces in one look at
# most this big (px, longer side): enough to tell a crowd, and cheap (measured here: 0.2 s once to
# start the detector, then 8 ms for a 200 px crop, 0.23 s for a 2048 px photo)
CROWD_LOOK_SIDE = 1024


def shown_name(name: str) -> str:
    """A file name as output lines show it: as it is, or as a Python string literal ('a\\nb.png') when it
    holds a tab, newline or other unprintable character (one file, one line) or starts with a quote; and
    with a leading apostrophe when it starts like a spreadsheet formula (@SUM(1).jpg), as CSV cells are."""
    return safe_cell(name if name.isprintable() and not name.startswith(("'", '"')) else repr(name))


def cmd_predict(args) -> int:
    clf = Classifier(options.model_or_default(args.model), backend=args.backend, device=args.device)
    detector, failed = None, 0
    for path in args.images:
        shown = shown_name(path)
        try:
            image = load_image(path, name=shown, max_side=PREDICT_SIDE)
        except BadImageError as exc:  # the other files are still classified; the exit code says one failed
            print(f"lrfp: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        pred = clf.predict([image])[0]
        print(f"{shown}\t{pred.label}\t" + ("-" if pred.probability is None else f"{pred.probability:.4f}"))
        if min(image.size) > FACE_CROP_MAX_SIDE:  # bigger than a face crop: perhaps a photo of several people
            detector = detector or FaceDetector("retinaface", scale=1.0, max_side=CROWD_LOOK_SIDE)
            faces = len(detector.detect(image))
            if faces > 1:
                again = shlex.quote(path) if path.isprintable() else shown
                print(
                    f"lrfp: note: {shown}: the face detector sees {faces} faces; predict labels the whole image "
                    f"as one face, `lrfp scene {again}` labels each",
                    file=sys.stderr,
                )
    return 2 if failed else 0


def cmd_export(args) -> int:
    src = resolve_checkpoint(args.model)
    out = Path(args.out) if args.out else src.with_suffix(".onnx")
    export_onnx(src, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, dynamic batch size)")
    return 0


def add_predict(pr) -> None:
    pr.description = (
        "Classify each image as one face: one line per image, NAME<TAB>LABEL<TAB>PROBABILITY (a name "
        "holding a tab, newline or other unprintable character, or starting with a quote, is written as "
        "a Python string literal, 'a\\nb.png'; one starting with = + - or @, as a spreadsheet formula "
        "would, gets a leading apostrophe)."
    )
    pr.epilog = (
        f"An image whose shorter side is over {FACE_CROP_MAX_SIDE} px is also searched for faces (one look at "
        f"most {CROWD_LOOK_SIDE} px on its longer side); where the detector sees 2 or more, a note on stderr "
        f"points to `lrfp scene`, which labels each face. A file that cannot be read is one `lrfp: error: "
        f"PATH: ...` line on stderr; the other files are still classified, and the exit code is 2 if any "
        f"file failed."
    )
    options.add_model(
        pr,
        help=f"{options.MODEL_HELP} (default: the default model named in weights/index.json, as "
        "`lrfp scene` and the app use)",
    )
    pr.add_argument("images", nargs="+", metavar="IMAGE")
    options.add_classifier(pr)
    pr.set_defaults(func=cmd_predict)


def add_export(ex) -> None:
    options.add_required_model(ex)
    ex.add_argument("--format", choices=("onnx",), default="onnx")
    ex.add_argument("--out", help="output path (default: the checkpoint's path with .onnx)")
    ex.set_defaults(func=cmd_export)
