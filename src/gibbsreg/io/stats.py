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

FORMAT_VERSION = 2  # 1: flat and one-factor statistics; 2: several factors
_RCOND = 1e-12


# ---------------------------------------------------------------------------------------------
# batched arithmetic on (n, xm, ym, C, b, h, rr) with a leading axis K


def _scaled_solve(C, h, ridge):
    """delta with C delta ≈ h, Jacobi-scaled, for a batch C (K, p, p); singular C handled by a tiny ridge."""
    p = C.shape[-1]
    if p == 0:
        return np.zeros_like(h)
    d = np.sqrt(np.clip(np.diagonal(C, axis1=1, axis2=2), 0.0, None))
    d = np.where(d > 0, d, 1.0)
    Cs = C / d[:, :, None] / d[:, None, :] + ridge * np.eye(p)
    try:
        x = np.linalg.solve(Cs, (h / d)[..., None])[..., 0]
    except np.linalg.LinAlgError:
        x = np.stack([np.linalg.lstsq(Cs[k], h[k] / d[k], rcond=_RCOND)[0] for k in range(C.shape[0])])
    return x / d


def _reanchor(C, b, h, rr, b_new):
    """Move (h, rr) from anchor b to b_new (batched): exact algebra in the small difference d."""
    d = b_new - b
    Cd = np.einsum("kij,kj->ki", C, d)
    rr_new = rr - 2.0 * np.einsum("ki,ki->k", d, h) + np.einsum("ki,ki->k", d, Cd)
    return h - Cd, np.maximum(rr_new, 0.0)


def _refine(C, b, h, rr):
    """One Newton step of the anchor towards the least-squares slopes (keeps later merges accurate)."""
    delta = _scaled_solve(C, h, 1e-12)
    ok = np.isfinite(delta).all(axis=1)
    delta[~ok] = 0.0
    b_new = b + delta
    h_new, rr_new = _reanchor(C, b, h, rr, b_new)
    # keep the step only where it did not make the fit worse (a ridge on a singular C can)
    better = rr_new <= rr * (1 + 1e-12) + 1e-300
    keep = better[:, None]
    return np.where(keep, b_new, b), np.where(keep, h_new, h), np.where(better, rr_new, rr)


def _merge_arrays(a, b):
    """Pairwise merge of two batches of statistics tuples (n, xm, ym, C, anc, h, rr), aligned on K."""
    n1, xm1, ym1, C1, b1, h1, rr1 = a
    n2, xm2, ym2, C2, b2, h2, rr2 = b
    n = n1 + n2
    safe = np.where(n > 0, n, 1.0)
    # common anchor: the one of the larger set
    first = (n1 >= n2)[:, None]
    anchor = np.where(first, b1, b2)
    h1, rr1 = _reanchor(C1, b1, h1, rr1, anchor)
    h2, rr2 = _reanchor(C2, b2, h2, rr2, anchor)
    dx = xm2 - xm1
    dy = ym2 - ym1
    dr = dy - np.einsum("ki,ki->k", dx, anchor)
    w = n1 * n2 / safe
    f2 = n2 / safe
    xm = xm1 + f2[:, None] * dx
    ym = ym1 + f2 * dy
    C = C1 + C2 + w[:, None, None] * dx[:, :, None] * dx[:, None, :]
    C = 0.5 * (C + np.swapaxes(C, 1, 2))
    h = h1 + h2 + (w * dr)[:, None] * dx
    rr = rr1 + rr2 + w * dr * dr
    anchor, h, rr = _refine(C, anchor, h, rr)
    return n, xm, ym, C, anchor, h, rr


def augmented(X, y) -> np.ndarray:
    """A fresh Fortran-ordered working copy [X, y] (n, p_x + 1) that the block statistics may overwrite."""
    n, px = X.shape
    A = np.empty((n, px + 1), order="F")
    A[:, :px] = X
    A[:, px] = y
    return A


def _block_arrays(X, y):
    return _aug_block_arrays(augmented(X, y))


PILOT_ROWS = 1024


