"""Statistics of Dask collections: one task per partition, merged in a tree (nothing bigger than
O(J p²) travels).  Works on whatever Dask scheduler is active (threads, processes, or a
distributed.Client); Dask is imported only here, lazily."""

from __future__ import annotations

import math

import numpy as np

from ..data import check_labels
from .groups import factor_table, is_factor_table, label_records
from .stats import FlatStats, GroupedStats, check_finite_block, merge

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

FAN_IN = 8


def _as_float_block(obj, names, what, where):
    """A partition's values as float64 (2-D for X, 1-D for y), with errors naming the column and place."""
    if hasattr(obj, "to_numpy"):
        if getattr(obj, "ndim", 2) == 2:
            cols = []
            for c in obj.columns:
                try:
                    cols.append(obj[c].to_numpy(dtype=np.float64))
                except (TypeError, ValueError) as err:
                    raise ValueError(f"column {str(c)!r} of {what} is not numeric in {where}: {err}") from None
            return np.column_stack(cols) if cols else np.zeros((len(obj), 0))
        try:
            return obj.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as err:
            label = f"column {str(obj.name)!r}" if getattr(obj, "name", None) is not None else what
            raise ValueError(f"{label} is not numeric in {where}: {err}") from None
    try:
        return np.asarray(obj, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} cannot be converted to float in {where}: {err}") from None


def clean_labels(g, where: str, what: str = "groups"):
    """Group labels of one partition as a 1-D array; NaN / None labels are an error."""
    if hasattr(g, "to_numpy"):
        g = g.astype(object).to_numpy() if str(getattr(g, "dtype", "")) == "category" else g.to_numpy()
    g = np.asarray(g)
    if g.ndim != 1:
        g = g.reshape(-1)
    check_labels(g, what, where)
    if g.dtype.kind == "O":
        try:
            import pandas as pd

            if pd.isna(g).any():
                i = int(np.argmax(pd.isna(g)))
                raise ValueError(f"{what} has a missing (NA) label at row {i} of {where}")
        except ImportError:  # pragma: no cover
            pass
        if all(isinstance(v, str) for v in g):
            g = g.astype(str)
    return g


def factor_records(g, where: str) -> np.ndarray:
    """Labels of several factors in one partition (a DataFrame or a dict of columns) as one structured array."""
    names, columns = factor_table(g)
    cols = [clean_labels(c, where, f"group column {name!r}") for name, c in zip(names, columns)]
    if len({len(c) for c in cols}) > 1:
        raise ValueError(f"the group columns {names} have different lengths in {where}")
    try:
        return label_records(names, cols)
    except ValueError as err:
        raise ValueError(f"{err} in {where}") from None


def _aug_from_frame(X, y, where):
    """[X, y] of a pandas partition as one Fortran-ordered float64 array (one copy per column)."""
    n = len(X)
    A = np.empty((n, X.shape[1] + 1), order="F")
    for j, c in enumerate(X.columns):
        try:
            A[:, j] = X[c].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"column {str(c)!r} is not numeric in {where}: {err}") from None
    try:
        A[:, -1] = y.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"column {str(y.name)!r} (the response) is not numeric in {where}: {err}") from None
    return A


def _part_weights(w, n, where):
    """A partition's weights (None: unweighted), checked finite and positive, naming the place."""
    if w is None:
        return None
    from ..data import as_weights

    vals = _as_float_block(w, None, "weights", where).reshape(-1)
    return as_weights(vals, n, "weights", where)


