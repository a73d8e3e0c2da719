"""Camera footage made from still photos: the Monitor page's shipped example, tests and benchmarks.

A clip is a window panning across one photo, written with PyAV at a given frame rate; its frames
have real faces (the demo scenes'), so the detector and classifier have work as on a camera. Pans over
the pictures of the no-face set (lrfp.data.noface) are footage with no face: the people counted there
are false ones.

    python -m lrfp.data.footage OUT   # the example cameras of demo/footage, with OUT/cameras.csv
"""

from __future__ import annotations

import argparse
import csv
from fractions import Fraction
from pathlib import Path

from PIL import Image

from lrfp.core import paths
from lrfp.core.records import atomic_path
from lrfp.data.noface import read_noface

# the example's clips: a pan of this many frames at this rate (write_example; the no-face pans are made alike)
CLIP_FRAMES, CLIP_FPS = 8, 2


def write_clip(
    photo, out, frames: int = 6, fps: int = 2, size: tuple[int, int] = (320, 240), start: float = 0.0
) -> Path:
    """A FRAMES-frame MPEG-4 clip panning a SIZE window across PHOTO from left to right, from START
    (0 the left edge, 1 the right edge, in the photo's free width)."""
    import av

    image = Image.open(photo).convert("RGB")
    scale = max(size[0] / image.width, size[1] / image.height, 1.0)
    if scale > 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    free_x, free_y = image.width - size[0], image.height - size[1]
    out = Path(out)
    with atomic_path(out) as tmp, av.open(tmp, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(fps))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = size[0] * size[1] * fps * 2
        for i in range(frames):
            x = round(free_x * min(1.0, start + i / max(1, frames - 1) * (1 - start)))
            window = image.crop((x, free_y // 2, x + size[0], free_y // 2 + size[1]))
            container.mux(stream.encode(av.VideoFrame.from_image(window)))
        container.mux(stream.encode())
    return out


# The example: two cameras of clips (a clip each few hours, the times in cameras.csv) and one of photos.
EXAMPLE = {
    "north-gate": [
        ("maksssksksss389.jpg", "2024-05-06T08:00:00"),
        ("maksssksksss477.jpg", "2024-05-06T10:00:00"),
        ("maksssksksss52.jpg", "2024-05-06T12:00:00"),
        ("maksssksksss71.jpg", "2024-05-06T14:00:00"),
    ],
    "market": [
        ("maksssksksss723.jpg", "2024-05-06T09:00:00"),
        ("maksssksksss787.jpg", "2024-05-06T11:00:00"),
        ("maksssksksss389.jpg", "2024-05-06T13:00:00"),
        ("maksssksksss477.jpg", "2024-05-06T15:00:00"),
    ],
}
EXAMPLE_PHOTOS = {
    "bus-stop": [
        ("maksssksksss52.jpg", "2024-05-06T08:30:00"),
        ("maksssksksss71.jpg", "2024-05-06T12:30:00"),
        ("maksssksksss723.jpg", "2024-05-06T16:30:00"),
    ]
}


def write_example(photos: Path, out: Path) -> Path:
    """The example cameras under OUT (one folder each) and OUT/cameras.csv giving each file's start time."""
    out = Path(out)
    lines = []
    for camera, clips in EXAMPLE.items():
        for n, (name, start) in enumerate(clips):
            clip = write_clip(photos / name, out / camera / f"clip{n}.mp4", frames=CLIP_FRAMES, fps=CLIP_FPS)
            lines.append({"path": str(clip.relative_to(out)), "camera": "", "start": start})
    for camera, shots in EXAMPLE_PHOTOS.items():
        for n, (name, start) in enumerate(shots):
            target = out / camera / f"photo{n}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.open(photos / name).convert("RGB").save(target, "JPEG", quality=90)
            lines.append({"path": str(target.relative_to(out)), "camera": "", "start": start})
    mapping = out / "cameras.csv"
    with open(mapping, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "camera", "start"])
        writer.writeheader()
        writer.writerows(lines)
    return mapping


def write_noface_pans(noface: Path, split: str | None, out: Path) -> dict[str, Path]:
    """A clip made as the example's are over each picture of the no-face set NOFACE's SPLIT (None: all), written under OUT as
    KIND/ID.mp4 (one already there is kept), by "KIND/ID"; DatasetError where NOFACE holds no such set."""
    pans = {}
    for row in read_noface(noface, split):
        clip = Path(out) / row["kind"] / f"{row['id']}.mp4"
        if not clip.is_file():
            clip.parent.mkdir(parents=True, exist_ok=True)
            write_clip(Path(noface) / row["path"], clip, frames=CLIP_FRAMES, fps=CLIP_FPS)
        pans[f"{row['kind']}/{row['id']}"] = clip
    return pans


def main() -> None:
    parser = argparse.ArgumentParser(description="write the Monitor page's example footage from the demo scenes")
    parser.add_argument("out", help="folder to write (demo/footage)")
    args = parser.parse_args()
    print(f"wrote {write_example(paths.EXAMPLES_DIR, Path(args.out))}")


if __name__ == "__main__":
    main()
