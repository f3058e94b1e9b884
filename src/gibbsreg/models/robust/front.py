"""How formulas and the command line reach the Student-t models (registry.FrontEnd, family "student"): the flat
one (no grouping factor) and the one-factor hierarchical one (``y ~ x + (1 + x | g)``, ``--groups g``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ...group_terms import default_group_covariance, design_order, factor_tau
from ...priors import InvGamma, InvWishart, SemiConjugate
from ... import registry
from ...registry import Bound, FrontEnd
from .hier import HierarchicalPrior, HierarchicalStudentTRegression
from .model import StudentTRegression
from .priors import Gamma

# dims of the hierarchical posterior: a factor named like one of them keeps the dim "group" in ArviZ
_POSTERIOR_DIMS = frozenset({"chain", "draw", "coef", "coef_", "pooled_coef", "group"})


@dataclass
class Settings:
    """The command line's prior keys for the Student-t model: beta and sigma^2's prior, nu, sigma's family."""

    prior: SemiConjugate | None = None
    nu: object = None
    sigma: str | None = None


def parse_nu(value):
    """nu from a setting: a number (fixed), ``"gamma:SHAPE,RATE"`` / {"gamma": [SHAPE, RATE]} (learned), or None."""
    if value is None or isinstance(value, (int, float, Gamma)):
        return value
    if isinstance(value, dict) and len(value) == 1 and str(next(iter(value))).lower() == "gamma":
        return Gamma(*next(iter(value.values())))
    text = str(value).strip()
    family, _, rest = text.partition(":")
    if family.lower() == "gamma" and rest:
        try:
            return Gamma(*[float(v) for v in rest.split(",")])
        except TypeError:
            raise ValueError(f"nu {value!r}: expected gamma:SHAPE,RATE") from None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"nu {value!r}: give a number (fixed) or gamma:SHAPE,RATE (learned)") from None


def prior_from_settings(spec: dict):
    """Settings from the command line's keys (prior, mean, scale, a, b, and nu / sigma when given), or None."""
    name = str(spec.get("prior", "semiconjugate")).lower().replace("-", "").replace("_", "")
    if name != "semiconjugate":
        raise ValueError(f"--prior {spec.get('prior')!r}: the student family takes the semiconjugate prior on beta")
    for key in ("tau", "mu_scale", "group_variance"):
        if spec.get(key):
            raise ValueError(f"--{key.replace('_', '-')} belongs to hierarchical (--groups) or exchangeable priors")
    nu, sigma = parse_nu(spec.get("nu")), spec.get("sigma")
    a = b = None
    if isinstance(sigma, InvGamma):  # --a/--b or --sigma invgamma:A,B: sigma^2's prior within SemiConjugate
        (a, b), sigma = sigma.ab(), None
    elif sigma not in (None, "jeffreys"):
        raise ValueError("the student family takes an inverse-gamma prior on sigma^2 (--sigma invgamma:A,B or "
                         "--a/--b) or --sigma jeffreys")
    given = a is not None or any(spec.get(k) is not None for k in ("mean", "scale"))
    prior = SemiConjugate(mean=spec.get("mean"), scale=spec.get("scale"), a=a, b=b) if given else None
    if prior is None and nu is None and sigma is None:
        return None
    StudentTRegression(nu=nu, prior=prior, sigma=sigma)  # checks them now, as a usage error
    return Settings(prior, nu, sigma)


def from_formula(design, prior, nu=None, sigma=None) -> Bound:
    """``y ~ x1 + x2`` with family="student": a StudentTRegression with the formula's intercept; ``nu`` a number
    (fixed) or a Gamma prior (default: learned under Gamma(2, 0.1)), ``sigma="jeffreys"`` as the model's."""
    if isinstance(prior, Settings):
        prior, nu, sigma = prior.prior, prior.nu if nu is None else nu, prior.sigma if sigma is None else sigma
    return Bound(StudentTRegression(nu=parse_nu(nu), prior=prior, sigma=sigma, intercept=design.intercept))


