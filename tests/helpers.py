"""Plain functions the tests share: generated face-mask data written as real files, and a served dashboard.

The fixtures that hand these out live in conftest.py; a test module imports what it calls from here.
"""

from __future__ import annotations

import argparse
import random
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

from lrfp.app.frame import PAGES

# the dashboard's pages as AppTest.switch_page names them, from its one list: "Train" -> "views/train.py"
PAGE = {p.title: p.script for p in PAGES}
# the read-only data beside the project (absent on a fresh clone: the tests that need it are skipped)
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_FMD = SHARED / "data" / "fmd853"
SHARED_PAPER = SHARED / "paper" / "paper_results.csv"

SKIN = [(224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 219, 172)]
MASK = [(70, 110, 220), (240, 240, 240), (40, 40, 40), (90, 200, 160)]


def draw_face(draw: ImageDraw.ImageDraw, box, masked: bool, rng: random.Random) -> None:
    """A cartoon face: skin oval, eyes, and either a mask over the lower half or a mouth."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.ellipse(box, fill=rng.choice(SKIN))
    for ex in (x0 + w * 0.3, x0 + w * 0.7):
        draw.ellipse((ex - w * 0.08, y0 + h * 0.32, ex + w * 0.08, y0 + h * 0.42), fill=(20, 20, 20))
    if masked:
        draw.rectangle((x0 + w * 0.1, y0 + h * 0.55, x1 - w * 0.1, y1 - h * 0.08), fill=rng.choice(MASK))
    else:
        draw.rectangle((x0 + w * 0.35, y0 + h * 0.7, x1 - w * 0.35, y0 + h * 0.78), fill=(150, 30, 30))


VOC_OBJECT = """  <object><name>{label}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>
"""


def make_voc_source(root: Path, n_images: int = 24, seed: int = 0, faces_per_image=(1, 3)) -> Path:
    """images/ + annotations/ like the Kaggle set: scenes with 1-3 boxed faces of either class."""
    rng = random.Random(seed)
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for i in range(n_images):
        img = Image.new("RGB", (120, 80), tuple(rng.randrange(60, 200) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        objects = []
        for k in range(rng.randint(*faces_per_image)):
            size = rng.randint(10, 24)
            x0, y0 = 4 + k * 38, rng.randint(2, 80 - size - 2)
            label = rng.choice(["with_mask", "without_mask"])
            box = (x0, y0, x0 + size, y0 + size + 2)
            draw_face(draw, box, label == "with_mask", rng)
            objects.append((label, box))
        name = f"scene{i}.png"
        img.save(root / "images" / name)
        (root / "annotations" / f"scene{i}.xml").write_text(voc_xml(name, img.size, objects))
    return root


def voc_xml(filename: str, size: tuple[int, int], objects) -> str:
    """A PASCAL VOC annotation for one photo: its file, size and (class, box) per face."""
    faces = "".join(VOC_OBJECT.format(label=label, x0=b[0], y0=b[1], x1=b[2], y1=b[3]) for label, b in objects)
    return (
        f"<annotation>\n  <filename>{filename}</filename>\n"
        f"  <size><width>{size[0]}</width><height>{size[1]}</height></size>\n{faces}</annotation>\n"
    )


def make_demo_voc_source(root: Path) -> Path:
    """The shipped example scenes as a VOC set, labelled with the boxes the shipped demo build cut
    from them (the faces the balanced build kept; the source's own annotation files are not shipped)."""
    from lrfp.core import paths
    from lrfp.data.images import read_manifest

    scenes = paths.DEMO_DIR / "scenes" / "images"
    faces: dict[str, list] = {p.stem: [] for p in scenes.glob("*.jpg")}
    for entries in read_manifest(paths.DEMO_DIR / "fmd853-lr")["splits"].values():
        for e in entries:
            if Path(e["source"]).stem in faces:
                faces[Path(e["source"]).stem].append((e["label"], e["box"]))
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for stem, objects in faces.items():
        photo = scenes / f"{stem}.jpg"
        (root / "images" / photo.name).write_bytes(photo.read_bytes())
        with Image.open(photo) as img:
            (root / "annotations" / f"{stem}.xml").write_text(voc_xml(photo.name, img.size, objects))
    return root


def make_class_folders(root: Path, per_class: int = 20, seed: int = 0, size: int = 20) -> Path:
    """A plain ImageFolder of face crops: with_mask/ and without_mask/."""
    rng = random.Random(seed)
    for label in ("with_mask", "without_mask"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            img = Image.new("RGB", (size, size), tuple(rng.randrange(60, 200) for _ in range(3)))
            draw_face(ImageDraw.Draw(img), (0, 0, size - 1, size - 1), label == "with_mask", rng)
            img.save(root / label / f"{label}_{i:03d}.png")
    return root


# ---------------------------------------------------------------- the command line and hostile files


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """`lrfp ARGV` in this process: (exit code, stdout, stderr)."""
    from lrfp.cli import main

    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error_line(err: str) -> str:
    """The one `lrfp: error:` line STDERR must hold (warnings aside)."""
    lines = [line for line in err.strip().splitlines() if not line.startswith("lrfp: warning:")]
    assert len(lines) == 1 and lines[0].startswith("lrfp: error: "), err
    return lines[0]


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height that compresses to a few KB: a decompression bomb."""
    raw = zlib.compress((b"\x00" + b"\x00" * ((width + 7) // 8)) * height, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def mjpeg_avi(path: Path, frames: int = 12, size=(160, 120)) -> Path:
    """A small MJPEG AVI: each frame its own JPEG (so one can be spoiled alone), numbered on screen."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 40 + 15 * i, np.uint8)
        cv2.putText(frame, str(i), (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        writer.write(frame)
    writer.release()
    return path


# ---------------------------------------------------------------- a served dashboard (tests and benchmarks)

# what Streamlit shows while a script runs: its status widget and the skeletons of what is still to come
BUSY = '[data-testid="stStatusWidget"], [data-testid="stSkeleton"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_checkout(root: Path, port: int, env: dict[str, str], stdout) -> subprocess.Popen:
    """`streamlit run app.py` of the checkout at ROOT, headless on 127.0.0.1:PORT, with the environment ENV and
    its output to STDOUT (a file or subprocess.PIPE): the browser tests, tools/screenshots.py and the load
    benchmarks serve the dashboard so."""
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    return subprocess.Popen(command, cwd=root, env=env, stdout=stdout, stderr=subprocess.STDOUT)


def wait_until_healthy(url: str, proc, timeout: float) -> bool:
    """True once the Streamlit server at URL answers its health check; False when PROC (its process)
    has ended or TIMEOUT seconds have passed first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return True
        except OSError:  # not listening yet
            pass
        time.sleep(0.5)
    return False


def wait_until_idle(page, timeout: float = 90) -> None:
    """Until the script run is over: no 'running' indicator and no placeholder skeletons, twice in a row."""
    deadline, calm = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and calm < 2:
        calm = calm + 1 if page.locator(BUSY).count() == 0 else 0
        time.sleep(0.5)


def face_mosaic(folder: Path, seed: int, side: int = 3200, face: int = 32, quality: int = 88) -> Path:
    """SIDE x SIDE px of FACE px faces, each a demo crop of at least 24 px drawn at random: another SEED, another
    photo (the app keeps an analysis by the photo's bytes, so two visitors need two photos)."""
    crops = []
    for path in sorted((Path(__file__).resolve().parents[1] / "demo" / "fmd853-lr").glob("*/*.png")):
        with Image.open(path) as crop:
            if min(crop.size) >= 24:
                crops.append(crop.convert("RGB").resize((face, face), Image.Resampling.BICUBIC))
    rng = random.Random(seed)
    mosaic = Image.new("RGB", (side, side))
    for top in range(0, side, face):
        for left in range(0, side, face):
            mosaic.paste(rng.choice(crops), (left, top))
    path = folder / f"mosaic-{seed}.jpg"
    mosaic.save(path, quality=quality)
    return path


def cli_commands(parser, prefix: tuple[str, ...] = ()):
    """(the words naming a command, its parser) for every command and subcommand of the `lrfp` PARSER."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from cli_commands(sub, (*prefix, name))
    if prefix:
        yield prefix, parser


def drawn_tags(monkeypatch, image, result, numbered: bool) -> tuple[Image.Image, list[tuple]]:
    """The annotated photo and the tags on it: the filled rectangles annotate() draws (boxes are outlines)."""
    from lrfp.pipeline.scene import annotate  # here: the helpers stay light for tests that need no model

    filled = []
    rectangle = ImageDraw.ImageDraw.rectangle

    def keep(self, xy, fill=None, outline=None, width=1):
        if fill is not None:
            filled.append(tuple(int(v) for v in xy))
        return rectangle(self, xy, fill=fill, outline=outline, width=width)

    monkeypatch.setattr(ImageDraw.ImageDraw, "rectangle", keep)
    out = annotate(image, result, numbered=numbered, min_long_side=1400, max_long_side=1400)
    return out, filled