def _aug_block_arrays(A, on_nonfinite=None):
    """Statistics of one block from its working copy A = [X, y] (n >= 1 rows; overwritten).

    Rows are shifted by the mean of the first PILOT_ROWS rows (one in-place pass), so the Gram
    matrix of the shifted rows (one BLAS call) gives the centred cross-products without
    cancellation; the residuals at the block's least-squares slopes are then formed row by row
    (one more read), which keeps rr exact when the fit is nearly perfect.
    """
    n, q = A.shape
    px = q - 1
    a0 = A[:PILOT_ROWS].mean(axis=0)
    if not np.isfinite(a0).all():
        a0 = np.zeros(q)
    A -= a0
    s = A.sum(axis=0)
    S = A.T @ A
    if not (np.isfinite(s).all() and np.isfinite(S).all()):
        if on_nonfinite is not None:
            on_nonfinite()  # raises with the column and row of the first NaN / inf
        raise ValueError("the data are too large in magnitude: their squares overflow float64; rescale them")
    e = s / n
    Sc = S - n * np.outer(e, e)
    Sc = 0.5 * (Sc + Sc.T)
    xm = a0[:px] + e[:px]
    ym = float(a0[px] + e[px])
    C = Sc[:px, :px].copy()
    g = Sc[:px, px]
    if px:
        b = _scaled_solve(C[None], g[None], 1e-12)[0]
        if not np.isfinite(b).all():
            b = np.zeros(px)
    else:
        b = np.zeros(0)
    Xs, ys = A[:, :px], A[:, px]
    r = ys - np.einsum("ij,j->i", Xs, b) if px else ys.copy()
    eps = e[px] - e[:px] @ b  # the mean of r: r - eps are the centred residuals
    h = np.einsum("ij,i->j", Xs, r) - n * eps * e[:px] if px else np.zeros(0)
    rr = max(float(r @ r) - n * eps * eps, 0.0)
    return (np.array([float(n)]), xm[None], np.array([ym]), C[None], b[None], h[None], np.array([rr]))


def _grouped_block_arrays(X, y, codes, anchor):
    """Per-group statistics of one block, rows of group k where codes == k (0..K-1, all present), one
    vectorised pass (no loop over groups), residuals anchored at the block's pooled slopes ``anchor``."""
    K = int(codes.max()) + 1
    sort = np.argsort(codes, kind="stable")
    Xs, ys, cs = X[sort], y[sort], codes[sort]
    starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
    nk = np.diff(np.r_[starts, len(cs)]).astype(float)
    xm = np.add.reduceat(Xs, starts, axis=0) / nk[:, None] if X.shape[1] else np.zeros((K, 0))
    ym = np.add.reduceat(ys, starts) / nk
    Xc = Xs - xm[cs]
    yc = ys - ym[cs]
    if X.shape[1]:
        corr = np.add.reduceat(Xc, starts, axis=0) / nk[:, None]
        xm += corr
        Xc -= corr[cs]
    cy = np.add.reduceat(yc, starts) / nk
    ym += cy
    yc -= cy[cs]
    px = X.shape[1]
    if px:
        C = np.add.reduceat(Xc[:, :, None] * Xc[:, None, :], starts, axis=0)
        C = 0.5 * (C + np.swapaxes(C, 1, 2))
    else:
        C = np.zeros((K, 0, 0))
    r = yc - Xc @ anchor
    h = np.add.reduceat(Xc * r[:, None], starts, axis=0) if px else np.zeros((K, 0))
    rr = np.add.reduceat(r * r, starts)
    b = np.broadcast_to(anchor, (K, px)).copy()
    return nk, xm, ym, C, b, h, rr


def _take(arrs, idx):
    return tuple(a[idx] for a in arrs)


def _empty_arrays(K, px):
    return (np.zeros(K), np.zeros((K, px)), np.zeros(K), np.zeros((K, px, px)), np.zeros((K, px)),
            np.zeros((K, px)), np.zeros(K))


# ---------------------------------------------------------------------------------------------
# validation of blocks


def check_finite_block(X, y, x_names, where: str = "", row0: int = 0) -> None:
    """ValueError naming the column (and ``where``: file / partition) of the first NaN or inf."""
    for arr, names, what in ((X, x_names, "X"), (y, None, "y")):
        if np.isfinite(arr).all():
            continue
        bad = np.argwhere(~np.isfinite(arr))[0]
        value = arr[tuple(bad)]
        kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
        loc = f" in {where}" if where else ""
        if arr.ndim == 1:
            raise ValueError(f"{'the response ' + repr(names) if names else 'y'} contains {kind} at row {row0 + int(bad[0])}{loc}")
        col = int(bad[1])
        label = f"column {col}" + (f" ({x_names[col]!r})" if x_names is not None else "")
        raise ValueError(f"X contains {kind} at row {row0 + int(bad[0])}, {label}{loc}")


