"""The Student-t model's priors: Gamma on the degrees of freedom nu, and the resolved prior a run records.

beta ~ N(m0, S0) and sigma^2 ~ IG(a, b) are the flat model's SemiConjugate prior (gibbsreg.priors, with its
data-scaled defaults); ``sigma="jeffreys"`` replaces the inverse gamma by p(sigma^2) ~ 1/sigma^2 (a = b = 0).
nu is fixed (a number) or learned under ``Gamma(shape, rate)``; the default, Gamma(2, 0.1), is Juarez & Steel
(2010)'s (and brms's): mean 20, mode 10, with mass down to nu ~ 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...priors import ResolvedPrior

DEFAULT_NU_SHAPE = 2.0
DEFAULT_NU_RATE = 0.1


def _positive(value, name: str, who: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: {name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{who}: {name} must be a positive finite number, got {value!r}")
    return v


class Gamma:
    """nu ~ Gamma(shape, rate): density proportional to nu^(shape - 1) exp(-rate nu), mean shape / rate."""

    def __init__(self, shape=DEFAULT_NU_SHAPE, rate=DEFAULT_NU_RATE):
        self.shape = _positive(shape, "shape", "Gamma")
        self.rate = _positive(rate, "rate", "Gamma")

    def __repr__(self):
        return f"Gamma(shape={self.shape:g}, rate={self.rate:g})"


def check_nu(nu):
    """(fixed nu or None, Gamma prior or None) from the model's ``nu`` argument."""
    if nu is None:
        return None, Gamma()
    if isinstance(nu, Gamma):
        return None, nu
    if isinstance(nu, bool):
        raise ValueError(f"StudentTRegression: nu must be a positive number or a Gamma prior, got {nu!r}")
    return _positive(nu, "nu", "StudentTRegression"), None


@dataclass
class ResolvedStudentT:
    """The Student-t model's prior with every number filled in: ``fixed`` (beta's Gaussian and sigma^2's IG, as
    the flat model resolves them), ``jeffreys`` (sigma^2 ~ 1/sigma^2 instead of the IG), and nu: ``nu_fixed``
    or Gamma(``nu_shape``, ``nu_rate``)."""

    fixed: ResolvedPrior
    jeffreys: bool = False
    nu_fixed: float | None = None
    nu_shape: float = DEFAULT_NU_SHAPE
    nu_rate: float = DEFAULT_NU_RATE
    defaults: list = field(default_factory=list)

    kind = "StudentT"
    conjugate = False

    @property
    def names(self):
        return self.fixed.names

    @property
    def mean(self):
        return self.fixed.mean

    @property
    def precision(self):
        return self.fixed.precision

    @property
    def flat(self):
        return self.fixed.flat

    @property
    def a(self) -> float:
        return 0.0 if self.jeffreys else self.fixed.a

    @property
    def b(self) -> float:
        return 0.0 if self.jeffreys else self.fixed.b

    @property
    def learn_nu(self) -> bool:
        return self.nu_fixed is None

    def to_dict(self) -> dict:
        return {"fixed": self.fixed.to_dict(), "jeffreys": self.jeffreys, "nu_fixed": self.nu_fixed,
                "nu_shape": self.nu_shape, "nu_rate": self.nu_rate, "defaults": list(self.defaults)}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedStudentT":
        return cls(ResolvedPrior.from_dict(d["fixed"]), bool(d["jeffreys"]),
                   None if d["nu_fixed"] is None else float(d["nu_fixed"]), float(d["nu_shape"]),
                   float(d["nu_rate"]), list(d.get("defaults", [])))

    def __str__(self) -> str:
        lines = str(self.fixed).splitlines()
        lines[0] = lines[0].replace(f"Prior: {self.fixed.kind}", "Prior: StudentT errors, beta " + self.fixed.kind)
        if self.jeffreys:
            lines[-1] = "  sigma^2 ~ 1/sigma^2 (Jeffreys)"
        lines.append(f"  nu = {self.nu_fixed:g} (fixed)" if self.nu_fixed is not None
                     else f"  nu ~ Gamma({self.nu_shape:g}, rate {self.nu_rate:g})")
        return "\n".join(lines)


def resolve(prior, nu, sigma, stats, names) -> ResolvedStudentT:
    """The resolved Student-t prior from the model's settings and the data's statistics."""
    fixed = prior.resolve(stats, names)
    nu_fixed, nu_prior = check_nu(nu)
    defaults = list(fixed.defaults) + (["nu"] if nu is None else [])
    return ResolvedStudentT(fixed, sigma == "jeffreys", nu_fixed,
                            DEFAULT_NU_SHAPE if nu_prior is None else nu_prior.shape,
                            DEFAULT_NU_RATE if nu_prior is None else nu_prior.rate, defaults)


def nu_prior_draws(prior: ResolvedStudentT, rng, size: int) -> np.ndarray:
    if prior.nu_fixed is not None:
        return np.full(size, prior.nu_fixed)
    return rng.standard_gamma(prior.nu_shape, size) / prior.nu_rate
