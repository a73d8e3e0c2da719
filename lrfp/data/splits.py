"""Splits by photo: all faces of one photo, and photos that are copies of each other (same bytes, one
picture saved twice as the perceptual hash finds, or listed together in a near-duplicate groups CSV),
land in one split, and the proportions hold for the faces of each class, not just for the photos.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import imagehash
import numpy as np

from lrfp.core.errors import ConfigError
from lrfp.core.records import file_sha256
from lrfp.data.images import SPLITS, load_image

NEAR_DUPLICATES_FILE = "near_duplicate_groups.csv"
# Photos whose perceptual hashes (imagehash's pHash of 16 x 16 = 256 bits) differ in at most this many
# bits are one picture saved twice: a PNG and its JPEG copy differed by 0 to 8 bits, different photos
# by 26 or more (generated scenes) and, in fmd853, by more than 24 outside its listed groups.
HASH_SIZE = 16
SAME_PICTURE_BITS = 12


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or any(p < 0 for p in parts) or sum(parts) <= 0 or parts[0] == 0:
        raise ConfigError(f"--split needs three non-negative numbers train,val,test with train > 0, got {text!r}")
    total = sum(parts)
    train, val, test = (p / total * 100 for p in parts)
    return train, val, test


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _hash_bits(path: Path) -> np.ndarray:
    return imagehash.phash(load_image(path, name=str(path)), hash_size=HASH_SIZE).hash.flatten()


def similar_photos(source: Path, photos: list[str]) -> list[list[str]]:
    """The groups (2 or more, sorted) of PHOTOS under SOURCE that are one picture by their perceptual hash."""
    bits = np.array([_hash_bits(source / rel) for rel in photos]).reshape(len(photos), HASH_SIZE**2)
    uf = _UnionFind()
    for i, rel in enumerate(photos):
        for j in np.flatnonzero((bits[i + 1 :] != bits[i]).sum(axis=1) <= SAME_PICTURE_BITS):
            uf.union(rel, photos[i + 1 + j])
    groups: dict[str, list[str]] = defaultdict(list)
    for rel in photos:
        groups[uf.find(rel)].append(rel)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def group_sources(
    source: Path, sources: list[str], groups_file: Path | None, similar: Sequence[Sequence[str]] = ()
) -> dict[str, str]:
    """Source image -> group id, merging byte-identical files, SIMILAR's groups and listed near-duplicates."""
    uf = _UnionFind()
    for group in similar:
        for rel in group[1:]:
            uf.union(group[0], rel)
    by_hash: dict[str, str] = {}
    for rel in sources:
        uf.find(rel)
        digest = file_sha256(source / rel)
        if digest in by_hash:
            uf.union(by_hash[digest], rel)
        else:
            by_hash[digest] = rel
    if groups_file is not None and groups_file.is_file():
        listed: dict[str, list[str]] = defaultdict(list)
        with groups_file.open(newline="") as f:
            for row in csv.DictReader(f):
                listed[row["group"]].append(row["image"])
        known = set(sources)
        for members in listed.values():
            present = [m for m in members if m in known]
            for m in present[1:]:
                uf.union(present[0], m)
    return {rel: uf.find(rel) for rel in sources}


def assign_splits(group_counts: dict[str, Counter], classes: tuple[str, ...], fractions, seed: int) -> dict[str, str]:
    """Group -> split, so that each class's crops follow `fractions` as closely as whole groups allow.

    Greedy: biggest groups first (seeded shuffle breaks ties); each goes to the split that is
    least full, measured per class as (crops after adding) / (target crops), weighted by the
    share of that class the group carries.
    """
    totals: Counter[str] = Counter()
    for counts in group_counts.values():
        totals.update(counts)
    targets = {s: {c: totals[c] * f / 100 for c in classes} for s, f in zip(SPLITS, fractions)}
    current: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
    order = sorted(group_counts)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda g: -sum(group_counts[g].values()))
    assignment = {}
    for g in order:
        counts = group_counts[g]

        def fullness(split: str) -> float:
            score = 0.0
            for c in classes:
                if counts[c]:
                    target = targets[split][c]
                    ratio = (current[split][c] + counts[c]) / target if target > 0 else float("inf")
                    score += counts[c] / max(totals[c], 1) * ratio
            return score

        best = min(SPLITS, key=lambda s: (fullness(s), SPLITS.index(s)))
        assignment[g] = best
        current[best].update(counts)
    return assignment


def balance_split(crops: list, seed: int) -> list:
    """Subsample every class to the size of the smallest class (seeded)."""
    by_class: dict[str, list] = defaultdict(list)
    for crop in crops:
        by_class[crop.label].append(crop)
    if len(by_class) < 2:
        return crops
    n = min(len(v) for v in by_class.values())
    rng = random.Random(seed)
    kept = []
    for label in sorted(by_class):
        members = sorted(by_class[label], key=lambda c: c.path)
        kept.extend(members if len(members) == n else rng.sample(members, n))
    return kept