def part_stats(X, y, g, x_names, intercept, where, w=None):
    """Statistics of one partition (None when it is empty); ``w`` the partition's weights (None: unweighted)."""
    if g is None and w is None and hasattr(X, "columns") and hasattr(y, "to_numpy") and len(X) == len(y):
        if len(X.columns) != len(x_names):
            raise ValueError(f"X has {len(X.columns)} columns in {where} but {len(x_names)} were expected ({x_names})")
        if len(X) == 0:
            return None
        A = _aug_from_frame(X, y, where)

        def locate():
            check_finite_block(A[:, :-1], A[:, -1], x_names, where)

        return FlatStats.from_augmented(A, x_names, intercept, on_nonfinite=locate)
    Xa = _as_float_block(X, x_names, "X", where)
    if Xa.ndim == 1:
        Xa = Xa.reshape(-1, 1)
    ya = _as_float_block(y, None, "y", where).reshape(-1)
    if Xa.shape[0] != ya.shape[0]:
        raise ValueError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]} in {where}; they must match")
    if Xa.shape[1] != len(x_names):
        raise ValueError(f"X has {Xa.shape[1]} columns in {where} but {len(x_names)} were expected ({x_names})")
    if ya.shape[0] == 0:
        return None
    wa = _part_weights(w, ya.shape[0], where)
    if g is None:
        return FlatStats.from_block(Xa, ya, x_names, intercept,
                                    on_nonfinite=lambda: check_finite_block(Xa, ya, x_names, where), w=wa)
    check_finite_block(Xa, ya, x_names, where)
    labels = factor_records(g, where) if is_factor_table(g) else clean_labels(g, where)
    if labels.shape[0] != ya.shape[0]:
        raise ValueError(f"groups has {labels.shape[0]} labels but y has {ya.shape[0]} rows in {where}")
    try:
        uniq, codes = np.unique(labels, return_inverse=True)
    except TypeError:
        raise ValueError(f"group labels must be mutually comparable (all numbers or all strings) in {where}") from None
    return GroupedStats.from_block(Xa, ya, codes.reshape(-1), uniq, x_names, intercept, w=wa)


def _merge_or_none(parts):
    parts = [s for s in parts if s is not None]
    return merge(parts) if parts else None


def tree_reduce(tasks):
    """Merge delayed statistics in a tree of fan-in FAN_IN, then compute on the active scheduler."""
    import dask

    if not tasks:
        raise ValueError("the data have no partitions")
    merge_task = dask.delayed(_merge_or_none, pure=True)
    while len(tasks) > 1:
        tasks = [merge_task(tasks[i:i + FAN_IN]) for i in range(0, len(tasks), FAN_IN)]
    (out,) = dask.compute(tasks[0])
    if out is None:
        raise ValueError("the data have no rows (every partition is empty)")
    return out


def has_dask(obj) -> bool:
    """True when ``obj`` is a Dask collection or a dict holding one (the label columns of several factors)."""
    if obj is None:
        return False
    if isinstance(obj, dict):
        return any(is_dask(v) for v in obj.values())
    return is_dask(obj)


def _row_array(values, n_rows, row_chunks, what):
    """A 1-D Dask array of labels chunked as the rows of X (from a Dask or in-memory column)."""
    import dask.array as da

    if is_dask(values) and not isinstance(values, da.Array):
        values = values.to_dask_array(lengths=True)
    if not isinstance(values, da.Array):
        values = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
        if values.shape[0] != n_rows:
            raise ValueError(f"{what} has {values.shape[0]} labels but X has {n_rows} rows; they must match")
        values = da.from_array(values, chunks=(row_chunks,))
    return values.rechunk((row_chunks,))


