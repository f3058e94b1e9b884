"""``gibbsreg.model(formula, data)``: a model bound to the design its formula builds.

The formula front end is a thin layer: it builds X (without the intercept column), y and
the group labels, hands them to the matrix API (:class:`LinearRegression`,
:class:`HierarchicalRegression`, or ``CrossedRegression`` for several grouping factors),
and attaches the JSON design spec to the Posterior (``post.attrs["formula"]``), which
``post.predict(newdata=...)`` replays on new rows.  Same seed, same draws as the matrix API.
"""

from __future__ import annotations

import copy

import numpy as np

from .design import FormulaDesign, build_design, require_formulaic

FLAT_OPTIONS = ()
HIER_OPTIONS = ("sampler",)


def default_group_covariance(design: FormulaDesign, varying: list[str]):
    """The default prior of a correlated group covariance: Sigma ~ IW(q + 1, diag(s_k^2)).

    ``varying`` in design order; s_k = sd(y) for the intercept and sd(y)/sd(x_k) for a slope
    (the scales of the half-Cauchy default of the diagonal case; population sds, ddof=0).
    With df = q + 1 each correlation is uniform on (-1, 1) a priori and each
    tau_k^2 ~ IG(1, s_k^2 / 2) marginally.
    """
    from ..priors import InvWishart

    y = design.y
    y_sd = float(np.std(y))
    if not y_sd > 0:
        y_sd = max(abs(float(np.mean(y))), 1.0)
    s = []
    for name in varying:
        if name == "intercept":
            s.append(y_sd)
            continue
        x = design.X[name].to_numpy(dtype=float)
        x_sd = float(np.std(x))
        if not x_sd > 0:
            x_sd = float(np.sqrt(np.mean(x**2))) or 1.0
        s.append(y_sd / x_sd)
    s = np.asarray(s)
    return InvWishart(df=len(varying) + 1, scale=np.diag(s**2))


def _design_order(design: FormulaDesign, columns: list[str]) -> list[str]:
    return sorted(columns, key=design.names.index)


def _factor_tau(design: FormulaDesign, factor, tau):
    """The tau prior of one grouping factor: the user's, or IW for a correlated term, or None (per-column default)."""
    from ..priors import InvWishart

    q = len(factor.columns)
    if tau is None:
        if factor.covariance == "full":
            return default_group_covariance(design, _design_order(design, factor.columns)), True
        return None, False
    if isinstance(tau, InvWishart) and q > 1 and factor.covariance == "diagonal":
        raise ValueError(f"the coefficients of {factor.name} are independent ({', '.join(t.text for t in factor.terms)}"
                         f": || or separate terms) but the prior's tau is InvWishart (a full covariance); "
                         "use (... | g) for correlated coefficients or give tau=HalfCauchy/InvGamma")
    return tau, False


def factor_arguments(design: FormulaDesign) -> list[dict]:
    """One dict per grouping factor: name, varying (coefficient names, design order), tau prior.

    The arguments of ``gibbsreg.Factor(name, varying=..., tau=...)`` for ``CrossedRegression``;
    tau is the IW default for a correlated term and None (the per-column default) otherwise.
    """
    out = []
    for f in design.factors:
        tau, _ = _factor_tau(design, f, None)
        out.append({"name": f.name, "varying": _design_order(design, f.columns), "tau": tau})
    return out


