"""`lrfp data build`, `lrfp data demo` and `lrfp facebank build`: the datasets made from a PASCAL VOC set."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lrfp.cli import argtypes, options
from lrfp.data.build import BuildOptions, build_dataset
from lrfp.data.demo import build_demo
from lrfp.data.facebank import build_facebank
from lrfp.data.images import SPLITS
from lrfp.data.noface import KINDS, build_noface
from lrfp.data.noface_text import FONTS
from lrfp.data.occlusion import build_occlusion
from lrfp.data.splits import parse_split
from lrfp.experiments.detector import split_train_photos
from lrfp.experiments.facecheck import build_facecheck
from lrfp.pipeline.detect import MAX_SIDE, UPSCALE, FaceDetector


def format_counts(stats: dict) -> str:
    """The faces of each split and class (and before balancing), and the photos they came from, as a table."""
    classes = stats["classes"]
    lines = [f"{'split':<6} " + " ".join(f"{c:>22}" for c in classes) + f" {'total':>7} {'photos':>7}"]
    for s in SPLITS:
        row = stats["counts"][s]
        lines.append(
            f"{s:<6} "
            + " ".join(f"{row[c]:>10} (of {stats['counts_before_balance'][s][c]:>5})" for c in classes)
            + f" {sum(row.values()):>7} {stats['source_images'][s]:>7}"
        )
    return "\n".join(lines)


def cmd_data_build(args) -> int:
    opts = BuildOptions(
        min_face=args.min_face,
        margin=args.margin,
        balance=args.balance,
        seed=args.seed,
        split=parse_split(args.split),
        include_incorrect=args.include_incorrect,
        groups_file=Path(args.groups) if args.groups else None,
    )
    stats = build_dataset(Path(args.source), Path(args.out), opts)
    print(format_counts(stats))
    for key, what in (("skipped", "source file(s)"), ("skipped_boxes", "face box(es)")):
        if stats[key]:
            print(f"{len(stats[key])} {what} skipped; the build went on without them:")
            for msg in stats[key]:
                print(f"  {msg}")
    print(
        f"wrote {args.out}/manifest.json and stats.json; data fingerprint (manifest sha256) {stats['manifest_sha256']}"
    )
    return 0


def cmd_data_demo(args) -> int:
    stats = build_demo(Path(args.source), Path(args.out))
    print(f"wrote {args.out}/fmd853-lr (data fingerprint {stats['manifest_sha256'][:12]}…) and {args.out}/scenes")
    return 0


def cmd_data_occlusion(args) -> int:
    marked, source, data = Path(args.marked) if args.marked else None, Path(args.source), Path(args.data)
    held_out = frozenset(x.stem for x in split_train_photos(source, data)[1]) if args.hold_out else frozenset()
    boxes = Path(args.boxes) if args.boxes else None
    manifest = build_occlusion(
        source, data, Path(args.out), args.seed, marked, args.margin, held_out, args.loose, boxes
    )
    counts = ", ".join(f"{split} {len(entries)}" for split, entries in manifest["splits"].items())
    print(f"wrote {args.out}: visible and hidden face crops ({counts})")
    return 0


def cmd_data_facecheck(args) -> int:
    noface = Path(args.noface) if args.noface else None
    marked = Path(args.marked) if args.marked else None
    looked = Path(args.looked) if args.looked else None
    manifest = build_facecheck(Path(args.source), Path(args.data), Path(args.out), noface, args.seed, marked, looked)
    counts = ", ".join(f"{split} {len(entries)}" for split, entries in manifest["splits"].items())
    print(f"wrote {args.out}: face and not-face crops of the detector's boxes ({counts})")
    return 0


def cmd_facebank_build(args) -> int:
    # the face bank keeps the single look it was built with (3x, at most 2048 px): the production models
    # were trained on its crops, and a rebuild gives the same bank
    summary = build_facebank(
        Path(args.source),
        Path(args.out),
        FaceDetector("retinaface", scale=UPSCALE, max_side=MAX_SIDE),
        min_face=args.min_face,
    )
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.out}")
    return 0


def add_data(parser) -> None:
    data = parser.add_subparsers(dest="data_command", required=True)
    build = data.add_parser("build", help="crop faces from a PASCAL VOC set (or split a class-folder set)")
    build.add_argument("--source", required=True, help="images/ + annotations/ (VOC), or <class>/ folders")
    build.add_argument("--out", required=True, help="output folder (an ImageFolder plus manifest.json)")
    build.add_argument(
        "--min-face", type=argtypes.positive_int, default=8, help="smallest face kept, shorter box side in px (8)"
    )
    build.add_argument(
        "--margin", type=argtypes.MARGIN, default=0.0, help="enlarge each box by this fraction per side (0)"
    )
    build.add_argument(
        "--balance",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="subsample with_mask to the without_mask count in each split (on)",
    )
    build.add_argument("--seed", type=argtypes.SEED, default=0)
    build.add_argument("--split", default="80,4,16", help="train,val,test percentages (80,4,16 as the paper)")
    build.add_argument("--include-incorrect", action="store_true", help="also export mask_weared_incorrect")
    build.add_argument(
        "--groups", help="CSV (group,image) of near-duplicate photos; default SOURCE/near_duplicate_groups.csv"
    )
    build.set_defaults(func=cmd_data_build)

    demo = data.add_parser("demo", help="make the shipped demo set: the default build plus a few test-split scenes")
    demo.add_argument("--source", required=True, help="the Kaggle set: images/ + annotations/")
    demo.add_argument("--out", default="demo", help="output folder (demo)")
    demo.set_defaults(func=cmd_data_demo)

    occlusion = data.add_parser(
        "occlusion", help="visible against hidden lower faces (the \"can't tell\" answer's data)"
    )
    occlusion.add_argument("--source", required=True, help="the PASCAL VOC source of the build")
    occlusion.add_argument("--data", required=True, help="a built data set: its splits' photos, split the same way")
    occlusion.add_argument("--out", required=True, help="output folder (an ImageFolder plus manifest.json)")
    occlusion.add_argument("--seed", type=argtypes.SEED, default=0)
    occlusion.add_argument(
        "--marked", help="boxes marked hidden or visible by hand (results/unsure/train_hand_marked.json)"
    )
    occlusion.add_argument(
        "--margin",
        type=argtypes.Number(0, 1),
        help="cut every crop, visible and hidden, from a tenth tighter than its face to this share of it beyond "
        "each side (0.3, say; default: the label box give or take a tenth)",
    )
    occlusion.add_argument(
        "--hold-out",
        action="store_true",
        help="the train photos the detector holds out join the validation split (five times the faces to choose "
        "a threshold on)",
    )
    occlusion.add_argument(
        "--loose",
        type=argtypes.Number(0, 1),
        help="each face also gives a second visible and hidden crop, cut from its label box to this share of it "
        "beyond each side (0.5, say), so that a detector's margin is no sign of a cut face",
    )
    occlusion.add_argument(
        "--boxes",
        help="a face-check set (`lrfp data facecheck`): its train split's detector boxes on faces join the train "
        "split as visible crops, each with its upper part as a hidden one, so that a detector's framing (a box "
        "ending at a mask's lower edge) reads as visible",
    )
    occlusion.set_defaults(func=cmd_data_occlusion)

    add_noface(data.add_parser("noface", help="pictures with no face: the set boxes on non-faces are counted on"))

    facecheck = data.add_parser("facecheck", help="the detector's boxes, face or not (the face check's data)")
    facecheck.add_argument("--source", required=True, help="the PASCAL VOC source of the build")
    facecheck.add_argument("--data", required=True, help="a built data set: its train and val photos are used")
    facecheck.add_argument("--out", required=True, help="output folder (an ImageFolder plus manifest.json)")
    facecheck.add_argument(
        "--noface", help="a no-face set (lrfp data noface: manifest.csv gives each picture its split): not_face"
    )
    facecheck.add_argument("--seed", type=argtypes.SEED, default=0)
    facecheck.add_argument(
        "--marked", help="detector boxes matching no labelled face that a look found faces (kept out of the loss)"
    )
    facecheck.add_argument(
        "--looked",
        help="a person's verdicts (crop,looks_like_face) on the no-face set's mined boxes: no -> not_face, "
        "yes or unsure -> kept out (needs --noface)",
    )
    facecheck.set_defaults(func=cmd_data_facecheck)


def add_facebank(bank) -> None:
    build = bank.add_subparsers(dest="facebank_command", required=True).add_parser(
        "build", help="run the face detector on every photo of a VOC set and pair its boxes with the labels"
    )
    build.add_argument("--source", required=True, help="a PASCAL VOC set: images/ + annotations/")
    build.add_argument("--out", required=True, help="the face bank file to write (JSON)")
    build.add_argument(
        "--min-face", type=argtypes.positive_int, default=8, help="smallest face kept, shorter box side in px (8)"
    )
    options.add_no_progress(build)
    build.set_defaults(func=cmd_facebank_build)


def cmd_data_noface(args) -> int:
    kinds = tuple(args.kinds.split(",")) if args.kinds else KINDS
    source, data = (Path(args.source) if args.source else None), (Path(args.data) if args.data else None)
    summary = build_noface(Path(args.out), args.seed, source, data, args.per_kind, kinds)
    for kind, counts in summary["counts"].items():
        print(f"{kind:<13} " + " ".join(f"{s} {counts.get(s, 0):>3}" for s in SPLITS))
    if summary["missing_kinds"]:
        print(
            f"no picture of: {', '.join(summary['missing_kinds'])} (photo-region needs --source and --data; "
            "wallpaper needs Debian's gnome-backgrounds, mate-backgrounds or desktop-base)"
        )
    print(
        f"wrote {summary['pictures']} pictures to {args.out}; fingerprint (manifest.csv sha256) {summary['fingerprint']}"
    )
    return 0


def add_noface(noface) -> None:
    noface.description = (
        "Pictures with no face (typeset pages, scans, forms, charts, program windows, signs, textures, skies, "
        "regions of train photos away from every face, Debian's wallpapers), split train/val/test by picture."
    )
    noface.epilog = (
        "Fonts: the pages use every installed font of " + ", ".join(FONTS["latin"][:4]) + ", ... (Debian's "
        "fonts-dejavu-core, fonts-liberation, fonts-freefont-ttf, fonts-noto-core, fonts-noto-cjk, "
        "fonts-ipafont-gothic); a script with no font installed is left out. See docs/data.md."
    )
    noface.add_argument("--out", required=True, help="output folder (images/<kind>/, manifest.csv, manifest.json)")
    noface.add_argument("--source", help="a PASCAL VOC set (images/ + annotations/): regions of its train photos")
    noface.add_argument("--data", help="the built data set whose train split names those photos")
    noface.add_argument("--seed", type=argtypes.SEED, default=0)
    noface.add_argument("--per-kind", type=argtypes.positive_int, help="pictures per kind (default: the full set's)")
    noface.add_argument("--kinds", help=f"comma-separated kinds (default: all: {','.join(KINDS)})")
    options.add_no_progress(noface)
    noface.set_defaults(func=cmd_data_noface)
