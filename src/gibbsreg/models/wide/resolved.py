"""A shrinkage prior (gibbsreg.models.wide.priors) with every number filled in, as a run saves it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


FIELDS = ("kind", "names", "penalized", "sigma_a", "sigma_b", "global_scale", "p0", "lasso_shape", "lasso_rate",
          "slab_scale", "slab_df", "standardize", "beta_draw", "keep", "defaults", "sigma_scaled")


@dataclass
class ResolvedShrinkage:
    """A shrinkage prior with every number filled in (saved with a run's attrs)."""

    kind: str  # "Horseshoe", "RegularizedHorseshoe" or "BayesianLasso"
    names: list
    penalized: list  # bool per coefficient
    sigma_a: float
    sigma_b: float
    global_scale: float = 1.0  # horseshoe: tau ~ C+(0, global_scale)
    p0: float | None = None
    lasso_shape: float = 1.0
    lasso_rate: float = 1.0
    slab_scale: float = 2.0  # regularised horseshoe: c^2 ~ IG(slab_df / 2, slab_df slab_scale^2 / 2)
    slab_df: float = 4.0
    standardize: bool = True
    beta_draw: str = "auto"
    keep: list | None = None
    defaults: list = field(default_factory=list)
    sigma_scaled: bool = True

    @property
    def global_name(self) -> str:
        return "lambda2" if self.kind == "BayesianLasso" else "tau2"

    @property
    def local_name(self) -> str:
        return "tau2" if self.kind == "BayesianLasso" else "lambda2"

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in FIELDS}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedShrinkage":
        d = {k: v for k, v in d.items() if k in FIELDS}
        d["penalized"] = [bool(v) for v in d["penalized"]]
        return cls(**d)

    def __str__(self) -> str:
        n_pen = int(sum(self.penalized))
        free = [n for n, pen in zip(self.names, self.penalized) if not pen]
        sig = "1/sigma^2 (Jeffreys)" if self.sigma_a == 0 else f"IG({self.sigma_a:.4g}, {self.sigma_b:.4g})"
        if self.kind != "BayesianLasso":
            reg = self.kind == "RegularizedHorseshoe"
            head = (f"Prior: {self.kind} on {n_pen} coefficients: beta_j s_j ~ N(0, sigma^2 tau^2 "
                    + ("c^2 lambda_j^2 / (c^2 + tau^2 lambda_j^2)), " if reg else "lambda_j^2), ")
                    + f"lambda_j ~ C+(0, 1), tau ~ C+(0, {self.global_scale:.4g})"
                    + (f" (from p0 = {self.p0:g})" if self.p0 is not None else "")
                    + (f", c^2 ~ IG({self.slab_df / 2:.4g}, {self.slab_df * self.slab_scale ** 2 / 2:.4g})"
                       if reg else ""))
        else:
            head = (f"Prior: Bayesian lasso on {n_pen} coefficients: beta_j s_j ~ N(0, sigma^2 tau_j^2), "
                    f"tau_j^2 ~ Exp(lambda^2/2), lambda^2 ~ Gamma({self.lasso_shape:.4g}, {self.lasso_rate:.4g})")
        lines = [head, f"  flat: {', '.join(free) if free else '(none)'}", f"  sigma^2 ~ {sig}"]
        if not self.sigma_scaled:
            lines.append("  (sigma-free form: drop sigma^2 from the variances above; scales in units of y)")
        if self.standardize:
            lines.append("  (s_j: the penalised columns' root mean square after the flat columns are projected out)")
        return "\n".join(lines)


def resolve(prior, names: list, unpenalized_idx: list, m: int, y_sd: float = 1.0) -> ResolvedShrinkage:
    """Fill in the data-scaled numbers: which coefficients are penalised, the global scale, the slab's scale
    and the lasso's rate (in units of sigma when the prior is sigma-scaled, of y = ``y_sd`` otherwise)."""
    who = type(prior).__name__
    p_all = len(names)
    penalized = [k not in set(unpenalized_idx) for k in range(p_all)]
    p = sum(penalized)
    if p == 0:
        raise ValueError(f"{who}: every coefficient is unpenalised; nothing to shrink")
    out = ResolvedShrinkage(prior.kind, list(names), penalized, prior.sigma_a, prior.sigma_b,
                            standardize=prior.standardize, beta_draw=prior.beta_draw, keep=prior.keep,
                            sigma_scaled=prior.sigma_scaled)
    if not prior.sigma_scaled and prior.sigma_a == 0 and p >= m:
        raise ValueError(f"{who}: with sigma_scaled=False and p = {p} >= n - r = {m} Jeffreys' prior on sigma^2 gives "
                         "an improper posterior (the coefficients can fit y exactly as sigma -> 0): give "
                         "sigma=gibbsreg.InvGamma(a, b)")
    unit = 1.0 if prior.sigma_scaled else float(y_sd)
    if prior.kind in ("Horseshoe", "RegularizedHorseshoe"):
        out.global_scale = unit
        if prior.kind == "RegularizedHorseshoe":
            out.slab_df = prior.slab_df
            out.slab_scale = prior.slab_scale if prior.slab_scale is not None else 2.0 * unit
            if prior.slab_scale is None:
                out.defaults.append("slab_scale")
        if prior.p0 is not None:
            if prior.p0 >= p:
                raise ValueError(f"{prior.kind}: p0 = {prior.p0:g} must be below the number of penalised "
                                 f"coefficients p = {p}")
            out.p0 = prior.p0
            out.global_scale = prior.p0 / (p - prior.p0) / math.sqrt(m) * unit
            out.defaults.append("global_scale")
        elif prior.global_scale is not None:
            out.global_scale = prior.global_scale
        else:
            out.defaults.append("global_scale")
    else:
        out.lasso_shape = prior.shape
        out.lasso_rate = prior.rate if prior.rate is not None else unit ** 2
        if prior.rate is None:
            out.defaults.append("lasso_rate")
    return out
