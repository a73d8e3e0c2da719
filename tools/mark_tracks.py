"""Hand-marking the demo clips' tracks (demo/tracks): seed them from the source photos, then check by eye.

    python tools/mark_tracks.py seed north-gate/clip0.mp4          # demo/tracks/north-gate/clip0.csv from labels.json
    python tools/mark_tracks.py sheet north-gate/clip0.mp4 OUT.png [--table RUN]   # a contact sheet to look at

A demo clip is a 320x240 window panned left to right over one still photo (lrfp.data.footage): each face
annotated in demo/scenes/labels.json is at a known place in every frame. `seed` writes those places
(a face is kept in a frame while half its box or more is inside it), one id per annotated face, in MOT
form: frame, id, x, y, w, h (frame as the monitor table numbers it, from 0). `sheet` draws the clip's
frames, 3x enlarged, with the marked boxes and ids in green and, with --table, the detector's boxes of
that `lrfp monitor` run in red, so that the marks can be checked and corrected by hand.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from PIL import Image, ImageDraw

from lrfp.core import paths
from lrfp.data.footage import EXAMPLE

FOOTAGE = Path("demo/footage")
TRACKS = Path("demo/tracks")
SIZE = (320, 240)
FRAMES = 8  # write_example's clips
SHEET_SCALE = 3
# faces seen by eye that labels.json leaves out, as boxes of the photo (x0, y0, x1, y1), ids after its own
UNLABELLED = {
    "maksssksksss787.jpg": [(207, 124, 245, 169), (100, 5, 127, 45)],  # a masked face behind, one at the top
    "maksssksksss52.jpg": [(120, 40, 139, 59)],  # a face behind, below 24 and left of 23
}


def source_photo(clip: str) -> str:
    camera, name = clip.split("/")
    return EXAMPLE[camera][int(name.removeprefix("clip").removesuffix(".mp4"))][0]


def seed(clip: str) -> list[tuple[int, int, int, int, int, int]]:
    """(frame, id, x, y, w, h) of each annotated face of the clip's photo, where the pan shows it."""
    photo = source_photo(clip)
    image = Image.open(paths.EXAMPLES_DIR / photo)
    scale = max(SIZE[0] / image.width, SIZE[1] / image.height, 1.0)
    width, height = round(image.width * scale), round(image.height * scale)
    free_x, top = width - SIZE[0], (height - SIZE[1]) // 2
    faces = [f["box"] for f in json.loads((paths.EXAMPLES_DIR.parent / "labels.json").read_text())[photo]]
    faces += UNLABELLED.get(photo, [])
    rows = []
    for frame in range(FRAMES):
        left = round(free_x * frame / (FRAMES - 1))
        for n, face in enumerate(faces, 1):
            x0, y0, x1, y1 = (round(v * scale) for v in face)
            x0, x1, y0, y1 = x0 - left, x1 - left, y0 - top, y1 - top
            cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(SIZE[0], x1), min(SIZE[1], y1)
            if cx1 <= cx0 or cy1 <= cy0 or (cx1 - cx0) * (cy1 - cy0) < 0.5 * (x1 - x0) * (y1 - y0):
                continue
            rows.append((frame, n, cx0, cy0, cx1 - cx0, cy1 - cy0))
    return rows


def read_marks(clip: str) -> list[tuple[int, int, int, int, int, int]]:
    with open(TRACKS / clip.replace(".mp4", ".csv")) as f:
        return [tuple(int(v) for v in row[:6]) for row in csv.reader(f) if row and not row[0].startswith("#")]  # type: ignore[misc]


def sheet(clip: str, out: Path, table: str | None) -> None:
    import av

    marks = read_marks(clip)
    detected: dict[int, list] = {}
    if table:
        from lrfp.scale.monitor import read_table

        frames = read_table(table)
        rows = frames[frames["source"].str.endswith(clip)]
        detected = {int(f): list(cell) for f, cell in zip(rows["frame"], rows["face_rows"])}
    with av.open(str(FOOTAGE / clip)) as container:
        images = [frame.to_image() for frame in container.decode(video=0)]
    w, h = SIZE[0] * SHEET_SCALE, SIZE[1] * SHEET_SCALE
    board = Image.new("RGB", (2 * w, (len(images) + 1) // 2 * h), "white")
    for i, image in enumerate(images):
        big = image.resize((w, h))
        draw = ImageDraw.Draw(big)
        for face in detected.get(i, []):
            box = [v * SHEET_SCALE for v in (face["x0"], face["y0"], face["x1"], face["y1"])]
            draw.rectangle(box, outline="red", width=2)
        for frame, ident, x, y, bw, bh in marks:
            if frame == i:
                s = SHEET_SCALE
                draw.rectangle([x * s, y * s, (x + bw) * s, (y + bh) * s], outline="lime", width=2)
                draw.text((x * s + 3, y * s + 2), str(ident), fill="yellow", font_size=28)
        draw.text((8, 8), f"frame {i}", fill="cyan", font_size=32)
        board.paste(big, ((i % 2) * w, (i // 2) * h))
    board.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("seed", "sheet"))
    parser.add_argument("clip", help="camera/clipN.mp4 under demo/footage")
    parser.add_argument("out", nargs="?", help="the contact sheet (sheet)")
    parser.add_argument("--table", help="a `lrfp monitor` run of demo/footage, to draw its boxes")
    args = parser.parse_args()
    if args.what == "seed":
        target = TRACKS / args.clip.replace(".mp4", ".csv")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", newline="") as f:
            f.write(
                f"# {args.clip}: frame,id,x,y,w,h (MOT boxes; seeded from {source_photo(args.clip)}, checked by eye)\n"
            )
            csv.writer(f).writerows(seed(args.clip))
        print(f"wrote {target}")
    else:
        sheet(args.clip, Path(args.out), args.table)


if __name__ == "__main__":
    main()
