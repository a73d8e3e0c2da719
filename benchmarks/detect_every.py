"""`lrfp monitor --detect-every K` on 640x480 footage, side by side in one run: speed and what it changes.

    python benchmarks/detect_every.py [--every 1 2 3 5] [--frames 40] [--fps 10]
        [--out results/benchmarks/detect_every.json]

The footage: a clip of each demo scene (demo/scenes/images), or of --clips photos of --photos, enlarged to fill 640x480 and panned across at
--fps with an easing pan (slow, fast, slow: a face's speed changes, so carrying it at its last speed is not
exact). Then, for each K:

- `lrfp monitor CLIPS --engine local --detect-every K` in a fresh process (the default model and detector,
  as an operator runs it): frames/s over the analysis (the run's own `seconds`) and the CPU seconds of the
  process per frame (its user + system time, start-up included: what the shared machine's other work
  inflates least);
- against K = 1 (every frame detected, every face judged): the people counted (people.parquet), compliance
  over the faces of every frame and over the people, in points, and the faces per frame.

On a machine shared with other work a wall-clock rate is only comparable inside one run: quote ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import pandas as pd
from PIL import Image

from lrfp.core import labels, paths
from lrfp.core.records import cpu_name

SIZE = (640, 480)
ROOT = Path(__file__).resolve().parents[1]


def write_eased_clip(photo: Path, out: Path, frames: int, fps: int, zoom: float = 1.3) -> Path:
    """A FRAMES-frame clip of PHOTO enlarged ZOOM times past filling SIZE, panned left to right and down a little,
    eased (the window's speed follows half a cosine)."""
    import av

    image = Image.open(photo).convert("RGB")
    scale = max(SIZE[0] / image.width, SIZE[1] / image.height) * zoom
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    free_x, free_y = image.width - SIZE[0], image.height - SIZE[1]
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(fps))
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = SIZE[0] * SIZE[1] * fps * 2
        for i in range(frames):
            eased = (1 - math.cos(math.pi * i / max(1, frames - 1))) / 2
            x, y = round(free_x * eased), round(free_y * eased)
            window = image.crop((x, y, x + SIZE[0], y + SIZE[1]))
            container.mux(stream.encode(av.VideoFrame.from_image(window)))
        container.mux(stream.encode())
    return out


def photos_of(folder: Path | None, clips: int) -> list[Path]:
    """CLIPS photos spread evenly over FOLDER's (sorted by name), or the demo scenes without FOLDER."""
    if folder is None:
        return sorted(paths.EXAMPLES_DIR.glob("*.jpg"))
    every = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [every[i * len(every) // clips] for i in range(min(clips, len(every)))]


def run_monitor(clips: Path, out: Path, every: int) -> dict:
    """`lrfp monitor` in a fresh process; its summary line's figures, wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    command = [sys.executable, "-m", "lrfp", "monitor", str(clips), "--out", str(out), "--engine", "local"]
    command += ["--detect-every", str(every), "--fresh", "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"lrfp monitor --detect-every {every} failed:\n{done.stderr[-2000:]}")
    line = done.stdout.strip().splitlines()[-1]
    seconds = float(line.split(" analysed now in ")[1].split(" s")[0])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"command": " ".join(command[1:]), "wall_s": round(wall, 2), "analysis_s": seconds, "cpu_s": round(cpu, 2)}


def figures(out: Path) -> dict:
    """Faces, compliance over faces and over people, and people, of a monitor's folder."""
    frames = pd.read_parquet(out / "frames.parquet")
    ok = frames[frames["status"] == "ok"]
    counts = {c: int(ok[c].sum()) for c in labels.COUNT_COLUMNS}
    people = pd.read_parquet(out / "people.parquet")
    people_counts = labels.count(people["label"])
    return {
        "frames": len(ok),
        "faces": counts["faces"],
        "faces_per_frame": round(counts["faces"] / max(1, len(ok)), 3),
        "compliance_faces": _percent(labels.compliance(counts)),
        "people": len(people),
        "compliance_people": _percent(labels.compliance(people_counts)),
    }


def _percent(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, nargs="+", default=[1, 2, 3, 5], help="the K compared (1 comes first)")
    parser.add_argument("--frames", type=int, default=40, help="frames per clip")
    parser.add_argument("--fps", type=int, default=10, help="the clips' frame rate")
    parser.add_argument("--photos", type=Path, help="make the clips from photos of this folder (default: demo scenes)")
    parser.add_argument("--clips", type=int, default=24, help="--photos: this many, spread over the folder")
    parser.add_argument("--out", type=Path, help="write the record here (JSON)")
    args = parser.parse_args()
    runs = sorted(set(args.every) | {1})
    with tempfile.TemporaryDirectory() as tmp:
        clips = Path(tmp) / "clips"
        photos = photos_of(args.photos, args.clips)
        for photo in photos:
            write_eased_clip(photo, clips / "cam" / f"{photo.stem}.mp4", args.frames, args.fps)
        rows = {}
        for every in runs:
            folder = Path(tmp) / f"every{every}"
            rows[every] = run_monitor(clips, folder, every) | figures(folder)
            row = rows[every]
            row["fps"] = round(row["frames"] / row["analysis_s"], 2)
            row["cpu_ms_per_frame"] = round(1000 * row["cpu_s"] / row["frames"], 1)
            print(f"every {every}: {row}", flush=True)
    base = rows[1]
    for row in rows.values():
        row["speed_vs_every_frame"] = round(row["fps"] / base["fps"], 2)
        row["people_error_pct"] = round(100 * (row["people"] - base["people"]) / max(1, base["people"]), 2)
        for key in ("compliance_faces", "compliance_people"):
            row[f"{key}_error_points"] = (
                None if row[key] is None or base[key] is None else round(row[key] - base[key], 2)
            )
    record = {
        "benchmark": "detect_every",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "footage": f"{len(photos)} clips of {args.photos or 'the demo scenes'}, {SIZE[0]}x{SIZE[1]}, "
        f"{args.frames} frames at {args.fps} frames/s, an eased pan",
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg(),
        "runs": {str(k): v for k, v in rows.items()},
        "note": "wall-clock rates on a shared machine: compare them within this run only",
    }
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
