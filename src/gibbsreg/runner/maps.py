"""Element-wise maps from the kernel's coordinates to the posterior's (the same numbers for a draw whatever
the chunk it is in)."""

from __future__ import annotations

import numpy as np

# ---- element-wise maps (the same numbers for a draw whatever the chunk it is in) ---------------

_MAP_BLOCK = 1 << 15


def affine_rows(src: np.ndarray, M: np.ndarray, ref: np.ndarray, dest: np.ndarray) -> None:
    """dest[..., i] = (sum_k M[i, k] src[..., k]) + ref[i], summed in the order k = 0, 1, ...

    Element-wise NumPy passes over blocks of draws, so each draw's result does not depend
    on how many draws are mapped at once (a matrix product's blocking could change the
    rounding, and with it the bitwise identity of resumed and uninterrupted runs).
    """
    C, n, p = src.shape
    if n == 0:
        return
    step = max(1, _MAP_BLOCK // max(1, C * p))
    tmp = np.empty((C, min(step, n), p))
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        u = src[:, r0:r1]
        acc = dest[:, r0:r1]
        t = tmp[:, : r1 - r0]
        np.multiply(u[..., 0:1], M[:, 0], out=acc)
        for k in range(1, p):
            np.multiply(u[..., k:k + 1], M[:, k], out=t)
            np.add(acc, t, out=acc)
        np.add(acc, ref, out=acc)


def copy_draws(src: np.ndarray, dest: np.ndarray) -> None:
    dest[...] = src


def map_diagonal_draws(src: dict, dest: dict) -> None:
    """A ChainSpec's map_draws for kernels that output Sigma (chains, draws, q, q): a diagonal Sigma reported as
    tau^2 (dest["tau2"]), as the Gaussian hierarchical model does; every other output copied."""
    for k, v in dest.items():
        if k == "tau2":
            v[...] = np.diagonal(src["Sigma"], axis1=-2, axis2=-1)
        else:
            copy_draws(src[k], v)
