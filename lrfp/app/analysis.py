"""What a page keeps of an analysed photo: the result, the picture it shows and small face crops, never the photo."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from lrfp.pipeline.scene import SceneResult, annotate

# Grad-CAM looks at a face at the model's input size (224 px at most) and the page shows it at 128 px:
# a bigger crop adds bytes, nothing seen
FACE_SIDE = 224
# a face's result (box, label, probability) as Python objects, roughly
RESULT_BYTES_PER_FACE = 400


@dataclass(frozen=True)
class Analysis:
    result: SceneResult
    width: int  # the photo's own size: the result's boxes are in its pixels
    height: int
    picture: bytes  # the annotated photo as the page shows it (JPEG)
    faces: tuple[Image.Image, ...]  # each face's crop, at most FACE_SIDE px, for Grad-CAM

    @classmethod
    def of(cls, image: Image.Image, result: SceneResult, numbered: bool, side: int) -> Analysis:
        """IMAGE's analysis as kept: the picture drawn SIDE px on its longer side, tags numbered with `numbered`."""
        buffer = io.BytesIO()
        annotate(image, result, numbered=numbered, min_long_side=side, max_long_side=side).save(
            buffer, "JPEG", quality=90
        )
        faces = tuple(_face(image, f.box) for f in result.faces)
        return cls(result, image.width, image.height, buffer.getvalue(), faces)

    @property
    def nbytes(self) -> int:
        """What this analysis holds in memory, about."""
        pixels = sum(f.width * f.height for f in self.faces)
        return len(self.picture) + 3 * pixels + RESULT_BYTES_PER_FACE * len(self.result.faces)


def _face(image: Image.Image, box) -> Image.Image:
    """The box's crop as the classifier saw it (padded where it passes the photo's edge), at most FACE_SIDE px.
    A box inside the photo is read straight from it: a crop first would copy a whole 50 MP photo in
    'one face crop' mode."""
    corners = (box.x0, box.y0, box.x1, box.y1)
    w, h = box.x1 - box.x0, box.y1 - box.y0
    factor = min(1.0, FACE_SIDE / max(w, h, 1))
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    if box.x0 >= 0 and box.y0 >= 0 and box.x1 <= image.width and box.y1 <= image.height:
        return image.resize(size, Image.Resampling.BILINEAR, box=corners)
    return image.crop(corners).resize(size, Image.Resampling.BILINEAR)
