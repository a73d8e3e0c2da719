"""Time and peak memory of one upload, through the Classify page's path: the detection stage of an earlier
commit (before) beside today's (after), side by side in one run.

    python benchmarks/detection_speed.py [--repeat 3] [--before 071dc52] [--out results/benchmarks/detection_speed.json]

Each case is a JPEG made here (the bytes a user would upload): from the shipped street photos, a
640x480 photo, a 12 MP phone photo of a crowd (the photos tiled) and a 3840x2160 camera frame (the
photos tiled on grey); with ../shared/data beside the checkout, a 32 MP and a 50 MP phone photo of one
person (the test split's biggest face pasted at 2000 / 3000 px on its own photo, stretched, its faces
painted over: scene_bench.pasted). Each (setting, case) runs in a fresh process: decode + detect +
classify with the default model (scene.analyze_upload); the median of --repeat runs after one warm-up,
the process's peak resident memory, faces found and detector megapixels looked at. `before` is the
earlier commit's lrfp/pipeline/detect.py, read from git (benchmarks/detection_views.py).
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

CHILD = """
import io, resource, statistics, sys, time
sys.path.insert(0, {benchmarks!r})
from detection_views import earlier_detector
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.publishing.index import default_model
from lrfp.pipeline.scene import analyze_upload
data = open(sys.argv[1], "rb").read()
clf = Classifier(default_model() or "model3")
det = earlier_detector(sys.argv[3]) if sys.argv[3] != "after" else FaceDetector()
analyze_upload(data, "x.jpg", clf, det)  # warm-up
times, faces = [], 0
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    image, result = analyze_upload(data, "x.jpg", clf, det)
    times.append(time.perf_counter() - t0)
    faces = len(result.faces)
print(statistics.median(times), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, faces, result.detect_mp)
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


def one_person_case(frame_size: tuple[int, int], face: int) -> bytes:
    """The test split's biggest whole face pasted alone at `face` px (scene_bench.pasted)."""
    from lrfp.data.voc import photos_of, read_labelled_photo
    from lrfp.evaluation.scene_bench import _pasted_face, pasted

    photos = [read_labelled_photo(x) for x in photos_of(SOURCE, ROOT / "demo" / "fmd853-lr", "test")]
    photo = max((p for p in photos if _pasted_face(p)), key=lambda p: _pasted_face(p)[2])
    return jpeg(pasted(photo, face, "own photo", frame_size).image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", default="071dc52", help="the commit whose detection stage is `before`")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from lrfp.core.records import cpu_name

    work = ROOT / "test-output" / "detection-speed"
    work.mkdir(parents=True, exist_ok=True)
    cases = {name: (lambda spec=spec: tiled_case(*spec)) for name, spec in TILED.items()}
    if SOURCE.is_dir():
        cases |= {name: (lambda spec=spec: one_person_case(*spec)) for name, spec in ONE_PERSON.items()}
    rows = []
    print(
        f"cpu: {cpu_name()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; median of {args.repeat} after a "
        f"warm-up, one process per row"
    )
    for case, make in cases.items():
        path = work / f"{len(rows)}.jpg"
        path.write_bytes(make())
        for setting in ("before", "after"):
            code = CHILD.replace("{benchmarks!r}", repr(str(ROOT / "benchmarks")))
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    code,
                    str(path),
                    str(args.repeat),
                    args.before if setting == "before" else "after",
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            seconds, peak_mb, faces, spent = out.stdout.split()[-4:]
            rows.append(
                {
                    "case": case,
                    "setting": setting,
                    "ms": round(float(seconds) * 1000),
                    "peak_mb": round(float(peak_mb)),
                    "faces": int(faces),
                    "detector_mp": None if spent == "nan" else round(float(spent), 2),
                }
            )
            print(
                f"{case:58} {setting:6} {rows[-1]['ms']:6d} ms  peak {rows[-1]['peak_mb']:5d} MB  {faces:>3} faces  "
                f"{spent} detector MP",
                flush=True,
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"cpu": cpu_name(), "cores": os.cpu_count(), "before": args.before, "rows": rows}, indent=1)
            + "\n"
        )


if __name__ == "__main__":
    main()
