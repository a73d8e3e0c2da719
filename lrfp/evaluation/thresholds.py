"""A higher detector score asked of some boxes, judged from benchmark records without running the detector
again. The scene benchmark keeps every frame's labelled faces and kept boxes (scene_bench.frame_record), the
no-face benchmark every picture's boxes (noface_bench), each box with its detector score and the look that
found it (scene_bench.box_row); here the boxes a rule drops are left out and the labelled faces matched again,
by the scene benchmark's own match.

Dropping boxes after the merge is close to asking the score of the looks, not the same: a dropped box may have
stood in the merge for a group of boxes (the whole face over a part of it), or guided a finer look to its tile.
A score chosen here is confirmed by running the pipeline with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lrfp.data.voc import match

# a box as records keep it: x0, y0, x1, y1, score, label, look (scene_bench.box_row)
Row = Sequence
Keep = Callable[[Row], bool]

SCORE, LABEL, LOOK = 4, 5, 6  # a Row's fields


def asking(score: float, picks: Keep = lambda row: True) -> Keep:
    """A rule: keep a box scored SCORE or more, and every box PICKS does not pick (by its look, say: under 1 a
    reduced look, 1 the frame's own size, over 1 an enlarged look)."""
    return lambda row: row[SCORE] >= score or not picks(row)


def labelled_figures(frames: list[dict], classes: Sequence[str], keep: Keep) -> dict:
    """Faces labelled, found, found and labelled right, and boxes matching no labelled face, per photo, of FRAMES
    (a scene-bench record's `frames`) with only the boxes KEEP keeps. A face of a class not in CLASSES is not
    scored, and a box matched to it is not unmatched (as in scene_bench)."""
    labelled = found = right = unmatched = photos = 0
    for frame in frames:
        boxes = [row for row in frame["boxes"] if keep(row)]
        pairing = match([face[1:5] for face in frame["faces"]], [row[:4] for row in boxes])
        unmatched += len(boxes) - len(pairing)
        photos += frame["photos"]
        for i, face in enumerate(frame["faces"]):
            if face[0] not in classes:
                continue
            labelled += 1
            found += i in pairing
            right += i in pairing and boxes[pairing[i]][LABEL] == face[0]
    return {
        "labelled": labelled,
        "found": found,
        "found_and_right": right,
        "unmatched": unmatched,
        "photos": photos,
        "recall": found / labelled if labelled else None,
        "end_to_end": right / labelled if labelled else None,
        "unmatched_per_photo": unmatched / photos if photos else None,
    }


def noface_figures(pictures: list[dict], keep: Keep) -> dict:
    """Boxes KEEP keeps on no-face PICTURES (a no-face record's `per_picture`), in all and per 100 pictures."""
    boxes = sum(keep(row) for picture in pictures for row in picture["boxes"])
    return {
        "pictures": len(pictures),
        "boxes": boxes,
        "boxes_per_100": 100 * boxes / len(pictures) if pictures else None,
    }
