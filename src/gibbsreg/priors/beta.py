"""Priors on the coefficients and the noise of the flat models (NormalInverseGamma, SemiConjugate) and the
resolved prior the kernels read."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._checks import _broadcast, _finite_array, _positive_scalar, validate_cov
from .scales import InvGamma, noise_prior_text, resolve_noise_scale, scale2_draws

SLOPE_SCALE = 2.5
DEFAULT_A = 1.0
DEFAULT_B_FRACTION = 0.5  # b = var(y) / 2
FLAT_SIGMA_AB = (-0.5, 0.0)  # IG(a, b) on sigma^2 with these is p(sigma) ∝ 1


class _GaussianIGPrior:
    """Shared validation of a Gaussian prior on beta and the noise prior: IG(a, b) on sigma^2 (a=, b= or
    sigma=InvGamma(a, b)), or for the semi-conjugate prior sigma=HalfNormal(s), HalfStudentT(nu, s) or
    Exponential(rate) on sigma (docs/scale-priors.md, "The flat model's sigma")."""

    conjugate: bool = False

    def __init__(self, mean=None, scale=None, a=None, b=None, cov=None, sigma=None):
        name = type(self).__name__
        if sigma is not None:
            try:
                resolve_noise_scale(sigma, 1.0)  # the type and scalar checks, before any data is read
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
            if a is not None or b is not None:
                raise ValueError(f"{name}: give either a and b or sigma, not both")
            if isinstance(sigma, InvGamma):
                a, b = sigma.ab()
                sigma = None
            elif self.conjugate:
                raise ValueError(f"{name}: the conjugate prior needs sigma^2 ~ InvGamma; {type(sigma).__name__} "
                                 "on sigma is for SemiConjugate")
        self.sigma = sigma
        self.mean = _finite_array(mean, "mean", name)
        if self.mean is not None and not np.isfinite(self.mean).all():
            raise ValueError(f"{name}: mean must be finite")
        self.scale = _finite_array(scale, "scale", name)
        if self.scale is not None and not (self.scale > 0).all():
            raise ValueError(f"{name}: scale must be positive (np.inf gives a flat prior), got {scale!r}")
        if scale is not None and cov is not None:
            raise ValueError(f"{name}: give either scale or cov, not both")
        self.cov = None if cov is None else validate_cov(cov, None, "cov", name)
        self.a = _positive_scalar(a, "a", name)
        self.b = _positive_scalar(b, "b", name)

    def __repr__(self):
        parts = []
        for key in ("mean", "scale", "a", "b", "cov", "sigma"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={np.array2string(np.asarray(value), precision=4) if isinstance(value, np.ndarray) else value}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def resolve(self, stats, names: list[str]) -> "ResolvedPrior":
        """Fill the defaults from the data summaries in ``stats`` and check shapes against p."""
        name = type(self).__name__
        p = len(names)
        intercept = stats.transform.intercept
        y_sd = math.sqrt(stats.y_var) if stats.y_var > 0 else max(abs(stats.y_mean), 1.0)
        a = self.a if self.a is not None else DEFAULT_A
        b = self.b if self.b is not None else DEFAULT_B_FRACTION * y_sd**2
        noise_scale2 = b / a if self.conjugate else 1.0
        defaults = []
        noise = {}
        if self.sigma is not None:
            # sigma^2's conditional under a flat prior on sigma is IG((n - 1)/2, RSS/2): the kernels draw it
            # with (a, b) = (-1/2, 0) and accept by the prior's ratio
            noise = resolve_noise_scale(self.sigma, y_sd)
            a, b = FLAT_SIGMA_AB
            if getattr(self.sigma, "scale", 0) is None or getattr(self.sigma, "rate", 0) is None:
                defaults.append("sigma")
        elif self.a is None or self.b is None:
            defaults.append("sigma2")

        if self.mean is None:
            mean = np.zeros(p)
            if intercept and self.scale is None and self.cov is None:
                mean[0] = stats.y_mean
            defaults.append("mean")
        else:
            mean = _broadcast(self.mean, p, "mean", name)

        x_sd = np.where(stats.x_sd > 0, stats.x_sd, stats.transform.scale)
        centred_var = None
        if self.cov is not None:
            cov = validate_cov(self.cov, p, "cov", name)
            precision = np.linalg.inv(cov)
            flat = np.zeros(p, dtype=bool)
        elif self.scale is not None:
            scale = _broadcast(self.scale, p, "scale", name)
            flat = ~np.isfinite(scale)
            precision = np.diag(np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, scale) ** 2))
        else:
            defaults.append("scale")
            flat = np.zeros(p, dtype=bool)
            sd_gamma = SLOPE_SCALE * y_sd / x_sd
            if intercept:
                sd_gamma = np.concatenate([[SLOPE_SCALE * y_sd], sd_gamma])
            # precision on beta of N(., diag(sd_gamma^2)) on the centred coordinates C beta
            C = np.eye(p)
            if intercept:
                C[0, 1:] = stats.x_mean
            precision = C.T @ np.diag(noise_scale2 / sd_gamma**2) @ C
            centred_var = sd_gamma**2 / noise_scale2
        precision = 0.5 * (precision + precision.T)
        return ResolvedPrior(
            kind=name,
            conjugate=self.conjugate,
            names=list(names),
            mean=mean,
            precision=precision,
            flat=flat,
            a=float(a),
            b=float(b),
            defaults=defaults,
            centred_intercept=bool(intercept and "scale" in defaults),
            centred_var=centred_var,
            centre=stats.x_mean.copy() if centred_var is not None else None,
            **noise,
        )


class NormalInverseGamma(_GaussianIGPrior):
    """Conjugate prior: beta | sigma^2 ~ N(mean, sigma^2 V0), sigma^2 ~ IG(a, b).

    V0 = diag(scale^2) or ``cov`` (p, p).  None gives the data-scaled default
    described in :mod:`gibbsreg.priors`.  ``mean=None`` is 0, except that with the
    default covariance (scale and cov both None) the intercept's mean is mean(y);
    give ``mean`` explicitly when setting ``scale`` on an uncentred response.
    """

    conjugate = True


class SemiConjugate(_GaussianIGPrior):
    """Semi-conjugate prior: beta ~ N(mean, S0) independent of sigma^2 ~ IG(a, b).

    ``sigma=HalfNormal(s)``, ``HalfStudentT(nu, s)`` or ``Exponential(rate)`` puts that prior on sigma instead
    (a missing s is sd(y), a missing rate 1/sd(y)); ``sigma=InvGamma(a, b)`` is a=, b=.

    S0 = diag(scale^2) or ``cov`` (p, p).  None gives the data-scaled default
    described in :mod:`gibbsreg.priors`.  ``mean=None`` is 0, except that with the
    default covariance (scale and cov both None) the intercept's mean is mean(y).
    """

    conjugate = False


@dataclass
class ResolvedPrior:
    """A prior with every number filled in, on the original (beta) coordinates.

    ``precision`` is V0^{-1} for the conjugate prior and S0^{-1} for the
    semi-conjugate one; coefficients with ``flat`` set have zero prior precision.
    ``sigma_kind`` is "InvGamma" (sigma^2 ~ IG(a, b)) or "HalfNormal" (sigma_scale), "HalfStudentT"
    (sigma_nu, sigma_scale), "Exponential" (sigma_rate) on sigma; for those (a, b) = (-1/2, 0), the flat
    prior on sigma whose conditional the kernels propose from.
    """

    kind: str
    conjugate: bool
    names: list[str]
    mean: np.ndarray
    precision: np.ndarray
    flat: np.ndarray
    a: float
    b: float
    defaults: list[str] = field(default_factory=list)
    centred_intercept: bool = False
    # Default priors are diagonal on the centred coordinates u = C beta (C shifts the intercept by
    # ``centre`` times the slopes), with variances ``centred_var``; kept so the sampler can use the
    # exact diagonal form instead of re-deriving it from ``precision`` (which loses digits when
    # mean(x) >> sd(x)).
    centred_var: np.ndarray | None = None
    centre: np.ndarray | None = None
    sigma_kind: str = "InvGamma"
    sigma_scale: float | None = None
    sigma_nu: float | None = None
    sigma_rate: float | None = None

    @property
    def p(self) -> int:
        return len(self.names)

    @property
    def cov(self) -> np.ndarray:
        """V0 (conjugate) or S0; infinite diagonal on flat coefficients."""
        if self.flat.any():
            C = np.zeros((self.p, self.p))
            keep = ~self.flat
            C[np.ix_(keep, keep)] = np.linalg.inv(self.precision[np.ix_(keep, keep)])
            C[self.flat, self.flat] = np.inf
            return C
        return np.linalg.inv(self.precision)

    def to_dict(self) -> dict:
        noise = {} if self.sigma_kind == "InvGamma" else {  # absent for IG: older runs' fingerprints hold
            "sigma_kind": self.sigma_kind, "sigma_scale": self.sigma_scale, "sigma_nu": self.sigma_nu,
            "sigma_rate": self.sigma_rate}
        return {**noise, 
            "kind": self.kind,
            "conjugate": self.conjugate,
            "names": self.names,
            "mean": self.mean.tolist(),
            "precision": self.precision.tolist(),
            "flat": self.flat.tolist(),
            "a": self.a,
            "b": self.b,
            "defaults": self.defaults,
            "centred_intercept": self.centred_intercept,
            "centred_var": None if self.centred_var is None else self.centred_var.tolist(),
            "centre": None if self.centre is None else self.centre.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedPrior":
        return cls(
            kind=d["kind"],
            conjugate=bool(d["conjugate"]),
            names=list(d["names"]),
            mean=np.asarray(d["mean"], dtype=float),
            precision=np.asarray(d["precision"], dtype=float),
            flat=np.asarray(d["flat"], dtype=bool),
            a=float(d["a"]),
            b=float(d["b"]),
            defaults=list(d.get("defaults", [])),
            centred_intercept=bool(d.get("centred_intercept", False)),
            centred_var=None if d.get("centred_var") is None else np.asarray(d["centred_var"], dtype=float),
            centre=None if d.get("centre") is None else np.asarray(d["centre"], dtype=float),
            sigma_kind=d.get("sigma_kind", "InvGamma"),
            sigma_scale=d.get("sigma_scale"),
            sigma_nu=d.get("sigma_nu"),
            sigma_rate=d.get("sigma_rate"),
        )

    def __str__(self) -> str:
        sd = np.sqrt(np.diag(self.cov))
        given = "sigma^2 *" if self.conjugate else ""
        lines = [f"Prior: {self.kind}" + (" (defaults scaled to the data: " + ", ".join(self.defaults) + ")" if self.defaults else "")]
        width = max(len(n) for n in self.names)
        for k, name in enumerate(self.names):
            if self.flat[k]:
                lines.append(f"  {name:<{width}} ~ flat (improper)")
            else:
                lines.append(f"  {name:<{width}} ~ N({self.mean[k]:.4g}, {given}{sd[k]:.4g}^2)")
        if self.centred_intercept:
            lines.append("  (the intercept's prior is set on the intercept at the mean of the predictors, so it is correlated with the slopes)")
        lines.append(self.noise_text())
        return "\n".join(lines)

    def noise_text(self) -> str:
        """The printed noise prior's line."""
        if self.sigma_kind == "InvGamma":
            return f"  sigma^2 ~ IG({self.a:.4g}, {self.b:.4g})"
        return noise_prior_text(self.__dict__)

    def sigma2_draws(self, rng, draws: int) -> np.ndarray:
        """(draws,) draws of sigma^2 from its prior."""
        if self.sigma_kind == "InvGamma":
            return self.b / rng.standard_gamma(self.a, draws)
        return scale2_draws(rng, self.sigma_kind, self.sigma_scale, self.sigma_nu, self.sigma_rate, draws, 1)[:, 0]
