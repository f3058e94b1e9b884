"""The row-weighted crossed model's inputs: the rows sorted by cell in scaled coordinates, the crossed layout
and priors (models/crossed/problem.py, unchanged), and the family's fixed statistics.

Coordinates are the Gaussian crossed model's: theta' = D (theta - ref) with D the columns' root-mean-squares,
so Z = F / D and the linear predictor is z_i' theta'_c(i) + f_i' ref; r0 = u - F ref for a working response
u (the binary families take ref = 0 and need no offset).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...io.groups import CellStats
from ..crossed.problem import CrossedProblem, crossed_problem


@dataclass
class SortedRows:
    """The rows sorted by cell: ``order`` (sorted row k is original row order[k]), ``start`` (C + 1,) offsets,
    ``cell_level`` (C, K) each cell's level codes, ``codes`` (n, K) the original rows' level codes."""

    order: np.ndarray
    start: np.ndarray
    cell_level: np.ndarray
    codes: np.ndarray


def sort_by_cell(codes: np.ndarray) -> SortedRows:
    """Cells (distinct combinations of the factors' levels) and the rows sorted by cell, stably."""
    cell_level, cell = np.unique(codes, axis=0, return_inverse=True)
    cell = np.asarray(cell).reshape(-1)
    order = np.argsort(cell, kind="stable")
    counts = np.bincount(cell, minlength=cell_level.shape[0])
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return SortedRows(order, start, np.ascontiguousarray(cell_level, dtype=np.int64), codes)


def column_scale(F: np.ndarray) -> np.ndarray:
    """D: each column's root-mean-square (1 for a column of zeros)."""
    d = np.sqrt(np.mean(F * F, axis=0))
    return np.where(d > 0, d, 1.0)


def cell_sums(Z, w, u, start):
    """(G (C, p, p), h (C, p), rr (C,)): per cell Z_c' W Z_c, Z_c' W u_c, u_c' W u_c (NumPy)."""
    C, p = start.shape[0] - 1, Z.shape[1]
    G, h, rr = np.zeros((C, p, p)), np.zeros((C, p)), np.zeros(C)
    for c in range(C):
        sl = slice(start[c], start[c + 1])
        Zc, wc, uc = Z[sl], w[sl], u[sl]
        G[c] = Zc.T @ (wc[:, None] * Zc)
        h[c] = Zc.T @ (wc * uc)
        rr[c] = float(wc @ (uc * uc))
    return G, h, rr


@dataclass
class RowsProblem:
    """Everything a run reads: ``crossed`` the Gaussian crossed problem at unit weights (its layout, priors and
    start values), the sorted rows in scaled coordinates and the family's arrays."""

    crossed: CrossedProblem
    rows: SortedRows
    family: int
    Z: np.ndarray
    y: np.ndarray
    trials: np.ndarray
    r0: np.ndarray
    Gfix: np.ndarray
    hfix: np.ndarray
    prior: object  # the resolved ResolvedCrossedPrior
    learn_nu: bool = False
    nu_a: float = 0.0
    nu_b: float = 0.0

    def restat(self, G, h, rr):
        """The Gaussian crossed reference's inputs (kernels/crossed.CrossedInputs) at cell statistics G, h, rr."""
        cp = self.crossed
        cs = replace(cp.stats, G=G, h=h, rr=rr)
        vidx = [cp.vidx[f, : int(cp.q[f])] for f in range(len(cp.q))]
        return crossed_problem(cs, self.prior, vidx, cp.pidx, cp.J, cp.blocked, cp.interweave,
                               joint=cp.joint >= 0).kernel_args()[0]

    def kernel_args(self):
        from ...kernels.crossedrows.chains import RowsInputs

        cp = self.crossed
        own = {"family": self.family, "Z": self.Z, "y": self.y, "trials": self.trials, "r0": self.r0,
               "start": self.rows.start, "Gfix": self.Gfix, "hfix": self.hfix, "level": cp.stats.level,
               "nc": cp.stats.n, "learn_nu": bool(self.learn_nu), "nu_a": float(self.nu_a),
               "nu_b": float(self.nu_b), "restat": self.restat}
        return (RowsInputs(**{f: own[f] if f in own else getattr(cp, f) for f in RowsInputs._fields}),)


def rows_problem(F, codes, levels, prior, vidx, pidx, *, family, ref, y, trials, u, w, sampler, nu=(False, 0.0, 0.0)):
    """The run's inputs from the full design F (n, p) (original row order), the rows' level codes (n, K), the
    resolved crossed prior and the factors' columns.  ``u`` and ``w``: a working response and weights for the
    start values and the unit-weight cell statistics (the binary families: u = 0, w = 1, rr = n_c, a latent of
    unit variance); ``y``, ``trials``: the binary outcomes (the Student-t's y is in r0)."""
    from ...kernels.binary.flat import LOGIT, PROBIT

    srt = sort_by_cell(codes)
    D = column_scale(F)
    ref = np.asarray(ref, dtype=float)
    o = srt.order
    Z = np.ascontiguousarray(F[o] / D)
    r0 = np.ascontiguousarray(u[o] - F[o] @ ref)
    G, h, rr = cell_sums(Z, w[o], r0, srt.start)
    nc = np.diff(srt.start).astype(float)
    if family in (LOGIT, PROBIT):
        rr = nc.copy()
    J = [len(lv) for lv in levels]
    cs = CellStats(G, h, rr, nc, srt.cell_level, D, ref, levels)
    # the joint nested update as CrossedRegression's default (models/crossed/model.py, _joint): "auto" with "asis"
    cp = crossed_problem(cs, prior, vidx, pidx, J, blocked=sampler in ("asis", "blocked"), interweave=sampler == "asis",
                         joint="auto" if sampler == "asis" else False)
    C, p = G.shape[:2]
    yi = np.ascontiguousarray(np.asarray(y, dtype=np.int64)[o])
    ti = np.ascontiguousarray(np.asarray(trials, dtype=np.int64)[o])
    Gfix, hfix = np.zeros((0, p, p)), np.zeros((0, p))
    if family == LOGIT:  # h_c = Z_c' kappa_c
        kappa = yi - 0.5 * ti
        hfix = cell_sums(Z, np.ones(len(o)), kappa, srt.start)[1]
    elif family == PROBIT:  # G_c = Z_c' diag(n) Z_c
        Gfix = cell_sums(Z, ti.astype(float), np.zeros(len(o)), srt.start)[0]
    return RowsProblem(cp, srt, int(family), Z, yi, ti, r0, Gfix, hfix, prior, *nu)