# ---------------------------------------------------------------------------------------------
# the public types


class _StatsBase:
    def _check_compatible(self, other):
        if type(other) is not type(self):
            raise ValueError(f"cannot merge {type(self).__name__} with {type(other).__name__}")
        if list(self.x_names) != list(other.x_names):
            raise ValueError(f"cannot merge statistics of different columns: {list(self.x_names)} vs {list(other.x_names)}")
        if self.intercept != other.intercept:
            raise ValueError(f"cannot merge statistics computed with intercept={self.intercept} and "
                             f"intercept={other.intercept}")

    def __radd__(self, other):
        if other == 0 or other is None:  # sum([...]) starts from 0
            return self
        return NotImplemented

    @property
    def names(self) -> list[str]:
        """Coefficient names, "intercept" first when intercept=True."""
        return (["intercept"] if self.intercept else []) + list(self.x_names)

    @property
    def p(self) -> int:
        return len(self.x_names) + int(self.intercept)


class FlatStats(_StatsBase):
    """Sufficient statistics of a flat regression y ~ X over a set of rows (see the module docstring).

    ``n``, ``x_mean`` (p_x,), ``y_mean``, ``C`` (p_x, p_x) centred cross-products of X, ``anchor``
    (p_x,), ``h`` (p_x,), ``rr`` (residual co-moments at the anchor); ``x_names``, ``intercept``.
    ``a + b`` and :func:`merge` combine disjoint row sets exactly; ``save`` / :func:`load_stats`.
    """

    kind = "flat"

    def __init__(self, n, x_mean, y_mean, C, anchor, h, rr, x_names, intercept=True):
        self.n = int(n)
        self.x_mean = np.asarray(x_mean, dtype=float)
        self.y_mean = float(y_mean)
        self.C = np.asarray(C, dtype=float)
        self.anchor = np.asarray(anchor, dtype=float)
        self.h = np.asarray(h, dtype=float)
        self.rr = float(rr)
        self.x_names = [str(s) for s in x_names]
        self.intercept = bool(intercept)

    # -- construction and merging
    @classmethod
    def _from_arrays(cls, arrs, x_names, intercept):
        n, xm, ym, C, b, h, rr = arrs
        return cls(int(round(float(n[0]))), xm[0], ym[0], C[0], b[0], h[0], rr[0], x_names, intercept)

    def _arrays(self):
        return (np.array([float(self.n)]), self.x_mean[None], np.array([self.y_mean]), self.C[None],
                self.anchor[None], self.h[None], np.array([self.rr]))

    @classmethod
    def from_block(cls, X, y, x_names, intercept=True):
        """Statistics of one in-memory block (validated, finite float64 X (n, p_x) and y (n,))."""
        return cls._from_arrays(_block_arrays(X, y), x_names, intercept)

    @classmethod
    def from_augmented(cls, A, x_names, intercept=True, on_nonfinite=None):
        """Statistics of one block given as a working copy A = [X, y] (n, p_x + 1), which is overwritten."""
        return cls._from_arrays(_aug_block_arrays(A, on_nonfinite), x_names, intercept)

    def __add__(self, other):
        if other is None:
            return self
        if not isinstance(other, _StatsBase):
            return NotImplemented
        self._check_compatible(other)
        return FlatStats._from_arrays(_merge_arrays(self._arrays(), other._arrays()), self.x_names, self.intercept)

    # -- data summaries
    @property
    def x_var(self) -> np.ndarray:
        return np.clip(np.diag(self.C), 0.0, None) / self.n

    @property
    def y_var(self) -> float:
        """Σ(y - ȳ)²/n = (rr + 2 b'h + b'C b)/n."""
        b = self.anchor
        return max(self.rr + 2.0 * b @ self.h + b @ self.C @ b, 0.0) / self.n

    def __repr__(self):
        return (f"FlatStats(n={self.n}, p={self.p}, names={self.names}, y_mean={self.y_mean:.6g}, "
                f"rss_min={self.rss_min():.6g})")

    def rss_min(self) -> float:
        """Residual sum of squares of the least-squares fit (with the intercept when intercept=True)."""
        ref = self._reference_arrays()
        return float(ref[6][0])

    def _reference_arrays(self):
        n, xm, ym, C, b, h, rr = self._arrays()
        b, h, rr = _refine(C, b, h, rr)
        return n, xm, ym, C, b, h, rr

    # -- what the models use
    def to_sufficient(self, center: bool = True):
        """The sampler's statistics (gibbsreg.data.SufficientStats) in gamma = T (beta - beta_ref).

        The sampler's coordinates: with an intercept and ``center``, T
        centres and scales the columns; otherwise T only scales them (root-mean-squares).
        """
        from ..data import SufficientStats, Transform, _solve_reference, sampler_scaling

        n = self.n
        px = len(self.x_names)
        x_mean = self.x_mean.copy()
        x_var = self.x_var
        x_sd = np.sqrt(x_var)
        y_mean = self.y_mean
        y_var = self.y_var
        b, C, h, rr = self.anchor, self.C, self.h, self.rr
        shift, scale = sampler_scaling(x_mean, x_var, self.intercept, center)
        k = int(self.intercept)
        p = px + k
        if self.intercept and center:
            # Z = [1, (X - x̄)/s]: G is block diagonal; the centred residuals at the anchor are r0
            G = np.zeros((p, p))
            G[0, 0] = n
            G[1:, 1:] = C / scale[:, None] / scale[None, :]
            gamma0 = np.concatenate([[y_mean], scale * b])
            hg = np.concatenate([[0.0], h / scale])
            rrg = rr
        elif self.intercept:
            # Z = [1, X/s] at beta0 = [ȳ - x̄'b, b]: the residuals are still the centred ones
            Gb = np.zeros((p, p))
            Gb[0, 0] = n
            Gb[0, 1:] = Gb[1:, 0] = n * x_mean
            Gb[1:, 1:] = C + n * np.outer(x_mean, x_mean)
            full = np.concatenate([[1.0], scale])
            G = Gb / full[:, None] / full[None, :]
            gamma0 = np.concatenate([[y_mean - x_mean @ b], scale * b])
            hg = np.concatenate([[0.0], h / scale])
            rrg = rr
        else:
            c = y_mean - x_mean @ b  # mean residual at b without an intercept
            G = (C + n * np.outer(x_mean, x_mean)) / scale[:, None] / scale[None, :]
            gamma0 = scale * b
            hg = (h + n * x_mean * c) / scale
            rrg = rr + n * c * c
        G = 0.5 * (G + G.T)
        # the reference point: the least-squares point, one robust step from the anchor
        delta = _solve_reference(G, hg)
        gamma_ref = gamma0 + delta
        Gd = G @ delta
        rr_ref = max(rrg - 2.0 * delta @ hg + delta @ Gd, 0.0)
        h_ref = hg - Gd
        provisional = Transform(self.intercept, shift, scale, np.zeros(p))
        beta_ref = provisional.T_inv() @ gamma_ref
        transform = Transform(self.intercept, shift, scale, beta_ref, gamma_ref.copy())
        return SufficientStats(G, h_ref, rr_ref, n, transform, y_mean, y_var, x_mean, x_sd)

    # -- persistence
    def _payload(self) -> dict:
        return {"n": np.array(self.n, dtype=np.int64), "x_mean": self.x_mean, "y_mean": np.array(self.y_mean),
                "C": self.C, "anchor": self.anchor, "h": self.h, "rr": np.array(self.rr)}

    def save(self, path) -> None:
        """Write to ``path`` (.npz, no pickled objects) with a format version; read with :func:`load_stats`."""
        _save(path, self, self._payload())

    def __eq__(self, other):
        if not isinstance(other, FlatStats):
            return NotImplemented
        return (self.x_names == other.x_names and self.intercept == other.intercept
                and all(np.array_equal(v, other._payload()[k]) for k, v in self._payload().items()))

    __hash__ = None


