"""Several grouping factors: level codes and the statistics of each non-empty cell (combination of levels)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data import row_chunks
from ...io.groups import encode_labels


# ---------------------------------------------------------------------------------------------
# labels and cell statistics


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


def factor_columns(groups, factors, n):
    """Codes (n, K) and level labels per factor from a dict or DataFrame of label columns."""
    if groups is None:
        raise ValueError("groups is None; pass a dict (or DataFrame) {factor name: labels}")
    keys = list(groups.columns) if hasattr(groups, "columns") else list(groups.keys()) if isinstance(groups, dict) else None
    if keys is None:
        raise ValueError(f"groups must be a dict or a DataFrame of label columns, got {type(groups).__name__}")
    codes, levels = [], []
    for f in factors:
        if f.name not in keys:
            raise ValueError(f"groups has no labels for factor {f.name!r}; it has {keys}")
        c, lv = encode_factor(groups[f.name], n, f.name)
        codes.append(c)
        levels.append(lv)
    return np.stack(codes, axis=1), levels


@dataclass
class CellStats:
    """Per-cell statistics in scaled coordinates (all p columns in their original order)."""

    G: np.ndarray  # (C, p, p)
    h: np.ndarray  # (C, p)
    rr: np.ndarray  # (C,)
    n: np.ndarray  # (C,) float
    level: np.ndarray  # (C, K) int64: the level of each factor in each cell
    scale: np.ndarray  # (p,) column root-mean-squares D
    ref: np.ndarray  # (p,) complete-pooling reference point


def cell_stats(design, codes: np.ndarray, J, ref: np.ndarray) -> CellStats:
    """One pass over the rows sorted by cell: Z_c'Z_c, Z_c'r0_c, r0_c'r0_c, n_c with Z = X D^{-1}, r0 = y - X ref."""
    p = design.p
    K = codes.shape[1]
    radix = np.cumprod([1] + [int(j) for j in J[:-1]])
    if float(np.prod([float(j) for j in J])) < 2.0**62:
        key = codes @ radix.astype(np.int64)
        cell_keys, cell = np.unique(key, return_inverse=True)
        level = np.stack([(cell_keys // radix[f]) % J[f] for f in range(K)], axis=1).astype(np.int64)
    else:
        level, cell = np.unique(codes, axis=0, return_inverse=True)
    cell = cell.reshape(-1)
    C = level.shape[0]
    sq = np.zeros(p)
    for rows in row_chunks(design.n, p):
        sq += (design.full_matrix(rows) ** 2).sum(axis=0)
    rms = np.sqrt(sq / design.n)
    rms = np.where(rms > 0, rms, 1.0)
    sort = np.argsort(cell, kind="stable")
    G = np.zeros((C, p, p))
    h = np.zeros((C, p))
    rr = np.zeros(C)
    for rows in row_chunks(design.n, p * p):
        idx = sort[rows]
        full = design.full_matrix(idx)
        r0 = design.y[idx] - full @ ref
        Z = full / rms
        c = cell[idx]
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        ids = c[starts]
        G[ids] += np.add.reduceat(Z[:, :, None] * Z[:, None, :], starts, axis=0)
        h[ids] += np.add.reduceat(Z * r0[:, None], starts, axis=0)
        rr[ids] += np.add.reduceat(r0 * r0, starts)
    nc = np.bincount(cell, minlength=C).astype(float)
    return CellStats(0.5 * (G + np.swapaxes(G, 1, 2)), h, rr, nc, level.astype(np.int64), rms, ref.copy())
