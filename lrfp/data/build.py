"""Build the low-resolution face-crop dataset from a public source.

Two kinds of source:
- a PASCAL VOC face-mask set (`images/` + `annotations/*.xml`, e.g. Kaggle "Face Mask Detection"):
  every box of a kept class whose shorter side is at least `min_face` px is cropped at native
  resolution (never upscaled on disk);
- a class-folder set of crops (`<class>/*.png|jpg`): the images are copied and split.
lrfp.data.collect reads the source into crops; this module splits them, writes them with their
manifest and stats, and clears what an earlier build in the same folder made.

The split is made by SOURCE IMAGE: all faces of one photo, and photos that are copies of each
other (same bytes, one picture by its perceptual hash (VOC photos), or listed together in a
near-duplicate groups CSV), land in one split; the stats list the groups the hash found. The
proportions hold for the crops of each class, not just for the photos.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lrfp.core.locks import LOCK_FILES, folder_lock
from lrfp.core.progress import bar
from lrfp.core.records import remove_stale_temps, write_json_atomic
from lrfp.data.collect import BuildOptions, Crop, collect_folders, collect_voc, name_crops
from lrfp.data.images import MANIFEST_NAME, SPLITS, DatasetError, manifest_hash, read_manifest
from lrfp.data.splits import NEAR_DUPLICATES_FILE, assign_splits, balance_split, group_sources, similar_photos
from lrfp.data.voc import INCORRECT_CLASS, PAPER_CLASSES

log = logging.getLogger(__name__)

STATS_NAME = "stats.json"
# the crops a build is about to write, listed before the first one is: a killed build's files are
# known to be its own, and the next build removes them
PENDING_NAME = ".lrfp-build-pending.json"
FACE_SIZE_BINS = (8, 12, 16, 24, 32, 48, 64, 96, 128)
MANIFEST_VERSION = 1


def face_size_histogram(crops: list[Crop], classes: Iterable[str]) -> dict[str, Any]:
    # each bin's (lowest, first size above it); the last has no upper end
    bins: list[tuple[int, int | None]] = list(zip(FACE_SIZE_BINS, [*FACE_SIZE_BINS[1:], None]))
    labels = [f"{lo}-{hi - 1}" if hi else f">={lo}" for lo, hi in bins]
    hist = {c: [0] * len(labels) for c in classes}
    for crop in crops:
        for i, (lo, hi) in enumerate(bins):
            if crop.face_px >= lo and (hi is None or crop.face_px < hi):
                hist[crop.label][i] += 1
    return {"bins": labels, "counts": hist}


def _previous_build(out: Path) -> list[Path]:
    """The crop files an earlier build listed in OUT/manifest.json, checked to lie inside OUT.

    DatasetError when OUT holds other things than a build, or a manifest that cannot be trusted:
    nothing it names is deleted unless it is OUT/CLASS/FILE.
    """
    if not out.exists():
        return []
    if not out.is_dir():
        raise DatasetError(f"{out}: exists and is not a folder; choose another --out")
    if not any(p.name not in (*LOCK_FILES, PENDING_NAME) for p in out.iterdir()):
        return []
    listed = [name for name in (MANIFEST_NAME, PENDING_NAME) if (out / name).is_file()]
    if not listed:
        raise DatasetError(f"{out}: exists, is not empty and holds no {MANIFEST_NAME}; choose an empty folder")
    previous = []
    for name in listed:
        try:
            manifest = read_manifest(out, name)
        except DatasetError as exc:
            raise DatasetError(
                f"{exc}. It cannot say which files an earlier build made: delete {out} "
                "yourself, or choose another --out"
            ) from exc
        previous += [out / e["path"] for split in SPLITS for e in manifest["splits"][split]]
    return previous


def _clear_previous(out: Path, previous: list[Path], classes=()) -> None:
    """Delete what an earlier build made (its listed crops, then class folders left empty); nothing else."""
    for path in previous:
        path.unlink(missing_ok=True)
    for folder in {p.parent for p in previous} | {out / c for c in classes}:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    remove_stale_temps(out)


def canonical_options(opts: BuildOptions, groups_used: bool) -> dict:
    """Build options as the manifest records them: no file or folder names, numbers in one form."""
    return {
        "min_face": int(opts.min_face),
        "margin": round(float(opts.margin), 6),
        "balance": bool(opts.balance),
        "seed": int(opts.seed),
        "split": [round(float(x), 6) for x in opts.split],
        "include_incorrect": bool(opts.include_incorrect),
        "near_duplicate_groups": groups_used,
    }


def build_dataset(source: Path, out: Path, opts: BuildOptions | None = None) -> dict:
    """Build OUT/<class>/*.png, OUT/manifest.json and OUT/stats.json; return the stats.

    The manifest is canonical: sorted, and free of anything that depends on the machine or the
    source folder's name, so the same source and options give the same bytes anywhere; its
    sha256 is the data fingerprint that run records name.
    """
    opts = opts or BuildOptions()
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise DatasetError(f"{source}: no such source folder")
    classes = PAPER_CLASSES + ((INCORRECT_CLASS,) if opts.include_incorrect else ())
    is_voc = (source / "annotations").is_dir()
    if not is_voc and out.resolve().is_relative_to(source.resolve()):
        # the build's class folders would be read as source classes by the next build (a VOC source
        # reads only images/ and annotations/, so an --out beside them does no harm)
        raise DatasetError(
            f"{out}: --out lies inside the class-folder source {source}, whose every folder is read "
            "as a class; choose an --out outside it"
        )
    previous = _previous_build(out)  # refuse an unusable --out before the long part
    skipped: list[str] = []
    skipped_boxes: list[str] = []
    if is_voc:
        crops = collect_voc(source, classes, opts, skipped, skipped_boxes)
    else:
        crops = collect_folders(source, classes, skipped)
    name_crops(crops)
    present = {c.label for c in crops}
    absent = [c for c in PAPER_CLASSES if c not in present]
    if absent:
        raise DatasetError(f"{source}: no usable faces of class(es) {absent} (min face {opts.min_face} px)")
    groups_file = opts.groups_file or (source / NEAR_DUPLICATES_FILE)
    # photos only: a class-folder set's crops are too small and alike for the hash (different generated
    # 20 px faces fell into groups of up to 20)
    similar = similar_photos(source, sorted({c.source for c in crops})) if is_voc else []
    log.info(
        f"{len(similar)} group(s) of photos that are one picture saved more than once (perceptual hash); "
        "each group is kept in one split"
    )
    by_split, before = _split_crops(source, crops, classes, opts, groups_file, similar)
    manifest = _manifest(by_split, classes, is_voc, canonical_options(opts, groups_file.is_file()))
    selected = sorted((c for s in SPLITS for c in by_split[s]), key=lambda c: c.path)
    with folder_lock(out, "dataset build"):
        write_json_atomic(manifest, out / PENDING_NAME)
        _clear_previous(out, previous)
        (out / MANIFEST_NAME).unlink(missing_ok=True)
        _write_crops(out, classes, selected, manifest)
        (out / PENDING_NAME).unlink()
        stats = {
            "classes": list(classes),
            "counts": {s: {c: sum(1 for x in by_split[s] if x.label == c) for c in classes} for s in SPLITS},
            "counts_before_balance": {s: {c: before[s].get(c, 0) for c in classes} for s in SPLITS},
            "source_images": {s: len({x.source for x in by_split[s]}) for s in SPLITS},
            "similar_photo_groups": similar,
            "face_size_histogram": face_size_histogram(selected, classes),
            "skipped": skipped,
            "skipped_boxes": skipped_boxes,
            "manifest_sha256": manifest_hash(out),
        }
        write_json_atomic(stats, out / STATS_NAME)
    return stats


def _split_crops(
    source: Path, crops: list[Crop], classes, opts: BuildOptions, groups_file: Path, similar: list[list[str]]
) -> tuple[dict, dict]:
    """(split -> its crops, after balancing when asked; split -> class counts before balancing)."""
    group_of = group_sources(source, sorted({c.source for c in crops}), groups_file, similar)
    group_counts: dict[str, Counter] = defaultdict(Counter)
    for crop in crops:
        group_counts[group_of[crop.source]][crop.label] += 1
    split_of_group = assign_splits(group_counts, classes, opts.split, opts.seed)
    by_split = {s: [c for c in crops if split_of_group[group_of[c.source]] == s] for s in SPLITS}
    before = {s: dict(Counter(c.label for c in by_split[s])) for s in SPLITS}
    if opts.balance:
        by_split = {s: balance_split(by_split[s], opts.seed + i) for i, s in enumerate(SPLITS)}
    _check_splits(source, by_split, before, classes)
    return by_split, before


def _manifest(by_split: dict, classes, is_voc: bool, options: dict) -> dict:
    """The canonical manifest (sorted, machine-free), checked to name each crop once and each photo in one split."""
    manifest = {
        "version": MANIFEST_VERSION,
        "classes": list(classes),
        "source": {"kind": "voc" if is_voc else "folders"},
        "options": options,
        "splits": {
            s: [
                {"path": c.path, "label": c.label, "face_px": c.face_px, "source": c.source, "box": list(c.box)}
                for c in sorted(by_split[s], key=lambda c: c.path)
            ]
            for s in SPLITS
        },
    }
    _check_manifest_is_one_to_one(manifest)
    return manifest


def _write_crops(out: Path, classes, selected: list[Crop], manifest: dict) -> None:
    """Write the crops, then the manifest. On failure (a full disk, Ctrl-C) the crops written so far
    are deleted, giving the space back: the folder holds no half build, and a rerun starts afresh."""
    written: list[Path] = []
    try:
        for c in classes:
            (out / c).mkdir(parents=True, exist_ok=True)
        for crop in bar(selected, desc="writing crops", unit="img", leave=False):
            path = out / crop.path
            written.append(path)  # before the save: a half-written file goes too
            try:
                crop.image.save(path)
            except OSError as exc:
                if exc.filename is None:  # Pillow's write errors (disk full) name no file: name it
                    raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
                raise
        write_json_atomic(manifest, out / MANIFEST_NAME)  # after the crops: a manifest means a whole build
    except BaseException:
        _clear_previous(out, written, classes)
        (out / PENDING_NAME).unlink(missing_ok=True)
        raise


def _check_manifest_is_one_to_one(manifest: dict) -> None:
    """A bug guard: one file per manifest entry, and each source photo in one split only."""
    paths = Counter(e["path"] for s in SPLITS for e in manifest["splits"][s])
    clashes = [p for p, n in paths.items() if n > 1]
    split_of: dict[str, set] = defaultdict(set)
    for s in SPLITS:
        for e in manifest["splits"][s]:
            split_of[e["source"]].add(s)
    straddling = [src for src, splits in split_of.items() if len(splits) > 1]
    if clashes or straddling:
        raise RuntimeError(
            f"bug: the manifest lists {len(clashes)} crop path(s) twice (e.g. {clashes[:3]}) and "
            f"{len(straddling)} photo(s) in two splits (e.g. {straddling[:3]})"
        )


def _check_splits(source: Path, by_split: dict, before: dict, classes) -> None:
    """DatasetError, before anything is written, when a split came out empty."""
    problems = [s for s in SPLITS if not by_split[s]]
    if not problems:
        return
    counts = "; ".join(f"{s}: " + ", ".join(f"{c} {before[s].get(c, 0)}" for c in classes) for s in SPLITS)
    raise DatasetError(
        f"{source}: the {' and '.join(problems)} split(s) came out empty (faces before balancing: "
        f"{counts}); use a source with more photos, or give those splits a larger share "
        "(--split 70,15,15)"
    )
