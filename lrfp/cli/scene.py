"""`lrfp scene`, `lrfp monitor` and `lrfp scene-bench`: the detector and the classifier together on photos and videos."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from lrfp.cli import argtypes, options
from lrfp.cli import noface as noface_cli
from lrfp.core import labels, paths
from lrfp.core.errors import ConfigError
from lrfp.core.records import write_json_atomic
from lrfp.data.images import IMAGE_SUFFIXES, MAX_PIXELS
from lrfp.data.voc import photos_of
from lrfp.evaluation.scene_bench import scene_benchmark
from lrfp.pipeline import frame_rows, video
from lrfp.pipeline.detect import DEFAULT_DETECTOR, DETECTORS, PYRAMID_STEP, FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import cap_note
from lrfp.pipeline.video import check, process
from lrfp.scale.defaults import RATE, SLICE_S, live_every
from lrfp.scale.engine import Engine
from lrfp.scale.live import LiveRun
from lrfp.scale.live_ray import run_on_ray
from lrfp.scale.monitor import monitor
from lrfp.scale.settings import LiveSettings, Settings


def cmd_scene(args) -> int:
    check(args.input, args.out)  # a bad input or --out is refused before the model loads
    clf = Classifier(options.model_or_default(args.model), backend=args.backend, device=args.device)
    detector = FaceDetector(args.detector, min_score=args.min_score, scale=args.detector_scale)
    out, csv_path, rows = process(args.input, args.out, clf, detector, keep_rejected=args.keep_rejected)
    read = [r for r in rows if r["status"] == "ok"]
    # an "ok" row's count columns hold ints (lrfp.pipeline.frame_rows.frame_row)
    totals = {c: sum(cast(int, r[c]) for r in read) for c in labels.COUNT_COLUMNS}
    share = labels.compliance(totals)
    rate = f"{share:.1%}" if share is not None else "n/a"
    rejected = sum(cast(int, r["rejected"]) for r in read)
    skipped = len(rows) - len(read)
    found = sum(cast(int, r["faces_found"]) for r in read)
    print(
        f"{len(read)} frame(s), {totals['faces']} face(s), {totals['with_mask']} with mask, {totals['without_mask']} without, "
        f"{totals['incorrect']} worn incorrectly, {totals['unsure']} can't tell, "
        f"{totals['too_small']} too small (compliance {rate} of the faces judged)"
        + (f", {rejected} box(es) rejected as not faces" if rejected else "")
        + (f"; {cap_note(totals['faces'], found)} (LRFP_MAX_FACES)" if found > totals["faces"] else "")
        + (f", {skipped} frame(s) skipped (could not be decoded; status unreadable in the CSV)" if skipped else "")
        + f" -> {out}, {csv_path}"
    )
    return 0


def cmd_monitor(args) -> int:
    live = bool(args.live or not args.inputs)
    # --detect-every's default: Settings' for files, live_every(--rate) for live streams
    detect_every = args.detect_every or (live_every(args.rate) if live else None)
    settings = Settings(
        model=options.model_or_default(args.model),
        backend=args.backend,
        device=args.device,
        detector=args.detector,
        detector_scale=args.detector_scale,
        min_score=args.min_score,
        every=args.every,
        **({"detect_every": detect_every} if detect_every else {}),
    )
    # --engine's default: Ray's actors for files, this process for live streams
    engine = Engine(args.engine or ("local" if live else "ray"), args.workers, args.address)
    if live:
        return cmd_live(args, settings, engine)
    summary = monitor(args.inputs, args.out, settings, mapping=args.mapping, engine=engine, fresh=args.fresh)
    print(
        f"{summary['files']} file(s), {summary['analysed']} analysed now in {summary['seconds']:.1f} s: "
        f"{summary['frames']} frame(s), {summary['unreadable_frames']} unreadable frame(s), "
        f"{summary['errors']} file(s) in error -> {summary['table']}, {summary['csv']}; {summary['people']} "
        f"people (faces followed across frames) -> {summary['people_table']}"
    )
    return 0


def cmd_live(args, settings: Settings, engine: Engine) -> int:
    if not args.live:
        raise ConfigError("give INPUT files or folders, or --live URL...")
    if args.inputs:
        raise ConfigError(f"--live reads streams, not files: leave out {' '.join(args.inputs)} (or run twice)")
    # bad rules and URLs are refused here, once, before a model loads or Ray starts
    live = LiveSettings.parse(args.live, args.alert, args.rate, args.slice, args.webhook)
    if engine.on_ray:  # one Ray actor per group of streams
        summary = run_on_ray(live, args.out, settings, engine=engine, duration_s=args.duration)
    else:
        summary = LiveRun(live, args.out, settings.analysis()).run(args.duration)
    for s in summary["streams"]:
        print(
            f"{s['camera']}: {s['read']} frame(s) read, {s['analysed']} analysed, {s['skipped']} skipped over --rate, {s['dropped']} dropped, {s['refused']} refused as too large, "
            f"{s['reconnects']} reconnect(s){age_note(s.get('age_s'))}"
        )
    print(f"{summary['slices']} slice(s), {summary['alerts']} alert(s) in {summary['seconds']:.0f} s -> {args.out}")
    return 0


def cmd_scene_bench(args) -> int:
    if not args.source and not args.noface:
        raise ConfigError("give --source (labelled photos), --noface (pictures with no face), or both")
    noface_rows = noface_cli.rows(args)  # a bad --noface-views or set is refused before the model loads
    clf = Classifier(options.model_or_default(args.model), backend=args.backend, device=args.device)
    detector = FaceDetector(
        args.detector,
        min_score=args.min_score,
        scale=args.detector_scale,
        max_side=args.detector_max_side,
        enlarged_min_score=args.enlarged_min_score,
        reduced_min_score=args.reduced_min_score,
        enlarge=args.enlarge,
        budget_mp=args.budget_mp,
        step=args.pyramid_step,
    )
    report: dict = (
        _labelled_report(args, clf, detector) if args.source else {"model": clf.name, "detector": detector.describe()}
    )
    if args.noface:
        report |= noface_cli.report(args, noface_rows, clf, detector)
    out = Path(args.out) if args.out else paths.RESULTS_DIR / "scene" / f"{clf.name}.json"
    write_json_atomic(report, out)
    print(f"wrote {out}")
    return 0


def _labelled_report(args, clf, detector) -> dict:
    """The labelled photos' report (found, right, unmatched), printed in one line."""
    xml_files = photos_of(Path(args.source), Path(args.data) if args.data else None, args.split)[:: args.every]
    report = scene_benchmark(xml_files, clf, detector, view=args.view)
    every = f"every {args.every}th photo of the " if args.every > 1 else ""
    report |= {
        "model": clf.name,
        "source": Path(args.source).name,
        "view": args.view,
        "detector": detector.describe(),
        "photos_from": f"{every}{args.split} split of {Path(args.data).name}" if args.data else "every photo",
    }
    lo, hi = report["end_to_end_interval"]
    print(
        f"{report['photos']} photos, {report['labelled_faces']} labelled faces: found {report['recall']:.1%} "
        f"("
        + ", ".join(f"{k} px {v['recall']:.1%}" for k, v in report["recall_by_size"].items() if v["recall"] is not None)
        + f"); found faces labelled right {report['accuracy']:.1%} (balanced {report['balanced_accuracy']:.1%}); "
        f"found and right {report['end_to_end']:.1%} ({lo:.1%}-{hi:.1%}); "
        f"{report['unmatched_per_photo']:.2f} unmatched detections per photo; {report['ms_per_photo_median']:.0f} ms per photo"
    )
    if report["found_faces"]:
        print(f"found faces answered can't tell: {report['found_unsure']} of {report['found_faces']}")
    for size, v in report.get("boxes_per_face", {}).items():
        print(f"pasted at {size} px: {v['one']} of {v['frames']} faces got one box, {v['more']} more, {v['none']} none")
    return report


