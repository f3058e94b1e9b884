"""Checks and formatting shared by the priors: positive scalars and vectors, finite arrays, covariances."""

from __future__ import annotations

import math

import numpy as np

def _positive_scalar(value, name: str, prior: str) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{prior}: {name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{prior}: {name} must be a positive finite number, got {value!r}")
    return v


def _finite_array(value, name: str, prior: str) -> np.ndarray | None:
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{prior}: {name} must be numeric, got {value!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"{prior}: {name} must be a scalar or a 1-D array, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{prior}: {name} contains NaN")
    return arr


def _broadcast(arr: np.ndarray, p: int, name: str, prior: str) -> np.ndarray:
    if arr.ndim == 0:
        return np.full(p, float(arr))
    if arr.shape[0] != p:
        raise ValueError(f"{prior}: {name} has {arr.shape[0]} entries but the model has p = {p} coefficients")
    return arr.astype(np.float64, copy=True)


def validate_cov(cov, p: int | None, name: str, prior: str) -> np.ndarray:
    """A finite, symmetric, positive-definite (p, p) matrix."""
    try:
        C = np.asarray(cov, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{prior}: {name} must be a numeric matrix") from None
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"{prior}: {name} must be a square matrix, got shape {C.shape}")
    if p is not None and C.shape[0] != p:
        raise ValueError(f"{prior}: {name} is {C.shape[0]}x{C.shape[0]} but the model has p = {p} coefficients")
    if not np.isfinite(C).all():
        raise ValueError(f"{prior}: {name} contains NaN or inf")
    if not np.allclose(C, C.T, rtol=1e-10, atol=1e-300):
        raise ValueError(f"{prior}: {name} must be symmetric")
    try:
        np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        raise ValueError(f"{prior}: {name} must be positive definite") from None
    return 0.5 * (C + C.T)


def _fmt(x):
    x = np.asarray(x)
    return f"{float(x):.4g}" if x.ndim == 0 else np.array2string(x, precision=4)


def _positive_vector(value, name, prior):
    arr = _finite_array(value, name, prior)
    if arr is None or not np.isfinite(arr).all() or not (arr > 0).all():
        raise ValueError(f"{prior}: {name} must be positive and finite, got {value!r}")
    return arr


def _vec(value, k, name):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(k, float(arr))
    if arr.shape != (k,):
        raise ValueError(f"{name} has {arr.shape[0]} entries but there are {k} coefficients")
    return arr.copy()
