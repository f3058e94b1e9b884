"""How formulas and the command line reach the row-weighted crossed models (registry.FrontEnd): family
"bernoulli" (option ``link``) or "student" (option ``nu``) with two or more grouping factors, or a nested term
``(1 | a/b)``; one factor stays with the families' hierarchical kinds (registry.select takes the narrowest)."""

from __future__ import annotations

from dataclasses import dataclass

from ...priors import HuangWand
from ...registry import Bound, FrontEnd
from ..crossed.front import factor_arguments, prior_from_settings
from ..crossed.priors import CrossedPrior, Factor
from ..robust.front import parse_nu
from .binary import CrossedBinaryRegression
from .student import CrossedStudentTRegression


def _factors(design, rescale_default: bool) -> tuple[list, tuple]:
    """The formula's factors; a correlated term's default Huang-Wand gets its scales from the model's defaults
    when ``rescale_default`` (the binary latent scale, not sd(y))."""
    out, defaults = [], ()
    for a in factor_arguments(design):
        tau = a["tau"]
        if tau is not None:
            defaults = ("tau (HuangWand)",)
            if rescale_default:
                tau = HuangWand(tau.nu)
        out.append(Factor(a["name"], varying=a["varying"], tau=tau))
    return out, defaults


def binary_formula(design, prior, link: str = "logit", sampler: str = "asis") -> Bound:
    """``y ~ x + (1 | a) + (1 | b)``, ``(1 | a/b)``, ``(1 + x | a) + (1 | b)`` with family="bernoulli"."""
    if prior is not None and not isinstance(prior, CrossedPrior):
        raise ValueError(f"a bernoulli formula with several factors takes a CrossedPrior, got {type(prior).__name__}")
    factors, defaults = _factors(design, True)
    return Bound(CrossedBinaryRegression(factors, link, prior, design.intercept, sampler), {}, defaults)


def binary_prior(spec: dict):
    """A CrossedPrior (mean and scale of the population coefficients) from the command line's keys."""
    if spec.get("sigma") is not None:
        raise ValueError("a prior on sigma (--sigma, --a/--b) does not apply to a binary model (it has no noise scale)")
    return prior_from_settings(spec)


def binary_build(prior, *, factors, varying, intercept, link: str = "logit", sampler: str = "asis"):
    _named_only(varying, intercept)
    return CrossedBinaryRegression([Factor(g) for g in factors], link, prior, sampler=sampler)


@dataclass
class StudentSettings:
    """The command line's keys for the crossed Student-t model: the CrossedPrior and nu."""

    prior: CrossedPrior | None = None
    nu: object = None


def student_formula(design, prior, nu=None, sampler: str = "asis") -> Bound:
    """The crossed formulas with family="student"; ``nu`` a number (fixed) or a Gamma prior (default learned)."""
    if isinstance(prior, StudentSettings):
        prior, nu = prior.prior, prior.nu if nu is None else nu
    if prior is not None and not isinstance(prior, CrossedPrior):
        raise ValueError(f"a student formula with several factors takes a CrossedPrior, got {type(prior).__name__}")
    factors, defaults = _factors(design, False)
    return Bound(CrossedStudentTRegression(factors, parse_nu(nu), prior, design.intercept, sampler), {}, defaults)


def student_prior(spec: dict):
    """StudentSettings from the command line's keys (mean, scale, sigma and nu), or None."""
    nu = parse_nu(spec.get("nu"))
    prior = prior_from_settings({k: v for k, v in spec.items() if k != "nu"})
    return None if prior is None and nu is None else StudentSettings(prior, nu)


def student_build(prior, *, factors, varying, intercept, sampler: str = "asis"):
    _named_only(varying, intercept)
    s = prior if isinstance(prior, StudentSettings) else StudentSettings(prior)
    return CrossedStudentTRegression([Factor(g) for g in factors], s.nu, s.prior, sampler=sampler)


def _named_only(varying, intercept):
    if varying or not intercept:
        raise ValueError("with several --groups every factor gets a varying intercept; for varying slopes or "
                         "no intercept write the model with --formula, e.g. \"y ~ x + (1 + x | a) + (1 | b)\"")


BINARY_FRONT = FrontEnd(family="bernoulli", factors=(1, None), formula=binary_formula, prior=binary_prior,
                        build=binary_build, options=("link", "sampler"))
STUDENT_FRONT = FrontEnd(family="student", factors=(1, None), formula=student_formula, prior=student_prior,
                         build=student_build, options=("nu", "sampler"))