def add_scene(sc) -> None:
    sc.epilog = (
        f"The CSV has one row per frame: {', '.join(frame_rows.CSV_FIELDS)}; status is unreadable for a frame that "
        f"could not be decoded (it is skipped and counted). Frames have the images' limit of {MAX_PIXELS:,} "
        f"pixels. Both files are written under temporary names and renamed when complete."
    )
    sc.add_argument(
        "input", help=f"an image ({', '.join(IMAGE_SUFFIXES)}) or a video ({', '.join(video.VIDEO_SUFFIXES)})"
    )
    sc.add_argument(
        "--out",
        help=f"annotated output, a video as {'|'.join(video.VIDEO_OUT_SUFFIXES)} or an image as "
        f"{'|'.join(video.IMAGE_OUT_SUFFIXES)}, never the input (default "
        f"INPUT-annotated{'|'.join(video.DEFAULT_OUT.values())}); the CSV goes beside it",
    )
    options.add_model(
        sc, help=f"{options.MODEL_HELP} (default: the default model named in weights/index.json, as the app uses)"
    )
    options.add_classifier(sc)
    options.add_detector(
        sc,
        scale_help=f"one look at frames resized by this factor (default: the scale pyramid, the "
        f"frame reduced, at its own size and enlarged up to {DETECTORS[DEFAULT_DETECTOR].enlarge:g}x, "
        f"see docs/detection.md); 0.5 is much faster and misses small faces",
    )
    sc.add_argument(
        "--keep-rejected",
        action="store_true",
        help="draw the boxes the face check found no face in too, in grey, tagged 'not a face' (never counted)",
    )
    options.add_no_progress(sc)
    sc.set_defaults(func=cmd_scene)


