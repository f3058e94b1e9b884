"""How formulas and the command line reach the one-factor hierarchical model (registry.FrontEnd)."""

from __future__ import annotations

import copy
import math

from ...group_terms import design_order, factor_tau
from ...registry import Bound, FrontEnd
from .model import HierarchicalPrior, HierarchicalRegression

# dims of the hierarchical posterior: a factor named like one of them keeps the dim "group" in ArviZ
_POSTERIOR_DIMS = frozenset({"chain", "draw", "coef", "coef_", "pooled_coef", "group"})


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
    return Bound(model, attrs, ("tau (HuangWand)",) if iw_default else ())


def prior_from_settings(spec: dict):
    """A HierarchicalPrior from the command line's keys: mean and scale apply to mu and the pooled coefficients."""
    name = str(spec.get("prior", "semiconjugate")).lower()
    if name not in ("semiconjugate", "hierarchical"):
        raise ValueError(f"--prior {spec.get('prior')!r} is a flat-model prior; with --groups the prior is hierarchical "
                         "(set --tau, --mean, --scale, --a, --b)")
    if spec.get("nu") is not None:
        raise ValueError("--nu is the Student-t degrees of freedom: use it with --family student")
    sigma = spec.get("sigma")
    if sigma == "jeffreys":
        raise ValueError("--sigma jeffreys is for --family student; the hierarchical model takes invgamma, "
                         "halfnormal, halft or exponential")
    mean, scale, mu_scale = spec.get("mean"), spec.get("scale"), spec.get("mu_scale")
    for key, value in (("mean", mean), ("scale", scale)):
        if isinstance(value, list):
            raise ValueError(f"--{key} takes one number for a hierarchical model (it applies to every mean "
                             "and pooled coefficient)")
    if isinstance(scale, float) and math.isinf(scale):
        raise ValueError("--scale inf (a flat prior) is not available for hierarchical models")
    return HierarchicalPrior(mu_mean=mean, mu_scale=mu_scale if mu_scale is not None else scale,
                             tau=spec.get("tau"), sigma=sigma,
                             pooled_mean=mean, pooled_scale=scale, group_variance=bool(spec.get("group_variance")))


def build(prior, *, factors, varying, intercept) -> HierarchicalRegression:
    return HierarchicalRegression(prior, varying=varying, intercept=intercept)


FRONT = FrontEnd(family="gaussian", factors=(1, 1), formula=from_formula, prior=prior_from_settings, build=build,
                 options=("sampler",))
