"""Arc costs of the compiled model: one formula for the OR-Tools search and the insertion plan."""

from __future__ import annotations

import numpy as np


def arc_cost_matrix(dur: np.ndarray, dist: np.ndarray, key: tuple[int, int, int]) -> np.ndarray:
    """Cost of every arc for one staff member's weighting ``key = (kind, time, distance)``.

    Kind 0 weighs seconds and metres directly (the default objectives); kind 1 holds cents per
    second and per metre scaled by 1000 (``cost_per_hour`` / ``cost_per_km``), rounded back."""
    kind, wt, wd = key
    m = dur * wt + dist * wd
    return m if kind == 0 else (m + 500) // 1000
