"""Would boxes the detector scores under its 0.5 bring the monitor's people count to the hand count, and at what
cost in false people? The demo clips against their hand marks, and pans over pictures with no face.

    python benchmarks/people_low_scores.py [--keep 0.5 0.4 0.3 0.2] [--noface /work/scratch/noface --split val]
        [--cache /tmp/people-low] [--out results/benchmarks/people_low_scores.json]

Each clip of demo/footage and each no-face pan (lrfp.data.footage.write_noface_pans: a clip made as the demo's
are, 8 frames at 2 frames/s, a 320x240 window panned left to right over one picture of the no-face set's split) is
analysed as `lrfp monitor` analyses a frame (lrfp.pipeline.scene.analyze: the detector with the monitor's
footage look, the face check, the classifier), once for each KEEP: the score the detector's own looks keep a box
at (its reduced RetinaFace looks keep their 0.5). Then each tracker setting (SETTINGS: lrfp's PeopleTracker, its
score thresholds and the rule of how many frames make a person tried otherwise, CountingRule) counts the people of each clip: against the hand count (demo/tracks) with IDF1 and ID
switches, and the people on the no-face pans, which should be none. KEEP 0.5 and lrfp's default tracker is
today's `lrfp monitor`. The analysed frames are cached per KEEP under --cache (a run with other code: delete it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import av

from lrfp.cli.options import model_or_default
from lrfp.data.footage import CLIP_FPS, write_noface_pans
from lrfp.evaluation.tracking import follow, read_marks, score
from lrfp.pipeline.detect import FaceDetector
from lrfp.pipeline.detections import Detections
from lrfp.pipeline.inference import Classifier
from lrfp.pipeline.looks import FOOTAGE_FINEST_SIDE
from lrfp.pipeline.people import MIN_FRAMES, PeopleTracker, Person
from lrfp.pipeline.scene import analyze

FOOTAGE = Path("demo/footage")
# tracker settings tried: name -> (the options of CountingRule, given the detector's KEEP)
SETTINGS = {
    "today's tracker (boxes under 0.5 only continue a track)": lambda keep: {},
    "every kept box starts a track": lambda keep: {"sure": (keep, keep)},
    "every kept box starts a track; a person of none over 0.5 needs 4 frames": lambda keep: {
        "sure": (keep, keep),
        "unsure": (0.5, 4),
    },
    "every kept box starts a track; a person of none over 0.5 needs 5 frames": lambda keep: {
        "sure": (keep, keep),
        "unsure": (0.5, 5),
    },
    "today's; a person with a box over 0.8 from 2 frames": lambda keep: {"high_frames": (0.8, 2)},
    "today's; a person with a box over 0.7 from 2 frames": lambda keep: {"high_frames": (0.7, 2)},
    "today's; a person needs 2 boxes over 0.5": lambda keep: {"sure_frames": (0.5, 2)},
    "today's; 2 boxes over 0.5; a person with a box over 0.8 from 2 frames": lambda keep: {
        "sure_frames": (0.5, 2),
        "high_frames": (0.8, 2),
    },
    "today's; a box under 0.5 kept only where the face check is 0.8 sure of a face": lambda keep: {"low_face": 0.8},
    "every kept box starts; low only: 5 frames; a box under 0.5 kept where the face check is 0.8 sure": lambda keep: {
        "sure": (keep, keep),
        "unsure": (0.5, 5),
        "low_face": 0.8,
    },
    "every kept box starts; none over 0.5: 4 frames; over 0.8: 2 frames": lambda keep: {
        "sure": (keep, keep),
        "unsure": (0.5, 4),
        "high_frames": (0.8, 2),
    },
}


class ScoredPerson(Person):
    """A person with the detector's score of each of its sightings."""

    scores: list[float]

    def see(self, frame, offset, when, face) -> None:
        if frame != self.last_frame:
            score = face.get("score")
            self.scores = [*getattr(self, "scores", []), 1.0 if score is None else float(score)]
        super().see(frame, offset, when, face)


class CountingRule(PeopleTracker):
    """lrfp's PeopleTracker (its SURE thresholds given) with other rules of how many frames make a person, by the
    detector's scores of its boxes, each (SCORE, N): UNSURE, a person whose best box scored under SCORE needs N
    frames; HIGH_FRAMES, one whose best box scored SCORE or more counts from N frames; SURE_FRAMES, a person needs
    N boxes scored SCORE or more. Without them: MIN_FRAMES, as lrfp counts. For follow() (lrfp.evaluation
    .tracking), which asks finished() for every person at the end."""

    def __init__(self, sure=None, unsure=None, high_frames=None, sure_frames=None):
        super().__init__(min_frames=1, **({} if sure is None else {"sure": sure}))
        self.unsure, self.high_frames, self.sure_frames = unsure, high_frames, sure_frames

    def _new_person(self, offset, when) -> int:
        key = super()._new_person(offset, when)
        self.people[key] = ScoredPerson(key, offset, offset, when, when)
        return key

    def counts(self, person: ScoredPerson) -> bool:
        scores = getattr(person, "scores", [])
        need, top = MIN_FRAMES, max(scores, default=1.0)
        if self.unsure is not None and top < self.unsure[0]:
            need = self.unsure[1]
        if self.high_frames is not None and top >= self.high_frames[0]:
            need = min(need, self.high_frames[1])
        if self.sure_frames is not None and sum(s >= self.sure_frames[0] for s in scores) < self.sure_frames[1]:
            return False
        return person.frames >= need

    def finished(self, now_s=None):
        assert now_s is None, "every person at the end only"
        kept = {key for key, person in self.people.items() if self.counts(person)}  # type: ignore[arg-type]
        return [row for row in super().finished() if row["track"] in kept]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tracking = _load("people_tracking", Path(__file__).with_name("people_tracking.py"))


