"""Statistics of rows in memory: validated (gibbsreg.data), then one pass (gibbsreg.io.stats.fused)."""

from __future__ import annotations

import numpy as np

from .stats import FlatStats, GroupedStats
from .stats.fused import flat_arrays, grouped_arrays


def memory_stats(X, y, groups=None, *, intercept: bool = True):
    """The in-memory path: validate (as gibbsreg.data.as_design does; the finite check rides on the pass), then
    one pass for the pooled statistics and, with groups, one more for every group's (or cell's)."""
    from ..data import as_design, check_finite_rows

    design = as_design(X, y, intercept, check_finite=False)
    x_names = design.names[int(design.intercept):]

    def locate():
        check_finite_rows(design.X, design.y, x_names)

    pooled = FlatStats._from_arrays(flat_arrays(design.X, design.y, locate), x_names, intercept)
    if groups is None:
        return pooled
    from .groups import encode_factors, encode_groups, is_factor_table

    if is_factor_table(groups):
        return _cell_stats(design, pooled, *encode_factors(groups, design.n))
    codes, labels = encode_groups(groups, design.n, min_groups=1)  # every label has rows (empty groups refused)
    arrs = grouped_arrays(design.X, design.y, codes, len(labels), pooled.anchor, locate)
    return GroupedStats(np.asarray(labels), *arrs, pooled=pooled)


def _cell_stats(design, pooled, names, codes, levels):
    """Statistics per cell (non-empty combination of the factors' levels): the one-factor pass over cell ids,
    then the ids become records of labels (one field per factor), sorted as a merge sorts them."""
    from .groups import cell_ids, label_records

    cell, level = cell_ids(codes, [len(lv) for lv in levels])
    arrs = grouped_arrays(design.X, design.y, cell, level.shape[0], pooled.anchor)  # rows checked by the pooled pass
    labels = label_records(names, [lv[level[:, k]] for k, lv in enumerate(levels)])
    order = np.argsort(labels, kind="stable")
    return GroupedStats(labels[order], *(a[order] for a in arrs), pooled=pooled)
