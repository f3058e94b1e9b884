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


def synthetic_hierarchical(J: int = 100, group_size=50, p: int = 5, *, tau=1.0, sigma: float = 1.0, mu=None,
                           intercept: bool = True, group_variance: bool = False, seed=None) -> Synthetic:
    """Grouped data y_ij = x_ij' beta_j + eps_ij with beta_j ~ N(mu, diag(tau^2)).

    ``group_size`` is an int (equal groups), an array of J sizes, or "poisson:m"
    for sizes 1 + Poisson(m - 1).  ``p`` counts the intercept.  All coefficients
    vary.  truth: beta (J, p), mu (p,), tau2 (p,), sigma2 (scalar or (J,)).
    Groups are returned in shuffled row order with integer labels 0..J-1.
    """
    rng = np.random.default_rng(seed)
    if isinstance(group_size, str) and group_size.startswith("poisson:"):
        m = float(group_size.split(":", 1)[1])
        sizes = 1 + rng.poisson(max(m - 1.0, 0.0), J)
    else:
        sizes = np.broadcast_to(np.asarray(group_size, dtype=np.int64), (J,)).copy()
    if (sizes < 1).any():
        raise ValueError("every group needs at least one row")
    px = p - int(intercept)
    mu = rng.normal(0.0, 1.0, p) if mu is None else np.broadcast_to(np.asarray(mu, float), (p,)).copy()
    tau2 = np.broadcast_to(np.asarray(tau, float) ** 2, (p,)).copy()
    beta = mu + np.sqrt(tau2) * rng.standard_normal((J, p))
    sig2 = sigma**2 * np.exp(0.5 * rng.standard_normal(J)) if group_variance else np.full(J, sigma**2)
    codes = np.repeat(np.arange(J), sizes)
    n = codes.shape[0]
    X = rng.standard_normal((n, px))
    full = np.hstack([np.ones((n, 1)), X]) if intercept else X
    y = np.einsum("ij,ij->i", full, beta[codes]) + np.sqrt(sig2[codes]) * rng.standard_normal(n)
    perm = rng.permutation(n)
    truth = {"beta": beta, "mu": mu, "tau2": tau2, "sigma2": sig2 if group_variance else sigma**2, "sizes": sizes}
    return Synthetic(X[perm], y[perm], truth, codes[perm])
