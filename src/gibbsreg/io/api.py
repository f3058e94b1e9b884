"""One entry point from data (NumPy, pandas, Dask) or saved statistics to the models' statistics."""

from __future__ import annotations

import numpy as np

from .stats import FlatStats, GroupedStats, merge

DASK_EXTRA = 'pip install "gibbsreg[dask]"'


def is_dask(obj) -> bool:
    """True for dask arrays / DataFrames / Series, without importing dask."""
    mod = type(obj).__module__ or ""
    return mod.startswith("dask.") or mod.startswith("dask_expr") or hasattr(obj, "__dask_graph__")


def require_dask(what: str):
    try:
        import dask  # noqa: F401
        import dask.array  # noqa: F401
    except ImportError:
        raise ValueError(f"{what} needs Dask, which is not installed; install it with {DASK_EXTRA}") from None


def sufficient_stats(X, y, groups=None, *, intercept: bool = True):
    """Mergeable sufficient statistics of y ~ X (FlatStats), or per group when ``groups`` is given (GroupedStats).

    X (n, p_x) without the intercept column and y (n,): NumPy arrays, pandas objects, or Dask
    arrays / DataFrames / Series (then computed partition by partition and merged in a tree, on
    the active Dask scheduler or distributed Client).  One pass over the rows.
    """
    if any(is_dask(v) for v in (X, y, groups) if v is not None):
        from .dask import dask_stats

        return dask_stats(X, y, groups, intercept=intercept)
    return memory_stats(X, y, groups, intercept=intercept)


def memory_stats(X, y, groups=None, *, intercept: bool = True):
    """The in-memory path: validate (as gibbsreg.data.as_design does), then one chunked pass."""
    from ..data import as_design, row_chunks

    design = as_design(X, y, intercept)
    x_names = design.names[int(design.intercept):]
    px = design.X.shape[1]
    if groups is None:
        parts = [FlatStats.from_block(design.X[rows], design.y[rows], x_names, intercept)
                 for rows in row_chunks(design.n, max(px, 1))]
        out = parts[0]
        for s in parts[1:]:
            out = out + s
        return out
    from ..hierarchical import encode_groups

    codes, labels = encode_groups(groups, design.n, min_groups=1)
    J = len(labels)
    ids = np.arange(J)
    out = None
    for rows in row_chunks(design.n, max(px, 1) ** 2):
        s = GroupedStats.from_block(design.X[rows], design.y[rows], codes[rows], ids, x_names, intercept)
        out = s if out is None else out + s
    out.labels = np.asarray(labels)[out.labels.astype(np.int64)]
    return out


def model_stats(X, y, groups=None, *, stats=None, intercept: bool = True, grouped: bool = False, who: str = "sample"):
    """The statistics a model runs on: ``stats`` as given (checked) or computed from (X, y[, groups])."""
    if stats is not None:
        given = [k for k, v in (("X", X), ("y", y), ("groups", groups)) if v is not None]
        if given:
            raise ValueError(f"{who}: give either data ({', '.join(given)}) or stats=, not both")
        if grouped and not isinstance(stats, GroupedStats):
            raise ValueError(f"{who}: stats must be GroupedStats (gibbsreg.sufficient_stats(X, y, groups)), "
                             f"got {type(stats).__name__}")
        if not grouped and isinstance(stats, GroupedStats):
            stats = stats.pooled
        if not isinstance(stats, (FlatStats, GroupedStats)):
            raise ValueError(f"{who}: stats must come from gibbsreg.sufficient_stats / read_stats / load_stats, "
                             f"got {type(stats).__name__}")
        if stats.intercept != bool(intercept):
            raise ValueError(f"{who}: the statistics were computed with intercept={stats.intercept} but the model "
                             f"has intercept={bool(intercept)}")
        return stats
    if X is None or y is None:
        raise ValueError(f"{who}: pass X and y" + (" and groups" if grouped else "") + ", or stats=")
    if grouped and groups is None:
        raise ValueError("groups is None; pass a length-n array of group labels")
    out = sufficient_stats(X, y, groups if grouped else None, intercept=intercept)
    return out


def remembered_rows(X, y, groups=None, labels=None):
    """The in-memory rows a model was sampled from, as a FittedData (X and y by reference where they are
    float64 arrays; ``codes`` index ``labels``), or None for Dask collections and stats= inputs."""
    from ..data import as_float_matrix, as_float_vector
    from ..posterior import FittedData

    if X is None or y is None or is_dask(X) or is_dask(y) or (groups is not None and is_dask(groups)):
        return None
    Xa, _ = as_float_matrix(X, "X")
    ya = as_float_vector(y, Xa.shape[0], "y")
    codes = None
    if groups is not None:
        from ..hierarchical import encode_groups

        row_codes, row_labels = encode_groups(groups, ya.shape[0])
        lookup = {lab: j for j, lab in enumerate(labels)}
        codes = np.array([lookup[lab] for lab in row_labels.tolist()], dtype=np.int64)[row_codes]
    return FittedData(Xa, ya, codes)


__all__ = ["sufficient_stats", "model_stats", "merge", "is_dask", "remembered_rows"]
