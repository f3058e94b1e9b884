"""How formulas and the command line reach the flat model (registry.FrontEnd)."""

from __future__ import annotations

from ...priors import Exchangeable, NormalInverseGamma, SemiConjugate
from ...registry import Bound, FrontEnd
from .model import LinearRegression

PRIOR_NAMES = {"semiconjugate": SemiConjugate, "nig": NormalInverseGamma, "conjugate": NormalInverseGamma,
               "normalinversegamma": NormalInverseGamma, "exchangeable": Exchangeable}


def _sigma(spec: dict):
    """The noise prior of the command line's ``sigma`` key: InvGamma on sigma^2 (--a/--b or --sigma invgamma:A,B),
    or --sigma halfnormal:S, halft:NU,S, exponential:RATE on sigma (checked by the prior's constructor)."""
    if spec.get("nu") is not None:
        raise ValueError("--nu is the Student-t degrees of freedom: use it with --family student")
    sigma = spec.get("sigma")
    if isinstance(sigma, str):
        raise ValueError(f"--sigma {sigma}: the Gaussian flat model takes invgamma:A,B, halfnormal:S, halft:NU,S or "
                         "exponential:RATE (jeffreys is for --family student)")
    return sigma


def prior_from_settings(spec: dict):
    """SemiConjugate / NormalInverseGamma / Exchangeable from the command line's keys, or None (the default)."""
    name = str(spec.get("prior", "semiconjugate")).lower().replace("-", "").replace("_", "")
    if name not in PRIOR_NAMES:
        raise ValueError(f"--prior {spec.get('prior')!r}: unknown prior; use one of {sorted(PRIOR_NAMES)}")
    if spec.get("group_variance"):
        raise ValueError("--group-variance needs --groups (a hierarchical model)")
    sigma = _sigma(spec)
    cls = PRIOR_NAMES[name]
    if cls is Exchangeable:
        if spec.get("mean") is not None or spec.get("scale") is not None:
            raise ValueError("the exchangeable prior learns the coefficients' mean and scale: use --mu-scale "
                             "and --tau instead of --mean/--scale")
        return Exchangeable(mu_scale=spec.get("mu_scale"), tau=spec.get("tau"), sigma=sigma)
    if spec.get("tau") is not None or spec.get("mu_scale") is not None:
        raise ValueError("--tau and --mu-scale belong to hierarchical (--groups) or exchangeable priors")
    if all(spec.get(k) is None for k in ("mean", "scale")) and sigma is None and cls is SemiConjugate:
        return None
    return cls(mean=spec.get("mean"), scale=spec.get("scale"), sigma=sigma)


def from_formula(design, prior) -> Bound:
    """``y ~ x1 + C(c)``: a LinearRegression with the formula's intercept."""
    return Bound(LinearRegression(prior=prior, intercept=design.intercept))


def build(prior, *, factors, varying, intercept) -> LinearRegression:
    if varying:
        raise ValueError("--varying needs --groups (a hierarchical model)")
    return LinearRegression(prior, intercept=intercept)


FRONT = FrontEnd(family="gaussian", factors=(0, 0), formula=from_formula, prior=prior_from_settings, build=build)
