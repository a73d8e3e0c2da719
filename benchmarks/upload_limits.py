"""Memory and time of one upload, exactly as the Classify page handles it, before and after a change.

    python benchmarks/upload_limits.py [--before REV] [--out results/benchmarks/upload_limits.json]

Makes a corpus of hostile and ordinary images in a temporary folder (a 12 KB PNG of 100 MP, an
8000x6000 JPEG, a 12 MP phone photo as JPEG and PNG, a 640x480 street scene), then for each of
two versions of lrfp (REV, checked out in a temporary git worktree, and this working tree) runs
every image in a fresh Python process that imports the app's modules (Streamlit included),
loads model3 and the face detector, warms up, handles the upload once, and then does again
what the page does for an upload (the figures are the second one's, a server's steady state):
decode the bytes, detect and classify every face, draw the result. It prints, side by side, the
process's peak resident memory (VmHWM) and the upload's wall time, plus three big uploads at
once in one process, as three visitors of one server would send them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_PHOTO = ROOT.parent / "shared" / "data" / "fmd853" / "images" / "maksssksksss0.png"

# Runs in the child process: the page's upload path of whichever lrfp version is on sys.path.
CHILD = r"""
import io, json, sys, threading, time
sys.path.insert(0, sys.argv[1])
try:  # the app's modules, Streamlit included, as the server holds them
    import lrfp.app.ui
except ImportError:  # versions before lrfp.app
    import lrfp.ui
from lrfp.pipeline import scene
from lrfp.data.images import load_image
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.inference import Classifier
from PIL import Image

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024

clf, det = Classifier("model3", backend="torch"), FaceDetector()
scene.annotate(Image.new("RGB", (64, 64)), scene.analyze(Image.new("RGB", (640, 480)), clf, det))  # warm up
data = open(sys.argv[2], "rb").read()
copies = int(sys.argv[3])
# an older version's upload path: load_image (with its working size, if it has one), then analyze
extra = {"max_side": scene.WORKING_SIDE} if hasattr(scene, "WORKING_SIDE") else {}
formats = ("PNG", "JPEG", "WEBP", "BMP")
baseline = hwm_mb()
results = []

def upload():
    t0 = time.perf_counter()
    try:
        if hasattr(scene, "analyze_upload"):  # the page's own call, upload slots included
            image, result = scene.analyze_upload(data, "upload", clf, det)
        else:
            image = load_image(io.BytesIO(data), formats=formats, name="upload", **extra)
            result = scene.analyze(image, clf, det)
        scene.annotate(image, result)
        outcome = f"{len(result.faces)} face(s) at {image.width}x{image.height}"
    except Exception as exc:
        outcome = f"refused: {str(exc)[:70]}"
    results.append({"seconds": time.perf_counter() - t0, "outcome": outcome})

upload()  # a first upload of the same photo: the server's steady state, not its first minute
results.clear()
threads = [threading.Thread(target=upload) for _ in range(copies)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"baseline_mb": baseline, "peak_mb": hwm_mb(), "seconds": max(r["seconds"] for r in results),
                  "outcome": results[0]["outcome"]}))
"""


def bomb_png(path: Path, side: int) -> None:
    """A 1-bit all-black PNG of side x side px: a few KB on disk, side^2 pixels decoded."""
    Image.new("1", (side, side)).save(path, optimize=True)


def make_corpus(folder: Path) -> dict[str, tuple[Path, int]]:
    """name -> (file, concurrent copies)"""
    photo = (
        Image.open(SHARED_PHOTO).convert("RGB")
        if SHARED_PHOTO.is_file()
        else Image.effect_mandelbrot((600, 400), (-2, -1.2, 1, 1.2), 60).convert("RGB")
    )
    corpus = {}
    bomb_png(folder / "bomb-100mp.png", 10_000)
    corpus["PNG 10000x10000, 1-bit (bomb)"] = (folder / "bomb-100mp.png", 1)
    photo.resize((8000, 6000), Image.BICUBIC).save(folder / "photo-48mp.jpg", quality=90)
    corpus["JPEG 8000x6000 (48 MP)"] = (folder / "photo-48mp.jpg", 1)
    photo.resize((4000, 3000), Image.BICUBIC).save(folder / "phone-12mp.jpg", quality=90)
    corpus["JPEG 4000x3000 (12 MP phone photo)"] = (folder / "phone-12mp.jpg", 1)
    photo.resize((4000, 3000), Image.BICUBIC).save(folder / "phone-12mp.png")
    corpus["PNG 4000x3000 (12 MP)"] = (folder / "phone-12mp.png", 1)
    photo.resize((640, 480)).save(folder / "street-640.png")
    corpus["PNG 640x480 street scene"] = (folder / "street-640.png", 1)
    corpus["3 x JPEG 8000x6000 at once"] = (folder / "photo-48mp.jpg", 3)
    return corpus


def measure(code_root: Path, image: Path, copies: int) -> dict:
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(code_root), str(image), str(copies)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=code_root,
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:100]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="0b12e19", help="git revision to compare against (default: before issue 9)")
    parser.add_argument("--out", help="also write the figures as JSON here")
    args = parser.parse_args()
    from lrfp.core.records import cpu_name

    print(f"cpu: {cpu_name()}, {os.cpu_count()} cores; before = {args.before}, after = working tree")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = tmp / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(before), args.before], cwd=ROOT, check=True)
        try:
            corpus = make_corpus(tmp)
            print(f"{'image':38} {'version':7} {'peak MB':>8} {'s':>6}  outcome")
            for name, (path, copies) in corpus.items():
                for version, code_root in (("before", before), ("after", ROOT)):
                    m = measure(code_root, path, copies)
                    rows.append({"image": name, "bytes": path.stat().st_size, "version": version} | m)
                    if "error" in m:
                        print(f"{name:38} {version:7} {'-':>8} {'-':>6}  crashed: {m['error']}", flush=True)
                    else:
                        print(
                            f"{name:38} {version:7} {m['peak_mb']:8.0f} {m['seconds']:6.2f}  {m['outcome']}", flush=True
                        )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"cpu": cpu_name(), "before": args.before, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
