"""Prior sensitivity: refit one flat regression under several priors and tabulate what moves.

:func:`prior_sensitivity` fits each prior in a list (or a dict label -> prior):

* :class:`NormalInverseGamma` priors in closed form with :func:`fit_conjugate` (exact means, sds,
  equal-tailed intervals from the Student-t / inverse-gamma marginals, and the log evidence
  log p(y), which compares the priors as models of the data);
* :class:`SemiConjugate` and :class:`Exchangeable` priors by Gibbs,
  ``LinearRegression(prior).sample(X, y, chains=..., draws=..., warmup=..., seed=seed)``.  Every
  Gibbs row uses the same seed (common random numbers, so differences between rows are not
  Monte Carlo noise of different streams) and, the kernel signature being the same, the Numba
  kernel compiled for the first fit is reused by the others.  Their log evidence is NaN (Gibbs
  output gives no evidence), and the table adds ``r_hat max`` / ``ess_bulk min`` over the
  tabulated quantities so an unconverged row is visible.

Every row also gets ``elpd_loo`` and ``elpd_loo se``, the expected log predictive density by
leave-one-out cross-validation: exact for closed-form rows (:func:`gibbsreg.analysis.exact_loo`),
PSIS-LOO from the draws for Gibbs rows (:func:`gibbsreg.analysis.loo`), so Gibbs-sampled priors,
which have no closed-form evidence, are compared on a predictive scale too.

:func:`prior_grid` builds the Cartesian product of prior settings with readable labels.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from . import diagnostics
from .analysis.comparison import exact_loo, loo as psis_loo
from .models.conjugate import fit_conjugate
from .data import as_design
from .models.flat import LinearRegression
from .parallel import run_map
from .priors import Exchangeable, NormalInverseGamma, SemiConjugate, _GaussianIGPrior

_KINDS = {"normalinversegamma": NormalInverseGamma, "nig": NormalInverseGamma, "conjugate": NormalInverseGamma,
          "semiconjugate": SemiConjugate, "semi": SemiConjugate, "exchangeable": Exchangeable}
_SHORT = {NormalInverseGamma: "NIG", SemiConjugate: "SemiConjugate", Exchangeable: "Exchangeable"}


class SensitivityTable:
    """Posterior summaries (columns) under each prior (rows).

    ``prior_labels`` (rows), ``columns`` (e.g. ``"beta[x1] mean"``, ``"beta[x1] sd"``,
    ``"sigma2 mean"``, ``"log_evidence"``, and for Gibbs rows ``"r_hat max"``, ``"ess_bulk min"``),
    ``values`` (n_priors, n_columns); ``lower`` / ``upper`` have the same shape and hold the
    equal-tailed ``prob`` credible interval of the quantity in the ``... mean`` columns (NaN
    elsewhere).  ``methods[i]`` is "closed form" or "Gibbs", ``priors[i]`` the prior as given,
    ``fits[i]`` the ConjugatePosterior or Posterior.  ``table["beta[x1] mean"]`` is a column
    (one value per prior), ``table.row(label)`` a dict, ``to_pandas()`` a DataFrame.
    """

    def __init__(self, prior_labels, columns, values, lower=None, upper=None, *, methods=None, priors=None,
                 fits=None, quantities=None, prob=0.95, header=""):
        self.prior_labels = list(prior_labels)
        self.columns = list(columns)
        self.values = np.asarray(values, dtype=float)
        shape = self.values.shape
        self.lower = np.full(shape, np.nan) if lower is None else np.asarray(lower, dtype=float)
        self.upper = np.full(shape, np.nan) if upper is None else np.asarray(upper, dtype=float)
        self.methods = list(methods or [""] * shape[0])
        self.priors = list(priors or [None] * shape[0])
        self.fits = list(fits or [None] * shape[0])
        self.quantities = list(quantities or [])
        self.prob = float(prob)
        self.header = header

    @property
    def index(self) -> list[str]:
        return self.prior_labels

    def __len__(self) -> int:
        return len(self.prior_labels)

    def __getitem__(self, column: str) -> np.ndarray:
        try:
            return self.values[:, self.columns.index(column)]
        except ValueError:
            raise KeyError(f"no column {column!r}; columns are {self.columns}") from None

    def row(self, label: str) -> dict:
        return dict(zip(self.columns, self.values[self.prior_labels.index(label)]))

    def interval(self, quantity: str) -> np.ndarray:
        """(n_priors, 2) credible-interval ends of ``quantity`` (e.g. "beta[x1]") under each prior."""
        j = self.columns.index(f"{quantity} mean")
        return np.column_stack([self.lower[:, j], self.upper[:, j]])

    def to_pandas(self, intervals: bool = False):
        """DataFrame indexed by prior label; ``intervals=True`` adds "<q> lower"/"<q> upper" after each mean."""
        import pandas as pd

        if not intervals:
            return pd.DataFrame(self.values, index=self.prior_labels, columns=self.columns)
        cols, data = [], []
        for j, c in enumerate(self.columns):
            cols.append(c)
            data.append(self.values[:, j])
            if c.endswith(" mean"):
                q = c[: -len(" mean")]
                cols += [f"{q} lower", f"{q} upper"]
                data += [self.lower[:, j], self.upper[:, j]]
        return pd.DataFrame(np.column_stack(data), index=self.prior_labels, columns=cols)

    def __str__(self) -> str:
        def fmt(col, v):
            if not np.isfinite(v):
                return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
            if col.startswith("ess"):
                return f"{v:.0f}"
            if col.startswith("r_hat"):
                return f"{v:.3f}"
            if col in ("log_evidence", "elpd_loo", "elpd_loo se"):
                return f"{v:.2f}"
            return f"{v:.4g}"

        keys = [f"[{i + 1}]" for i in range(len(self))]
        lines = [self.header] if self.header else []
        w = max([len(k) for k in keys] + [3])
        lw = max([len(s) for s in self.prior_labels] + [5])
        for k, lab, m in zip(keys, self.prior_labels, self.methods):
            lines.append(f"  {k.ljust(w)} {lab.ljust(lw)}  {m}")
        # transposed: one line per column, one column per prior (labels can be long)
        cells = [[fmt(c, self.values[i, j]) for i in range(len(self))] for j, c in enumerate(self.columns)]
        w0 = max([len(c) for c in self.columns] + [4])
        widths = [max(len(keys[i]), *(len(cells[j][i]) for j in range(len(self.columns))))
                  for i in range(len(self))] if self.columns else []
        lines.append(" " * w0 + "  " + "  ".join(k.rjust(wd) for k, wd in zip(keys, widths)))
        for c, row in zip(self.columns, cells):
            lines.append(c.ljust(w0) + "  " + "  ".join(s.rjust(wd) for s, wd in zip(row, widths)))
        lines.append(f"  ({100 * self.prob:g}% equal-tailed credible intervals of the 'mean' columns: "
                     ".lower, .upper, .interval(q), to_pandas(intervals=True))")
        return "\n".join(lines)

    __repr__ = __str__


# ---- labels and grids ------------------------------------------------------------------------


def _fmt_value(v) -> str:
    if v is None:
        return "default"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        return f"{float(v):g}"
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return f"{float(v):g}"
        return "[" + ",".join(f"{float(x):g}" for x in v.ravel()) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_fmt_value(x) for x in v) + "]"
    return repr(v)


def prior_label(prior) -> str:
    """A short readable label: ``NIG(scale=10, a=2, b=1)``, ``SemiConjugate()``, ``Exchangeable(tau=...)``."""
    cls = type(prior)
    name = _SHORT.get(cls, cls.__name__)
    if isinstance(prior, _GaussianIGPrior):
        keys = ("mean", "scale", "cov", "a", "b", "sigma")
    elif isinstance(prior, Exchangeable):
        keys = ("mu_mean", "mu_scale", "tau", "sigma", "exclude")
    else:
        return repr(prior)
    parts = []
    for k in keys:
        v = getattr(prior, k, None)
        if v is None:
            continue
        if isinstance(prior, Exchangeable) and ((k == "mu_mean" and v == 0.0) or (k == "exclude" and v == ["intercept"])):
            continue  # the defaults
        if k == "cov":
            parts.append("cov=<matrix>")
            continue
        parts.append(f"{k}={_fmt_value(v)}")
    return f"{name}({', '.join(parts)})"


def _resolve_kind(kind):
    if isinstance(kind, type):
        if kind not in _SHORT:
            raise ValueError(f"prior_grid: kind must be NormalInverseGamma, SemiConjugate or Exchangeable, got {kind.__name__}")
        return kind
    try:
        return _KINDS[str(kind).lower().replace("_", "").replace("-", "")]
    except KeyError:
        raise ValueError(f"prior_grid: unknown kind {kind!r}; use 'NormalInverseGamma' (or 'NIG'), "
                         "'SemiConjugate' or 'Exchangeable'") from None


def prior_grid(kind="NormalInverseGamma", **params) -> dict:
    """The Cartesian grid of priors of one ``kind`` over the listed settings, as {label: prior}.

    A list or tuple value is a grid axis (``scale=[1, 10, 100]``); any other value (a number, a
    NumPy array such as a per-coefficient scale vector, a hyperprior object, None for the
    default) is held fixed.  To vary a vector-valued setting, give a list of arrays.  The last
    axis varies fastest; labels name only the settings given, e.g. ``"NIG(scale=10, a=2, b=1)"``.

    >>> grid = prior_grid("NormalInverseGamma", scale=[1, 10], a=[1, 3], b=1.0)
    >>> list(grid)
    ['NIG(scale=1, a=1, b=1)', 'NIG(scale=1, a=3, b=1)', 'NIG(scale=10, a=1, b=1)', 'NIG(scale=10, a=3, b=1)']
    """
    cls = _resolve_kind(kind)
    names = list(params)
    axes = [list(v) if isinstance(v, (list, tuple)) else [v] for v in params.values()]
    for n, ax in zip(names, axes):
        if not ax:
            raise ValueError(f"prior_grid: {n} is an empty list")
    short = _SHORT[cls]
    grid = {}
    for combo in itertools.product(*axes):
        kwargs = dict(zip(names, combo))
        try:
            prior = cls(**kwargs)
        except TypeError as err:
            raise ValueError(f"prior_grid: {cls.__name__} does not accept these settings ({err})") from None
        label = f"{short}({', '.join(f'{k}={_fmt_value(v)}' for k, v in kwargs.items())})"
        grid[_unique(label, grid)] = prior
    return grid


def _unique(label: str, seen) -> str:
    if label not in seen:
        return label
    k = 2
    while f"{label} ({k})" in seen:
        k += 1
    return f"{label} ({k})"


# ---- the study -------------------------------------------------------------------------------


def _quantity_list(quantities, names: list[str]) -> list[str]:
    beta = [f"beta[{n}]" for n in names]
    if quantities is None:
        return beta + ["sigma2"]
    items = [quantities] if isinstance(quantities, str) else list(quantities)
    out = []
    for q in items:
        if q == "beta":
            out += beta
        elif q in beta or q in ("sigma2", "mu", "tau2"):
            out.append(q)
        elif q in names:
            out.append(f"beta[{q}]")
        else:
            raise ValueError(f"unknown quantity {q!r}; use 'beta', {beta}, the coefficient names, 'sigma2', "
                             "or 'mu' / 'tau2' (Exchangeable priors)")
    seen = set()
    return [q for q in out if not (q in seen or seen.add(q))]


def _draws_of(post, q: str, names: list[str]):
    if q.startswith("beta["):
        return post["beta"][:, :, names.index(q[5:-1])]
    return post[q] if q in post else None


def prior_sensitivity(X, y, priors, *, quantities=None, labels=None, intercept: bool = True, chains: int = 4,
                      draws: int = 1000, warmup: int = 500, seed=0, backend: str = "numba", prob: float = 0.95,
                      exact: bool = True, progress: bool = False, loo: bool = True, client=None) -> SensitivityTable:
    """Refit y ~ X under each prior and tabulate posterior means, sds and intervals.

    ``priors``: a list of priors or a dict {label: prior} (NormalInverseGamma, SemiConjugate or
    Exchangeable).  ``labels`` overrides the row labels (default: the dict keys, or
    :func:`prior_label`).  ``quantities``: None (every ``beta[...]`` and ``sigma2``) or a list of
    ``"beta"``, ``"beta[name]"``, coefficient names, ``"sigma2"``, ``"mu"``, ``"tau2"`` (the last two
    exist only under Exchangeable priors; NaN elsewhere).  NormalInverseGamma priors are solved in
    closed form (with ``log_evidence``) unless ``exact=False``, which samples them by Gibbs too;
    the other priors are sampled with ``chains``, ``draws``, ``warmup``, ``seed`` and ``backend``
    (the same seed for every prior: common random numbers).  ``client``: a distributed.Client to fit
    the priors on its workers, one task per prior (the same numbers as locally).
    ``loo=True`` adds ``elpd_loo`` and its standard error ``elpd_loo se`` (exact for closed-form
    rows, PSIS-LOO for Gibbs rows); NaN where leaving one row out makes the posterior improper.
    """
    if isinstance(priors, dict):
        given_labels, prior_list = [str(k) for k in priors], list(priors.values())
    elif isinstance(priors, (list, tuple)):
        prior_list = list(priors)
        given_labels = [prior_label(p) for p in prior_list]
    else:
        raise ValueError("priors must be a list of priors or a dict {label: prior}")
    if not prior_list:
        raise ValueError("priors is empty")
    for k, pr in enumerate(prior_list):
        if not isinstance(pr, (_GaussianIGPrior, Exchangeable)):
            raise ValueError(f"priors[{k}] must be NormalInverseGamma, SemiConjugate or Exchangeable, "
                             f"got {type(pr).__name__}")
    if labels is not None:
        labels = [str(s) for s in labels]
        if len(labels) != len(prior_list):
            raise ValueError(f"labels has {len(labels)} entries for {len(prior_list)} priors")
        given_labels = labels
    row_labels = []
    for lab in given_labels:
        row_labels.append(_unique(lab, row_labels))
    prob = float(prob)
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
    lo_q, hi_q = (1 - prob) / 2, (1 + prob) / 2

    design = as_design(X, y, intercept)  # validates once; names for the quantities
    names = design.names
    qs = _quantity_list(quantities, names)
    any_gibbs = any(not (exact and isinstance(pr, NormalInverseGamma)) for pr in prior_list)
    columns = [f"{q} {s}" for q in qs for s in ("mean", "sd")] + ["log_evidence"]
    if loo:
        columns += ["elpd_loo", "elpd_loo se"]
    if any_gibbs:
        columns += ["r_hat max", "ess_bulk min"]
    col = {c: j for j, c in enumerate(columns)}
    shape = (len(prior_list), len(columns))
    values, lower, upper = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    methods, fits = [], []

    jobs = [(pr, design.X, design.y, intercept, exact, chains, draws, warmup, seed, backend,
             progress and client is None) for pr in prior_list]
    fitted = run_map(_fit_prior, jobs, client=client, progress=progress and client is not None, label="priors")
    for i, (pr, fit) in enumerate(zip(prior_list, fitted)):
        if exact and isinstance(pr, NormalInverseGamma):
            fits.append(fit)
            methods.append("closed form")
            sd = np.sqrt(np.diag(fit.cov))
            ci = fit.credible_interval(prob)
            si = fit.sigma2_interval(prob)
            for q in qs:
                if q.startswith("beta["):
                    k = names.index(q[5:-1])
                    stats = (fit.mean[k], sd[k], ci[k, 0], ci[k, 1])
                elif q == "sigma2":
                    stats = (fit.sigma2_mean, fit.sigma2_sd, si[0], si[1])
                else:
                    continue
                j = col[f"{q} mean"]
                values[i, j], values[i, j + 1], lower[i, j], upper[i, j] = stats
            values[i, col["log_evidence"]] = fit.log_evidence
            if loo:
                try:
                    ex = exact_loo(fit)
                    values[i, col["elpd_loo"]], values[i, col["elpd_loo se"]] = ex.elpd_loo, ex.se
                except ValueError:
                    pass  # a row identifies a flat coefficient alone: no leave-one-out posterior
        else:
            post = fit
            fits.append(post)
            methods.append(f"Gibbs, {post.nchains} chains x {post.ndraws} draws")
            rh, ess = [], []
            summaries = {}
            for var in ("beta", "sigma2", "mu", "tau2"):
                if var in post:
                    x = post[var]
                    qv = np.quantile(x, [lo_q, hi_q], axis=(0, 1))
                    summaries[var] = (x.mean(axis=(0, 1)), x.std(axis=(0, 1), ddof=1), qv[0], qv[1])
            for q in qs:
                if q.startswith("beta["):
                    k = names.index(q[5:-1])
                    stats = tuple(s[k] for s in summaries["beta"])
                elif q in summaries:
                    stats = summaries[q]
                else:
                    continue
                j = col[f"{q} mean"]
                values[i, j], values[i, j + 1], lower[i, j], upper[i, j] = stats
                x = _draws_of(post, q, names)
                rh.append(float(diagnostics.rhat(x)))
                ess.append(float(diagnostics.ess_bulk(x)))
            if loo:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # the Pareto k warning: k is in the fit's loo
                    res = psis_loo(post, backend=backend)
                values[i, col["elpd_loo"]], values[i, col["elpd_loo se"]] = float(res["elpd_loo"]), float(res["se"])
            if rh:
                values[i, col["r_hat max"]] = np.nanmax(rh) if np.isfinite(rh).any() else np.nan
                values[i, col["ess_bulk min"]] = np.nanmin(ess) if np.isfinite(ess).any() else np.nan
    header = (f"Prior sensitivity: {len(prior_list)} priors, n = {design.n}, p = {design.p} "
              f"(log_evidence: closed form only; NaN for Gibbs rows and improper priors"
              + ("; elpd_loo: exact for closed-form rows, PSIS-LOO for Gibbs rows)" if loo else ")"))
    return SensitivityTable(row_labels, columns, values, lower, upper, methods=methods, priors=prior_list,
                            fits=fits, quantities=qs, prob=prob, header=header)


def _fit_prior(job):
    """One prior's fit (a task of its own on a cluster)."""
    pr, X, y, intercept, exact, chains, draws, warmup, seed, backend, progress = job
    if exact and isinstance(pr, NormalInverseGamma):
        return fit_conjugate(X, y, pr, intercept=intercept)
    return LinearRegression(pr, intercept=intercept).sample(X, y, chains=chains, draws=draws, warmup=warmup, seed=seed,
                                                            backend=backend, progress=progress)
