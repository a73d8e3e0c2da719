"""A data set for "can't tell": face crops whose mouth and nose can be seen (`visible`) against crops
where they cannot (`hidden`), made from a built data set's source photos, split as that build split
them (so the test split's photos stay unseen).

A detector box on a crowd is often not a whole face: a face whose lower half is behind another head, a
face cut by the frame's edge, the top of a head. No label about a mask means anything there. Each
labelled face gives one visible crop (its box, jittered as a detector's box would be) and one hidden crop
of one of three kinds, drawn at random:
- `covered`: the face with its lower 45-75 % covered by another part of the same photo (often another
  person's head or shoulder, since the photos are crowds);
- `cut`: only the face's upper 30-55 % (the rest outside the frame: the box ends where the frame does);
- `crown`: the region above the face's eyes: hair, a hat, the top of a head.

Real boxes marked by hand (`marked`: a JSON of {"items": [{"photo", "box", "seen": hidden|visible}]}, such
as results/unsure/train_hand_marked.json: a detector's boxes on backs of heads and on unlabelled faces)
join the split of their photo, each as MARKED_COPIES jittered crops.

With `loose` (issue 35: a check that learnt from label boxes give or take a tenth read a detector's margin, and
some tight boxes, as a cut face), each face gives a second pair, visible and hidden (of another kind drawn at
random), cut from the label box to `loose` of the face beyond each side, so that a margin says nothing either way.

With `boxes` (a face-check set, `lrfp data facecheck`: the default detector's boxes on labelled faces, as the
pipeline crops them in three views), each such box of its train split joins the train split as a visible crop,
and its upper part as a hidden `cut` one. A detector frames a big masked face from the brow to the mask's lower
edge; a check that learnt only from label boxes read that as a face cut under the eyes (issue 35).

    lrfp data occlusion --source ../shared/data/fmd853 --data demo/fmd853-lr --out data/occlusion
    lrfp train --model model3 --data data/occlusion --input-size 32 --degrade outdoor ...
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from PIL import Image

from lrfp.data.images import MANIFEST_NAME, SPLITS
from lrfp.data.voc import photos_of, read_labelled_photo

CLASSES = ("hidden", "visible")
HIDDEN_KINDS = ("covered", "cut", "crown")
MIN_FACE = 8  # faces under this many px (shorter side) give no crops
MARKED_COPIES = 4  # a hand-marked box is rarer than a made-up one: it counts this many times, jittered
# a face-check set's crops taken with `boxes`: the detector's boxes matching a labelled face, in its three views
BOX_LABEL, BOX_KINDS = "face", ("box-1x", "box-enlarged-2", "box-phone")


def jittered(box, rng: random.Random, width: int, height: int, margin: float | None = None):
    """The box as a detector might draw it: up to 10 % bigger or smaller (with `margin`: from a tenth smaller to
    `margin` of its size beyond each side), shifted up to 8 % of its size."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    k = rng.uniform(0.9, 1.1 if margin is None else 1 + 2 * margin)
    cx, cy = (x0 + x1) / 2 + rng.uniform(-0.08, 0.08) * w, (y0 + y1) / 2 + rng.uniform(-0.08, 0.08) * h
    return _clip((cx - w * k / 2, cy - h * k / 2, cx + w * k / 2, cy + h * k / 2), width, height)


def _clip(box, width: int, height: int):
    x0, y0, x1, y1 = box
    return (max(0, round(x0)), max(0, round(y0)), min(width, round(x1)), min(height, round(y1)))


def hidden_crop(image: Image.Image, box, kind: str, rng: random.Random, others=()) -> Image.Image:
    """One hidden crop of the face in `box` (see the module's docstring); `others`: the photo's other faces."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if kind == "cut":
        return image.crop((x0, y0, x1, y0 + max(2, round(h * rng.uniform(0.3, 0.55)))))
    if kind == "crown":
        top = y0 - h * rng.uniform(0.5, 0.9)
        return image.crop(_clip((x0 - 0.1 * w, top, x1 + 0.1 * w, y0 + h * rng.uniform(0.25, 0.4)), *image.size))
    crop = image.crop(box)
    cover = round(h * rng.uniform(0.45, 0.75))
    heads = [o for o in others if o != box]
    if heads and rng.random() < 0.7:  # the back or top of another head, in front of this face
        ox0, oy0, ox1, oy1 = rng.choice(heads)
        oh = oy1 - oy0
        region = _clip((ox0, oy0 - 0.6 * oh, ox1, oy0 + 0.5 * oh), *image.size)
    else:  # a patch of the same photo, from anywhere but this face
        px, py = rng.randrange(0, max(1, image.width - w)), rng.randrange(0, max(1, image.height - cover))
        region = (px, py, px + w, py + cover)
    if region[2] - region[0] < 2 or region[3] - region[1] < 2:
        region = (0, 0, max(2, w), max(2, cover))
    crop.paste(image.crop(region).resize((w, cover)), (0, h - cover))
    return crop


def _framed(box, rng: random.Random, image: Image.Image, margin: float | None):
    """A hidden crop's face box: as labelled (margin None), else jittered like the visible crops."""
    return box if margin is None else jittered(box, rng, *image.size, margin)