class GroupedStats(_StatsBase):
    """Per-group statistics (one grouping factor) or per-cell statistics (several factors), plus the pooled
    (complete-pooling) FlatStats.

    ``labels`` (J,) the group labels: a 1-D array for one factor, or, for several factors, a structured
    array with one field per factor (field names = factor names) whose J records are the non-empty
    combinations of levels (cells); ``n`` (J,), ``x_mean`` (J, p_x), ``y_mean`` (J,), ``C`` (J, p_x, p_x),
    ``anchor`` (J, p_x), ``h`` (J, p_x), ``rr`` (J,) as in :class:`FlatStats` per group or cell;
    ``pooled`` the statistics of all rows.  Merging adds the statistics of groups (cells) seen in both
    and appends new ones (labels kept in sorted order, records field by field).
    """

    kind = "grouped"

    def __init__(self, labels, n, x_mean, y_mean, C, anchor, h, rr, pooled: FlatStats):
        self.labels = np.asarray(labels)
        self.n = np.asarray(n, dtype=float)
        self.x_mean = np.asarray(x_mean, dtype=float)
        self.y_mean = np.asarray(y_mean, dtype=float)
        self.C = np.asarray(C, dtype=float)
        self.anchor = np.asarray(anchor, dtype=float)
        self.h = np.asarray(h, dtype=float)
        self.rr = np.asarray(rr, dtype=float)
        self.pooled = pooled

    @property
    def x_names(self):
        return self.pooled.x_names

    @property
    def intercept(self):
        return self.pooled.intercept

    @property
    def J(self) -> int:
        """The number of groups (for several factors: of cells)."""
        return len(self.labels)

    @property
    def factors(self) -> list[str] | None:
        """The factor names (the fields of ``labels``) for statistics of several factors; None for one factor."""
        names = self.labels.dtype.names
        return None if names is None else list(names)

    @property
    def n_rows(self) -> int:
        return self.pooled.n

    def _arrays(self):
        return self.n, self.x_mean, self.y_mean, self.C, self.anchor, self.h, self.rr

    def __repr__(self):
        if self.factors is not None:
            return (f"GroupedStats(n={self.pooled.n}, factors={self.factors}, cells={self.J}, p={self.p}, "
                    f"names={self.names})")
        return f"GroupedStats(n={self.pooled.n}, J={self.J}, p={self.p}, names={self.names})"

    @classmethod
    def from_block(cls, X, y, codes, labels, x_names, intercept=True):
        """Statistics of one in-memory block; ``codes`` (n,) index ``labels`` (J,); groups with no rows are left out."""
        pooled = FlatStats.from_block(X, y, x_names, intercept)
        present, local = np.unique(codes, return_inverse=True)
        arrs = _grouped_block_arrays(X, y, local.reshape(-1), pooled.anchor)
        return cls(np.asarray(labels)[present], *arrs, pooled=pooled)

    def __add__(self, other):
        if other is None:
            return self
        if not isinstance(other, _StatsBase):
            return NotImplemented
        self._check_compatible(other)
        union, inv = np.unique(_joined_labels(self.labels, other.labels), return_inverse=True)
        inv = inv.reshape(-1)
        ia, ib = inv[: self.J], inv[self.J:]
        px = len(self.x_names)
        J = len(union)
        out = list(_empty_arrays(J, px))
        both = np.zeros(J, dtype=bool)
        in_a = np.zeros(J, dtype=bool)
        in_a[ia] = True
        in_b = np.zeros(J, dtype=bool)
        in_b[ib] = True
        both = in_a & in_b
        pos_a = np.full(J, -1)
        pos_a[ia] = np.arange(self.J)
        pos_b = np.full(J, -1)
        pos_b[ib] = np.arange(other.J)
        for mask, src, pos in ((in_a & ~in_b, self, pos_a), (in_b & ~in_a, other, pos_b)):
            idx = np.flatnonzero(mask)
            for k, arr in enumerate(src._arrays()):
                out[k][idx] = arr[pos[idx]]
        idx = np.flatnonzero(both)
        if idx.size:
            merged = _merge_arrays(_take(self._arrays(), pos_a[idx]), _take(other._arrays(), pos_b[idx]))
            for k, arr in enumerate(merged):
                out[k][idx] = arr
        return GroupedStats(union, *out, pooled=self.pooled + other.pooled)

    def to_group_stats(self, order, beta_ref):
        """gibbsreg.hierarchical.GroupStats: per-group Z_j'Z_j, Z_j'r0_j, r0_j'r0_j, n_j with Z = F[:, order] / rms,
        F = [1, X] (or X), r0 = y - F beta_ref; rms the pooled root-mean-squares of F's columns."""
        from .groups import GroupStats

        pooled = self.pooled
        k = int(self.intercept)
        px = len(self.x_names)
        p = px + k
        order = np.asarray(order)
        sq = np.clip(np.diag(pooled.C), 0.0, None) + pooled.n * pooled.x_mean**2
        rms = np.sqrt(np.concatenate([[1.0], sq / pooled.n]) if k else sq / pooled.n)
        rms = np.where(rms > 0, rms, 1.0)[order]
        ref = np.asarray(beta_ref, dtype=float)
        slopes = ref[k:]
        nj, xm, ym, C, b, h, rr = self._arrays()
        d = slopes[None, :] - b
        Cd = np.einsum("jkl,jl->jk", C, d)
        c = ym - xm @ slopes - (ref[0] if k else 0.0)  # mean residual of each group at the reference
        rr0 = rr - 2.0 * np.einsum("jk,jk->j", d, h) + np.einsum("jk,jk->j", d, Cd) + nj * c * c
        hs = h - Cd + (nj * c)[:, None] * xm
        J = len(nj)
        Gb = np.zeros((J, p, p))
        Gb[:, k:, k:] = C + nj[:, None, None] * xm[:, :, None] * xm[:, None, :]
        hb = np.zeros((J, p))
        hb[:, k:] = hs
        if k:
            Gb[:, 0, 0] = nj
            Gb[:, 0, 1:] = Gb[:, 1:, 0] = nj[:, None] * xm
            hb[:, 0] = nj * c
        G = Gb[:, order][:, :, order] / rms[None, :, None] / rms[None, None, :]
        G = 0.5 * (G + np.swapaxes(G, 1, 2))
        return GroupStats(G, hb[:, order] / rms, np.maximum(rr0, 0.0), nj.astype(float), rms, ref[order])

    def factor_levels(self, factors=None, levels=None):
        """Each factor's levels and each cell's level codes: (levels (K arrays), codes (J, K) int64).

        ``factors``: the factor names in the wanted order (default: the fields' order; must be the same
        set).  Levels are sorted (numbers numerically, strings by code point) unless ``levels`` gives each
        factor's levels in another order (exactly the levels present, e.g. a Categorical's categories)."""
        names = self._factor_names(factors)
        out_levels, codes = [], []
        for k, name in enumerate(names):
            lv, code = np.unique(self.labels[name], return_inverse=True)
            code = code.reshape(-1)
            if levels is not None:
                given = np.asarray(levels[k])
                perm = np.argsort(given, kind="stable")
                if len(given) != len(lv) or not np.array_equal(given[perm], lv):
                    raise ValueError(f"factor {name!r}: the levels given ({given[:5].tolist()}...) are not the "
                                     f"statistics' levels ({lv[:5].tolist()}...)")
                code, lv = perm[code], given
            out_levels.append(lv)
            codes.append(code)
        return out_levels, np.stack(codes, axis=1).astype(np.int64)

    def _factor_names(self, factors=None) -> list[str]:
        have = self.factors
        if have is None:
            raise ValueError("these statistics have one grouping factor (1-D labels); statistics of several "
                             "factors come from sufficient_stats(X, y, groups={name: labels, ...}) or "
                             "read_stats(..., groups=[column, ...])")
        if factors is None:
            return have
        factors = [str(f) for f in factors]
        if sorted(factors) != sorted(have):
            raise ValueError(f"the statistics are grouped by the factors {have}, not {factors}")
        return factors

    def to_cell_stats(self, beta_ref, factors=None, levels=None):
        """gibbsreg.io.groups.CellStats of statistics grouped by several factors: per cell Z_c'Z_c, Z_c'r0_c,
        r0_c'r0_c, n_c with Z = F / rms, F = [1, X] (or X), r0 = y - F beta_ref, every column in its order;
        ``level`` (cells, K) the cells' level codes into ``levels`` (see :meth:`factor_levels`).  Cells are
        ordered by the mixed-radix key of their codes, factor 0 the least significant digit."""
        from .groups import CellStats

        lv, codes = self.factor_levels(factors, levels)
        order = np.lexsort(codes.T)
        gs = self.to_group_stats(np.arange(self.p), beta_ref)
        return CellStats(gs.G[order], gs.h[order], gs.rr[order], gs.n[order], codes[order], gs.scale,
                         np.asarray(gs.theta_ref, dtype=float).copy(), lv)

    def save(self, path) -> None:
        """Write to ``path`` (.npz, no pickled objects); read with :func:`load_stats`."""
        labels = self.labels
        if labels.dtype.names is not None:
            for name in labels.dtype.names:
                if labels.dtype[name].kind == "O":
                    raise ValueError(f"factor {name!r}: labels of object type cannot be saved without pickle; "
                                     "use numbers or strings")
        elif labels.dtype.kind == "O":
            if not all(isinstance(v, str) for v in labels):
                raise ValueError("group labels of mixed or object type cannot be saved without pickle; use strings")
            labels = labels.astype(str)
        payload = {f"pooled_{k}": v for k, v in self.pooled._payload().items()}
        payload.update(labels=labels, gn=self.n, gx_mean=self.x_mean, gy_mean=self.y_mean, gC=self.C,
                       ganchor=self.anchor, gh=self.h, grr=self.rr)
        _save(path, self, payload)

    def __eq__(self, other):
        if not isinstance(other, GroupedStats):
            return NotImplemented
        return (self.pooled == other.pooled and np.array_equal(self.labels, other.labels)
                and all(np.array_equal(a, b) for a, b in zip(self._arrays(), other._arrays())))

    __hash__ = None


