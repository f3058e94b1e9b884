"""Several grouping factors: the factors, their priors and the data-scaled defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...priors import (DEFAULT_A, DEFAULT_B_FRACTION, SCALE_PRIORS, SLOPE_SCALE, HalfCauchy, HuangWand, InvGamma,
                      InvWishart,
                      _finite_array, _vec, noise_prior_text, resolve_group_scale, resolve_noise_scale, scale_prior_text)
from ...reference import SIGMA_EXPONENTIAL, SIGMA_HALFNORMAL, SIGMA_HALFT, SIGMA_INVGAMMA, TAU_EXPONENTIAL, TAU_HALFNORMAL

TAU_INVGAMMA, TAU_HALFCAUCHY, TAU_INVWISHART = 0, 1, 2
# half-Student-t is the half-Cauchy kind with tau_a = nu (the inverse-gamma mixture with nu general)
_TAU_KINDS = {"InvGamma": TAU_INVGAMMA, "HalfCauchy": TAU_HALFCAUCHY, "HalfStudentT": TAU_HALFCAUCHY,
              "InvWishart": TAU_INVWISHART, "HalfNormal": TAU_HALFNORMAL, "Exponential": TAU_EXPONENTIAL,
              "HuangWand": TAU_INVWISHART}  # Huang-Wand: the inverse-Wishart kind with tau_a = nu (problem.py)
MAX_CHUNK_ELEMENTS = 1 << 23


# ---------------------------------------------------------------------------------------------
# user-facing specification


class Factor:
    """One grouping factor: its name (the key of its labels in ``groups``), the columns whose
    coefficients vary by its levels (default: the intercept only, as ``(1 | name)``), and the
    prior of its covariance Sigma_f: InvGamma, HalfCauchy, HalfNormal, HalfStudentT or Exponential per
    coordinate, or InvWishart or HuangWand (a correlated Sigma_f with half-t sds).  None: half-Cauchy with a
    data-scaled scale; HalfNormal(), HalfStudentT(nu), Exponential() and HuangWand() take that scale (the
    rate 1/scale)."""

    def __init__(self, name, varying=("intercept",), tau=None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"Factor: name must be a non-empty string, got {name!r}")
        if isinstance(varying, (str, int, np.integer)):
            varying = [varying]
        varying = list(varying)
        if not varying:
            raise ValueError(f"Factor {name!r}: varying is empty; at least one coefficient must vary by {name!r}")
        if len(set(map(str, varying))) != len(varying):
            raise ValueError(f"Factor {name!r}: varying lists a column twice: {varying}")
        if tau is not None and not isinstance(tau, (InvGamma, HalfCauchy, InvWishart, HuangWand) + SCALE_PRIORS):
            raise ValueError(f"Factor {name!r}: tau must be InvGamma, HalfCauchy, HalfNormal, HalfStudentT, Exponential, "
                             f"InvWishart or HuangWand, got {type(tau).__name__}")
        self.name = name
        self.varying = varying
        self.tau = tau

    def __repr__(self):
        return f"Factor({self.name!r}, varying={self.varying}, tau={self.tau!r})"


class CrossedPrior:
    """Priors of the population-level coefficients and of sigma^2; None means a data-scaled default.

    Each column k of X (intercept first) has one population coefficient (mu_k if it varies in
    the first factor, else alpha_k) with prior N(fixed_mean_k, fixed_scale_k^2); a scale of
    ``inf`` makes it flat.  Defaults as HierarchicalPrior: mean(y) and 0 for the means, 2.5
    sd(y)/sd(x_k) for slopes.  sigma: InvGamma on sigma^2 (default IG(1, var(y)/2)), or HalfNormal,
    HalfStudentT or Exponential on sigma (default scale sd(y), rate 1/sd(y)).
    """

    def __init__(self, fixed_mean=None, fixed_scale=None, sigma=None):
        name = "CrossedPrior"
        self.fixed_mean = _finite_array(fixed_mean, "fixed_mean", name)
        if self.fixed_mean is not None and not np.isfinite(self.fixed_mean).all():
            raise ValueError(f"{name}: fixed_mean must be finite")
        if fixed_scale is None:
            self.fixed_scale = None
        else:
            s = np.asarray(fixed_scale, dtype=float)
            if np.isnan(s).any() or not (s > 0).all():
                raise ValueError(f"{name}: fixed_scale must be positive (inf for a flat prior), got {fixed_scale!r}")
            self.fixed_scale = s
        if sigma is not None:
            try:
                resolve_noise_scale(sigma, 1.0)  # the type and scalar checks, before any data is read
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
        self.sigma = sigma


@dataclass
class ResolvedCrossedPrior:
    """Every number of the crossed model's prior, on the original coordinates."""

    names: list[str]
    fixed_mean: np.ndarray
    fixed_scale: np.ndarray
    factors: list[dict]  # name, varying, tau_kind and its numbers
    sigma_a: float = 1.0
    sigma_b: float = 1.0
    defaults: list[str] = field(default_factory=list)
    sigma: dict = field(default_factory=dict)  # a prior on sigma (sigma_kind and its numbers); empty: IG on sigma^2

    kind = "CrossedPrior"

    def noise_args(self):
        """The kernels' (sigma_a, sigma_b, sigma_kind, sigma_par): a prior on sigma is sampled from the flat-prior
        conditional IG((n - 1)/2, RSS/2), so (sigma_a, sigma_b) = (-1/2, 0) then (docs/scale-priors.md)."""
        kind = self.sigma.get("sigma_kind", "InvGamma")
        if kind == "InvGamma":
            return self.sigma_a, self.sigma_b, SIGMA_INVGAMMA, np.zeros(2)
        if kind == "HalfNormal":
            par = (0.5 / self.sigma["sigma_scale"] ** 2, 0.0)
        elif kind == "HalfStudentT":
            par = (self.sigma["sigma_nu"], self.sigma["sigma_nu"] * self.sigma["sigma_scale"] ** 2)
        else:
            par = (self.sigma["sigma_rate"], 0.0)
        code = {"HalfNormal": SIGMA_HALFNORMAL, "HalfStudentT": SIGMA_HALFT, "Exponential": SIGMA_EXPONENTIAL}[kind]
        return -0.5, 0.0, code, np.array(par, dtype=float)

    def to_dict(self) -> dict:
        fac = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in f.items()} for f in self.factors]
        return {"names": list(self.names), "fixed_mean": self.fixed_mean.tolist(),
                "fixed_scale": [float(x) if np.isfinite(x) else "inf" for x in self.fixed_scale],
                "factors": fac, "sigma_a": self.sigma_a, "sigma_b": self.sigma_b, "defaults": list(self.defaults),
                "sigma": dict(self.sigma)}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedCrossedPrior":
        arrays = ("tau_a", "tau_b", "tau_scale", "tau_nu", "tau_rate", "iw_scale")
        fac = [{k: (np.asarray(v, dtype=float) if k in arrays and v is not None else v) for k, v in f.items()}
               for f in d["factors"]]
        return cls(list(d["names"]), np.asarray(d["fixed_mean"], float),
                   np.asarray([np.inf if x == "inf" else x for x in d["fixed_scale"]], float), fac,
                   float(d["sigma_a"]), float(d["sigma_b"]), list(d.get("defaults", [])), dict(d.get("sigma", {})))

    def __str__(self) -> str:
        lines = ["Prior: CrossedPrior" + (f" (defaults scaled to the data: {', '.join(self.defaults)})"
                                          if self.defaults else "")]
        first = set(self.factors[0]["varying"])
        for k, n in enumerate(self.names):
            who = f"mu[{n}]" if n in first else f"alpha[{n}]"
            s = self.fixed_scale[k]
            lines.append(f"  {who} ~ " + ("flat" if not np.isfinite(s) else f"N({self.fixed_mean[k]:.4g}, {s:.4g}^2)"))
        for i, f in enumerate(self.factors):
            centre = "mu" if i == 0 else "0"
            lines.append(f"  b_{f['name']}[j] ~ N({centre}, Sigma_{f['name']})")
            if f["tau_kind"] == "InvGamma":
                for k, n in enumerate(f["varying"]):
                    lines.append(f"    tau2_{f['name']}[{n}] ~ IG({f['tau_a'][k]:.4g}, {f['tau_b'][k]:.4g})")
            elif f["tau_kind"] == "HalfCauchy":
                for k, n in enumerate(f["varying"]):
                    lines.append(f"    tau_{f['name']}[{n}] ~ half-Cauchy(0, {f['tau_scale'][k]:.4g})")
            elif f["tau_kind"] == "HuangWand":
                lines.append(f"    Sigma_{f['name']} ~ Huang-Wand(nu = {f['hw_nu']:.4g}), sds half-t with scales "
                             f"{np.array2string(np.asarray(f['tau_scale']), precision=4)}")
            elif f["tau_kind"] != "InvWishart":
                for k, n in enumerate(f["varying"]):
                    lines.append(f"    tau_{f['name']}[{n}] ~ {scale_prior_text(f['tau_kind'], k, f)}")
            else:
                lines.append(f"    Sigma_{f['name']} ~ IW({f['iw_df']:.4g}, Psi), diag(Psi) = "
                             f"{np.array2string(np.diag(f['iw_scale']), precision=4)}")
        lines.append(noise_prior_text(self.sigma or {"sigma_a": self.sigma_a, "sigma_b": self.sigma_b}))
        return "\n".join(lines)


