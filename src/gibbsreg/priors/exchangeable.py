"""The exchangeable prior on the slopes (a Bayesian ridge whose shrinkage is learned)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import _finite_array, _positive_scalar
from .beta import SLOPE_SCALE, ResolvedPrior, SemiConjugate
from .scales import HalfCauchy, InvGamma, resolve_noise_scale

class Exchangeable:
    """Exchangeable coefficients for one flat regression (a Bayesian ridge that learns its shrinkage).

    The coefficients not in ``exclude`` share beta_k ~ N(mu, tau^2) with
    mu ~ N(mu_mean, mu_scale^2) and tau an InvGamma prior on tau^2 or a HalfCauchy
    prior on tau; ``sigma``: InvGamma on sigma^2, or HalfNormal, HalfStudentT or Exponential on sigma
    (as SemiConjugate's).  Excluded coefficients keep the
    data-scaled SemiConjugate default (the intercept at the centred predictors).
    Exchangeability presumes the predictors share a scale: standardise them first.
    Defaults: mu_scale = 2.5 sd(y)/g, tau ~ HalfCauchy(sd(y)/g), g the geometric
    mean of the included columns' sds; sigma^2 ~ IG(1, var(y)/2).
    """

    def __init__(self, mu_mean=0.0, mu_scale=None, tau=None, sigma=None, exclude=("intercept",)):
        name = "Exchangeable"
        mm = _finite_array(mu_mean, "mu_mean", name)
        if mm is None or mm.ndim != 0 or not np.isfinite(mm):
            raise ValueError(f"{name}: mu_mean must be a finite number, got {mu_mean!r}")
        self.mu_mean = float(mm)
        self.mu_scale = _positive_scalar(mu_scale, "mu_scale", name)
        if tau is not None and not isinstance(tau, (InvGamma, HalfCauchy)):
            raise ValueError(f"{name}: tau must be InvGamma or HalfCauchy, got {type(tau).__name__}")
        if tau is not None and any(np.ndim(v) for v in vars(tau).values()):
            raise ValueError(f"{name}: tau's parameters must be scalars (one tau for all coefficients)")
        if sigma is not None:
            try:
                resolve_noise_scale(sigma, 1.0)  # the type and scalar checks
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
        self.tau = tau
        self.sigma = sigma
        self.exclude = [exclude] if isinstance(exclude, (str, int)) else list(exclude or [])

    def resolve(self, stats, names: list[str]) -> "ResolvedExchangeable":
        p = len(names)
        mask = np.ones(p, dtype=bool)
        for item in self.exclude:
            if isinstance(item, (int, np.integer)):
                if not 0 <= item < p:
                    raise ValueError(f"Exchangeable: exclude index {item} is out of range for p = {p}")
                mask[item] = False
            elif item in names:
                mask[names.index(item)] = False
            elif item == "intercept":
                continue  # no intercept in this model: nothing to exclude
            else:
                raise ValueError(f"Exchangeable: exclude names {item!r}, which is not a coefficient; coefficients are {names}")
        if mask.sum() < 2:
            raise ValueError("Exchangeable: at least two coefficients must share the exchangeable prior")
        fixed = SemiConjugate(sigma=self.sigma).resolve(stats, names)
        intercept = stats.transform.intercept
        C = np.eye(p)
        if intercept:
            C[0, 1:] = stats.x_mean
        # keep only the excluded rows of the default's centred-coordinate precision
        D = np.diag(C @ np.linalg.inv(fixed.precision) @ C.T)
        keep = (~mask).astype(float) / D
        precision = C.T @ np.diag(keep) @ C
        y_sd = math.sqrt(stats.y_var) if stats.y_var > 0 else max(abs(stats.y_mean), 1.0)
        x_sd = np.where(stats.x_sd > 0, stats.x_sd, stats.transform.scale)
        col_sd = np.concatenate([[1.0], x_sd]) if intercept else x_sd
        g = float(np.exp(np.mean(np.log(col_sd[mask]))))
        defaults = list(fixed.defaults)
        mu_scale = self.mu_scale
        if mu_scale is None:
            mu_scale = SLOPE_SCALE * y_sd / g
            defaults.append("mu_scale")
        if self.tau is None:
            tau_kind, tau_a, tau_b, tau_scale = "HalfCauchy", 0.0, 0.0, y_sd / g
            defaults.append("tau")
        elif isinstance(self.tau, InvGamma):
            tau_kind, tau_a, tau_b, tau_scale = "InvGamma", float(self.tau.a), float(self.tau.b), 0.0
        else:
            tau_kind, tau_a, tau_b, tau_scale = "HalfCauchy", 0.0, 0.0, float(self.tau.scale)
        fixed_part = ResolvedPrior(kind="Exchangeable", conjugate=False, names=list(names), mean=fixed.mean,
                                   precision=0.5 * (precision + precision.T), flat=np.zeros(p, dtype=bool),
                                   a=fixed.a, b=fixed.b, defaults=defaults, centred_intercept=fixed.centred_intercept,
                                   sigma_kind=fixed.sigma_kind, sigma_scale=fixed.sigma_scale, sigma_nu=fixed.sigma_nu,
                                   sigma_rate=fixed.sigma_rate)
        excluded_sd = np.where(mask, np.nan, np.sqrt(D))
        return ResolvedExchangeable(fixed_part, mask, self.mu_mean, float(mu_scale), tau_kind, tau_a, tau_b, tau_scale,
                                    excluded_sd)


@dataclass
class ResolvedExchangeable:
    """The exchangeable prior with every number filled in; ``fixed`` holds the excluded coefficients' prior."""

    fixed: ResolvedPrior
    mask: np.ndarray
    mu_mean: float
    mu_scale: float
    tau_kind: str
    tau_a: float
    tau_b: float
    tau_scale: float
    excluded_sd: np.ndarray

    kind = "Exchangeable"
    conjugate = False

    @property
    def names(self):
        return self.fixed.names

    @property
    def a(self):
        return self.fixed.a

    @property
    def b(self):
        return self.fixed.b

    def to_dict(self) -> dict:
        return {"fixed": self.fixed.to_dict(), "mask": self.mask.tolist(), "mu_mean": self.mu_mean,
                "mu_scale": self.mu_scale, "tau_kind": self.tau_kind, "tau_a": self.tau_a, "tau_b": self.tau_b,
                "tau_scale": self.tau_scale, "excluded_sd": self.excluded_sd.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedExchangeable":
        return cls(ResolvedPrior.from_dict(d["fixed"]), np.asarray(d["mask"], dtype=bool), d["mu_mean"],
                   d["mu_scale"], d["tau_kind"], d["tau_a"], d["tau_b"], d["tau_scale"],
                   np.asarray(d["excluded_sd"], dtype=float))

    def __str__(self) -> str:
        shared = [n for n, m in zip(self.names, self.mask) if m]
        lines = ["Prior: Exchangeable" + (f" (defaults scaled to the data: {', '.join(self.fixed.defaults)})" if self.fixed.defaults else ""),
                 f"  beta_k ~ N(mu, tau^2) for k in {shared}",
                 f"  mu ~ N({self.mu_mean:.4g}, {self.mu_scale:.4g}^2)",
                 f"  tau2 ~ IG({self.tau_a:.4g}, {self.tau_b:.4g})" if self.tau_kind == "InvGamma"
                 else f"  tau ~ half-Cauchy(0, {self.tau_scale:.4g})"]
        for k, n in enumerate(self.names):
            if not self.mask[k]:
                where = " (at the mean of the predictors)" if k == 0 and self.fixed.centred_intercept else ""
                lines.append(f"  {n}{where} ~ N({self.fixed.mean[k]:.4g}, {self.excluded_sd[k]:.4g}^2)")
        lines.append(self.fixed.noise_text())
        return "\n".join(lines)