def add_monitor(mo) -> None:
    mo.description = (
        "Analyse every video and photo of the inputs, each file on a Ray worker holding a detector and a "
        "classifier, into OUT/frames.parquet and OUT/frames.csv: one row per frame (camera, source, "
        "frame, offset_s, time, faces by label, compliance, status, error, face_rows), and "
        "OUT/people.parquet: one row per person followed across frames. Each "
        "file's rows are kept in OUT/parts once complete: a rerun skips the files already there. A file "
        "that cannot be read is one row with status error; the run goes on."
    )
    mo.epilog = (
        "A file's camera is the folder it was found in (the first subfolder of a folder input), unless the "
        "mapping file names one. A frame's time is the video's own timestamp plus the file's start: the "
        "mapping file's, else the video's creation_time or the photo's EXIF time; empty when none is known "
        "(offset_s stays)."
    )
    mo.add_argument("inputs", nargs="*", metavar="INPUT", help="folders, video or photo files, or glob patterns")
    mo.add_argument(
        "--live",
        nargs="+",
        metavar="URL",
        help="live cameras instead of files: rtsp://, http(s):// "
        "(MJPEG) URLs or /dev/videoN, each optionally NAME=URL (unnamed: camera-1, camera-2, ...); written in time slices to OUT/slices "
        "(see docs/monitoring.md)",
    )
    mo.add_argument(
        "--rate",
        type=argtypes.POSITIVE,
        default=RATE,
        help="--live: frames analysed per second and stream at most "
        "(default: %(default)s); the others are skipped, and counted",
    )
    mo.add_argument(
        "--slice", type=argtypes.SLICE_SECONDS, default=SLICE_S, help="--live: seconds per slice (default: %(default)s)"
    )
    mo.add_argument(
        "--duration", type=argtypes.POSITIVE, help="--live: stop after this many seconds (default: until Ctrl-C)"
    )
    mo.add_argument(
        "--alert",
        action="append",
        default=[],
        metavar="RULE",
        help="[CAMERA=]compliance:PERCENT:MINUTES[:PEOPLE] or [CAMERA=]silent:MINUTES (repeatable)",
    )
    mo.add_argument("--webhook", help="--alert: also POST each alert as JSON to this http(s) URL")
    mo.add_argument("--out", required=True, help="results folder (frames.parquet, frames.csv, parts/)")
    mo.add_argument(
        "--mapping",
        help="CSV with columns path (file or folder, relative to the CSV), camera, start "
        "(ISO 8601 time of the file's first frame)",
    )
    # one Ray actor per CPU analysing files, unlike the training sweeps' tasks (options.add_sweep_engine)
    mo.add_argument(
        "--workers", type=argtypes.positive_int, default=1, help="Ray actors, each one CPU (default: %(default)s)"
    )
    mo.add_argument("--address", help="a Ray cluster to run on (default: $RAY_ADDRESS, else a local Ray)")
    mo.add_argument(
        "--engine",
        choices=("ray", "local"),
        help="local: a plain loop in this process, no Ray (default: ray for files; local for --live, "
        "where ray runs one actor per group of streams, --workers groups)",
    )
    options.add_frame_choice(mo)
    options.add_model(mo)
    options.add_classifier(mo)
    options.add_detector(
        mo, scale_help="one look at frames resized by this factor (default: the scale pyramid, see docs/detection.md)"
    )
    mo.add_argument("--fresh", action="store_true", help="analyse every file again, forgetting OUT/parts")
    options.add_no_progress(mo)
    mo.set_defaults(func=cmd_monitor)


