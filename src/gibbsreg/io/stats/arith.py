"""Batched arithmetic on (n, x mean, y mean, C, anchor, h, rr) with a leading axis: the exact moves and
merges, the statistics of one block of rows, the finite check, and the file format."""

from __future__ import annotations

import json

import numpy as np

FORMAT_VERSION = 3  # 1: flat and one-factor statistics; 2: several factors; 3: known observation weights
_RCOND = 1e-12


# ---------------------------------------------------------------------------------------------
# batched arithmetic on (n, xm, ym, C, b, h, rr) with a leading axis K


def _scaled_solve(C, h, ridge):
    """delta with C delta ≈ h, Jacobi-scaled, for a batch C (K, p, p); singular C handled by a tiny ridge."""
    p = C.shape[-1]
    if p == 0:
        return np.zeros_like(h)
    d = np.sqrt(np.clip(np.diagonal(C, axis1=1, axis2=2), 0.0, None))
    d = np.where(d > 0, d, 1.0)
    Cs = C / d[:, :, None] / d[:, None, :] + ridge * np.eye(p)
    try:
        x = np.linalg.solve(Cs, (h / d)[..., None])[..., 0]
    except np.linalg.LinAlgError:
        x = np.stack([np.linalg.lstsq(Cs[k], h[k] / d[k], rcond=_RCOND)[0] for k in range(C.shape[0])])
    return x / d


def _reanchor(C, b, h, rr, b_new):
    """Move (h, rr) from anchor b to b_new (batched): exact algebra in the small difference d."""
    d = b_new - b
    Cd = np.einsum("kij,kj->ki", C, d)
    rr_new = rr - 2.0 * np.einsum("ki,ki->k", d, h) + np.einsum("ki,ki->k", d, Cd)
    return h - Cd, np.maximum(rr_new, 0.0)


def _refine(C, b, h, rr):
    """One Newton step of the anchor towards the least-squares slopes (keeps later merges accurate)."""
    delta = _scaled_solve(C, h, 1e-12)
    ok = np.isfinite(delta).all(axis=1)
    delta[~ok] = 0.0
    b_new = b + delta
    h_new, rr_new = _reanchor(C, b, h, rr, b_new)
    # keep the step only where it did not make the fit worse (a ridge on a singular C can)
    better = rr_new <= rr * (1 + 1e-12) + 1e-300
    keep = better[:, None]
    return np.where(keep, b_new, b), np.where(keep, h_new, h), np.where(better, rr_new, rr)


def _merge_arrays(a, b):
    """Pairwise merge of two batches of statistics tuples (n, xm, ym, C, anc, h, rr), aligned on K."""
    n1, xm1, ym1, C1, b1, h1, rr1 = a
    n2, xm2, ym2, C2, b2, h2, rr2 = b
    n = n1 + n2
    safe = np.where(n > 0, n, 1.0)
    # common anchor: the one of the larger set
    first = (n1 >= n2)[:, None]
    anchor = np.where(first, b1, b2)
    h1, rr1 = _reanchor(C1, b1, h1, rr1, anchor)
    h2, rr2 = _reanchor(C2, b2, h2, rr2, anchor)
    dx = xm2 - xm1
    dy = ym2 - ym1
    dr = dy - np.einsum("ki,ki->k", dx, anchor)
    w = n1 * n2 / safe
    f2 = n2 / safe
    xm = xm1 + f2[:, None] * dx
    ym = ym1 + f2 * dy
    C = C1 + C2 + w[:, None, None] * dx[:, :, None] * dx[:, None, :]
    C = 0.5 * (C + np.swapaxes(C, 1, 2))
    h = h1 + h2 + (w * dr)[:, None] * dx
    rr = rr1 + rr2 + w * dr * dr
    anchor, h, rr = _refine(C, anchor, h, rr)
    return n, xm, ym, C, anchor, h, rr


def augmented(X, y) -> np.ndarray:
    """A fresh Fortran-ordered working copy [X, y] (n, p_x + 1) that the block statistics may overwrite."""
    n, px = X.shape
    A = np.empty((n, px + 1), order="F")
    A[:, :px] = X
    A[:, px] = y
    return A


def _take(arrs, idx):
    return tuple(a[idx] for a in arrs)


def _empty_arrays(K, px):
    return (np.zeros(K), np.zeros((K, px)), np.zeros(K), np.zeros((K, px, px)), np.zeros((K, px)),
            np.zeros((K, px)), np.zeros(K))


# ---------------------------------------------------------------------------------------------
# validation of blocks


def check_finite_block(X, y, x_names, where: str = "", row0: int = 0) -> None:
    """ValueError naming the column (and ``where``: file / partition) of the first NaN or inf."""
    for arr, names, what in ((X, x_names, "X"), (y, None, "y")):
        if np.isfinite(arr).all():
            continue
        bad = np.argwhere(~np.isfinite(arr))[0]
        value = arr[tuple(bad)]
        kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
        loc = f" in {where}" if where else ""
        if arr.ndim == 1:
            raise ValueError(f"{'the response ' + repr(names) if names else 'y'} contains {kind} at row {row0 + int(bad[0])}{loc}")
        col = int(bad[1])
        label = f"column {col}" + (f" ({x_names[col]!r})" if x_names is not None else "")
        raise ValueError(f"X contains {kind} at row {row0 + int(bad[0])}, {label}{loc}")


# ---------------------------------------------------------------------------------------------
# the public types


def _save(path, stats, payload):
    # version 2 only for statistics of several factors (record labels), 3 for weighted statistics, so that
    # older readers refuse what they would misread
    version = 2 if getattr(stats, "factors", None) is not None else 1
    if getattr(stats, "pooled", stats).weighted:
        version = 3
    meta = {"format": "gibbsreg-stats", "version": version, "kind": stats.kind,
            "x_names": list(stats.x_names), "intercept": stats.intercept}
    payload = dict(payload)
    payload["meta"] = np.array(json.dumps(meta))
    path = str(path)
    with open(path, "wb") as fh:
        np.savez(fh, **payload)