def _loosened(box, rng: random.Random, image: Image.Image, margin: float | None, loose: bool):
    """A visible crop's box: jittered (see jittered); a loose one never tighter than the label box."""
    if not loose:
        return jittered(box, rng, *image.size, margin)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    k = rng.uniform(0.0, margin or 0.0)
    dx, dy = rng.uniform(-0.08, 0.08) * w, rng.uniform(-0.08, 0.08) * h
    return _clip((x0 - k * w + dx, y0 - k * h + dy, x1 + k * w + dx, y1 + k * h + dy), *image.size)


def _entry(path: str, label: str, photo: str, box, kind: str) -> dict:
    """A crop's line in the manifest."""
    return {
        "path": path,
        "label": label,
        "source": f"images/{photo}",
        "face_px": min(box[2] - box[0], box[3] - box[1]),
        "kind": kind,
    }


def detector_box_crops(boxes: Path, out: Path, rng: random.Random) -> list[dict]:
    """Manifest entries of a face-check set's train boxes on labelled faces (kinds BOX_KINDS), written to `out`:
    each box as a visible crop, and its upper part as a hidden `cut` crop (see the module's docstring)."""
    entries = []
    for n, e in enumerate(json.loads((boxes / MANIFEST_NAME).read_text())["splits"]["train"]):
        if e["label"] != BOX_LABEL or e["kind"] not in BOX_KINDS:
            continue
        crop = Image.open(boxes / e["path"]).convert("RGB")
        photo, stem = Path(e["source"]).name, f"{Path(e['source']).stem}_{e['kind']}_{n:05d}"
        cut = hidden_crop(crop, (0, 0, crop.width, crop.height), "cut", rng)
        for cls, image, kind in (("visible", crop, "box"), ("hidden", cut, "cut")):
            image.save(out / f"{cls}/{stem}.png")
            entries.append(_entry(f"{cls}/{stem}.png", cls, photo, e["box"], kind))
    return entries


def build_occlusion(
    source: Path,
    data: Path,
    out: Path,
    seed: int = 0,
    marked: Path | None = None,
    margin: float | None = None,
    held_out: frozenset[str] = frozenset(),
    loose: float | None = None,
    boxes: Path | None = None,
) -> dict:
    """Write the visible/hidden crops of every labelled face of the build's photos (and of the boxes
    `marked` by hand), and their manifest. `margin` (None: the label box give or take a tenth): every crop,
    visible and hidden alike, cut from a tenth tighter than its face to this share of the face beyond each
    side, so that a check learns no margin as a sign of a cut face. `held_out`: annotation file stems of
    train photos whose crops join the validation split instead (more faces to choose a threshold on). `loose`:
    a second pair of crops per face, cut with up to this share of the face beyond each side (see the module).
    `boxes`: a face-check set whose train boxes on faces join the train split (see detector_box_crops); its
    train photos are the detector's, none of them held out."""
    rng = random.Random(seed)
    by_photo: dict[str, list] = {}
    for item in json.loads(marked.read_text())["items"] if marked else []:
        by_photo.setdefault(item["photo"], []).append(item)
    splits: dict[str, list] = {s: [] for s in SPLITS}
    for cls in CLASSES:
        (out / cls).mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        for xml in photos_of(source, data, split):
            into = "val" if split == "train" and xml.stem in held_out else split
            photo = read_labelled_photo(xml)
            image = photo.image.convert("RGB")
            faces = [_clip(b, *image.size) for b in photo.boxes]
            for i, box in enumerate(faces):
                if min(box[2] - box[0], box[3] - box[1]) < MIN_FACE:
                    continue
                others = [o for o in faces if o != box]
                for pair, framing in enumerate((margin,) if loose is None else (margin, loose)):
                    kind = rng.choice(HIDDEN_KINDS)
                    stem = f"{Path(photo.filename).stem}_{i:03d}" + ("_loose" if pair else "")
                    for cls, crop in (
                        ("visible", image.crop(_loosened(box, rng, image, framing, pair > 0))),
                        ("hidden", hidden_crop(image, _framed(box, rng, image, framing), kind, rng, others)),
                    ):
                        name = f"{cls}/{stem}.png"
                        crop.save(out / name)
                        splits[into].append(_entry(name, cls, photo.filename, box, kind if cls == "hidden" else "face"))
            for j, item in enumerate(by_photo.get(photo.filename, [])):
                for copy in range(MARKED_COPIES):
                    name = f"{item['seen']}/{Path(photo.filename).stem}_marked{j:03d}_{copy}.png"
                    image.crop(jittered(item["box"], rng, *image.size, margin)).save(out / name)
                    splits[into].append(_entry(name, item["seen"], photo.filename, item["box"], "marked"))
    if boxes is not None:  # after every face's crops: those are the same with or without boxes
        splits["train"] += detector_box_crops(boxes, out, rng)
    manifest = {
        "version": 1,
        "classes": list(CLASSES),
        "splits": splits,
        "source": {
            "path": str(source),
            "build": str(data),
            "build_manifest_sha256": hashlib.sha256((data / MANIFEST_NAME).read_bytes()).hexdigest(),
        },
        "options": {
            "seed": seed,
            "kinds": list(HIDDEN_KINDS),
            "min_face": MIN_FACE,
            "marked": marked.name if marked else None,
            "marked_copies": MARKED_COPIES,
            "margin": margin,
            "held_out_train_photos": len(held_out),
            "loose": loose,
            "boxes": None if boxes is None else str(boxes),
            "boxes_manifest_sha256": None
            if boxes is None
            else hashlib.sha256((boxes / MANIFEST_NAME).read_bytes()).hexdigest(),
        },
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest
