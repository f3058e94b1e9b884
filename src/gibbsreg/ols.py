"""Ordinary least squares beside a Bayesian flat-regression posterior: :func:`compare_ols`.

OLS (classical, normal errors, computed from scratch with NumPy and SciPy):

* estimate  b = argmin ||y - X b||^2 (``numpy.linalg.lstsq``; a rank-deficient X is an error);
* residual variance  s^2 = RSS / (n - p);
* standard errors  se_k = sqrt(s^2 [(X'X)^{-1}]_kk), with (X'X)^{-1} = R^{-1} R^{-T} from the
  QR factorisation X = QR (never forming X'X, so no digits are lost to squaring the condition number);
* ``prob`` confidence interval  b_k -/+ t_{n-p, (1+prob)/2} se_k  (``scipy.stats.t``).

With ``include_sigma2`` a last row compares sigma^2: OLS s^2, its normal-theory standard error
s^2 sqrt(2 / (n - p)), and the exact chi-square interval [(n-p) s^2 / chi2_{hi}, (n-p) s^2 / chi2_{lo}].

The posterior columns are the mean, sd and equal-tailed ``prob`` credible interval of each
coefficient: exact (Student-t marginals, inverse-gamma for sigma^2) for a :class:`ConjugatePosterior`,
from the pooled draws of every chain for a :class:`Posterior` (mean, sd with ddof=1, type-7
quantiles, as in ``Posterior.summary``).  ``diff_se`` = (posterior mean - OLS) / OLS se: how many
OLS standard errors the prior moved each estimate.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg as sla
from scipy import stats as sps

from .models.conjugate import ConjugatePosterior
from .data import as_design
from .posterior import Posterior, SummaryTable

COLUMNS = ["ols", "ols_se", "ols_lower", "ols_upper", "post_mean", "post_sd", "post_lower", "post_upper", "diff_se"]


class OLSComparison(SummaryTable):
    """OLS and posterior side by side, one row per coefficient (``beta[name]``) and optionally ``sigma2``.

    Columns (``.columns``): ``ols``, ``ols_se``, ``ols_lower``, ``ols_upper`` (the ``prob`` confidence
    interval), ``post_mean``, ``post_sd``, ``post_lower``, ``post_upper`` (the equal-tailed ``prob``
    credible interval) and ``diff_se`` = (post_mean - ols) / ols_se.  ``table["ols"]`` is a column,
    ``table.row("beta[x1]")`` a row as a dict, ``table.values`` the (rows, 9) array,
    ``table.to_pandas()`` a DataFrame.  Also: ``prob``, ``n``, ``p``, ``df_resid``, ``rss``,
    ``sigma2_ols`` (= RSS / (n - p)), ``rank`` and ``posterior_kind`` ("exact" or "draws").
    """

    def __init__(self, index, values, header, *, prob, n, p, rss, rank, posterior_kind, names):
        super().__init__(index, COLUMNS, values, header)
        self.prob = float(prob)
        self.n = int(n)
        self.p = int(p)
        self.df_resid = self.n - self.p
        self.rss = float(rss)
        self.sigma2_ols = self.rss / self.df_resid
        self.rank = int(rank)
        self.posterior_kind = posterior_kind
        self.names = list(names)

    @property
    def coefficients(self) -> "OLSComparison":
        """The table without the sigma2 row."""
        keep = [i for i, lab in enumerate(self.index) if lab != "sigma2"]
        return OLSComparison([self.index[i] for i in keep], self.values[keep], self.header, prob=self.prob, n=self.n,
                             p=self.p, rss=self.rss, rank=self.rank, posterior_kind=self.posterior_kind,
                             names=self.names)

    def __str__(self) -> str:
        pct = f"{100 * self.prob:g}%"
        notes = [f"ols_lower/upper: {pct} t confidence interval ({self.df_resid} df); "
                 f"post_lower/upper: {pct} equal-tailed credible interval "
                 + ("(exact)" if self.posterior_kind == "exact" else "(from the draws)"),
                 "diff_se = (posterior mean - OLS) / OLS standard error"]
        if "sigma2" in self.index:
            notes.append("sigma2 row: OLS = RSS/(n-p), se = s^2 sqrt(2/(n-p)), chi-square interval (normal errors)")
        return super().__str__() + "\n" + "\n".join("  " + s for s in notes)

    __repr__ = __str__


def ols_fit(X, y, intercept: bool = True, prob: float = 0.95) -> dict:
    """Classical OLS: ``beta``, ``se``, ``lower``, ``upper``, ``rss``, ``df``, ``sigma2``, ``cov``, ``rank``, ``names``."""
    prob = _check_prob(prob)
    design = as_design(X, y, intercept)
    A = design.full_matrix()
    n, p = A.shape
    if n <= p:
        raise ValueError(f"OLS needs more rows than coefficients to estimate the residual variance; "
                         f"got n = {n}, p = {p}")
    beta, _, rank, _ = np.linalg.lstsq(A, design.y, rcond=None)
    if rank < p:
        raise ValueError(f"X is rank deficient (rank {rank} < p = {p}, collinear columns in {design.names}): "
                         "the OLS estimate is not unique; remove the collinear columns")
    resid = design.y - A @ beta
    rss = float(resid @ resid)
    df = n - p
    s2 = rss / df
    R = np.linalg.qr(A, mode="r")
    R_inv = sla.solve_triangular(R, np.eye(p), lower=False)
    unscaled = R_inv @ R_inv.T  # (X'X)^{-1}
    unscaled = 0.5 * (unscaled + unscaled.T)
    se = np.sqrt(s2 * np.diag(unscaled))
    q = sps.t.ppf(0.5 + prob / 2, df)
    return {"beta": beta, "se": se, "lower": beta - q * se, "upper": beta + q * se, "rss": rss, "df": df,
            "sigma2": s2, "cov": s2 * unscaled, "rank": int(rank), "names": design.names, "n": n, "p": p}


def _check_prob(prob) -> float:
    prob = float(prob)
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
    return prob


def _posterior_columns(obj, prob: float, p: int):
    """Posterior mean, sd, lower, upper of beta (p,) and of sigma2, their names and kind."""
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    if isinstance(obj, ConjugatePosterior):
        ci = obj.credible_interval(prob)
        beta = (np.asarray(obj.mean, float), np.sqrt(np.diag(obj.cov)), ci[:, 0], ci[:, 1])
        si = obj.sigma2_interval(prob)
        sigma2 = (obj.sigma2_mean, obj.sigma2_sd, si[0], si[1])
        intercept = obj._transform.intercept if hasattr(obj, "_transform") else None
        return beta, sigma2, list(obj.names), "exact", intercept
    if isinstance(obj, Posterior):
        kind = obj.attrs.get("model_kind")
        if kind == "hierarchical" or ("beta" in obj and obj["beta"].ndim != 3):
            raise ValueError("compare_ols needs a flat-model posterior (LinearRegression or fit_conjugate); "
                             "this one is hierarchical: compare its group estimates with gibbsreg.shrinkage instead")
        if "beta" not in obj:
            raise ValueError(f"compare_ols needs posterior draws of 'beta'; the posterior has {obj.names}")
        b = obj["beta"]
        q = np.quantile(b, [lo, hi], axis=(0, 1))
        beta = (b.mean(axis=(0, 1)), b.std(axis=(0, 1), ddof=1), q[0], q[1])
        sigma2 = (np.nan,) * 4
        if "sigma2" in obj and obj["sigma2"].ndim == 2:
            s = obj["sigma2"]
            qs = np.quantile(s, [lo, hi])
            sigma2 = (float(s.mean()), float(s.std(ddof=1)), float(qs[0]), float(qs[1]))
        names = list(obj.coords.get("coef", obj.attrs.get("names", [f"x{k}" for k in range(b.shape[2])])))
        return beta, sigma2, names, "draws", obj.attrs.get("intercept")
    raise TypeError("compare_ols: posterior_or_fit must be a gibbsreg Posterior (flat model) or a ConjugatePosterior "
                    f"from fit_conjugate, got {type(obj).__name__}")


def _generic(names) -> bool:
    return all(n == "intercept" or (n.startswith("x") and n[1:].isdigit()) for n in names)


def compare_ols(X, y, posterior_or_fit, intercept: bool = True, prob: float = 0.95,
                include_sigma2: bool = True) -> OLSComparison:
    """OLS estimates, standard errors and ``prob`` confidence intervals beside the posterior's
    mean, sd and equal-tailed ``prob`` credible intervals, for each coefficient (and sigma^2).

    ``posterior_or_fit`` is a flat-model :class:`Posterior` (from ``LinearRegression.sample`` or
    ``ConjugatePosterior.sample``) or a :class:`ConjugatePosterior` (exact columns).  X, y and
    ``intercept`` must be those the posterior was fitted to.  A hierarchical posterior is a
    ValueError (there is no single OLS fit to compare it with; see :func:`gibbsreg.shrinkage`).
    """
    prob = _check_prob(prob)
    ols = ols_fit(X, y, intercept, prob)
    p = ols["p"]
    beta, sigma2, post_names, kind, post_intercept = _posterior_columns(posterior_or_fit, prob, p)
    if post_intercept is not None and bool(post_intercept) != bool(intercept):
        raise ValueError(f"the posterior was fitted with intercept={bool(post_intercept)} but compare_ols got "
                         f"intercept={bool(intercept)}; pass the same setting")
    if len(post_names) != p:
        raise ValueError(f"X gives {p} coefficients {ols['names']} but the posterior has {len(post_names)} "
                         f"{post_names}; pass the X, y and intercept the posterior was fitted to")
    if post_names != ols["names"] and not (_generic(post_names) or _generic(ols["names"])):
        raise ValueError(f"X's coefficients {ols['names']} differ from the posterior's {post_names}; "
                         "pass the X the posterior was fitted to")
    names = ols["names"] if _generic(post_names) else post_names
    rows = np.column_stack([ols["beta"], ols["se"], ols["lower"], ols["upper"], *beta,
                            (beta[0] - ols["beta"]) / ols["se"]])
    index = [f"beta[{n}]" for n in names]
    if include_sigma2:
        df, s2 = ols["df"], ols["sigma2"]
        se2 = s2 * np.sqrt(2.0 / df)
        lo = df * s2 / sps.chi2.ppf(0.5 + prob / 2, df)
        hi = df * s2 / sps.chi2.ppf(0.5 - prob / 2, df)
        rows = np.vstack([rows, [s2, se2, lo, hi, *sigma2, (sigma2[0] - s2) / se2]])
        index.append("sigma2")
    if kind == "exact":
        what = "exact conjugate NIG posterior"
    else:
        model = posterior_or_fit.attrs.get("model", "posterior")
        what = f"{model}, {posterior_or_fit.nchains} chains x {posterior_or_fit.ndraws} draws"
    header = f"OLS vs {what}; n = {ols['n']}, p = {p}, {100 * prob:g}% intervals"
    return OLSComparison(index, rows, header, prob=prob, n=ols["n"], p=p, rss=ols["rss"], rank=ols["rank"],
                         posterior_kind=kind, names=names)
