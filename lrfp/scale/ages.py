"""How old a live frame was when its analysis was done: the latency a deep hold (lrfp.scale.stream.HOLD_S)
trades for frames not dropped, counted in a histogram of fixed bins so a day's run holds as little as a
minute's."""

from __future__ import annotations

import numpy as np

BIN_S, TOP_S = 0.01, 120.0  # 10 ms bins up to 2 minutes; an older frame counts in the last bin (its max is kept)


class Ages:
    """The ages (seconds from a frame's arrival to its analysis done) of one stream's frames."""

    def __init__(self) -> None:
        self.bins = np.zeros(round(TOP_S / BIN_S) + 1, dtype=np.int64)
        self.max = 0.0

    def add(self, age_s: float) -> None:
        age_s = max(0.0, age_s)
        self.bins[min(len(self.bins) - 1, int(age_s / BIN_S))] += 1
        self.max = max(self.max, age_s)

    def quantile(self, q: float) -> float | None:
        """The age under which a share Q of the frames were analysed (to a bin's upper edge); None: no frame."""
        total = int(self.bins.sum())
        if not total:
            return None
        rank = int(np.searchsorted(np.cumsum(self.bins), q * total))
        return min(self.max, (rank + 1) * BIN_S)

    def summary(self) -> dict[str, float | None]:
        """For live.json: the median, 95th and 99th percentile and the largest age, in seconds."""
        shown = {f"p{round(q * 100)}": self.quantile(q) for q in (0.5, 0.95, 0.99)}
        return {k: None if v is None else round(v, 2) for k, v in shown.items()} | {"max": round(self.max, 2)}