def _tau_defaults(stats):
    """(default means, default scales, default tau scales) for every column, as HierarchicalPrior."""
    y_sd = math.sqrt(stats.y_var) if stats.y_var > 0 else max(abs(stats.y_mean), 1.0)
    x_sd = np.where(stats.x_sd > 0, stats.x_sd, stats.transform.scale)
    slope = SLOPE_SCALE * y_sd / x_sd
    mean, scale, tau = np.zeros(len(x_sd)), slope, y_sd / x_sd
    if stats.transform.intercept:
        icpt = math.sqrt((SLOPE_SCALE * y_sd) ** 2 + float(np.sum((stats.x_mean * slope) ** 2)))
        mean = np.concatenate([[stats.y_mean], mean])
        scale = np.concatenate([[icpt], scale])
        tau = np.concatenate([[y_sd], tau])
    return mean, scale, tau, y_sd


def resolve_crossed_prior(prior: CrossedPrior, factors, stats, names, vidx) -> ResolvedCrossedPrior:
    """Fill the defaults from the complete-pooling statistics; vidx[f] are factor f's column indices."""
    mean, scale, tau_default, y_sd = _tau_defaults(stats)
    p = len(names)
    defaults = []
    if prior.fixed_mean is None:
        defaults.append("fixed_mean")
        fixed_mean = mean
    else:
        fixed_mean = _vec(prior.fixed_mean, p, "fixed_mean")
    if prior.fixed_scale is None:
        defaults.append("fixed_scale")
        fixed_scale = scale
    else:
        fixed_scale = _vec(prior.fixed_scale, p, "fixed_scale")
    out = []
    for f, idx in zip(factors, vidx):
        q = len(idx)
        d = {"name": f.name, "varying": [names[i] for i in idx]}
        if f.tau is None or getattr(f.tau, "scale", 0) is None or getattr(f.tau, "rate", 0) is None:
            defaults.append(f"tau_{f.name}")
        d.update(resolve_group_scale(f.tau, q, tau_default[idx], who=f"Factor {f.name!r}: InvWishart"))
        out.append(d)
    noise = {}
    if prior.sigma is None:
        defaults.append("sigma")
        sa, sb = DEFAULT_A, DEFAULT_B_FRACTION * y_sd**2
    elif isinstance(prior.sigma, InvGamma):
        sa, sb = float(prior.sigma.a), float(prior.sigma.b)
    else:
        sa, sb = DEFAULT_A, DEFAULT_B_FRACTION * y_sd**2  # unused: the prior on sigma is in ``noise``
        noise = resolve_noise_scale(prior.sigma, y_sd)
        if getattr(prior.sigma, "scale", 0) is None or getattr(prior.sigma, "rate", 0) is None:
            defaults.append("sigma")
    return ResolvedCrossedPrior(list(names), fixed_mean, fixed_scale, out, sa, sb, defaults, noise)
