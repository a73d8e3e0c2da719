"""Time and peak memory of one upload, through the Classify page's path: an earlier commit's (before) beside
today's (after), side by side in one run, each against the upload budgets.

    python benchmarks/detection_speed.py [--repeat 3] [--before 071dc52 | --before ../before]
        [--source ../shared/data/fmd853] [--out results/benchmarks/detection_speed.json]

Each case is a JPEG made here (the bytes a user would upload): from the shipped street photos, a
640x480 photo, a 12 MP phone photo of a crowd (the photos tiled) and a 3840x2160 camera frame (the
photos tiled on grey); with ../shared/data beside the checkout, a 32 MP and a 50 MP phone photo of one
person (the test split's biggest face pasted at 2000 / 3000 px on its own photo, stretched, its faces
painted over: scene_bench.pasted). Each (setting, case) runs in a fresh process: decode + detect +
face check + classify with the default model (scene.analyze_upload); the median of --repeat runs after one
warm-up (wall clock; on a busy machine the fastest run and the CPU time of the process's threads say more), the
process's peak resident memory (loaded models included), faces kept, boxes the face check
rejected and detector megapixels looked at, and whether the time and the peak are within BUDGET_MS and
PEAK_MB. `--before REV`: today's package with the commit's lrfp/pipeline/detect.py read from git
(benchmarks/detection_views.py); `--before DIR`: a checkout of the earlier commit, its whole package.
Times are only comparable side by side on a quiet machine; the peak is not timing and holds under load.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCENES = sorted((ROOT / "demo" / "scenes" / "images").glob("*.jpg"))
SOURCE = ROOT.parent / "shared" / "data" / "fmd853"
TILED = {
    "640x480 photo": (640, 480, 1),
    "12 MP phone photo of a crowd (4000x3000)": (4000, 3000, 4),
    "3840x2160 camera frame": (3840, 2160, 6),
}
ONE_PERSON = {
    "32 MP phone photo of one person (6528x4896, face 2000 px)": ((6528, 4896), 2000),
    "50 MP phone photo of one person (8160x6120, face 3000 px)": ((8160, 6120), 3000),
}
# The upload budgets (issue 35): the time of each case on a quiet 2-core machine (none for the 50 MP photo,
# which only has to fit in memory), and the peak of any upload's process.
BUDGET_MS = {
    "640x480 photo": 150,
    "12 MP phone photo of a crowd (4000x3000)": 1500,
    "3840x2160 camera frame": 2000,
    "32 MP phone photo of one person (6528x4896, face 2000 px)": 3000,
}
PEAK_MB = 1500

CHILD = """
import io, resource, statistics, sys, time
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.publishing.index import default_model
from lrfp.pipeline.scene import analyze_upload
data = open(sys.argv[1], "rb").read()
clf = Classifier(default_model() or "model3")
if sys.argv[3] == "commit":
    sys.path.insert(0, {benchmarks!r})
    from detection_views import earlier_detector
    det = earlier_detector(sys.argv[4])
else:
    det = FaceDetector()
analyze_upload(data, "x.jpg", clf, det)  # warm-up
times, cpu = [], []
for _ in range(int(sys.argv[2])):
    t0, c0 = time.perf_counter(), time.process_time()
    image, result = analyze_upload(data, "x.jpg", clf, det)
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
rejected = len(getattr(result, "rejected", []))
print(min(times), statistics.median(times), statistics.median(cpu), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      len(result.faces), rejected, result.detect_mp)
"""


def jpeg(frame: Image.Image) -> bytes:
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def tiled_case(width: int, height: int, per_row: int) -> bytes:
    """A frame of the street photos: each scaled to width/per_row, tiled."""
    frame = Image.new("RGB", (width, height), (128, 128, 128))
    cell = width // per_row
    y = i = 0
    while y < height:
        x, row_h = 0, 0
        while x < width:
            photo = Image.open(SCENES[i % len(SCENES)]).convert("RGB")
            photo = photo.resize((cell, round(photo.height * cell / photo.width)), Image.BICUBIC)
            frame.paste(photo, (x, y))
            x, row_h, i = x + cell, max(row_h, photo.height), i + 1
        y += row_h
    return jpeg(frame)


def one_person_case(source: Path, frame_size: tuple[int, int], face: int) -> bytes:
    """The test split's biggest whole face pasted alone at `face` px (scene_bench.pasted)."""
    from lrfp.data.voc import photos_of, read_labelled_photo
    from lrfp.evaluation.scene_bench import _pasted_face, pasted

    photos = [read_labelled_photo(x) for x in photos_of(source, ROOT / "demo" / "fmd853-lr", "test")]
    photo = max((p for p in photos if _pasted_face(p)), key=lambda p: _pasted_face(p)[2])
    return jpeg(pasted(photo, face, "own photo", frame_size).image)


