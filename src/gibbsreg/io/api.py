"""One entry point from data (NumPy, pandas, Dask) or saved statistics to the models' statistics."""

from __future__ import annotations

import numpy as np

from .dask import DASK_EXTRA, has_dask, is_dask, require_dask
from .memory import memory_stats
from .rows import FittedData
from .stats import FlatStats, GroupedStats, merge


def sufficient_stats(X, y, groups=None, *, intercept: bool = True, weights=None):
    """Mergeable sufficient statistics of y ~ X (FlatStats), or per group when ``groups`` is given (GroupedStats).

    X (n, p_x) without the intercept column and y (n,): NumPy arrays, pandas objects, or Dask
    arrays / DataFrames / Series (then computed partition by partition and merged in a tree, on
    the active Dask scheduler or distributed Client).  One pass over the rows.
    ``groups``: one label per row (one grouping factor), or a dict {factor name: labels} / a DataFrame
    with one label column per factor: then the statistics are per cell (each non-empty combination
    of levels) and ``labels`` is a structured array with one field per factor.
    ``weights`` (n,): known observation weights w_i > 0, precisions (y_i ~ N(x_i'beta, sigma^2 / w_i)): the
    statistics are then X'WX, X'Wy, y'Wy in their exact centred forms (docs/weights.md).
    """
    if any(has_dask(v) for v in (X, y, groups, weights)):
        from .dask import dask_stats

        return dask_stats(X, y, groups, intercept=intercept, weights=weights)
    return memory_stats(X, y, groups, intercept=intercept, weights=weights)


def model_stats(X, y, groups=None, *, stats=None, intercept: bool = True, grouped: bool = False, factors=None,
                who: str = "sample", weights=None):
    """The statistics a model runs on: ``stats`` as given (checked) or computed from (X, y[, groups]).

    ``grouped``: the model needs GroupedStats, of one grouping factor (1-D labels) unless ``factors``
    lists the factor names of a model of several factors (then the labels' fields must be those)."""
    if stats is not None:
        given = [k for k, v in (("X", X), ("y", y), ("groups", groups), ("weights", weights)) if v is not None]
        if given:
            raise ValueError(f"{who}: give either data ({', '.join(given)}) or stats=, not both")
        if grouped and not isinstance(stats, GroupedStats):
            how = "groups={name: labels, ...}" if factors is not None else "groups"
            raise ValueError(f"{who}: stats must be GroupedStats (gibbsreg.sufficient_stats(X, y, {how})), "
                             f"got {type(stats).__name__}")
        if not grouped and isinstance(stats, GroupedStats):
            stats = stats.pooled
        if not isinstance(stats, (FlatStats, GroupedStats)):
            raise ValueError(f"{who}: stats must come from gibbsreg.sufficient_stats / read_stats / load_stats, "
                             f"got {type(stats).__name__}")
        if stats.intercept != bool(intercept):
            raise ValueError(f"{who}: the statistics were computed with intercept={stats.intercept} but the model "
                             f"has intercept={bool(intercept)}")
        if grouped:
            _check_factors(stats, factors, who, "the statistics")
        return stats
    if X is None or y is None:
        raise ValueError(f"{who}: pass X and y" + (" and groups" if grouped else "") + ", or stats=")
    if grouped and groups is None:
        raise ValueError("groups is None; pass a length-n array of group labels")
    out = sufficient_stats(X, y, groups if grouped else None, intercept=intercept, weights=weights)
    if grouped:
        _check_factors(out, factors, who, "groups")
    return out


def _check_factors(stats, factors, who, what):
    have = stats.factors
    if factors is None:
        if have is not None:
            raise ValueError(f"{who}: {what} has several grouping factors {have}; this model takes one grouping "
                             "factor (use CrossedRegression for several)")
        return
    factors = [str(f) for f in factors]
    if have is None:
        raise ValueError(f"{who}: {what} has one unnamed grouping factor (1-D labels); the model's factors are "
                         f"{factors}: compute the statistics with groups={{name: labels, ...}} (or read_stats("
                         "..., groups=[column, ...]))")
    if sorted(have) != sorted(factors):
        raise ValueError(f"{who}: {what} is grouped by the factors {have} but the model's factors are {factors}")


def in_memory(X, y, groups=None, weights=None) -> bool:
    """True when the rows are given in memory (not Dask collections, not stats=)."""
    return X is not None and y is not None and not any(has_dask(v) for v in (X, y, groups, weights))


def remembered_rows(X, y, groups=None, labels=None, *, codes=None, weights=None):
    """The in-memory rows a model was sampled from, as a FittedData (X and y by reference where they are
    float64 arrays; ``codes`` index ``labels``; the rows' ``weights``), or None for Dask collections and
    stats= inputs.

    ``codes`` given (e.g. (n, F) level codes of several factors) are kept as they are."""
    from ..data import as_float_matrix, as_float_vector, as_weights

    if not in_memory(X, y, groups, weights):
        return None
    Xa, _ = as_float_matrix(X, "X")
    ya = as_float_vector(y, Xa.shape[0], "y")
    w = None if weights is None else as_weights(weights, ya.shape[0])
    if codes is not None:
        return FittedData(Xa, ya, codes, w)
    if groups is not None:
        from .groups import encode_groups

        row_codes, row_labels = encode_groups(groups, ya.shape[0])
        lookup = {lab: j for j, lab in enumerate(labels)}
        codes = np.array([lookup[lab] for lab in row_labels.tolist()], dtype=np.int64)[row_codes]
    return FittedData(Xa, ya, codes, w)


__all__ = ["DASK_EXTRA", "FittedData", "has_dask", "in_memory", "is_dask", "memory_stats", "merge", "model_stats",
           "remembered_rows", "require_dask", "sufficient_stats"]
