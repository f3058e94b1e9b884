"""FlatStats: the mergeable statistics of one regression."""

from __future__ import annotations

import numpy as np

from .arith import _merge_arrays, _refine, _save
from .fused import flat_arrays


class _StatsBase:
    def _check_compatible(self, other):
        if type(other) is not type(self):
            raise ValueError(f"cannot merge {type(self).__name__} with {type(other).__name__}")
        if list(self.x_names) != list(other.x_names):
            raise ValueError(f"cannot merge statistics of different columns: {list(self.x_names)} vs {list(other.x_names)}")
        if self.intercept != other.intercept:
            raise ValueError(f"cannot merge statistics computed with intercept={self.intercept} and "
                             f"intercept={other.intercept}")

    def __add__(self, other):
        """The statistics of both row sets (``None`` adds nothing); merging is exact (Chan-Golub-LeVeque)."""
        if other is None:
            return self
        if not isinstance(other, _StatsBase):
            return NotImplemented
        self._check_compatible(other)
        return self._merged(other)

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


def log_weight_sum(w) -> float:
    """Σ log w_i of checked positive weights (0 without weights): the likelihood's constant ½ Σ log w_i."""
    return 0.0 if w is None else float(np.sum(np.log(w)))


class FlatStats(_StatsBase):
    """Sufficient statistics of a flat regression y ~ X over a set of rows (see the module docstring).

    ``n``, ``x_mean`` (p_x,), ``y_mean``, ``C`` (p_x, p_x) centred cross-products of X, ``anchor``
    (p_x,), ``h`` (p_x,), ``rr`` (residual co-moments at the anchor); ``x_names``, ``intercept``.
    With known observation weights w_i (precisions, docs/weights.md) the means, C, h and rr are weighted,
    ``w_sum`` = sum w_i takes the row count's place in them, ``n`` stays the row count and ``log_w`` =
    sum log w_i is kept for the likelihood's constant; unweighted: w_sum = n, log_w = 0.
    ``a + b`` and :func:`merge` combine disjoint row sets exactly; ``save`` / :func:`load_stats`.
    """

    kind = "flat"

    def __init__(self, n, x_mean, y_mean, C, anchor, h, rr, x_names, intercept=True, w_sum=None, log_w=0.0):
        self.n = int(n)
        self.w_sum = float(self.n if w_sum is None else w_sum)
        self.log_w = float(log_w)
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
    def _from_arrays(cls, arrs, x_names, intercept, n=None, log_w=0.0):
        """From the batched arrays, whose first entry is the weight total (the row count ``n`` when None)."""
        W, xm, ym, C, b, h, rr = arrs
        W = float(W[0])
        rows = int(round(W)) if n is None else int(n)
        return cls(rows, xm[0], ym[0], C[0], b[0], h[0], rr[0], x_names, intercept, W, log_w)

    def _arrays(self):
        return (np.array([self.w_sum]), self.x_mean[None], np.array([self.y_mean]), self.C[None],
                self.anchor[None], self.h[None], np.array([self.rr]))

    @property
    def weighted(self) -> bool:
        """Whether the rows carried weights other than 1 (then w_sum != n or log_w != 0)."""
        return self.w_sum != float(self.n) or self.log_w != 0.0

    @classmethod
    def from_block(cls, X, y, x_names, intercept=True, on_nonfinite=None, w=None):
        """Statistics of one in-memory block: float64 X (n, p_x) and y (n,), n >= 1 (a NaN or inf calls
        ``on_nonfinite()`` for the caller's message, else raises its own); ``w`` (n,) checked positive weights."""
        arrs = flat_arrays(X, y, on_nonfinite, w)
        return cls._from_arrays(arrs, x_names, intercept, X.shape[0], log_weight_sum(w))

    @classmethod
    def from_augmented(cls, A, x_names, intercept=True, on_nonfinite=None, w=None):
        """Statistics of one block given as A = [X, y] (n, p_x + 1) (read only)."""
        return cls.from_block(A[:, :-1], A[:, -1], x_names, intercept, on_nonfinite, w)

    def _merged(self, other):
        return FlatStats._from_arrays(_merge_arrays(self._arrays(), other._arrays()), self.x_names, self.intercept,
                                      self.n + other.n, self.log_w + other.log_w)

    # -- data summaries
    @property
    def x_var(self) -> np.ndarray:
        """The (weighted) variances of X's columns, Σ w (x - x̄)² / W."""
        return np.clip(np.diag(self.C), 0.0, None) / self.w_sum

    @property
    def y_var(self) -> float:
        """Σ w (y - ȳ)² / W = (rr + 2 b'h + b'C b) / W (W = n without weights)."""
        b = self.anchor
        return max(self.rr + 2.0 * b @ self.h + b @ self.C @ b, 0.0) / self.w_sum

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
        from ...data import SufficientStats, Transform, _solve_reference, sampler_scaling

        n = self.w_sum  # the weight total takes the row count's place in every sum (n without weights)
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
        return SufficientStats(G, h_ref, rr_ref, self.n, transform, y_mean, y_var, x_mean, x_sd, self.w_sum,
                               self.log_w)

    # -- persistence
    def _payload(self) -> dict:
        out = {"n": np.array(self.n, dtype=np.int64), "x_mean": self.x_mean, "y_mean": np.array(self.y_mean),
               "C": self.C, "anchor": self.anchor, "h": self.h, "rr": np.array(self.rr)}
        if self.weighted:  # unweighted files stay as they were (readable by older versions)
            out.update(w_sum=np.array(self.w_sum), log_w=np.array(self.log_w))
        return out

    def save(self, path) -> None:
        """Write to ``path`` (.npz, no pickled objects) with a format version; read with :func:`load_stats`."""
        _save(path, self, self._payload())

    def __eq__(self, other):
        if not isinstance(other, FlatStats):
            return NotImplemented
        mine, theirs = self._payload(), other._payload()
        return (self.x_names == other.x_names and self.intercept == other.intercept and mine.keys() == theirs.keys()
                and all(np.array_equal(v, theirs[k]) for k, v in mine.items()))

    __hash__ = None
