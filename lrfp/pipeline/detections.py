"""One frame's faces, from the detector to the tables: the one value every stage passes on.

Each face has its box, the detector's score, the face check's score (its probability of a face), the
label, that label's probability and a track id. The analysis makes it (from_scene), the tracker reads it as
supervision's Detections (with the detector's score as confidence, so ByteTrack's second, low-score
association runs) and writes its track ids into it, and the tables keep it as Arrow (FACE_TYPE, the
`face_rows` column of frames.parquet) and read it back (from_rows): the scores go all the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import pyarrow as pa

from lrfp.core import labels
from lrfp.pipeline.boxes import FaceBox
from lrfp.pipeline.scene import FaceResult, SceneResult

if TYPE_CHECKING:
    from collections.abc import Iterable

    import supervision as sv

# decimals kept of scores and probabilities: the same frame gives the same table in any process
DECIMALS = 4
FACE_TYPE = pa.struct(
    [
        ("x0", pa.int32()),
        ("y0", pa.int32()),
        ("x1", pa.int32()),
        ("y1", pa.int32()),
        ("size", pa.int32()),
        ("label", pa.string()),
        ("probability", pa.float64()),
        ("score", pa.float64()),  # the detector's
        ("face_score", pa.float64()),  # the face check's probability of a face (null where it did not look)
        ("track", pa.int64()),  # null where no tracker followed the frame (files: people.parquet follows later)
    ]
)


class FaceRow(TypedDict, total=False):
    """A face as a table holds it (FACE_TYPE); a table written before scores were kept has no score."""

    x0: int
    y0: int
    x1: int
    y1: int
    size: int
    label: str
    probability: float | None  # None (or NaN, read back from a table) for a face too small to judge
    score: float | None
    face_score: float | None
    track: int | None


def _number(value: Any) -> float:
    """A cell as a float, NaN for a missing one (None, a NaN read back through pandas)."""
    return math.nan if value is None else float(value)


def _kept(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), DECIMALS)


@dataclass
class Detections:
    """The faces of one frame, as arrays of one row per face (NaN: not known; track -1: none)."""

    xyxy: np.ndarray  # (n, 4) ints: x0, y0, x1, y1
    score: np.ndarray  # the detector's score (NaN in a table written before it was kept)
    face_score: np.ndarray  # the face check's probability of a face (NaN where it did not look)
    label: list[str]
    probability: np.ndarray  # of the label (NaN: too small to judge)
    track: np.ndarray = field(default_factory=lambda: np.empty(0, int))  # filled with -1 when left empty
    # the frame's, beside its faces: faces found beyond those analysed (MAX_FACES), boxes the face check
    # rejected (x0, y0, x1, y1, score: drawn on request, never counted), and the time each stage took
    unanalysed: int = 0
    rejected: np.ndarray = field(default_factory=lambda: np.empty((0, 5)))
    detect_ms: float = 0.0
    classify_ms: float = 0.0

    def __post_init__(self) -> None:
        if len(self.track) != len(self.label):
            self.track = np.full(len(self.label), -1, dtype=int)

    def __len__(self) -> int:
        return len(self.label)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.empty((0, 4), int), np.empty(0), np.empty(0), [], np.empty(0))

    @classmethod
    def from_scene(cls, result: SceneResult) -> Detections:
        """The faces SceneResult.analyze found, with their scores."""
        faces = result.faces
        return cls(
            np.array([[f.box.x0, f.box.y0, f.box.x1, f.box.y1] for f in faces], dtype=int).reshape(-1, 4),
            np.array([f.box.score for f in faces], dtype=float),
            np.array([_number(f.face_score) for f in faces], dtype=float),
            [f.label for f in faces],
            np.array([_number(f.probability) for f in faces], dtype=float),
            unanalysed=result.unanalysed,
            rejected=np.array([[b.x0, b.y0, b.x1, b.y1, b.score] for b in result.rejected], float).reshape(-1, 5),
            detect_ms=result.detect_ms,
            classify_ms=result.classify_ms,
        )

    def scene(self) -> SceneResult:
        """As the SceneResult lrfp.pipeline.scene.annotate draws (a table's faces keep their scores)."""
        faces = [
            FaceResult(
                FaceBox(int(box[0]), int(box[1]), int(box[2]), int(box[3]), float(score)),
                label,
                None if math.isnan(p) else float(p),
                None if math.isnan(checked) else float(checked),
            )
            for box, score, label, p, checked in zip(
                self.xyxy, self.score, self.label, self.probability, self.face_score
            )
        ]
        rejected = [FaceBox(int(r[0]), int(r[1]), int(r[2]), int(r[3]), float(r[4])) for r in self.rejected]
        return SceneResult("scene", faces, self.unanalysed, rejected, self.detect_ms, self.classify_ms)

    @property
    def sizes(self) -> np.ndarray:
        """Each face's shorter side in pixels."""
        sides: np.ndarray = np.minimum(self.xyxy[:, 2] - self.xyxy[:, 0], self.xyxy[:, 3] - self.xyxy[:, 1])
        return sides

    @property
    def found(self) -> int:
        """Faces the detector found, analysed or not."""
        return len(self) + self.unanalysed

    def counts(self) -> dict[str, int | float | None]:
        """Faces by label (lrfp.core.labels.COUNT_COLUMNS) and compliance, as SceneResult.counts()."""
        counts = labels.count(self.label)
        return counts | {"compliance": labels.compliance(counts)}

    def rows(self) -> list[FaceRow]:
        """The faces as a table holds them (FACE_TYPE): numbers rounded to DECIMALS, None where unknown."""
        return [
            {
                "x0": int(box[0]),
                "y0": int(box[1]),
                "x1": int(box[2]),
                "y1": int(box[3]),
                "size": int(size),
                "label": label,
                "probability": _kept(p),
                "score": _kept(score),
                "face_score": _kept(checked),
                "track": None if track < 0 else int(track),
            }
            for box, size, label, p, score, checked, track in zip(
                self.xyxy, self.sizes, self.label, self.probability, self.score, self.face_score, self.track
            )
        ]

    def to_arrow(self) -> pa.Array:
        return pa.array(self.rows(), type=FACE_TYPE)

    @classmethod
    def from_rows(cls, rows: Iterable[FaceRow] | pa.Array | pa.Scalar | None) -> Detections:
        """The faces of a table's face_rows cell (an Arrow list or scalar, dicts as pandas reads them, or None
        for none); a table written before the scores were kept reads with NaN scores."""
        if isinstance(rows, pa.Array | pa.ChunkedArray):
            rows = rows.to_pylist()
        elif isinstance(rows, pa.Scalar):
            rows = rows.as_py()
        faces = [] if rows is None else list(rows)
        if not faces:
            return cls.empty()
        track = [f.get("track") for f in faces]
        return cls(
            np.array([[f["x0"], f["y0"], f["x1"], f["y1"]] for f in faces], dtype=int),
            np.array([_number(f.get("score")) for f in faces]),
            np.array([_number(f.get("face_score")) for f in faces]),
            [str(f["label"]) for f in faces],
            np.array([_number(f.get("probability")) for f in faces]),
            np.array([-1 if t is None or t != t else int(t) for t in track], dtype=int),
        )

    def supervision(self) -> sv.Detections:
        """As supervision's Detections for a tracker: the detector's score as confidence (1.0 where a table
        kept none: a sure detection, as the detector kept only those over its threshold), each face's index
        in `data["face"]` (a tracker may reorder them)."""
        import supervision as sv

        confidence = np.where(np.isnan(self.score), 1.0, self.score) if len(self) else np.empty(0)
        return sv.Detections(
            xyxy=self.xyxy.astype(float).reshape(-1, 4),
            confidence=confidence.astype(float),
            data={"face": np.arange(len(self))},
        )
