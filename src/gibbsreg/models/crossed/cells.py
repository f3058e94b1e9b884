"""Several grouping factors: labels.  The statistics of each non-empty cell (combination of levels) come
from gibbsreg.io (``GroupedStats.to_cell_stats``, a ``CellStats``), like every model's statistics."""

from __future__ import annotations

import numpy as np

from ...io.groups import CellStats, encode_labels

__all__ = ["CellStats", "encode_factor", "interaction_labels"]


def encode_factor(labels, n: int, name: str):
    """Integer codes (n,) and sorted level labels (J,) of one factor; one level is allowed."""
    return encode_labels(labels, n, f"factor {name!r}")


def interaction_labels(*columns, sep: str = ":"):
    """Labels of the interaction of several factors, e.g. county-within-state for ``(1 | state/county)``."""
    cols = [np.asarray(c.to_numpy() if hasattr(c, "to_numpy") else c) for c in columns]
    n = {c.shape[0] for c in cols}
    if len(n) != 1:
        raise ValueError(f"interaction_labels: columns have different lengths {sorted(n)}")
    return np.array([sep.join(map(str, row)) for row in zip(*cols)])
