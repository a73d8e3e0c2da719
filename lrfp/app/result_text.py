"""How a scene's result reads on a page: the colour key of the answers, the one-line summary, the faces' table
and the caption under the annotated photo."""

from __future__ import annotations

from collections.abc import Collection

from lrfp.app.plain import plain, plain_message
from lrfp.core import labels
from lrfp.core.labels import LABELS, TOO_SMALL, UNSURE
from lrfp.pipeline.inference import MIN_FACE_PX, NOT_FACE_AT, Classifier
from lrfp.pipeline.scene import SceneResult, cap_note


def colour_key(names: Collection[str]) -> str:
    """The colour key of the answers NAMES, in lrfp.core.labels' order: ':green[■ with mask] · :red[■ without mask]'."""
    return " · ".join(
        f":{label.palette}[■ {label.explained or label.text}]"  # each answer's colour and words: lrfp.core.labels
        for label in LABELS
        if label.name in names
    )


def legend(classifier: Classifier) -> str:
    """The colour key for this model's answers: its classes (three-class models add orange), then the two it
    gives without a class, too small and can't tell."""
    return colour_key((*classifier.classes, TOO_SMALL, UNSURE))


def scene_summary(name: str, result: SceneResult) -> str:
    """One line: faces found by label, the masked share of those that could be judged, the time its analysis took."""
    c = result.counts()
    parts = [f"{c['with_mask']} with mask", f"{c['without_mask']} without"]
    if c["incorrect"]:
        parts.append(f"{c['incorrect']} worn incorrectly")
    if c["unsure"]:
        parts.append(f"{c['unsure']} can't tell (mouth and nose hidden)")
    if c["too_small"]:
        parts.append(f"{c['too_small']} too small to judge (under {MIN_FACE_PX} px)")
    if result.rejected:
        parts.append(f"{len(result.rejected)} box(es) rejected as not faces")
    share = "" if c["compliance"] is None else f" · **{c['compliance']:.0%} masked**"
    capped = f" (**{cap_note(len(result.faces), result.found)}**)" if result.unanalysed else ""
    # a picture with no face read "0 face(s), 0 with mask, 0 without": said in words
    found = (
        f"{c['faces']} face(s){capped}, {', '.join(parts)}{share}"
        if result.faces
        else ", ".join(["no face found", *parts[2:]])
    )
    # analyses are kept (`analysed`): the time is the analysis's when the photo was first seen, said so
    return (
        f"**{plain(name)}**: {found} · analysed in {result.total_ms:.0f} ms "
        f"(detector {result.detect_ms:.0f} ms, classifier {result.classify_ms:.0f} ms; kept for later visits)"
    )


def doubt_note(result: SceneResult) -> str | None:
    """What the page says when an image taken as one face crop is one the face check finds no face in (a sky,
    a page of text): the answer stands, as asked, but it is said to be about no face; None otherwise."""
    if result.mode != "face" or not result.faces or result.faces[0].face_score is None:
        return None
    score = result.faces[0].face_score
    if score > 1.0 - NOT_FACE_AT:
        return None
    return (
        f"The face check finds no face in this image ({score:.0%} a face): the answer below takes it as one face "
        "because 'one face crop' was chosen. Choose 'auto' or 'scene' to look for faces in it instead."
    )


def not_processed(name: str, problem: object) -> str:
    """One line for an upload that could not be analysed, as markdown: its name once, then what is wrong
    (an image error starts with the file's name: "bomb.png: image too large", which was said twice)."""
    reason = str(problem).removeprefix(f"{name}: ")
    return f"**{plain(name)}** was not processed: {plain_message(reason)}"


def face_rows(result: SceneResult) -> list[dict]:
    """The table beside the annotated image: one row per numbered box, sizes in the photo's own
    pixels (the analysis ran on the full photo; only the picture shown is resized)."""
    return [
        {
            "face": i,
            "label": labels.text(f.label),
            "probability": "–" if f.probability is None else f"{f.probability:.1%}",
            "size (px)": f.box.size,
        }
        for i, f in enumerate(result.faces, 1)
    ]


def photo_caption(image, classifier) -> str:
    """Under the annotated photo (an Image or an Analysis): its own size (what the table's sizes are in) and the colour key."""
    return f"{image.width}x{image.height} px photo; face sizes in its pixels · {legend(classifier)}"
