"""Datasets: seeded synthetic generators for the flat and hierarchical models."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Synthetic:
    """Simulated data with the true parameters that generated them."""

    X: np.ndarray
    y: np.ndarray
    truth: dict = field(default_factory=dict)
    groups: np.ndarray | None = None


def synthetic_regression(n: int = 1000, p: int = 10, *, sigma: float = 1.0, intercept: bool = True,
                         seed=None, chunk_rows: int = 1 << 16) -> Synthetic:
    """y = X beta + N(0, sigma^2) with X (n, p - intercept) standard normal columns.

    ``p`` counts the intercept when ``intercept`` is True.  Rows are generated in
    chunks, so n = 10^7 needs only the output arrays.  truth: beta (p,), sigma2.
    """
    if n < 1 or p < 1:
        raise ValueError(f"need n >= 1 and p >= 1, got n={n}, p={p}")
    rng = np.random.default_rng(seed)
    px = p - int(intercept)
    beta = rng.normal(0.0, 1.0, size=p)
    X = np.empty((n, px))
    y = np.empty(n)
    for start in range(0, n, chunk_rows):
        stop = min(n, start + chunk_rows)
        X[start:stop] = rng.standard_normal((stop - start, px))
        y[start:stop] = X[start:stop] @ beta[int(intercept):] + rng.normal(0.0, sigma, stop - start)
    if intercept:
        y += beta[0]
    return Synthetic(X, y, {"beta": beta, "sigma2": sigma**2})