def add_scene_bench(sb) -> None:
    sb.add_argument("--source", help="a PASCAL VOC set: images/ + annotations/ (or only --noface)")
    sb.add_argument("--data", help="only the source photos of this built dataset's --split (default: every photo)")
    options.add_split(sb)
    options.add_model(sb)
    options.add_classifier(sb)
    options.add_detector(
        sb,
        scale_help="one look at photos resized by this factor (default: the app's scale pyramid, "
        "see docs/detection.md)",
    )
    sb.add_argument(
        "--detector-max-side",
        type=argtypes.positive_int,
        help="with --detector-scale: cap the look at this many px, untiled (3 and 2048: the earlier default)",
    )
    sb.add_argument("--enlarged-min-score", type=argtypes.SCORE, help="pyramid: confidence asked of the enlarged look")
    sb.add_argument(
        "--reduced-min-score",
        type=argtypes.SCORE,
        help="pyramid: confidence asked of the reduced looks (default: their detector's own, "
        + ", ".join(f"{k} {DETECTORS[d.reduced_looks or k].min_score:g}" for k, d in DETECTORS.items())
        + ")",
    )
    sb.add_argument(
        "--enlarge",
        type=argtypes.DETECTOR_SCALE,
        help="pyramid: how much the finest look enlarges (default: the "
        "detector's own, " + ", ".join(f"{k} {d.enlarge:g}" for k, d in DETECTORS.items()) + ")",
    )
    sb.add_argument(
        "--budget-mp",
        type=argtypes.BUDGET_MP,
        help="pyramid: detector megapixels per frame (default: grows with the frame, see docs/detection.md)",
    )
    sb.add_argument(
        "--pyramid-step",
        type=argtypes.positive_int,
        default=PYRAMID_STEP,
        help="pyramid: each reduced look is this many times smaller than the next (default: %(default)s)",
    )
    sb.add_argument(
        "--view",
        default="1x",
        help="1x, enlarged-K (photos K times bigger), tiled-KxK (K x K photos in "
        "one frame), phone (photos at 4032 px), closeup (photos with a face of "
        "128 px or more, at 4032 px) or pasted (each photo's biggest face alone "
        "at 8-3000 px)",
    )
    sb.add_argument(
        "--every", type=argtypes.positive_int, default=1, help="only every this many-th photo (default: all)"
    )
    noface_cli.add_arguments(sb)
    sb.add_argument("--out", help="record path (default results/scene/<model>.json)")
    options.add_no_progress(sb)
    sb.set_defaults(func=cmd_scene_bench)


def age_note(ages: dict | None) -> str:
    """A stream's frame ages at analysis (lrfp.scale.ages), as the end of its summary line."""
    if not ages or ages["p50"] is None:
        return ""
    return f", analysed {ages['p50']:.1f} s after they came (median; at most {ages['max']:.1f} s)"
