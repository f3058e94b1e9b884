"""Statistics of rows in memory: validated (gibbsreg.data), then one chunked pass."""

from __future__ import annotations

import numpy as np

from .stats import FlatStats, GroupedStats


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
    from .groups import encode_factors, encode_groups, is_factor_table

    if is_factor_table(groups):
        return _cell_stats(design, x_names, intercept, *encode_factors(groups, design.n))
    codes, labels = encode_groups(groups, design.n, min_groups=1)
    J = len(labels)
    ids = np.arange(J)
    out = None
    for rows in row_chunks(design.n, max(px, 1) ** 2):
        s = GroupedStats.from_block(design.X[rows], design.y[rows], codes[rows], ids, x_names, intercept)
        out = s if out is None else out + s
    out.labels = np.asarray(labels)[out.labels.astype(np.int64)]
    return out


def _cell_stats(design, x_names, intercept, names, codes, levels):
    """Statistics per cell (non-empty combination of the factors' levels): the one-factor pass over cell ids,
    then the ids become records of labels (one field per factor), sorted as a merge sorts them."""
    from ..data import row_chunks
    from .groups import cell_ids, label_records

    cell, level = cell_ids(codes, [len(lv) for lv in levels])
    ids = np.arange(level.shape[0])
    px = design.X.shape[1]
    out = None
    for rows in row_chunks(design.n, max(px, 1) ** 2):
        s = GroupedStats.from_block(design.X[rows], design.y[rows], cell[rows], ids, x_names, intercept)
        out = s if out is None else out + s
    present = level[out.labels.astype(np.int64)]
    labels = label_records(names, [lv[present[:, k]] for k, lv in enumerate(levels)])
    order = np.argsort(labels, kind="stable")
    return GroupedStats(labels[order], *(a[order] for a in out._arrays()), pooled=out.pooled)