def run_case(path: Path, setting: str, before: str, repeat: int) -> dict:
    """One (setting, case) in a fresh process: today's package, or the earlier one (a checkout's whole package
    when `before` is a folder, else today's with that commit's detection stage)."""
    code = CHILD.replace("{benchmarks!r}", repr(str(ROOT / "benchmarks")))
    tree = Path(before).resolve() if setting == "before" and Path(before).is_dir() else None
    how = ["tree"] if tree else ["commit", before] if setting == "before" else ["after"]
    env = os.environ | ({"PYTHONPATH": str(tree)} if tree else {})
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(repeat), *how],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree or ROOT,
        env=env,
    )
    fastest, seconds, cpu_seconds, peak_mb, faces, rejected, spent = out.stdout.split()[-7:]
    return {
        "setting": setting,
        "ms": round(float(seconds) * 1000),
        "min_ms": round(float(fastest) * 1000),
        "cpu_ms": round(float(cpu_seconds) * 1000),
        "peak_mb": round(float(peak_mb)),
        "faces": int(faces),
        "rejected": int(rejected),
        "detector_mp": None if spent == "nan" else round(float(spent), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--before", default="071dc52", help="the commit whose detection stage is `before`, or a checkout to run whole"
    )
    parser.add_argument("--source", type=Path, default=SOURCE, help="the labelled photos (the one-person cases)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from lrfp.core.records import cpu_name

    work = ROOT / "test-output" / "detection-speed"
    work.mkdir(parents=True, exist_ok=True)
    cases = {name: (lambda spec=spec: tiled_case(*spec)) for name, spec in TILED.items()}
    if args.source.is_dir():
        cases |= {name: (lambda spec=spec: one_person_case(args.source, *spec)) for name, spec in ONE_PERSON.items()}
    else:
        print(f"{args.source}: no labelled photos; the one-person cases are left out")
    rows = []
    print(
        f"cpu: {cpu_name()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; median of {args.repeat} after a "
        f"warm-up, one process per row; budgets {PEAK_MB} MB peak and the case's time"
    )
    for case, make in cases.items():
        path = work / f"{len(rows)}.jpg"
        path.write_bytes(make())
        for setting in ("before", "after"):
            row = {"case": case} | run_case(path, setting, args.before, args.repeat)
            budget = BUDGET_MS.get(case)
            row |= {"budget_ms": budget, "time_ok": None if budget is None else row["ms"] <= budget}
            row["peak_ok"] = row["peak_mb"] <= PEAK_MB
            rows.append(row)
            verdict = "-" if budget is None else "ok" if row["time_ok"] else "OVER"
            print(
                f"{case:58} {setting:6} {row['ms']:6d} ms ({verdict:>4} {budget or '-'}), fastest {row['min_ms']:6d} ms, CPU "
                f"{row['cpu_ms']:6d} ms  peak {row['peak_mb']:5d} MB "
                f"({'ok' if row['peak_ok'] else 'OVER'})  {row['faces']:>3} faces, {row['rejected']} rejected  "
                f"{row['detector_mp']} detector MP",
                flush=True,
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"cpu": cpu_name(), "cores": os.cpu_count(), "load": round(os.getloadavg()[0], 1)}
        record |= {"before": args.before, "budget_ms": BUDGET_MS, "peak_mb": PEAK_MB, "rows": rows}
        args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
