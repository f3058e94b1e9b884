r"""Posterior predictive checks (Gelman, Meng & Stern 1996; BDA3 ch. 6).

:func:`ppc` draws replicated data sets ``y_rep`` from the posterior predictive
distribution at the observed design (``post.predict(X, groups=groups)``, so flat
and hierarchical posteriors are handled alike), computes test statistics
``T(y)`` and ``T(y_rep)``, and reports the posterior predictive p-value

.. math:: p = \Pr\{T(y^{rep}) > T(y)\} + \tfrac12 \Pr\{T(y^{rep}) = T(y)\}

(the *mid-p* convention: ties count one half, so a discrete statistic whose
replicates often equal the observed value, e.g. the number of zeros, is not
pushed towards 1; for continuous statistics ties have probability zero and
``p = Pr{T(y_rep) >= T(y)}``).  Values near 0 or 1 say that the observed data are
unusual for the fitted model in the direction ``T`` measures.

Calibration
-----------
Posterior predictive p-values are **not** uniformly distributed when the model
is correct: the data are used twice (to fit and to check), so the p-values are
conservative, concentrated near 0.5 (Meng 1994; Bayarri & Berger 2000; Gelman
2013).  For a statistic the model fits directly -- the mean in a regression with
an intercept, or the sd -- ``p`` is close to 0.5 for every data set.  What does
hold under the model (data drawn from the prior predictive) is Meng's bound
``Pr(p <= a) <= 2a``, so a small p-value is never *more* frequent than twice its
nominal rate: extreme p-values are evidence of misfit, moderate ones are weak
evidence of fit.

``method="sampled"`` gives the *sampled posterior p-value* (Johnson 2007;
Gosselin 2011): one posterior draw ``theta~`` is chosen at random and all
replicates come from ``p(y | theta~)``.  Because ``(theta~, y)`` is then a draw
from the joint distribution, this p-value is exactly uniform when the data come
from the model's prior predictive (and approximately uniform under a fixed true
parameter when the posterior is close to normal), at the price of more Monte
Carlo noise.  Use it when a calibrated check is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["PPCResult", "ppc", "BUILTIN_STATISTICS"]

# Refuse to materialise more than this many replicated values at once (8 bytes each).
_MAX_VALUES = 500_000_000


def _sd(a):
    return a.std(axis=-1, ddof=1) if a.shape[-1] > 1 else np.full(a.shape[:-1], np.nan)


def _skew(a):
    from scipy import stats

    return stats.skew(a, axis=-1)


def _kurtosis(a):
    from scipy import stats

    return stats.kurtosis(a, axis=-1)  # excess kurtosis (0 for a normal sample)


def _iqr(a):
    q = np.quantile(a, [0.25, 0.75], axis=-1)
    return q[1] - q[0]


BUILTIN_STATISTICS: dict[str, Callable] = {
    "mean": lambda a: a.mean(axis=-1),
    "sd": _sd,
    "var": lambda a: _sd(a) ** 2,
    "min": lambda a: a.min(axis=-1),
    "max": lambda a: a.max(axis=-1),
    "median": lambda a: np.median(a, axis=-1),
    "iqr": _iqr,
    "skew": _skew,
    "kurtosis": _kurtosis,
}
"""Statistics accepted by name (vectorised over the last axis).  ``sd`` uses
``ddof=1``; ``kurtosis`` is the excess kurtosis; ``"q<percent>"`` (e.g. ``"q5"``,
``"q97.5"``) is also accepted and gives that quantile."""


def _resolve_statistics(statistics):
    """[(name, vectorised function (S, n) -> (S,))] with unique names."""
    # A top-level sequence is always a collection of statistics (so ("max", f) is two of them);
    # wrap a single (name, callable) pair in a list.
    if isinstance(statistics, str) or callable(statistics):
        statistics = [statistics]
    out, seen = [], set()
    for s in statistics:
        if isinstance(s, str):
            name = s
            if s in BUILTIN_STATISTICS:
                fn = BUILTIN_STATISTICS[s]
            elif s.startswith("q") and _is_number(s[1:]) and 0 <= float(s[1:]) <= 100:
                fn = (lambda q: (lambda a: np.quantile(a, q, axis=-1)))(float(s[1:]) / 100.0)
            else:
                raise ValueError(f"unknown statistic {s!r}; use one of {sorted(BUILTIN_STATISTICS)}, "
                                 "'q<percent>' such as 'q95', or a callable f(y) -> float")
        elif isinstance(s, tuple) and len(s) == 2 and callable(s[1]):
            name, fn = str(s[0]), _rowwise(s[1])
        elif callable(s):
            name, fn = getattr(s, "__name__", None) or repr(s), _rowwise(s)
        else:
            raise ValueError(f"a statistic must be a name, a callable f(y) -> float or a (name, callable) pair; "
                             f"got {s!r}")
        base, k = name, 2
        while name in seen:
            name = f"{base}_{k}"
            k += 1
        seen.add(name)
        out.append((name, fn))
    if not out:
        raise ValueError("statistics is empty")
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _rowwise(f):
    def apply(a):
        return np.array([float(f(row)) for row in a], dtype=float)

    return apply


def mid_p_value(rep: np.ndarray, obs: float) -> float:
    """Mid-p posterior predictive p-value Pr(T_rep > T_obs) + Pr(T_rep = T_obs) / 2 (NaN replicates dropped)."""
    rep = np.asarray(rep, dtype=float)
    rep = rep[~np.isnan(rep)]
    if rep.size == 0 or np.isnan(obs):
        return float("nan")
    return float(np.mean(rep > obs) + 0.5 * np.mean(rep == obs))


@dataclass
class PPCResult:
    """Result of :func:`ppc`.

    ``y_obs`` (n,), ``y_rep`` (S, n) replicated data sets; ``stats_obs[name]`` the
    observed statistic, ``stats_rep[name]`` (S,) its replicates, ``p_values[name]``
    the mid-p posterior predictive p-value (module docstring).  ``draw_index`` (S,)
    gives, for each replicate, the posterior draw used as ``chain * ndraws + draw``;
    ``method`` is ``"posterior"`` or ``"sampled"``.
    """

    y_obs: np.ndarray
    y_rep: np.ndarray
    stats_obs: dict
    stats_rep: dict
    p_values: dict
    method: str = "posterior"
    draw_index: np.ndarray | None = None
    y_name: str = "y"
    y_unit: str | None = None
    statistics: list = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.y_obs.shape[0]

    @property
    def n_rep(self) -> int:
        return self.y_rep.shape[0]

    def summary(self) -> str:
        """A small table: observed statistic, replicate mean and sd, p-value."""
        names = self.statistics or list(self.stats_obs)
        kind = ("posterior predictive" if self.method == "posterior"
                else "sampled posterior (one draw)")
        lines = [f"Posterior predictive check: {self.n_rep} replicated data sets of n = {self.n} "
                 f"({kind}); p = P(T(y_rep) > T(y)) + P(=)/2"]
        head = ["statistic", "T(y)", "mean T(y_rep)", "sd T(y_rep)", "p-value"]
        rows, flags = [], []
        for name in names:
            rep = self.stats_rep[name]
            p = self.p_values[name]
            sd = np.nanstd(rep, ddof=1) if np.sum(~np.isnan(rep)) > 1 else np.nan
            rows.append([name, _fmt(self.stats_obs[name]), _fmt(np.nanmean(rep)), _fmt(sd), fmt_p_value(p, self.n_rep)])
            flags.append("  <- extreme" if np.isfinite(p) and (p < 0.01 or p > 0.99) else "")
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        for r, flag in zip([head] + rows, [""] + flags):
            lines.append("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]) + flag)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={fmt_p_value(v, self.n_rep)}" for k, v in self.p_values.items())
        return f"<PPCResult {self.n_rep} x {self.n} ({self.method}); p-values: {ps}>"


def _fmt(v) -> str:
    v = float(v)
    return "nan" if not np.isfinite(v) else f"{v:.4g}"


def fmt_p_value(p, S) -> str:
    """A posterior predictive p-value of S replicates: '0.123', '<0.01' when none, '>0.99' when all exceed."""
    if not np.isfinite(p):
        return "nan"
    if p == 0.0:
        return f"<{1.0 / S:.2g}"
    if p == 1.0:
        return f">{1.0 - 1.0 / S:.4g}"
    return f"{p:.3f}"


def subset_posterior(post, flat_index):
    """A Posterior holding the draws ``flat_index`` (chain * ndraws + draw) as one chain, in that order."""
    from .posterior import Posterior

    flat_index = np.asarray(flat_index, dtype=np.int64)
    c, d = np.divmod(flat_index, post.ndraws)
    draws = {k: post[k][c, d][None] for k in post.names}
    return Posterior(draws, dims=post.dims, coords=post.coords, attrs=post.attrs)


def ppc(post, X, y, groups=None, statistics=("mean", "sd", "min", "max"), draws=None, seed=None,
        method: str = "posterior") -> PPCResult:
    """Posterior predictive check of a fitted model against the observed data.

    Parameters
    ----------
    post : Posterior
        A flat or hierarchical posterior that records its design (any posterior
        from :class:`LinearRegression` or :class:`HierarchicalRegression`).
    X, y : the data the model was fitted to (X without the intercept column).
    groups : group labels per row (hierarchical posteriors only).
    statistics : names (see :data:`BUILTIN_STATISTICS`, plus ``"q<percent>"``),
        callables ``f(y) -> float`` (named by ``__name__``; duplicates get a suffix)
        or ``(name, callable)`` pairs inside the sequence (``[("range", f)]``; a
        bare 2-tuple is read as two statistics).
    draws : int, optional
        Number S of replicated data sets: that many posterior draws chosen at
        random without replacement (seeded).  Default: every draw
        (S = chains x draws); then ``y_rep`` is exactly
        ``post.predict(X, groups=groups, seed=seed).y`` reshaped to (S, n).
    seed : int or None
        Seeds the choice of draws and the replicated noise.
    method : "posterior" (default) or "sampled"
        "sampled": all S replicates come from one randomly chosen posterior draw,
        giving the calibrated sampled posterior p-value (module docstring);
        S defaults to 1000 then.

    Returns
    -------
    PPCResult
    """
    if method not in ("posterior", "sampled"):
        raise ValueError(f"method must be 'posterior' or 'sampled', got {method!r}")
    stats = _resolve_statistics(statistics)
    y_obs = np.asarray(y, dtype=float)
    if y_obs.ndim != 1:
        y_obs = y_obs.reshape(-1) if y_obs.ndim == 2 and 1 in y_obs.shape else y_obs
    if y_obs.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {np.shape(y)}")
    if not np.isfinite(y_obs).all():
        raise ValueError("y contains NaN or inf")
    n = y_obs.shape[0]
    n_rows = np.shape(X)[0]
    if n_rows != n:
        raise ValueError(f"X has {n_rows} rows but y has {n}")
    total = post.nchains * post.ndraws
    if draws is not None:
        draws = int(draws)
        if draws < 1:
            raise ValueError(f"draws must be a positive integer, got {draws}")
    if method == "posterior":
        S = total if draws is None else min(draws, total)
    else:
        S = 1000 if draws is None else draws
    if S * n > _MAX_VALUES:
        raise ValueError(f"{S} replicated data sets of {n} rows need {S * n * 8 / 1e9:.1f} GB; "
                         "pass draws= to use fewer posterior draws")
    if method == "posterior" and S == total:
        pred = post.predict(X, groups=groups, seed=seed)
        idx = np.arange(total)
    else:
        rng = np.random.default_rng(seed)
        if method == "posterior":
            idx = np.sort(rng.choice(total, size=S, replace=False))
        else:
            idx = np.full(S, rng.integers(total))
        pred = subset_posterior(post, idx).predict(X, groups=groups, seed=int(rng.integers(2**63)))
    y_rep = np.ascontiguousarray(pred.y.reshape(-1, n))

    stats_obs, stats_rep, p_values = {}, {}, {}
    for name, fn in stats:
        t_obs = float(np.asarray(fn(y_obs[None, :])).reshape(-1)[0])
        t_rep = np.asarray(fn(y_rep), dtype=float).reshape(-1)
        stats_obs[name] = t_obs
        stats_rep[name] = t_rep
        p_values[name] = mid_p_value(t_rep, t_obs)
    units = post.attrs.get("units") if isinstance(post.attrs.get("units"), dict) else {}
    y_name = getattr(y, "name", None)
    return PPCResult(y_obs=y_obs, y_rep=y_rep, stats_obs=stats_obs, stats_rep=stats_rep, p_values=p_values,
                     method=method, draw_index=idx, y_name=str(y_name) if y_name is not None else "y",
                     y_unit=units.get("y"), statistics=[s[0] for s in stats])