def _joined_labels(a, b) -> np.ndarray:
    """The labels of two GroupedStats in one array (for the union): same kinds of labels required; the
    fields of records of several factors are matched by name and their types promoted (string widths)."""
    fa, fb = a.dtype.names, b.dtype.names
    if fa is None and fb is None:
        kinds = {_label_kind(a), _label_kind(b)}
        if len(kinds) > 1:
            raise ValueError(f"cannot merge group labels of different kinds ({sorted(kinds)}): "
                             f"e.g. {a[:3].tolist()} and {b[:3].tolist()}")
        return np.concatenate([a, b])
    if fa is None or fb is None:
        many = list(fa if fa is not None else fb)
        raise ValueError(f"cannot merge statistics of one grouping factor with statistics of the factors {many}")
    if sorted(fa) != sorted(fb):
        raise ValueError(f"cannot merge statistics of different factors: {list(fa)} and {list(fb)}")
    fields = []
    for name in fa:
        ka, kb = _label_kind(a[name]), _label_kind(b[name])
        if ka != kb:
            raise ValueError(f"cannot merge labels of different kinds ({ka} and {kb}) of factor {name!r}: "
                             f"e.g. {a[name][:3].tolist()} and {b[name][:3].tolist()}")
        fields.append((name, np.promote_types(a.dtype[name], b.dtype[name])))
    out = np.empty(len(a) + len(b), dtype=fields)
    for name in fa:
        out[name][: len(a)] = a[name]
        out[name][len(a):] = b[name]
    return out


