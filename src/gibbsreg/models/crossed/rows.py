"""Pointwise log-likelihood and replicated data of the crossed/nested model (several grouping factors).

Row i has mean  x_p,i' alpha + sum_f z_f,i' b_f[g_f(i)]  (the first factor's b_1,j carries mu) and
variance sigma2, so log p(y_i | theta) = -1/2 log(2 pi sigma2) - (y_i - mean_i)^2 / (2 sigma2).
Rows come from the data the Posterior remembers or from explicit ``X, y, groups`` (a dict or
DataFrame of labels per factor); blocks of rows keep the memory at ROW_BLOCK_ELEMENTS values.
"""

from __future__ import annotations

import math

import numpy as np

from ...data import as_design
from ...sampling import no_huge_pages
from ...analysis.loglik import block_rows, check_size


class CrossedRows:
    """The crossed model's rows (the interface of gibbsreg.analysis.loglik.Rows): X (n, p_x), y (n,),
    codes (n, F) the level of each row in every factor."""

    def __init__(self, X, y, codes, intercept: bool):
        self.X, self.y, self.codes, self.intercept = X, y, codes, bool(intercept)

    @property
    def n(self) -> int:
        return self.y.shape[0]

    def labels(self, post) -> dict:
        return {f"{name}_label": np.asarray(post.coords[f"{name}_level"])[self.codes[:, f]]
                for f, name in enumerate(post.attrs["factors"])}

    def loglik(self, post, *, by="obs", backend="numba", max_bytes=None):
        if by != "obs":
            raise ValueError("leave-one-group-out (by='group') is available for one grouping factor; the crossed "
                             "model has the pointwise log-likelihood (by='obs')")
        return crossed_pointwise_loglik(post, self, max_bytes=max_bytes)

    def replicate(self, post, *, seed=None, backend="numba", max_bytes=None):
        return crossed_predictive(post, self, seed=seed, max_bytes=max_bytes)

    def group_loglik(self, post, *, max_bytes=None):
        return self.loglik(post, by="group")


def crossed_rows(post, X=None, y=None, groups=None) -> CrossedRows:
    """Explicit rows (X, y, groups: {factor: labels}), or the data the Posterior remembers."""
    attrs = post.attrs
    factors = attrs["factors"]
    if X is None and y is None:
        data = getattr(post, "data", None)
        if data is None:
            raise ValueError("this Posterior does not hold the data it was sampled from (it was loaded from disk): "
                             "pass X=, y= and groups={factor: labels}")
        codes = np.asarray(data.codes, dtype=np.int64).reshape(len(data.y), len(factors))
        return CrossedRows(data.X, data.y, codes, attrs["intercept"])
    if X is None or y is None or groups is None:
        raise ValueError("pass X=, y= and groups={factor: labels} together (or none, to use the remembered data)")
    design = as_design(X, y, attrs["intercept"])
    if len(design.names) != len(attrs["names"]):
        raise ValueError(f"X gives coefficients {design.names}; the posterior was fitted with {attrs['names']}")
    keys = list(groups.columns) if hasattr(groups, "columns") else list(groups)
    codes = np.empty((design.n, len(factors)), dtype=np.int64)
    for f, name in enumerate(factors):
        if name not in keys:
            raise ValueError(f"groups has no labels for factor {name!r}; it has {keys}")
        labels = groups[name]
        labels = labels.tolist() if hasattr(labels, "tolist") else list(labels)
        if len(labels) != design.n:
            raise ValueError(f"groups[{name!r}] has {len(labels)} labels; X has {design.n} rows")
        lookup = {lab: j for j, lab in enumerate(post.coords[f"{name}_level"])}
        unknown = [lab for lab in dict.fromkeys(labels) if lab not in lookup]
        if unknown:
            raise ValueError(f"factor {name!r}: level(s) {unknown[:5]} were not in the fitted data; the pointwise "
                             "log-likelihood is defined for the fitted levels only")
        codes[:, f] = [lookup[lab] for lab in labels]
    return CrossedRows(design.X, design.y, codes, attrs["intercept"])


def _mean_block(post, full: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The regression function at rows ``full`` (m, p) for every draw: (chains * draws, m)."""
    attrs = post.attrs
    S = post.nchains * post.ndraws
    line = np.zeros((S, full.shape[0]))
    if attrs["pooled_index"]:
        line += post["alpha"].reshape(S, -1) @ full[:, attrs["pooled_index"]].T
    for f, name in enumerate(attrs["factors"]):
        b = post[f"b_{name}"]
        b = b.reshape(S, *b.shape[2:])  # (S, J_f, q_f)
        Z = full[:, attrs["varying_index"][f]]  # (m, q_f)
        line += np.einsum("smq,mq->sm", b[:, codes[:, f], :], Z)
    return line


def _blocks(post, X, codes, intercept):
    n = X.shape[0]
    S = post.nchains * post.ndraws
    q_total = sum(len(v) for v in post.attrs["varying_index"])
    step = block_rows(S * max(q_total, 1), n)
    for start in range(0, n, step):
        sl = slice(start, min(n, start + step))
        block = np.asarray(X[sl], dtype=np.float64)
        full = np.hstack([np.ones((block.shape[0], 1)), block]) if intercept else block
        yield sl, _mean_block(post, full, codes[sl])


def crossed_pointwise_loglik(post, rows: CrossedRows, *, max_bytes=None) -> np.ndarray:
    """log p(y_i | theta^(c,d)) shaped (chains, draws, n), in blocks of rows after a size check."""
    Xr, yr, codes = rows.X, rows.y, rows.codes
    C, D, n = post.nchains, post.ndraws, yr.shape[0]
    check_size("log-likelihood", C, D, n, max_bytes)
    sigma2 = post["sigma2"].reshape(C * D, 1)
    const = -0.5 * (math.log(2.0 * math.pi) + np.log(sigma2))
    with no_huge_pages():
        out = np.empty((C * D, n))
    for sl, mean in _blocks(post, Xr, codes, post.attrs["intercept"]):
        out[:, sl] = const - 0.5 * (yr[sl] - mean) ** 2 / sigma2
    return out.reshape(C, D, n)


def crossed_predictive(post, rows: CrossedRows, *, seed=None, max_bytes=None) -> np.ndarray:
    """Replicated data (chains, draws, n): mean_i + sigma z, chain c's noise from its own generator."""
    Xr, yr, codes = rows.X, rows.y, rows.codes
    C, D, n = post.nchains, post.ndraws, yr.shape[0]
    check_size("posterior predictive", C, D, n, max_bytes)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    gens = [np.random.default_rng(s) for s in ss.spawn(C)]
    sd = np.sqrt(post["sigma2"].reshape(C * D, 1))
    with no_huge_pages():
        out = np.empty((C * D, n))
    for sl, mean in _blocks(post, Xr, codes, post.attrs["intercept"]):
        m = sl.stop - sl.start
        for c, g in enumerate(gens):
            d = slice(c * D, (c + 1) * D)
            out[d, sl] = mean[d] + sd[d] * g.standard_normal((D, m))
    return out.reshape(C, D, n)
