"""How formulas and the command line reach the one-factor hierarchical model (registry.FrontEnd), and the
group-covariance defaults a formula's group terms imply (shared with the crossed model)."""

from __future__ import annotations

import copy
import math

import numpy as np

from ...priors import InvGamma, InvWishart
from ...registry import Bound, FrontEnd
from .model import HierarchicalPrior, HierarchicalRegression

# dims of the hierarchical posterior: a factor named like one of them keeps the dim "group" in ArviZ
_POSTERIOR_DIMS = frozenset({"chain", "draw", "coef", "coef_", "pooled_coef", "group"})


def default_group_covariance(design, varying: list[str]):
    """The default prior of a correlated group covariance: Sigma ~ IW(q + 1, diag(s_k^2)).

    ``varying`` in design order; s_k = sd(y) for the intercept and sd(y)/sd(x_k) for a slope
    (the scales of the half-Cauchy default of the diagonal case; population sds, ddof=0).
    With df = q + 1 each correlation is uniform on (-1, 1) a priori and each
    tau_k^2 ~ IG(1, s_k^2 / 2) marginally.
    """
    y_sd = design.spread()
    if not y_sd > 0:
        y_sd = max(abs(design.mean()), 1.0)
    s = []
    for name in varying:
        if name == "intercept":
            s.append(y_sd)
            continue
        x_sd = design.spread(name)
        if not x_sd > 0:  # a constant column: its root mean square
            x_sd = abs(design.mean(name)) or 1.0
        s.append(y_sd / x_sd)
    s = np.asarray(s)
    return InvWishart(df=len(varying) + 1, scale=np.diag(s**2))


def design_order(design, columns: list[str]) -> list[str]:
    return sorted(columns, key=design.names.index)


def factor_tau(design, factor, tau):
    """The tau prior of one grouping factor and whether it is the default: the user's, or IW for a
    correlated term, or None (the per-column default)."""
    q = len(factor.columns)
    if tau is None:
        if factor.covariance == "full":
            return default_group_covariance(design, design_order(design, factor.columns)), True
        return None, False
    if isinstance(tau, InvWishart) and q > 1 and factor.covariance == "diagonal":
        raise ValueError(f"the coefficients of {factor.name} are independent ({', '.join(t.text for t in factor.terms)}"
                         f": || or separate terms) but the prior's tau is InvWishart (a full covariance); "
                         "use (... | g) for correlated coefficients or give tau=HalfCauchy/InvGamma")
    return tau, False


def from_formula(design, prior, **options) -> Bound:
    """``y ~ x + (1 + x | g)``: the group term's columns vary by g, the others are pooled; ``(e | g)`` with
    several columns is a correlated covariance (InvWishart default), ``(e || g)`` a tau per column."""
    if prior is None:
        prior = HierarchicalPrior()
    if not isinstance(prior, HierarchicalPrior):
        raise ValueError(f"a formula with a group term needs a HierarchicalPrior, got {type(prior).__name__}")
    factor = design.factors[0]
    tau, iw_default = factor_tau(design, factor, prior.tau)
    if tau is not prior.tau:
        prior = copy.copy(prior)
        prior.tau = tau
    model = HierarchicalRegression(prior=prior, varying=design_order(design, factor.columns),
                                   intercept=design.intercept, **options)
    attrs = {} if factor.name in _POSTERIOR_DIMS else {"arviz_dims": {"group": factor.name}}
    return Bound(model, attrs, ("tau (InvWishart)",) if iw_default else ())


def prior_from_settings(spec: dict):
    """A HierarchicalPrior from the command line's keys: mean and scale apply to mu and the pooled coefficients."""
    name = str(spec.get("prior", "semiconjugate")).lower()
    if name not in ("semiconjugate", "hierarchical"):
        raise ValueError(f"--prior {spec.get('prior')!r} is a flat-model prior; with --groups the prior is hierarchical "
                         "(set --tau, --mean, --scale, --a, --b)")
    a, b = spec.get("a"), spec.get("b")
    if (a is None) != (b is None):
        raise ValueError("give both --a and --b (the inverse-gamma prior on sigma^2), or neither")
    mean, scale, mu_scale = spec.get("mean"), spec.get("scale"), spec.get("mu_scale")
    for key, value in (("mean", mean), ("scale", scale)):
        if isinstance(value, list):
            raise ValueError(f"--{key} takes one number for a hierarchical model (it applies to every mean "
                             "and pooled coefficient)")
    if isinstance(scale, float) and math.isinf(scale):
        raise ValueError("--scale inf (a flat prior) is not available for hierarchical models")
    return HierarchicalPrior(mu_mean=mean, mu_scale=mu_scale if mu_scale is not None else scale,
                             tau=spec.get("tau"), sigma=None if a is None else InvGamma(a, b),
                             pooled_mean=mean, pooled_scale=scale, group_variance=bool(spec.get("group_variance")))


def build(prior, *, factors, varying, intercept) -> HierarchicalRegression:
    return HierarchicalRegression(prior, varying=varying, intercept=intercept)


FRONT = FrontEnd(family="gaussian", factors=(1, 1), formula=from_formula, prior=prior_from_settings, build=build,
                 options=("sampler",))
