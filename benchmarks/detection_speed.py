"""Time and peak memory of one upload: the earlier single-look detector beside the adaptive stage, with each detector.

    python benchmarks/detection_speed.py [--repeat 3] [--out results/benchmarks/detection_speed.json]

Each case is a JPEG made here from the shipped street photos (the bytes a user would upload): a
640x480 photo, a 12 MP phone photo of a crowd (the photos tiled), and a 3840x2160 camera frame (the
photos tiled on grey). Each (detector, case) runs in a fresh process: decode + detect + classify with
the default model, as the Classify page does; the median of --repeat runs after one warm-up, and the
process's peak resident memory. Run both detectors in one invocation to compare them side by side.
"""
from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCENES = sorted((ROOT / "demo" / "scenes" / "images").glob("*.jpg"))
CASES = {"640x480 photo": (640, 480, 1), "12 MP phone photo (4000x3000)": (4000, 3000, 4),
         "3840x2160 camera frame": (3840, 2160, 6)}  # fmt: skip
DETECTORS = {"earlier: retinaface, one look 3x, at most 2048 px": "FaceDetector('retinaface', scale=3, max_side=2048)",
             "adaptive stage, retinaface": "FaceDetector('retinaface')",
             "adaptive stage, centerface (default)": "FaceDetector('centerface')"}  # fmt: skip

CHILD = """
import io, resource, statistics, sys, time
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.publishing.index import default_model
from lrfp.pipeline.scene import analyze_upload
data = open(sys.argv[1], "rb").read()
clf, det = Classifier(default_model() or "model3"), {detector}
analyze_upload(data, "x.jpg", clf, det)  # warm-up
times, faces = [], 0
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    image, result = analyze_upload(data, "x.jpg", clf, det)
    times.append(time.perf_counter() - t0)
    faces = len(result.faces)
print(statistics.median(times), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, faces)
"""


def make_case(width: int, height: int, per_row: int) -> bytes:
    """A frame of the street photos: each scaled to width/per_row, tiled; JPEG quality 90."""
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
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = ROOT / "test-output" / "detection-speed"
    work.mkdir(parents=True, exist_ok=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())  # fmt: skip
    rows = []
    print(f"cpu: {cpu}; median of {args.repeat} after a warm-up, one process per row")
    for case, (w, h, per_row) in CASES.items():
        path = work / f"{w}x{h}.jpg"
        path.write_bytes(make_case(w, h, per_row))
        for name, expr in DETECTORS.items():
            out = subprocess.run([sys.executable, "-c", CHILD.replace("{detector}", expr), str(path), str(args.repeat)],
                                 capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
            seconds, peak_mb, faces = out.stdout.split()[-3:]
            rows.append({"case": case, "detector": name, "ms": round(float(seconds) * 1000), "peak_mb": round(float(peak_mb)),
                         "faces": int(faces)})  # fmt: skip
            print(f"{case:32} {name:40} {rows[-1]['ms']:6d} ms  peak {rows[-1]['peak_mb']:5d} MB  {faces} faces")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"cpu": cpu, "cores": __import__("os").cpu_count(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
