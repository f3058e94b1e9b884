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


def binary_counts(y, trials=None):
    """Validate the response: y in {0, 1} (Bernoulli, trials None) or whole numbers 0 <= y_i <= n_i of whole
    positive trials n_i (binomial); returns (y, trials, bernoulli) as int64 arrays and a flag.  A ValueError
    names the first offending row."""
    yv = np.asarray(y, dtype=np.float64)
    n = yv.shape[0]
    if trials is None:
        bad = np.flatnonzero((yv != 0) & (yv != 1))
        if bad.size:
            raise ValueError(f"y must hold 0/1 labels (or pass trials= for binomial counts); row {int(bad[0])} has "
                             f"{yv[bad[0]]!r} ({bad.size} such row{'s' * (bad.size > 1)})")
        return yv.astype(np.int64), np.ones(n, dtype=np.int64), True
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
    return yi, ti, bool((ti == 1).all())


def binary_data(X, y, trials=None, intercept: bool = True) -> BinaryData:
    """Validate (X, y[, trials]): finite X and the response as :func:`binary_counts`."""
    if y is not None and hasattr(y, "dtype") and y.dtype == bool:
        y = np.asarray(y, dtype=np.float64)
    design = as_design(X, y, intercept)
    n = design.n
    yi, ti, bernoulli = binary_counts(design.y, trials)
    full = np.ascontiguousarray(np.hstack([np.ones((n, 1)), design.X]) if design.intercept else design.X,
                                dtype=np.float64)
    return BinaryData(full, design.X, yi, ti, list(design.names), design.intercept, bernoulli)


def trials_record(data: BinaryData):
    """The trials a binomial run records in its state's config (JSON): None for Bernoulli rows, an int when every
    row has the same trials, else the list; :func:`saved_trials` reads it back on resume."""
    if data.bernoulli:
        return None
    t = data.trials
    return int(t[0]) if (t == t[0]).all() else t.tolist()


def saved_trials(post, trials, y):
    """The trials to resume ``post`` with: ``trials`` when given, else those its run recorded (None for a
    Bernoulli run); an int record is broadcast to y's rows."""
    if trials is not None:
        return trials
    state = getattr(post, "state", None)
    record = None if state is None else state.config.get("trials")
    if record is None or y is None:
        return None
    if isinstance(record, int):
        return np.full(np.shape(y)[0], record, dtype=np.int64)
    return np.asarray(record, dtype=np.int64)
