"""Group labels: one encoder for every grouping factor, and the per-group statistics a sweep reads."""

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
            levels, codes = np.unique(g, return_inverse=True)
        except TypeError:
            raise ValueError(f"{what}: labels must be mutually comparable (all numbers or all strings)") from None
        codes = codes.reshape(-1).astype(np.int64)
    if len(levels) < min_levels:  # statistics of one chunk may hold a single group; a model needs two
        raise ValueError(f"the hierarchical model needs at least {min_levels} groups; got {len(levels)}")
    return codes, levels


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