def frames_of(clip: Path):
    with av.open(str(clip)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            yield i, frame.to_image()


def analysed(clips: dict[str, Path], keep: float, classifier: Classifier, cache: Path) -> dict[str, list]:
    """Each clip's frames as (frame, offset, face rows), analysed with the detector keeping KEEP (cached)."""
    path = cache / f"keep-{keep:g}.json"
    done = json.loads(path.read_text()) if path.is_file() else {}
    detector = FaceDetector(finest_side=FOOTAGE_FINEST_SIDE, min_score=keep, enlarged_min_score=keep)
    for name, clip in clips.items():
        if name not in done:
            done[name] = [
                (i, i / CLIP_FPS, Detections.from_scene(analyze(image, classifier, detector, mode="scene")).rows())
                for i, image in frames_of(clip)
            ]
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(done))
    return {name: done[name] for name in clips}  # the cache may hold another split's pans


def counted(frames: list, options: dict, marks: dict | None) -> dict:
    """The people of FRAMES by CountingRule(OPTIONS); a box under 0.5 is left out first where OPTIONS' low_face
    asks the face check for more (its probability of a face) than it gave."""
    options = dict(options)
    low_face = options.pop("low_face", None)
    if low_face is not None:
        frames = [
            (f, o, [r for r in faces if r["score"] >= 0.5 or (r["face_score"] or 0) >= low_face])
            for f, o, faces in frames
        ]
    tracked, people = follow(frames, CountingRule(**options))
    entry: dict = {"people": people}
    if marks is not None:
        entry |= {k: v for k, v in score(marks, tracked).items() if k in ("IDF1", "IDSW")}
    return entry


def run_setting(clips: dict[str, list], options: dict) -> dict:
    """People per demo clip (with the hand count, IDF1, ID switches; the marked ones live too) and on the pans."""
    demo, pans = {}, {}
    for name, frames in clips.items():
        if name.startswith("noface/"):
            pans[name] = counted(frames, options, None)["people"]
            continue
        marks, hand = read_marks(tracking.marks_of(name)), tracking.hand_count(name)
        entry = counted(frames, options, marks) | {"hand": hand}
        entry["off_percent"] = round(100 * (entry["people"] - hand) / hand, 1)
        entry["found_by_detector"] = tracking.found_by_detector(frames, marks)
        demo[name] = entry
        if name not in tracking.SAME:
            served, served_marks = tracking.forth_and_back(frames, marks)
            live = counted(served, options, served_marks)
            demo[name] |= {"live_people": live["people"], "live_IDF1": live["IDF1"], "live_IDSW": live["IDSW"]}
    return {
        "clips": demo,
        "people": sum(e["people"] for e in demo.values()),
        "hand": sum(e["hand"] for e in demo.values()),
        "worst_off_percent": max(abs(e["off_percent"]) for e in demo.values()),
        "IDSW": sum(e["IDSW"] for e in demo.values()),
        "noface_people": sum(pans.values()),
        "noface_pans_with_people": sorted(k for k, v in pans.items() if v),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=float, nargs="+", default=[0.5, 0.4, 0.3, 0.2])
    parser.add_argument("--noface", type=Path, default=Path("/work/scratch/noface"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/people-low"))
    parser.add_argument("--out", default="results/benchmarks/people_low_scores.json")
    args = parser.parse_args()
    clips = {"/".join(p.parts[-2:]): p for p in sorted(FOOTAGE.glob("*/*.mp4"))}
    pans = write_noface_pans(args.noface, args.split, args.cache / f"pans-{args.split}")
    clips |= {f"noface/{name}": clip for name, clip in pans.items()}
    classifier = Classifier(model_or_default(None))
    report: dict = {"noface_split": args.split, "noface_pans": sum(k.startswith("noface/") for k in clips), "keep": {}}
    for keep in args.keep:
        frames = analysed(clips, keep, classifier, args.cache)
        report["keep"][f"{keep:g}"] = {name: run_setting(frames, make(keep)) for name, make in SETTINGS.items()}
        for name, r in report["keep"][f"{keep:g}"].items():
            per_clip = " ".join(f"{e['people']}/{e['hand']}" for e in r["clips"].values())
            print(
                f"keep {keep:g} | {name[:70]:70s} | people {r['people']}/{r['hand']} worst {r['worst_off_percent']:5.1f} % "
                f"IDSW {r['IDSW']:3d} | no-face people {r['noface_people']:3d} | {per_clip}"
            )
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
