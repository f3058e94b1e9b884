"""Statistics of rows in memory: validated (gibbsreg.data), then one pass (gibbsreg.io.stats.fused)."""

from __future__ import annotations

import numpy as np

from .stats import FlatStats, GroupedStats
from .stats.fused import flat_arrays, grouped_arrays


def memory_stats(X, y, groups=None, *, intercept: bool = True, weights=None):
    """The in-memory path: validate (as gibbsreg.data.as_design does; the finite check rides on the pass), then
    one pass for the pooled statistics and, with groups, one more for every group's (or cell's).
    ``weights`` (n,): known observation weights (precisions), checked finite and positive first."""
    from ..data import as_design, as_weights, check_finite_rows

    design = as_design(X, y, intercept, check_finite=False)
    x_names = design.names[int(design.intercept):]
    w = None if weights is None else as_weights(weights, design.n)

    def locate():
        check_finite_rows(design.X, design.y, x_names)

    pooled = FlatStats.from_block(design.X, design.y, x_names, intercept, locate, w)
    if groups is None:
        return pooled
    from .groups import encode_factors, encode_groups, is_factor_table

    if is_factor_table(groups):
        return _cell_stats(design, pooled, *encode_factors(groups, design.n), w=w)
    codes, labels = encode_groups(groups, design.n, min_groups=1)  # every label has rows (empty groups refused)
    arrs = grouped_arrays(design.X, design.y, codes, len(labels), pooled.anchor, locate, w)
    return GroupedStats.from_arrays(np.asarray(labels), arrs, pooled, codes, w)


def _cell_stats(design, pooled, names, codes, levels, w=None):
    """Statistics per cell (non-empty combination of the factors' levels): the one-factor pass over cell ids,
    then the ids become records of labels (one field per factor), sorted as a merge sorts them."""
    from .groups import cell_ids, label_records

    cell, level = cell_ids(codes, [len(lv) for lv in levels])
    # rows checked by the pooled pass
    arrs = grouped_arrays(design.X, design.y, cell, level.shape[0], pooled.anchor, w=w)
    labels = label_records(names, [lv[level[:, k]] for k, lv in enumerate(levels)])
    order = np.argsort(labels, kind="stable")
    return _reordered(GroupedStats.from_arrays(labels, arrs, pooled, cell, w), order)


def _reordered(stats, order):
    """The same statistics with the groups (cells) in another order."""
    arrs = [a[order] for a in stats._with_counts()]
    return GroupedStats(stats.labels[order], arrs[7], *arrs[1:7], pooled=stats.pooled, w=arrs[0])