def dask_stats(X, y, groups=None, *, intercept: bool = True, where_prefix: str = "partition", weights=None):
    """sufficient_stats for Dask arrays (X (n, p_x), y (n,), groups (n,) or a dict of such label columns) or a
    Dask DataFrame / Series (groups: a Series, or a DataFrame / dict of Series with one column per factor);
    ``weights`` (n,) known observation weights, an array chunked as X or a Series of X's frame.

    A Dask DataFrame X, y, its group columns and weights are joined into ONE frame (partition-wise, as they
    come from one frame), so each partition's task reads its rows, response and labels from one pandas
    partition."""
    require_dask("statistics of a Dask collection")
    import dask
    import dask.array as da

    if X is None or y is None:
        raise ValueError("pass both X and y")
    factors, gcols = (factor_table(groups) if groups is not None and is_factor_table(groups) else (None, None))
    if isinstance(X, da.Array) or isinstance(y, da.Array):
        if not isinstance(X, da.Array):
            X = da.from_array(np.asarray(X, dtype=float), chunks=(y.chunks[0], -1) if np.ndim(X) == 2 else y.chunks[0])
        if X.ndim == 1:
            X = X.reshape(-1, 1) if not math.isnan(X.shape[0]) else X[:, None]
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D with shape (n, p); got a Dask array with shape {X.shape}")
        X = X.rechunk({1: -1})
        row_chunks = X.chunks[0]
        if not isinstance(y, da.Array):
            y = da.from_array(np.asarray(y, dtype=float).reshape(-1), chunks=(row_chunks,))
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D with shape (n,); got a Dask array with shape {y.shape}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} rows but X has {X.shape[0]} rows; they must match")
        y = y.rechunk((row_chunks,))
        x_names = [f"x{k}" for k in range(X.shape[1])]
        xs = list(X.to_delayed().ravel())
        ys = list(y.to_delayed().ravel())
        if groups is None:
            gs = [None] * len(xs)
        elif factors is None:
            gs = list(_row_array(groups, X.shape[0], row_chunks, "groups").to_delayed().ravel())
        else:
            cols = [list(_row_array(c, X.shape[0], row_chunks, f"groups[{name!r}]").to_delayed().ravel())
                    for name, c in zip(factors, gcols)]
            gs = [dict(zip(factors, parts)) for parts in zip(*cols)]
        ws = ([None] * len(xs) if weights is None
              else list(_row_array(weights, X.shape[0], row_chunks, "weights").to_delayed().ravel()))
        if intercept and "intercept" in x_names:
            raise ValueError("X already has a column named 'intercept'; pass intercept=False or rename it")
        task = dask.delayed(part_stats, pure=True)
        tasks = [task(xp, yp, gp, x_names, intercept, f"{where_prefix} {i}", wp)
                 for i, (xp, yp, gp, wp) in enumerate(zip(xs, ys, gs, ws))]
        return tree_reduce(tasks)
    # Dask DataFrame / Series (pandas-like: columns by name)
    import dask.dataframe as dd

    if getattr(X, "ndim", 2) == 1:
        X = X.to_frame()
    x_names = [str(c) for c in X.columns]
    if intercept and "intercept" in x_names:
        raise ValueError("X already has a column named 'intercept'; pass intercept=False or rename it")
    if not is_dask(y):
        raise ValueError("with a Dask DataFrame X, y must be a Dask Series of the same frame (e.g. df['y'])")
    if getattr(y, "ndim", 1) == 2:
        if len(y.columns) != 1:
            raise ValueError(f"y must be one column; got a Dask DataFrame with columns {list(y.columns)}")
        y = y[y.columns[0]]
    if X.npartitions != y.npartitions:
        raise ValueError(f"X has {X.npartitions} partitions but y has {y.npartitions}; take both from one frame")
    if groups is None:
        labels = []
    elif factors is None:
        labels = [groups]
    else:
        labels = list(gcols)
    for g in labels:
        if not is_dask(g) or getattr(g, "ndim", 1) != 1 or getattr(g, "npartitions", None) != X.npartitions:
            raise ValueError("with a Dask DataFrame X, groups must be Dask Series (or a Dask DataFrame of label "
                             "columns) of the same frame (e.g. df['g'] or df[['a', 'b']])")
    if weights is not None and (not is_dask(weights) or getattr(weights, "ndim", 1) != 1
                                or getattr(weights, "npartitions", None) != X.npartitions):
        raise ValueError("with a Dask DataFrame X, weights must be a Dask Series of the same frame (e.g. df['w'])")
    px = len(x_names)
    parts = [X.rename(columns=dict(zip(X.columns, [f"__x{j}" for j in range(px)]))), y.rename("__y")]
    parts += [g.rename(f"__g{k}") for k, g in enumerate(labels)]
    if weights is not None:
        parts.append(weights.rename("__w"))
    frame = dd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
    layout = None if groups is None else ("one" if factors is None else list(factors))
    task = dask.delayed(_joined_part, pure=True)
    tasks = [task(part, px, x_names, layout, intercept, f"{where_prefix} {i}", weights is not None)
             for i, part in enumerate(frame.to_delayed())]
    return tree_reduce(tasks)


