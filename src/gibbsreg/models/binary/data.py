"""The rows of the binary models: validation of (X, y[, trials]) into the design the sweep reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data import as_design, as_float_vector


@dataclass
class BinaryData:
    """Validated rows: ``full`` (n, p) the design with its intercept column, ``X`` (n, p_x) as given,
    y and trials (n,) int64 (trials all 1: Bernoulli), ``names`` the coefficients."""

    full: np.ndarray
    X: np.ndarray
    y: np.ndarray
    trials: np.ndarray
    names: list
    intercept: bool
    bernoulli: bool

    @property
    def n(self) -> int:
        return self.y.shape[0]


def _integers(v: np.ndarray, what: str) -> np.ndarray:
    bad = np.flatnonzero(v != np.round(v))
    if bad.size:
        raise ValueError(f"{what} must be whole numbers; row {int(bad[0])} has {v[bad[0]]!r} "
                         f"({bad.size} such row{'s' * (bad.size > 1)})")
    return v.astype(np.int64)


def binary_data(X, y, trials=None, intercept: bool = True) -> BinaryData:
    """Validate (X, y[, trials]): finite X; y in {0, 1} (Bernoulli, trials None) or whole numbers 0 <= y_i <= n_i
    of whole positive trials n_i (binomial); a ValueError names the first offending row."""
    if y is not None and hasattr(y, "dtype") and y.dtype == bool:
        y = np.asarray(y, dtype=np.float64)
    design = as_design(X, y, intercept)
    n = design.n
    yv = design.y
    if trials is None:
        bad = np.flatnonzero((yv != 0) & (yv != 1))
        if bad.size:
            raise ValueError(f"y must hold 0/1 labels (or pass trials= for binomial counts); row {int(bad[0])} has "
                             f"{yv[bad[0]]!r} ({bad.size} such row{'s' * (bad.size > 1)})")
        yi, ti, bernoulli = yv.astype(np.int64), np.ones(n, dtype=np.int64), True
    else:
        tv = as_float_vector(trials, n, "trials")
        if not np.isfinite(tv).all():
            raise ValueError(f"trials contains NaN or inf (row {int(np.flatnonzero(~np.isfinite(tv))[0])})")
        ti = _integers(tv, "trials")
        if (ti < 1).any():
            raise ValueError(f"trials must be positive; row {int(np.flatnonzero(ti < 1)[0])} has {ti[ti < 1][0]}")
        yi = _integers(yv, "y (success counts)")
        if (yi < 0).any():
            raise ValueError(f"y (success counts) must be >= 0; row {int(np.flatnonzero(yi < 0)[0])} has "
                             f"{yi[yi < 0][0]}")
        above = np.flatnonzero(yi > ti)
        if above.size:
            raise ValueError(f"y (success counts) exceeds trials on {above.size} row{'s' * (above.size > 1)}; row "
                             f"{int(above[0])} has y = {yi[above[0]]} > trials = {ti[above[0]]}")
        bernoulli = bool((ti == 1).all())
    full = np.ascontiguousarray(np.hstack([np.ones((n, 1)), design.X]) if design.intercept else design.X,
                                dtype=np.float64)
    return BinaryData(full, design.X, yi, ti, list(design.names), design.intercept, bernoulli)
