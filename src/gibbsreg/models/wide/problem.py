"""The wide model's data as the kernel sees it, and the memory a run needs.

With r unpenalised columns U (flat prior) and penalised columns X, Householder reflections Q' (Q'U = [R; 0])
split the likelihood: ||y - U alpha - X beta||^2 = ||c1 - X1 beta - R alpha||^2 + ||y* - X* beta||^2, with
(c1, X1) the first r rows of (Q'y, Q'X) and (y*, X*) the other m = n - r.  alpha integrates out (sigma^2
then sees m rows); given (beta, sigma^2) it is N(R^{-1}(c1 - X1 beta), sigma^2 (R'R)^{-1}).  The kernel
samples gamma = s beta (columns of X* scaled by s_j, their root mean square).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...kernels.wide.shapes import BHATTACHARYA, CHOLESKY

ROW_BLOCK = 4096  # penalised columns reflected at a time (bounds the temporaries)
BLAS_BLOCK_BYTES = 8 << 20  # the kernel's scaled block of X*' (block, m)


@dataclass
class WideData:
    method: int
    Xt: np.ndarray  # X*' standardised (p, m); (p, 0) for the Cholesky draw
    ys: np.ndarray  # y* (m,)
    G: np.ndarray  # X*'X* standardised (p, p); (0, 0) for Bhattacharya's draw
    h: np.ndarray  # X*'y* (p,)
    rr: float  # y*'y*
    R: np.ndarray  # (r, r) upper triangular
    c1: np.ndarray  # (r,)
    X1: np.ndarray  # (r, p) standardised
    col_scale: np.ndarray  # s (p,)
    pen_idx: np.ndarray  # positions of the penalised coefficients among all (int64)
    unpen_idx: np.ndarray
    m: int
    block: int

    @property
    def p(self) -> int:
        return self.h.shape[0]


def constant_columns(X: np.ndarray) -> list[int]:
    """Columns of X whose values are all equal and non-zero (an intercept given as a column)."""
    if X.shape[0] < 2:
        return []
    first = X[0]
    same = np.all(X == first, axis=0) & (first != 0)
    return [int(j) for j in np.flatnonzero(same)]


def choose_method(beta_draw: str, p: int, m: int) -> int:
    if beta_draw == "cholesky":
        return CHOLESKY
    if beta_draw == "bhattacharya":
        return BHATTACHARYA
    return CHOLESKY if p <= m else BHATTACHARYA


def memory_needed(method: int, n: int, p: int, m: int, chains: int, block: int) -> dict:
    """Bytes the run holds besides its draws, by part (estimated before any of it is allocated)."""
    parts = {"design X*' (p x n: the reflected copy and its standardised one)": 16 * p * n,
             "chain states (gamma, local scales, auxiliaries)": 8 * 3 * chains * p}
    if method == CHOLESKY:
        parts["X*'X* (p x p)"] = 8 * p * p
        parts["per-chain factor (p x p)"] = 8 * chains * p * p
    else:
        parts["per-chain m x m systems and column block"] = 8 * chains * (2 * m * m + block * m + 3 * p)
    return parts


def check_memory(parts: dict, draws_bytes: int) -> None:
    """A clear ValueError before allocating when the run would not fit in memory."""
    from ...store import MEMORY_FRACTION, available_memory

    total = sum(parts.values()) + draws_bytes
    if total < 64 << 20:
        return
    avail = available_memory()
    if avail is None or total <= MEMORY_FRACTION * avail:
        return
    gib = 1 << 30
    detail = ", ".join(f"{k}: {v / gib:.2f} GiB" for k, v in parts.items())
    raise ValueError(f"this run needs about {total / gib:.2f} GiB ({detail}, draws: {draws_bytes / gib:.2f} GiB) "
                     f"but about {avail / gib:.2f} GiB is available; keep fewer variables (keep=['sigma2', "
                     "'tau2', ...]), fewer draws or thin=k, or write the draws to disk with store='run_dir'")


def reflect(U: np.ndarray, Xt: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Householder QR of U (n, r), applying Q' in place to U, to y and to the rows of Xt (X's columns);
    returns R (r, r).  A ValueError when U's columns are collinear."""
    n, r = U.shape
    norms = np.sqrt((U * U).sum(axis=0))
    for k in range(r):
        x = U[k:, k]
        nx = float(np.sqrt(x @ x))
        if not nx > 1e-10 * max(norms[k], 1e-300):
            raise ValueError("the unpenalised columns (intercept, constant or named columns) are collinear")
        v = x.copy()
        v[0] += math.copysign(nx, x[0])
        tau = 2.0 / float(v @ v)
        U[k:, k:] -= tau * np.outer(v, v @ U[k:, k:])
        y[k:] -= tau * v * float(v @ y[k:])
        for j0 in range(0, Xt.shape[0], ROW_BLOCK):
            blk = Xt[j0:j0 + ROW_BLOCK, k:]
            blk -= tau * np.outer(blk @ v, v)
    return np.triu(U[:r, :r])


def prepare(full: np.ndarray, y: np.ndarray, unpen_idx: list, beta_draw: str, standardize: bool) -> WideData:
    """The kernel's data from the full design (n, p_all), the response and the unpenalised columns."""
    n, p_all = full.shape
    unpen = np.asarray(sorted(unpen_idx), dtype=np.int64)
    pen = np.setdiff1d(np.arange(p_all), unpen).astype(np.int64)
    r = unpen.size
    m = n - r
    if m < 1:
        raise ValueError(f"n = {n} rows leave no residual degrees of freedom after the {r} unpenalised columns")
    U = np.array(full[:, unpen], dtype=np.float64)
    Xt = np.ascontiguousarray(full[:, pen].T)
    yy = np.array(y, dtype=np.float64)
    R = reflect(U, Xt, yy)
    c1, ys = yy[:r].copy(), np.ascontiguousarray(yy[r:])
    X1 = np.ascontiguousarray(Xt[:, :r].T)
    Xs = Xt[:, r:]
    if standardize:
        s = np.sqrt(np.einsum("ji,ji->j", Xs, Xs) / m)
        s = np.where(s > 0, s, 1.0)
    else:
        s = np.ones(pen.size)
    method = choose_method(beta_draw, pen.size, m)
    if method == CHOLESKY:
        Xs = Xs / s[:, None]
        G = Xs @ Xs.T
        h = Xs @ ys
        Xt_k = np.zeros((pen.size, 0))
    else:
        Xt_k = np.ascontiguousarray(Xs)
        Xt_k /= s[:, None]
        G = np.zeros((0, 0))
        h = Xt_k @ ys
    del Xt
    X1 = np.ascontiguousarray(X1 / s[None, :])
    block = int(max(1, min(pen.size, BLAS_BLOCK_BYTES // (8 * max(m, 1)))))
    return WideData(method, Xt_k, ys, np.ascontiguousarray(G), h, float(ys @ ys), np.ascontiguousarray(R), c1, X1,
                    s, pen, unpen, m, block)
