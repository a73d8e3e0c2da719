"""Photos with no face: regions of the train photos away from every labelled face, and the wallpapers
that Debian packages ship.

Train regions: only photos of the TRAIN split of a built data set (its manifest names them), so the
test photos stay untouched; a region keeps FACE_MARGIN of each labelled face's longer side away from
the face's box, whatever its label. Wallpapers: the raster pictures of WALLPAPER_DIRS (Debian's
gnome-backgrounds, mate-backgrounds and desktop-base, when installed), each with the licence its
package's copyright file gives it.
"""

from __future__ import annotations

import fnmatch
import random
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from lrfp.data.voc import photos_of, read_voc

FACE_MARGIN = 0.5  # of a face's longer side, kept clear around every labelled face
REGION_MIN_SIDE = 96  # px: smaller regions hold too little to test anything
REGION_TRIES = 60
# Train photos with a face nobody labelled in a region cut from them (a masked woman, moped riders, faces
# on a screen, blurred heads, airline passengers, half a face at a region's edge), found by looking at
# every region of each build: no region is cut from them. Each photo's regions are drawn from a seed of
# its own, so leaving one out changes no other.
UNLABELLED_FACE_PHOTOS = frozenset(f"maksssksksss{n}.png" for n in (53, 179, 279, 436, 575, 597, 715, 846))
FMD853_LICENCE = "CC0-1.0 (Kaggle Face Mask Detection, andrewmvd)"
WALLPAPER_DIRS = {  # package -> (its folder of pictures, where its copyright file is)
    "gnome-backgrounds": Path("/usr/share/backgrounds/gnome"),
    "mate-backgrounds": Path("/usr/share/backgrounds/mate"),
    "desktop-base": Path("/usr/share/desktop-base"),
}
WALLPAPER_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
WALLPAPER_MIN_SIDE = 480
# gnome-backgrounds' copyright file is not machine-readable: it names its pictures CC-BY-SA-3.0 (Jakub
# Steiner, Garrett LeSage, Helena Bartošová), two CC-BY-2.0/CC-BY-SA-2.0, and the newer ones not at all
GNOME_LICENCE = "CC-BY-SA-3.0 (GNOME artwork; /usr/share/doc/gnome-backgrounds/copyright)"


@dataclass(frozen=True)
class Region:
    photo: str  # the photo's file name
    box: tuple[int, int, int, int]


def _clear(box, faces, margin: float) -> bool:
    """True when BOX overlaps no face grown by MARGIN of its longer side."""
    x0, y0, x1, y1 = box
    for fx0, fy0, fx1, fy1 in faces:
        m = margin * max(fx1 - fx0, fy1 - fy0)
        if x0 < fx1 + m and x1 > fx0 - m and y0 < fy1 + m and y1 > fy0 - m:
            return False
    return True


def photo_regions(source: Path, data: Path, seed: int, per_photo: int = 2) -> list[Region]:
    """Up to PER_PHOTO regions (photo pixels) of each train photo, clear of its labelled faces and of each other."""
    regions = []
    for xml in photos_of(source, data, "train"):
        filename, objects, drawn_width = read_voc(xml)
        if filename in UNLABELLED_FACE_PHOTOS:
            continue
        rng = random.Random(f"{seed}/{filename}")
        with Image.open(source / "images" / filename) as image:
            width, height = image.size
        scale = width / (drawn_width or width)
        faces = [tuple(v * scale for v in box) for _, box in objects]
        found: list[Region] = []
        for _ in range(REGION_TRIES):
            if len(found) == per_photo:
                break
            w = round(width * rng.uniform(0.2, 0.6))
            h = round(min(height, w * rng.uniform(0.6, 1.4)))
            if min(w, h) < REGION_MIN_SIDE:
                continue
            x0, y0 = rng.randint(0, width - w), rng.randint(0, height - h)
            box = (x0, y0, x0 + w, y0 + h)
            if _clear(box, faces, FACE_MARGIN) and all(_clear(box, [r.box], 0.0) for r in found):
                found.append(Region(filename, box))
        regions += found
    return regions


def region_image(source: Path, region: Region) -> Image.Image:
    with Image.open(source / "images" / region.photo) as image:
        return image.convert("RGB").crop(region.box)


def wallpapers() -> list[tuple[str, Path]]:
    """(package, file) of each installed wallpaper picture of WALLPAPER_MIN_SIDE or more (sorted; one file per
    picture: the desktop-base theme's 'active' link and a picture's bigger copies left out)."""
    found = []
    for package, root in WALLPAPER_DIRS.items():
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() not in WALLPAPER_SUFFIXES or "active-theme" in path.parts:
                continue
            if re.search(r"_\d+x\d+$", path.stem):  # Elephants_3840x2160.jpg: a bigger copy of Elephants.jpg
                continue
            with Image.open(path) as image:
                if min(image.size) >= WALLPAPER_MIN_SIDE:
                    found.append((package, path))
    return found


def wallpaper_group(package: str, path: Path) -> str:
    """Pictures that are one design (a light and a dark copy, a theme's screens) share a group."""
    if package == "desktop-base":
        return f"{package}/{path.relative_to(WALLPAPER_DIRS[package]).parts[0]}"
    return f"{package}/{re.sub(r'-[dl]$|-(Light|Dark)$', '', path.stem)}"


def wallpaper_licence(package: str, path: Path) -> str:
    """The licence the package's copyright file gives this file (DEP-5: the last stanza matching it)."""
    if package == "gnome-backgrounds":
        return GNOME_LICENCE
    copyright_file = Path("/usr/share/doc") / package / "copyright"
    if not copyright_file.is_file():
        return f"unknown ({copyright_file} missing)"
    rel = str(path.relative_to(WALLPAPER_DIRS[package]))
    licence = "unknown"
    for stanza in copyright_file.read_text(errors="replace").split("\n\n"):
        files = re.search(r"^Files:(.*?)(?=^\S)", stanza + "\nEnd:", re.S | re.M)
        found = re.search(r"^License:\s*(\S.*)$", stanza, re.M)
        if files and found and any(fnmatch.fnmatch(rel, pattern) for pattern in files.group(1).split()):
            licence = found.group(1).strip()
    return f"{licence} ({package}; {copyright_file})"
