r"""Mergeable sufficient statistics: FlatStats (one regression) and GroupedStats (per group).

A statistics value summarises a set of rows (x_i, y_i) by, with x̄, ȳ the means of the set,

    n,  x̄ (p_x,),  ȳ,  C = Σ (x_i - x̄)(x_i - x̄)'  (p_x, p_x),
    an anchor b (p_x,) and, with r_i = (y_i - ȳ) - (x_i - x̄)'b the centred residuals at b,
    h = Σ (x_i - x̄) r_i  (p_x,),   rr = Σ r_i².

Every quantity a model needs follows exactly: the residual sum of squares at any slopes s is
rr - 2 d'h + d'C d with d = s - b, and the uncentred moments add n x̄x̄' etc.  The residuals are
formed row by row at an anchor close to the least-squares slopes (each chunk's own solution,
moved towards the merged one at every merge), so no digits are lost when the fit is nearly
perfect or y is far from 0 (the accuracy device of docs/maths.md §5, kept in ONE pass: each
chunk is centred and its residuals are formed while it is in memory).

Two values over disjoint row sets merge exactly (Chan, Golub & LeVeque 1979; Pébay 2008):
move both to a common anchor b (h ← h - C d, rr ← rr - 2 d'h + d'C d), then with
δx = x̄₂ - x̄₁, δr = (ȳ₂ - ȳ₁) - δx'b and w = n₁n₂/n,

    C = C₁ + C₂ + w δx δx',   h = h₁ + h₂ + w δx δr,   rr = rr₁ + rr₂ + w δr².

The model's own statistics (gibbsreg.data.SufficientStats with its Transform, and
gibbsreg.hierarchical.GroupStats) are derived from these values; see ``to_sufficient`` and
``GroupedStats.to_group_stats``.
"""

from __future__ import annotations

import json

import numpy as np

from .arith import FORMAT_VERSION, augmented, check_finite_block
from .flat import FlatStats
from .grouped import GroupedStats

def load_stats(path):
    """Read statistics written by ``FlatStats.save`` / ``GroupedStats.save`` (no pickle)."""
    with np.load(str(path), allow_pickle=False) as z:
        if "meta" not in z.files:
            raise ValueError(f"{path} is not a gibbsreg statistics file (no metadata)")
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != "gibbsreg-stats":
            raise ValueError(f"{path} is not a gibbsreg statistics file")
        if meta.get("version", 0) > FORMAT_VERSION:
            raise ValueError(f"{path} has format version {meta['version']}; this gibbsreg reads up to {FORMAT_VERSION}")
        names, icpt = meta["x_names"], meta["intercept"]

        def flat(prefix=""):
            g = lambda k: z[prefix + k]  # noqa: E731
            weighted = prefix + "w_sum" in z.files
            return FlatStats(int(g("n")), g("x_mean"), float(g("y_mean")), g("C"), g("anchor"), g("h"),
                             float(g("rr")), names, icpt, float(g("w_sum")) if weighted else None,
                             float(g("log_w")) if weighted else 0.0)

        if meta["kind"] == "flat":
            return flat()
        return GroupedStats(z["labels"], z["gn"], z["gx_mean"], z["gy_mean"], z["gC"], z["ganchor"], z["gh"],
                            z["grr"], flat("pooled_"), z["gw"] if "gw" in z.files else None)


def merge(items):
    """Combine statistics of disjoint row sets (a list of FlatStats or of GroupedStats) exactly, as a tree."""
    items = [s for s in items if s is not None]
    if not items:
        raise ValueError("merge: no statistics to merge (every part was empty)")
    while len(items) > 1:
        items = [items[i] + items[i + 1] if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0]


__all__ = ["FORMAT_VERSION", "FlatStats", "GroupedStats", "augmented", "check_finite_block", "load_stats", "merge"]
