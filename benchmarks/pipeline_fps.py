"""Whole-scene pipeline speed at 640x480: face detector + classifier, as the Classify page and
`lrfp scene` run it.

    python benchmarks/pipeline_fps.py [--model model3] [--frames 30] [--backend auto]
        [--detectors retinaface centerface] [--out results/benchmarks/pipeline_fps.json]

Uses real street photos from ../shared/data/fmd853 when present (resized to 640x480), else a
synthetic frame. Prints detector ms, classifier ms and frames/s, and the upload latency of one
640x480 scene (decode + detect + classify + draw).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

from PIL import Image

from lrfp.core.records import cpu_name
from lrfp.data.images import ACCEPTED_FORMATS, load_image
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.scene import analyze, annotate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "fmd853" / "images"


def frames(n: int) -> list[Image.Image]:
    paths = sorted(SHARED.glob("*.png"))[:n] if SHARED.is_dir() else []
    images = [load_image(p).resize((640, 480)) for p in paths]
    return images or [Image.new("RGB", (640, 480), (100, 110, 120))] * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="model3")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.5], help="detector input scales to compare")
    parser.add_argument("--detectors", nargs="+", default=["retinaface", "centerface"])
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON; the Classify page quotes them)")
    args = parser.parse_args()
    clf = Classifier(args.model, backend=args.backend)
    images = frames(args.frames)
    rows = [
        run(clf, FaceDetector(name, scale=scale), images, args.model, scale) | {"detector": name}
        for name in args.detectors
        for scale in args.scales
    ]
    upload_ms = latency(clf, FaceDetector(), images[0])
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "cpu": cpu_name(),
                    "model": args.model,
                    "frames": len(images),
                    "live": rows,
                    "upload_ms_adaptive_default": upload_ms,
                },
                indent=1,
            )
            + "\n"
        )


def run(clf, det, images, model, scale) -> None:
    analyze(images[0], clf, det, "scene")  # warm-up
    detect, classify, faces, total = [], [], 0, 0.0
    t0 = time.perf_counter()
    for image in images:
        result = analyze(image, clf, det, "scene")
        detect.append(result.detect_ms)
        classify.append(result.classify_ms)
        faces += len(result.faces)
    total = time.perf_counter() - t0
    print(
        f"cpu: {cpu_name()}; model {model} ({clf.backend}); {det.kind.name}, detector scale {scale}; "
        f"{len(images)} frames of 640x480, {faces} faces found"
    )
    print(f"detector   median {statistics.median(detect):7.1f} ms")
    print(f"classifier median {statistics.median(classify):7.1f} ms (all faces of a frame in one batch)")
    print(f"pipeline   {len(images) / total:7.1f} frames/s")
    return {
        "scale": scale,
        "frames_per_s": round(len(images) / total, 1),
        "detect_ms_median": statistics.median(detect),
        "classify_ms_median": statistics.median(classify),
        "faces": faces,
    }


def latency(clf, det, frame) -> None:
    images = [frame]
    buf = io.BytesIO()
    images[0].save(buf, "PNG")
    latencies = []
    for _ in range(5):
        t0 = time.perf_counter()
        image = load_image(io.BytesIO(buf.getvalue()), formats=ACCEPTED_FORMATS, name="upload.png")
        annotate(image, analyze(image, clf, det, "auto"))
        latencies.append((time.perf_counter() - t0) * 1000)
    print(
        f"upload latency (decode+detect+classify+draw, 640x480 PNG, adaptive stage): median "
        f"{statistics.median(latencies):.0f} ms"
    )
    return round(statistics.median(latencies))


if __name__ == "__main__":
    main()
