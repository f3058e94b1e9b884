"""GroupedStats: the mergeable statistics per group, or per cell of several factors."""

from __future__ import annotations

import numpy as np

from .arith import _empty_arrays, _merge_arrays, _save, _take
from .fused import grouped_arrays
from .flat import FlatStats, _StatsBase


class GroupedStats(_StatsBase):
    """Per-group statistics (one grouping factor) or per-cell statistics (several factors), plus the pooled
    (complete-pooling) FlatStats.

    ``labels`` (J,) the group labels: a 1-D array for one factor, or, for several factors, a structured
    array with one field per factor (field names = factor names) whose J records are the non-empty
    combinations of levels (cells); ``n`` (J,), ``x_mean`` (J, p_x), ``y_mean`` (J,), ``C`` (J, p_x, p_x),
    ``anchor`` (J, p_x), ``h`` (J, p_x), ``rr`` (J,) as in :class:`FlatStats` per group or cell;
    ``pooled`` the statistics of all rows.  With known observation weights ``w`` (J,) holds each group's
    weight total (the sums are weighted, as in FlatStats) and ``n`` stays its row count; without, w = n.
    Merging adds the statistics of groups (cells) seen in both
    and appends new ones (labels kept in sorted order, records field by field).
    """

    kind = "grouped"

    def __init__(self, labels, n, x_mean, y_mean, C, anchor, h, rr, pooled: FlatStats, w=None):
        self.labels = np.asarray(labels)
        self.n = np.asarray(n, dtype=float)
        self.w = self.n if w is None else np.asarray(w, dtype=float)
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
        """The batched arrays the merges work on: the weight totals first (the row counts without weights)."""
        return self.w, self.x_mean, self.y_mean, self.C, self.anchor, self.h, self.rr

    def _with_counts(self):
        return self._arrays() + (self.n,)

    def __repr__(self):
        if self.factors is not None:
            return (f"GroupedStats(n={self.pooled.n}, factors={self.factors}, cells={self.J}, p={self.p}, "
                    f"names={self.names})")
        return f"GroupedStats(n={self.pooled.n}, J={self.J}, p={self.p}, names={self.names})"

    @classmethod
    def from_block(cls, X, y, codes, labels, x_names, intercept=True, w=None):
        """Statistics of one in-memory block; ``codes`` (n,) index ``labels`` (J,); groups with no rows are left
        out; ``w`` (n,) checked positive weights."""
        pooled = FlatStats.from_block(X, y, x_names, intercept, w=w)
        present, local = np.unique(codes, return_inverse=True)
        local = local.reshape(-1)
        arrs = grouped_arrays(X, y, local, len(present), pooled.anchor, w=w)
        return cls.from_arrays(np.asarray(labels)[present], arrs, pooled, local, w)

    @classmethod
    def from_arrays(cls, labels, arrs, pooled, codes=None, w=None):
        """From ``grouped_arrays``' output (its first entry the weight totals; with weights ``w``, the row counts
        come from ``codes``)."""
        if w is None:
            return cls(labels, *arrs, pooled=pooled)
        counts = np.bincount(codes, minlength=len(labels)).astype(float)
        return cls(labels, counts, *arrs[1:], pooled=pooled, w=arrs[0])

    def _merged(self, other):
        union, inv = np.unique(_joined_labels(self.labels, other.labels), return_inverse=True)
        inv = inv.reshape(-1)
        ia, ib = inv[: self.J], inv[self.J:]
        px = len(self.x_names)
        J = len(union)
        out = list(_empty_arrays(J, px)) + [np.zeros(J)]
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
            for k, arr in enumerate(src._with_counts()):
                out[k][idx] = arr[pos[idx]]
        idx = np.flatnonzero(both)
        if idx.size:
            merged = _merge_arrays(_take(self._arrays(), pos_a[idx]), _take(other._arrays(), pos_b[idx]))
            for k, arr in enumerate(merged):
                out[k][idx] = arr
            out[7][idx] = self.n[pos_a[idx]] + other.n[pos_b[idx]]
        w_sum, rest, counts = out[0], out[1:7], out[7]
        return GroupedStats(union, counts, *rest, pooled=self.pooled + other.pooled, w=w_sum)

    def to_group_stats(self, order, beta_ref):
        """gibbsreg.hierarchical.GroupStats: per-group Z_j'Z_j, Z_j'r0_j, r0_j'r0_j, n_j with Z = F[:, order] / rms,
        F = [1, X] (or X), r0 = y - F beta_ref; rms the pooled root-mean-squares of F's columns.  With weights
        the cross-products are weighted (Z_j'W_jZ_j ...) and n_j stays the row count."""
        from ..groups import GroupStats

        pooled = self.pooled
        k = int(self.intercept)
        px = len(self.x_names)
        p = px + k
        order = np.asarray(order)
        W = pooled.w_sum
        sq = np.clip(np.diag(pooled.C), 0.0, None) + W * pooled.x_mean**2
        rms = np.sqrt(np.concatenate([[1.0], sq / W]) if k else sq / W)
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
        return GroupStats(G, hb[:, order] / rms, np.maximum(rr0, 0.0), self.n.astype(float), rms, ref[order])

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
        from ..groups import CellStats

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
        if self.pooled.weighted:
            payload["gw"] = self.w
        _save(path, self, payload)

    def __eq__(self, other):
        if not isinstance(other, GroupedStats):
            return NotImplemented
        return (self.pooled == other.pooled and np.array_equal(self.labels, other.labels)
                and all(np.array_equal(a, b) for a, b in zip(self._with_counts(), other._with_counts())))

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
