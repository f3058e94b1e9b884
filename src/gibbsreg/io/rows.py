"""The rows a model was sampled from, remembered by reference for the pointwise log-likelihood."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FittedData:
    """The validated rows a Posterior was sampled from, kept in memory by reference (never saved).

    X (n, p_x) without the intercept column, y (n,), codes (n,) the group index of each
    row into ``coords["group"]`` (hierarchical models; (n, F) level codes for the crossed model;
    None for flat ones), w (n,) the known observation weights (None: all 1).  The pointwise
    log-likelihood needs the rows, not only the statistics.
    """

    X: np.ndarray
    y: np.ndarray
    codes: np.ndarray | None = None
    w: np.ndarray | None = None
