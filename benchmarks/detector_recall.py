"""Face-detector recall by face size in the detector's input: how small may a face be and still be found?

    python benchmarks/detector_recall.py [--source ../shared/data/fmd853] [--scales 1 0.5 0.35 0.25] [--limit 300]

Runs the face detector (lrfp.pipeline.detect, RetinaFace-MobileNet0.25) on PASCAL VOC photos shrunk by
each scale and matches its boxes to the labelled faces: greedy one-to-one, highest IoU first,
a match needs IoU >= 0.3 (the detector's boxes hold more hair and chin than the labels, so the
usual 0.5 undercounts). Recall is binned by the labelled face's shorter side as the detector sees
it (box side x scale). It fixed the working side of earlier releases (lrfp.pipeline.detect.MAX_SIDE): the side an image was brought to before
detection decided which faces reached the detector at a size it can find.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

from lrfp.core.records import cpu_name
from lrfp.data.images import load_image
from lrfp.data.voc import match, parse_voc
from lrfp.pipeline.detect import FaceDetector

ROOT = Path(__file__).resolve().parents[1]
BINS = [(0, 6), (6, 8), (8, 10), (10, 12), (12, 16), (16, 24), (24, 32), (32, 10_000)]


def bin_name(lo: int, hi: int) -> str:
    return f">={lo}" if hi >= 10_000 else f"{lo}-{hi - 1}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "fmd853"))
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.5, 0.35, 0.25])
    parser.add_argument("--limit", type=int, default=300, help="photos to use (the first N by name)")
    parser.add_argument("--out", help="also write the figures as JSON here")
    args = parser.parse_args()
    source = Path(args.source)
    xml_files = sorted((source / "annotations").glob("*.xml"))[: args.limit]
    detector = FaceDetector(scale=1.0)  # this script does the resizing itself
    hits = defaultdict(lambda: [0, 0])  # (scale, bin) -> [found, labelled]
    seconds = defaultdict(float)
    unmatched = defaultdict(int)  # scale -> detections that match no labelled face
    for xml_path in xml_files:
        filename, objects = parse_voc(xml_path)
        image = load_image(source / "images" / filename)
        labels = [box for _, box in objects]
        for scale in args.scales:
            work = (
                image
                if scale == 1
                else image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
            )
            t0 = time.perf_counter()
            found = [(b.x0 / scale, b.y0 / scale, b.x1 / scale, b.y1 / scale) for b in detector.detect(work)]
            seconds[scale] += time.perf_counter() - t0
            matched = set(match(labels, found))
            unmatched[scale] += len(found) - len(matched)
            for i, box in enumerate(labels):
                side = min(box[2] - box[0], box[3] - box[1]) * scale
                lo, hi = next(b for b in BINS if b[0] <= side < b[1])
                hits[(scale, bin_name(lo, hi))][0] += i in matched
                hits[(scale, bin_name(lo, hi))][1] += 1
    names = [bin_name(lo, hi) for lo, hi in BINS]
    print(
        f"cpu: {cpu_name()}; {len(xml_files)} photos of {source.name}; recall (found / labelled) by the face's "
        "shorter side in the detector's input, px"
    )
    print(f"{'scale':>6} " + " ".join(f"{n:>13}" for n in names) + "   recall  unmatched/photo  ms/photo")
    for scale in args.scales:
        cells = []
        for n in names:
            found, total = hits[(scale, n)]
            cells.append(f"{found / total:6.1%} ({total:>4})" if total else f"{'-':>13}")
        found_all = sum(hits[(scale, n)][0] for n in names)
        labelled_all = sum(hits[(scale, n)][1] for n in names)
        print(
            f"{scale:6.2f} " + " ".join(f"{c:>13}" for c in cells) + f"   {found_all / labelled_all:6.1%}"
            f"  {unmatched[scale] / len(xml_files):15.2f}  {seconds[scale] / len(xml_files) * 1000:8.1f}"
        )
    # pooled over scales: the detector's recall depends on the face's size in its input, whatever the scale
    print(
        f"{'all':>6} "
        + " ".join(
            f"{sum(hits[(s, n)][0] for s in args.scales) / max(1, sum(hits[(s, n)][1] for s in args.scales)):6.1%}"
            f" ({sum(hits[(s, n)][1] for s in args.scales):>4})"
            for n in names
        )
    )
    if args.out:
        rows = [
            {"scale": s, "bin": n, "found": hits[(s, n)][0], "labelled": hits[(s, n)][1]}
            for s in args.scales
            for n in names
        ]
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(
                {
                    "cpu": cpu_name(),
                    "photos": len(xml_files),
                    "iou": 0.3,
                    "rows": rows,
                    "ms_per_photo": {str(s): seconds[s] / len(xml_files) * 1000 for s in args.scales},
                    "unmatched_per_photo": {str(s): unmatched[s] / len(xml_files) for s in args.scales},
                },
                indent=1,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