def _joined_part(df, px, x_names, layout, intercept, where, weighted=False):
    """Statistics of one partition of the joined frame [X (px columns), y, group columns..., weights]."""
    X = df.iloc[:, :px]
    X.columns = x_names
    y = df.iloc[:, px]
    if layout is None:
        g = None
    elif layout == "one":
        g = df.iloc[:, px + 1]
    else:
        g = {name: df.iloc[:, px + 1 + k] for k, name in enumerate(layout)}
    return part_stats(X, y, g, x_names, intercept, where, df.iloc[:, -1] if weighted else None)


def frame_part(df, y, xcols, groups, intercept, where, weights=None):
    """Statistics of one partition of a frame holding the response, the predictors and the group column(s)
    (``groups``: None, one column name, or a list of names, one per factor) and the weights column (or None)."""
    if groups is None:
        g = None
    elif isinstance(groups, str):
        g = df[groups]
    else:
        g = {str(c): df[c] for c in groups}
    return part_stats(df[xcols], df[y], g, xcols, intercept, where, None if weights is None else df[weights])


def frame_stats(df, y: str, x=None, groups=None, *, intercept: bool = True, where=None, weights=None):
    """Statistics of a (Dask or pandas) DataFrame by column names; ``x=None`` takes every other column;
    ``groups`` one column name or a list of them (several factors); ``weights`` the weights column's name."""
    cols = [str(c) for c in df.columns]
    needed, xcols, gcols = _needed_columns(cols, y, x, groups, where or "the data frame", weights)
    if not is_dask(df):
        from .memory import memory_stats

        g = None if groups is None else (df[groups] if isinstance(groups, str) else {c: df[c] for c in gcols})
        return memory_stats(df[xcols], df[y], g, intercept=intercept,
                            weights=None if weights is None else df[weights])
    import dask

    if intercept and "intercept" in xcols:
        raise ValueError("the data already have a column named 'intercept'; pass intercept=False or rename it")
    task = dask.delayed(frame_part, pure=True)
    tasks = [task(part, y, xcols, groups, intercept, f"partition {i}", weights)
             for i, part in enumerate(df[needed].to_delayed())]
    return tree_reduce(tasks)


def group_columns(groups) -> list[str]:
    """The group column names: [] (None), [name] (one column) or the list given (several factors)."""
    if groups is None:
        return []
    if isinstance(groups, str):
        return [groups]
    cols = [str(c) for c in groups]
    if not cols:
        raise ValueError("groups is an empty list of columns")
    if len(set(cols)) != len(cols):
        raise ValueError(f"groups lists a column twice: {cols}")
    return cols


def _needed_columns(cols, y, x, groups, where, weights=None):
    """([y, x..., group columns..., weights], x columns, group columns) checked against the columns that exist."""
    if isinstance(x, str):
        x = [x]
    gcols = group_columns(groups)
    if y not in cols:
        raise ValueError(f"response column {y!r} not found in {where}; columns are {cols}")
    if weights is not None:
        if not isinstance(weights, str):
            raise ValueError(f"weights must name a column of {where} (a string), got {type(weights).__name__}")
        if weights not in cols:
            raise ValueError(f"weights column {weights!r} not found in {where}; columns are {cols}")
        if weights == y or weights in gcols or (x is not None and weights in [str(c) for c in x]):
            raise ValueError(f"the weights column {weights!r} is also the response, a predictor or a group column")
    wcols = [] if weights is None else [weights]
    missing = [c for c in gcols if c not in cols]
    if missing:
        what = f"group column {missing[0]!r}" if len(missing) == 1 else f"group columns {missing}"
        raise ValueError(f"{what} not found in {where}; columns are {cols}")
    if y in gcols:
        raise ValueError(f"the response {y!r} is also a group column")
    if x is None:
        x = [c for c in cols if c != y and c not in gcols and c not in wcols]
    else:
        x = [str(c) for c in x]
        missing = [c for c in x if c not in cols]
        if missing:
            raise ValueError(f"column(s) {missing} not found in {where}; columns are {cols}")
        if y in x:
            raise ValueError(f"the response {y!r} is also listed in x")
        both = [c for c in x if c in gcols]
        if both:
            raise ValueError(f"column(s) {both} are both predictors (x) and group columns")
    if len(set(x)) != len(x):
        raise ValueError(f"x lists a column twice: {x}")
    return [y] + list(x) + gcols + wcols, list(x), gcols
