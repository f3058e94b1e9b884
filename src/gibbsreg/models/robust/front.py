"""How formulas and the command line reach the Student-t model (registry.FrontEnd, family "student")."""

from __future__ import annotations

from dataclasses import dataclass

from ...priors import InvGamma, SemiConjugate
from ...registry import Bound, FrontEnd
from .model import StudentTRegression
from .priors import Gamma


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
        raise ValueError("the student family is a flat model: --groups and --varying are not available for it yet")
    s = prior if isinstance(prior, Settings) else Settings(prior)
    return StudentTRegression(nu=s.nu, prior=s.prior, sigma=s.sigma, intercept=intercept)


FRONT = FrontEnd(family="student", factors=(0, 0), formula=from_formula, prior=prior_from_settings, build=build,
                 options=("nu", "sigma"))