class FormulaModel:
    """A model bound to its formula design; ``.sample(...)`` returns a Posterior.

    ``model`` is the underlying :class:`LinearRegression` / :class:`HierarchicalRegression`
    (or ``CrossedRegression``); ``X``, ``y``, ``groups`` are the design it samples (X
    without the intercept column, named as formulaic names it), usable with ``gr.ppc``,
    ``gr.shrinkage`` and the plots.  ``design.spec`` is the JSON spec saved with the draws.
    """

    def __init__(self, design: FormulaDesign, model, iw_default: bool = False):
        self.design = design
        self.model = model
        self.iw_default = iw_default

    @property
    def formula(self) -> str:
        return self.design.spec["formula"]

    @property
    def X(self):
        return self.design.X

    @property
    def y(self) -> np.ndarray:
        return self.design.y

    @property
    def groups(self):
        """None (no group term), the labels (one grouping factor) or a dict name -> labels."""
        g = self.design.groups
        if not g:
            return None
        return next(iter(g.values())) if len(g) == 1 else dict(g)

    @property
    def kind(self) -> str:
        n = len(self.design.factors)
        return "flat" if n == 0 else ("hierarchical" if n == 1 else "crossed")

    def __repr__(self) -> str:
        return (f"<FormulaModel {self.formula!r}: {type(self.model).__name__}, n = {len(self.y)}, "
                f"coefficients {self.design.names}>")

    def sample(self, **kwargs):
        """Sample the bound design; keyword arguments as the model's ``sample`` (chains, draws, warmup,
        thin, seed, backend, progress, ...).  The Posterior carries the formula spec in
        ``attrs["formula"]``."""
        for bad in ("X", "y", "groups"):
            if bad in kwargs:
                raise ValueError(f"{bad} comes from the formula; sample() takes only sampling options")
        kind = self.kind
        if kind == "flat":
            post = self.model.sample(self.X, self.y, **kwargs)
        elif kind == "hierarchical":
            post = self.model.sample(self.X, self.y, self.groups, **kwargs)
        else:
            post = self.model.sample(self.X, self.y, groups=self.groups, **kwargs)
        post.attrs["formula"] = copy.deepcopy(self.design.spec)
        name = self.design.factors[0].name if kind == "hierarchical" else None
        if name is not None and name not in {"chain", "draw", "coef", "coef_", "pooled_coef"} | set(post.coords):
            post.attrs["arviz_dims"] = {"group": name}  # to_arviz names the group dimension after the factor
        if self.iw_default and hasattr(post.attrs.get("prior"), "defaults"):
            post.attrs["prior"].defaults.append("tau (InvWishart)")
        return post


def model(formula: str, data, prior=None, **options) -> FormulaModel:
    """Build a model from a Wilkinson/lme4 formula and a pandas DataFrame, ready to ``.sample()``.

    ``y ~ x1 + C(c) + np.log(x2)``: flat :class:`LinearRegression` (prior: SemiConjugate,
    NormalInverseGamma or Exchangeable).  ``y ~ x + (1 + x | g)``: :class:`HierarchicalRegression`
    with the columns of the group term varying by g (population means mu) and the other
    fixed columns pooled (alpha); prior: a HierarchicalPrior.  ``(e | g)`` with several
    columns is a correlated group covariance (InvWishart default, see
    :func:`default_group_covariance`, unless the prior's tau says otherwise); ``(e || g)``
    independent coefficients (a tau per column).  Several factors (``(1 | a) + (1 | b)``,
    ``(1 | a/b)``) need ``gibbsreg.CrossedRegression``.  ``options``: ``sampler`` for the
    hierarchical model.  Bad input raises ValueError here, before any sampling.
    """
    require_formulaic()
    if "intercept" in options:
        raise ValueError("the formula decides the intercept: write '0 +' or '- 1' to drop it")
    if "varying" in options:
        raise ValueError("the formula decides the varying columns: write them in the group term, (1 + x | g)")
    design = build_design(formula, data)
    factors = design.factors
    if not factors:
        from ..models.flat import LinearRegression

        _check_options(options, FLAT_OPTIONS, "a flat formula (no group term)")
        return FormulaModel(design, LinearRegression(prior=prior, intercept=design.intercept))
    if len(factors) == 1:
        from ..models.hierarchical import HierarchicalPrior, HierarchicalRegression

        _check_options(options, HIER_OPTIONS, "a formula with one grouping factor")
        if prior is None:
            prior = HierarchicalPrior()
        if not isinstance(prior, HierarchicalPrior):
            raise ValueError(f"a formula with a group term needs a HierarchicalPrior, got {type(prior).__name__}")
        tau, iw_default = _factor_tau(design, factors[0], prior.tau)
        if tau is not prior.tau:
            prior = copy.copy(prior)
            prior.tau = tau
        varying = _design_order(design, factors[0].columns)
        return FormulaModel(design, HierarchicalRegression(prior=prior, varying=varying, intercept=design.intercept,
                                                           **options), iw_default)
    from ..models.crossed import CrossedRegression as Crossed, Factor as FactorCls

    args = factor_arguments(design)
    model_ = Crossed(factors=[FactorCls(a["name"], varying=a["varying"], tau=a["tau"]) for a in args],
                     prior=prior, intercept=design.intercept, **options)
    return FormulaModel(design, model_, any(a["tau"] is not None for a in args))


def _check_options(options: dict, allowed: tuple, what: str) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for {what}; allowed: {list(allowed) or 'none'} "
                         "(sampling options go to .sample())")
