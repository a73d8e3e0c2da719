"""The band of face sizes each detector finds in one look: train-photo faces resized to 8-1448 px.

    python benchmarks/detector_band.py [--out results/benchmarks/detector_band.json]

For each labelled face of the train photos (every 4th photo for the small sizes, every 2nd for the
big, up to 4 or 2 faces each; faces of at least 12 px, and of 40 px for the big sizes), a window around
it (3x the face, at least 320 px; 1.6x for the big sizes, at most 2048-2400 px) is resized so that
the face's shorter side is the target size, and each detector looks at it once at its confidence of
0.5. Found: a box with IoU >= 0.3 with the face. Parts: boxes inside the face that are not it. No
face is enlarged more than 4x (16x for the big sizes), so blur stays what a camera could give.
lrfp.pipeline.detect.DETECTORS' bands come from here: the sizes found in at least 88 % of cases.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.ops import box_iou

from lrfp.core.records import cpu_name
from lrfp.data.voc import photos_of, read_labelled_photo
from lrfp.pipeline.detect import CenterFaceBackend, RetinaFaceBackend

ROOT = Path(__file__).resolve().parents[1]
# (sizes, photos step, faces per photo, smallest face, most enlargement, window x face, window cap)
PARTS = {
    "small": ((8, 11, 16, 23, 32, 45, 64, 90, 128, 181, 256, 362, 512), 4, 4, 12, 4, 3.0, 2048),
    "big": ((256, 362, 512, 724, 1024, 1448), 2, 2, 40, 16, 1.6, 2400),
}


def ious(face, found) -> list[float]:
    """IoU of the face with each found box (torchvision.ops.box_iou)."""
    if len(found) == 0:
        return []
    return box_iou(
        torch.tensor([face], dtype=torch.float64), torch.tensor([f[:4] for f in found], dtype=torch.float64)
    )[0].tolist()


def measure(xml_files, detectors, sizes, step, per_photo, smallest, most, window, cap) -> dict:
    counts = {name: {t: [0, 0, 0] for t in sizes} for name in detectors}  # found, faces, parts
    for xml in xml_files[::step]:
        photo = read_labelled_photo(xml)
        image = photo.image.convert("RGB")
        for box in photo.boxes[:per_photo]:
            side = min(box[2] - box[0], box[3] - box[1])
            if side < smallest:
                continue
            for t in sizes:
                if t > most * side:
                    continue
                k = t / side
                win = min(max(window * t, 320), cap) / k  # the window's side in the photo's px
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                r = (
                    max(0, cx - win / 2),
                    max(0, cy - win / 2),
                    min(image.width, cx + win / 2),
                    min(image.height, cy + win / 2),
                )
                crop = image.crop(tuple(round(v) for v in r))
                rgb = np.asarray(
                    crop.resize((max(8, round(crop.width * k)), max(8, round(crop.height * k))), Image.BILINEAR)
                )
                face = [(box[0] - r[0]) * k, (box[1] - r[1]) * k, (box[2] - r[0]) * k, (box[3] - r[1]) * k]
                for name, detect in detectors.items():
                    found = detect(rgb, 0.5).tolist()
                    c = counts[name][t]
                    overlaps = ious(face, found)
                    c[0] += any(v >= 0.3 for v in overlaps)
                    c[1] += 1
                    c[2] += sum(
                        v < 0.3
                        and f[0] >= face[0] - 2
                        and f[1] >= face[1] - 2
                        and f[2] <= face[2] + 2
                        and f[3] <= face[3] + 2
                        for v, f in zip(overlaps, found)
                    )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "fmd853"))
    parser.add_argument("--data", default=str(ROOT / "demo" / "fmd853-lr"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    xml_files = photos_of(Path(args.source), Path(args.data), "train")
    detectors = {
        "centerface int8": CenterFaceBackend(),
        "centerface fp32": CenterFaceBackend(int8=False),
        "retinaface": RetinaFaceBackend(),
    }
    record = {"cpu": cpu_name(), "min_score": 0.5, "parts": {}}
    for part, spec in PARTS.items():
        counts = measure(xml_files, detectors, *spec)
        record["parts"][part] = {
            name: {str(t): {"found": c[0], "faces": c[1], "parts": c[2]} for t, c in by.items()}
            for name, by in counts.items()
        }
        for name, by in counts.items():
            print(
                f"{part:5} {name:16} " + " ".join(f"{t}:{c[0] / max(1, c[1]):.2f}" for t, c in by.items()), flush=True
            )
    if args.out:
        args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