def build(prior, *, factors, varying, intercept) -> StudentTRegression:
    if factors or varying:
        raise ValueError("--varying needs --groups (a hierarchical model)")
    s = prior if isinstance(prior, Settings) else Settings(prior)
    return StudentTRegression(nu=s.nu, prior=s.prior, sigma=s.sigma, intercept=intercept)


@dataclass
class HierSettings:
    """The command line's prior keys for the hierarchical Student-t model: the HierarchicalPrior and nu."""

    prior: HierarchicalPrior | None = None
    nu: object = None


def hier_prior_from_settings(spec: dict):
    """HierSettings from the command line's keys: those of the hierarchical Gaussian model, and --nu."""
    spec = dict(spec)
    nu = parse_nu(spec.pop("nu", None))
    if spec.get("sigma") == "jeffreys":
        raise ValueError("--sigma jeffreys is for the flat student model; with --groups give invgamma, halfnormal, "
                         "halft or exponential")
    prior = registry.get("hierarchical").front.prior(spec)  # the Gaussian hierarchical model's keys
    HierarchicalStudentTRegression(nu=nu, prior=prior)  # checks them now, as a usage error
    return HierSettings(prior, nu)


def hier_formula(design, prior, nu=None, sigma=None, sampler: str = "asis") -> Bound:
    """``y ~ x + (1 + x | g)`` with family="student": the group term's columns vary by g, the others are pooled;
    a correlated term with several columns gets an inverse-Wishart default IW(q + 1, diag(s^2)) with the
    Gaussian model's scales s (each tau_k^2 ~ IG(1, s_k^2 / 2) marginally), ``(... || g)`` a tau per column.
    ``nu`` as StudentTRegression's; ``sigma`` a prior on the noise (InvGamma on sigma^2, or HalfNormal,
    HalfStudentT, Exponential on sigma) replacing the prior's."""
    if isinstance(prior, HierSettings):
        prior, nu = prior.prior, prior.nu if nu is None else nu
    prior = HierarchicalPrior() if prior is None else prior
    if not isinstance(prior, HierarchicalPrior):
        raise ValueError(f"a student formula with a group term needs a HierarchicalPrior, got {type(prior).__name__}")
    if sigma is not None:
        if isinstance(sigma, str):
            raise ValueError(f"sigma={sigma!r}: with a group term give a prior (InvGamma, HalfNormal, HalfStudentT, "
                             "Exponential)")
        prior = copy.copy(prior)
        prior.sigma = HierarchicalPrior(sigma=sigma).sigma
    factor = design.factors[0]
    varying = design_order(design, factor.columns)
    if prior.tau is None and factor.covariance == "full" and len(varying) > 1:
        s = default_group_covariance(design, varying).scale
        tau, defaults = InvWishart(len(varying) + 1, np.diag(np.asarray(s) ** 2)), ("tau (InvWishart)",)
    else:
        tau, defaults = factor_tau(design, factor, prior.tau)[0], ()
    if tau is not prior.tau:
        prior = copy.copy(prior)
        prior.tau = tau
    model = HierarchicalStudentTRegression(nu=parse_nu(nu), prior=prior, varying=varying, intercept=design.intercept,
                                           sampler=sampler)
    attrs = {} if factor.name in _POSTERIOR_DIMS else {"arviz_dims": {"group": factor.name}}
    return Bound(model, attrs, defaults)


def hier_build(prior, *, factors, varying, intercept, sampler: str = "asis") -> HierarchicalStudentTRegression:
    s = prior if isinstance(prior, HierSettings) else HierSettings(prior)
    return HierarchicalStudentTRegression(nu=s.nu, prior=s.prior, varying=varying, intercept=intercept,
                                          sampler=sampler)


FRONT = FrontEnd(family="student", factors=(0, 0), formula=from_formula, prior=prior_from_settings, build=build,
                 options=("nu", "sigma"))
HIER_FRONT = FrontEnd(family="student", factors=(1, 1), formula=hier_formula, prior=hier_prior_from_settings,
                      build=hier_build, options=("nu", "sigma", "sampler"))