def _label_kind(labels) -> str:
    k = np.asarray(labels).dtype.kind
    if k in "US" or k == "O":
        return "string"
    if k in "iub":
        return "number"
    if k == "f":
        return "number"
    return k


def _save(path, stats, payload):
    # version 2 only for statistics of several factors (record labels), so that older readers refuse them
    version = 2 if getattr(stats, "factors", None) is not None else 1
    meta = {"format": "gibbsreg-stats", "version": version, "kind": stats.kind,
            "x_names": list(stats.x_names), "intercept": stats.intercept}
    payload = dict(payload)
    payload["meta"] = np.array(json.dumps(meta))
    path = str(path)
    with open(path, "wb") as fh:
        np.savez(fh, **payload)


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
            return FlatStats(int(g("n")), g("x_mean"), float(g("y_mean")), g("C"), g("anchor"), g("h"),
                             float(g("rr")), names, icpt)

        if meta["kind"] == "flat":
            return flat()
        return GroupedStats(z["labels"], z["gn"], z["gx_mean"], z["gy_mean"], z["gC"], z["ganchor"], z["gh"],
                            z["grr"], flat("pooled_"))


def merge(items):
    """Combine statistics of disjoint row sets (a list of FlatStats or of GroupedStats) exactly, as a tree."""
    items = [s for s in items if s is not None]
    if not items:
        raise ValueError("merge: no statistics to merge (every part was empty)")
    while len(items) > 1:
        items = [items[i] + items[i + 1] if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0]
