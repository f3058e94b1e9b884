"""Group labels: one encoder for every grouping factor, the label records of several factors (one field per
factor), and the per-group and per-cell statistics a sweep reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import check_labels


def encode_labels(labels, n: int, what: str = "groups", min_levels: int = 1):
    """Integer codes (n,) and sorted level labels (J,) of one grouping factor, validated.

    ``labels``: a 1-D array, list, pandas Series or Categorical (its categories are the levels, and
    an unused category is an empty group).  ``what`` names the factor in messages.
    """
    if labels is None:
        raise ValueError(f"{what} is None; pass a length-n array of labels")
    categorical = getattr(labels, "cat", None) if str(getattr(labels, "dtype", "")) == "category" else None
    if categorical is None and hasattr(labels, "categories") and hasattr(labels, "codes"):
        categorical = labels  # a bare pandas.Categorical
    if categorical is not None:
        codes = np.asarray(categorical.codes).astype(np.int64)
        levels = np.asarray(list(categorical.categories))
        if codes.shape[0] != n:
            raise ValueError(f"{what} has {codes.shape[0]} labels but X has {n} rows; they must match")
        if (codes < 0).any():
            raise ValueError(f"{what} has a missing (NaN) label at row {int(np.argmax(codes < 0))}")
        counts = np.bincount(codes, minlength=len(levels))
        if (counts == 0).any():
            raise ValueError(f"{what}: label(s) {levels[counts == 0][:5].tolist()} have no rows (an empty group); "
                             "remove unused categories")
    else:
        g = np.asarray(labels.to_numpy() if hasattr(labels, "to_numpy") else labels)
        if g.ndim != 1:
            raise ValueError(f"{what} must be 1-D with one label per row; got shape {g.shape}")
        if g.shape[0] != n:
            raise ValueError(f"{what} has {g.shape[0]} labels but X has {n} rows; they must match")
        if n == 0:
            raise ValueError(f"{what} is empty (no labels)")
        check_labels(g, what)
        if g.dtype.kind == "O" and all(isinstance(v, str) for v in g):
            g = g.astype(str)
        try:
            levels, codes = unique_codes(g)
        except TypeError:
            raise ValueError(f"{what}: labels must be mutually comparable (all numbers or all strings)") from None
    if len(levels) < min_levels:  # statistics of one chunk may hold a single group; a model needs two
        raise ValueError(f"the hierarchical model needs at least {min_levels} groups; got {len(levels)}")
    return codes, levels


def unique_codes(g: np.ndarray):
    """``np.unique(g, return_inverse=True)`` as (levels, int64 codes (n,)); integer labels of a range not much
    wider than n by counting (O(n), no sort: a fifth of the cost of the statistics pass otherwise)."""
    if g.dtype.kind in "iu" and g.size:
        lo, hi = int(g.min()), int(g.max())
        if hi - lo <= 4 * g.size + 1024:
            shifted = (g - lo).astype(np.int64, copy=False) if g.dtype.kind == "i" else (g - np.uint64(lo)).astype(np.int64)
            seen = np.bincount(shifted, minlength=hi - lo + 1) > 0
            levels = np.flatnonzero(seen)
            index = np.cumsum(seen) - 1
            return (levels + lo).astype(g.dtype), index[shifted].astype(np.int64, copy=False)
    levels, codes = np.unique(g, return_inverse=True)
    return levels, codes.reshape(-1).astype(np.int64)


def factor_table(groups, what: str = "groups"):
    """(names, label columns) of several grouping factors given as a dict {name: labels} or a DataFrame
    (pandas or Dask) with one label column per factor; names are strings, unique, in the given order."""
    if isinstance(groups, dict):
        keys = list(groups.keys())
        columns = [groups[k] for k in keys]
    elif hasattr(groups, "columns") and getattr(groups, "ndim", 2) == 2:
        keys = list(groups.columns)
        columns = [groups[k] for k in keys]
    else:
        raise ValueError(f"{what} must be a dict or a DataFrame of label columns, got {type(groups).__name__}")
    names = [str(k) for k in keys]
    if not names:
        raise ValueError(f"{what} has no label columns")
    if len(set(names)) != len(names) or any(not k for k in names):
        raise ValueError(f"{what}: the factor names must be unique non-empty strings, got {names}")
    return names, columns


def is_factor_table(groups) -> bool:
    """True for groups of several factors: a dict of label columns or a 2-D DataFrame."""
    return isinstance(groups, dict) or (hasattr(groups, "columns") and getattr(groups, "ndim", 2) == 2)


def label_values(levels, what: str) -> np.ndarray:
    """Labels as a 1-D NumPy array a record field can hold: numbers stay numbers, text is fixed-width unicode."""
    lv = np.asarray(levels)
    if lv.dtype.kind == "O":
        if all(isinstance(v, str) for v in lv):
            lv = lv.astype(str)
        else:
            raise ValueError(f"{what}: labels must be all numbers or all strings (mutually comparable); got "
                             f"{sorted({type(v).__name__ for v in lv})}")
    if lv.dtype.kind not in "biufUSMm":
        raise ValueError(f"{what}: labels must be numbers or strings, got dtype {lv.dtype}")
    return lv


def label_records(names, columns) -> np.ndarray:
    """One structured array (m,) with a field per factor from equally long 1-D label arrays."""
    columns = [label_values(c, f"factor {name!r}") for name, c in zip(names, columns)]
    out = np.empty(len(columns[0]), dtype=[(name, c.dtype) for name, c in zip(names, columns)])
    for name, c in zip(names, columns):
        out[name] = c
    return out


def encode_factors(groups, n: int):
    """Names (K), integer codes (n, K) and level labels per factor of a dict / DataFrame of label columns, each
    validated as :func:`encode_labels` does (a Categorical keeps its category order; one level is allowed)."""
    names, columns = factor_table(groups)
    codes, levels = [], []
    for name, col in zip(names, columns):
        c, lv = encode_labels(col, n, f"factor {name!r}")
        codes.append(c)
        levels.append(label_values(lv, f"factor {name!r}"))
    return names, np.stack(codes, axis=1), levels


def cell_ids(codes: np.ndarray, J):
    """The cell (non-empty combination of levels) of each row, (n,), and each cell's level codes, (cells, K).

    Cells are ordered by the mixed-radix key sum_f codes[:, f] * prod_{g<f} J_g (factor 0 the least
    significant digit), as the crossed model sums them."""
    K = codes.shape[1]
    radix = np.cumprod([1] + [int(j) for j in J[:-1]])
    if float(np.prod([float(j) for j in J])) < 2.0**62:
        key = codes @ radix.astype(np.int64)
        cell_keys, cell = unique_codes(key)
        level = np.stack([(cell_keys // radix[f]) % J[f] for f in range(K)], axis=1)
    else:
        order = np.lexsort(codes.T)
        sc = codes[order]
        new = np.r_[True, (sc[1:] != sc[:-1]).any(axis=1)]
        cell = np.empty(len(codes), dtype=np.int64)
        cell[order] = np.cumsum(new) - 1
        level = sc[new]
    return cell.reshape(-1).astype(np.int64), level.astype(np.int64)


def encode_groups(groups, n: int, min_groups: int = 2):
    """Codes (n,) and labels (J,) of the one grouping factor of a hierarchical model (at least ``min_groups``)."""
    return encode_labels(groups, n, "groups", min_groups)


@dataclass
class GroupStats:
    """Per-group statistics in scaled coordinates, coefficients ordered (varying..., pooled...)."""

    G: np.ndarray  # (J, p, p)
    h: np.ndarray  # (J, p)
    rr: np.ndarray  # (J,)
    n: np.ndarray  # (J,) float
    scale: np.ndarray  # (p,) column root-mean-squares, in (varying, pooled) order
    theta_ref: np.ndarray  # (p,) complete-pooling reference point, same order


@dataclass
class CellStats:
    """Per-cell statistics (several grouping factors) in scaled coordinates, all p columns in their original
    order: Z_c'Z_c, Z_c'r0_c, r0_c'r0_c, n_c with Z = [1, X] / rms and r0 = y - [1, X] ref."""

    G: np.ndarray  # (C, p, p)
    h: np.ndarray  # (C, p)
    rr: np.ndarray  # (C,)
    n: np.ndarray  # (C,) float
    level: np.ndarray  # (C, K) int64: the level of each factor in each cell
    scale: np.ndarray  # (p,) column root-mean-squares D
    ref: np.ndarray  # (p,) complete-pooling reference point
    levels: list | None = None  # K arrays: each factor's level labels, indexed by ``level``
