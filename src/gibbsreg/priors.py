"""Priors of the flat regression models and their data-scaled defaults.

Defaults (any argument left as None), in the spirit of rstanarm's autoscaling,
so one call behaves the same whatever the units of y and X:

* slope k:      beta_k ~ N(0, (2.5 sd(y) / sd(x_k))^2)
* intercept:    placed on the intercept at the centred predictors,
                beta_0 + sum_k mean(x_k) beta_k ~ N(mean(y), (2.5 sd(y))^2),
                which is a full (non-diagonal) Gaussian on beta
* noise:        sigma^2 ~ IG(1, var(y) / 2)   (mode var(y)/4, median ~0.72 var(y))

For the conjugate NormalInverseGamma prior the covariance is divided by the
prior's typical noise variance b/a, so that sigma^2 V0 has the scale above.
A scale of ``np.inf`` gives a flat (improper) prior on that coefficient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SLOPE_SCALE = 2.5
DEFAULT_A = 1.0
DEFAULT_B_FRACTION = 0.5  # b = var(y) / 2


def _positive_scalar(value, name: str, prior: str) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{prior}: {name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{prior}: {name} must be a positive finite number, got {value!r}")
    return v


def _finite_array(value, name: str, prior: str) -> np.ndarray | None:
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{prior}: {name} must be numeric, got {value!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"{prior}: {name} must be a scalar or a 1-D array, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{prior}: {name} contains NaN")
    return arr


def _broadcast(arr: np.ndarray, p: int, name: str, prior: str) -> np.ndarray:
    if arr.ndim == 0:
        return np.full(p, float(arr))
    if arr.shape[0] != p:
        raise ValueError(f"{prior}: {name} has {arr.shape[0]} entries but the model has p = {p} coefficients")
    return arr.astype(np.float64, copy=True)


def validate_cov(cov, p: int | None, name: str, prior: str) -> np.ndarray:
    """A finite, symmetric, positive-definite (p, p) matrix."""
    try:
        C = np.asarray(cov, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{prior}: {name} must be a numeric matrix") from None
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"{prior}: {name} must be a square matrix, got shape {C.shape}")
    if p is not None and C.shape[0] != p:
        raise ValueError(f"{prior}: {name} is {C.shape[0]}x{C.shape[0]} but the model has p = {p} coefficients")
    if not np.isfinite(C).all():
        raise ValueError(f"{prior}: {name} contains NaN or inf")
    if not np.allclose(C, C.T, rtol=1e-10, atol=1e-300):
        raise ValueError(f"{prior}: {name} must be symmetric")
    try:
        np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        raise ValueError(f"{prior}: {name} must be positive definite") from None
    return 0.5 * (C + C.T)


class _GaussianIGPrior:
    """Shared validation of a Gaussian prior on beta and an IG(a, b) prior on sigma^2."""

    conjugate: bool = False

    def __init__(self, mean=None, scale=None, a=None, b=None, cov=None):
        name = type(self).__name__
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
        for key in ("mean", "scale", "a", "b", "cov"):
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
        if self.a is None or self.b is None:
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
        return {
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
        lines.append(f"  sigma^2 ~ IG({self.a:.4g}, {self.b:.4g})")
        return "\n".join(lines)


# ---- hyperpriors (hierarchical and exchangeable models) ------------------------------------


class InvGamma:
    """tau_k^2 ~ IG(a, b) (shape a, scale b); a and b broadcast over coefficients."""

    def __init__(self, a=1.0, b=1.0):
        self.a = _positive_vector(a, "a", "InvGamma")
        self.b = _positive_vector(b, "b", "InvGamma")

    def ab(self):
        """(a, b): numbers when scalar, arrays otherwise (the a= and b= of SemiConjugate and its kin)."""
        return tuple(float(v) if v.size == 1 else v for v in (self.a, self.b))

    def __repr__(self):
        return f"InvGamma(a={_fmt(self.a)}, b={_fmt(self.b)})"


class HalfCauchy:
    """tau_k ~ half-Cauchy(0, scale), sampled through tau_k^2 | lam_k ~ IG(1/2, 1/lam_k), lam_k ~ IG(1/2, 1/scale^2)."""

    def __init__(self, scale=1.0):
        self.scale = _positive_vector(scale, "scale", "HalfCauchy")

    def __repr__(self):
        return f"HalfCauchy(scale={_fmt(self.scale)})"


class HalfNormal:
    """A half-normal prior on a standard deviation: tau ~ N+(0, scale^2); scale None is data-scaled."""

    def __init__(self, scale=None):
        self.scale = None if scale is None else _positive_vector(scale, "scale", "HalfNormal")

    def __repr__(self):
        return f"HalfNormal(scale={'default' if self.scale is None else _fmt(self.scale)})"


class HalfStudentT:
    """A half-Student-t prior on a standard deviation: tau ~ t+_nu(0, scale); scale None is data-scaled.

    Sampled through the inverse-gamma mixture tau^2 | lam ~ IG(nu/2, nu/lam), lam ~ IG(1/2, 1/scale^2)
    (nu = 1 is HalfCauchy)."""

    def __init__(self, nu=3.0, scale=None):
        self.nu = _positive_vector(nu, "nu", "HalfStudentT")
        self.scale = None if scale is None else _positive_vector(scale, "scale", "HalfStudentT")

    def __repr__(self):
        return f"HalfStudentT(nu={_fmt(self.nu)}, scale={'default' if self.scale is None else _fmt(self.scale)})"


class Exponential:
    """An exponential prior on a standard deviation: tau ~ Exp(rate) (mean 1/rate); rate None is data-scaled."""

    def __init__(self, rate=None):
        self.rate = None if rate is None else _positive_vector(rate, "rate", "Exponential")

    def __repr__(self):
        return f"Exponential(rate={'default' if self.rate is None else _fmt(self.rate)})"


SCALE_PRIORS = (HalfNormal, HalfStudentT, Exponential)


class HuangWand:
    """Huang & Wand (2013) prior on a group covariance: Sigma | a ~ IW(nu + q - 1, 2 nu diag(1/a)),
    a_k ~ IG(1/2, 1/scale_k^2).  Marginally each sd_k ~ half-t(nu, scale_k) and, for nu = 2, each correlation is
    uniform on (-1, 1); conjugate in Gibbs.  scale None is data-scaled (as the half-Cauchy default)."""

    def __init__(self, nu=2.0, scale=None):
        self.nu = _positive_scalar(nu, "nu", "HuangWand")
        if self.nu is None:
            raise ValueError("HuangWand: nu must be a positive finite number, got None")
        self.scale = None if scale is None else _positive_vector(scale, "scale", "HuangWand")

    def __repr__(self):
        return f"HuangWand(nu={self.nu:g}, scale={'default' if self.scale is None else _fmt(self.scale)})"


def _scale_prior_fields(prior, k: int, default_scale: np.ndarray, label: str) -> dict:
    """The numbers of a HalfNormal, HalfStudentT or Exponential prior on k standard deviations:
    {kind}_kind with _scale, _nu (HalfStudentT) or _rate; a missing scale is default_scale
    (a missing rate 1/default_scale)."""
    default_scale = np.broadcast_to(np.asarray(default_scale, dtype=float), (k,))
    if isinstance(prior, Exponential):
        rate = 1.0 / default_scale if prior.rate is None else _vec(prior.rate, k, f"{label} rate")
        return {f"{label}_kind": "Exponential", f"{label}_rate": np.array(rate, dtype=float)}
    scale = default_scale.copy() if prior.scale is None else _vec(prior.scale, k, f"{label} scale")
    out = {f"{label}_kind": type(prior).__name__, f"{label}_scale": np.array(scale, dtype=float)}
    if isinstance(prior, HalfStudentT):
        out[f"{label}_nu"] = _vec(prior.nu, k, f"{label} nu")
    return out


def scale2_draws(rng, kind: str, scale, nu, rate, size: int, k: int) -> np.ndarray:
    """(size, k) draws of tau^2 (or sigma^2) when tau ~ HalfNormal(scale), HalfStudentT(nu, scale) or
    Exponential(rate), each coordinate with its own parameters."""
    if kind == "HalfNormal":
        tau = np.broadcast_to(scale, (k,)) * np.abs(rng.standard_normal((size, k)))
    elif kind == "HalfStudentT":
        tau = np.broadcast_to(scale, (k,)) * np.abs(rng.standard_t(np.broadcast_to(nu, (k,)), (size, k)))
    elif kind == "Exponential":
        tau = rng.standard_exponential((size, k)) / np.broadcast_to(rate, (k,))
    else:
        raise ValueError(f"not a scale prior: {kind!r}")
    return tau * tau


def resolve_noise_scale(sigma, default_scale: float) -> dict:
    """The noise prior's numbers: sigma_a, sigma_b for InvGamma on sigma^2; for HalfNormal, HalfStudentT or
    Exponential on sigma, sigma_kind with sigma_scale, sigma_nu or sigma_rate (scalars; a missing scale is
    default_scale, a missing rate 1/default_scale)."""
    if isinstance(sigma, InvGamma):
        if sigma.a.ndim or sigma.b.ndim:
            raise ValueError("sigma's InvGamma a and b must be scalars")
        return {"sigma_kind": "InvGamma", "sigma_a": float(sigma.a), "sigma_b": float(sigma.b)}
    if not isinstance(sigma, SCALE_PRIORS):
        raise ValueError(f"sigma must be InvGamma (on sigma^2), HalfNormal, HalfStudentT or Exponential (on sigma), "
                         f"got {type(sigma).__name__}")
    if any(np.ndim(v) for v in vars(sigma).values() if v is not None):
        raise ValueError(f"sigma's {type(sigma).__name__} parameters must be scalars")
    fields = _scale_prior_fields(sigma, 1, default_scale, "sigma")
    return {k: (float(v[0]) if isinstance(v, np.ndarray) else v) for k, v in fields.items()}


def noise_prior_text(d: dict, who: str = "sigma", variance: str = "sigma2") -> str:
    """One line for a printed prior: the noise prior of resolve_noise_scale's fields."""
    kind = d.get("sigma_kind", "InvGamma")
    if kind == "InvGamma":
        return f"  {variance} ~ IG({d['sigma_a']:.4g}, {d['sigma_b']:.4g})"
    if kind == "HalfNormal":
        return f"  {who} ~ half-normal(0, {d['sigma_scale']:.4g})"
    if kind == "HalfStudentT":
        return f"  {who} ~ half-t({d['sigma_nu']:.4g}, 0, {d['sigma_scale']:.4g})"
    return f"  {who} ~ exponential({d['sigma_rate']:.4g})"


def scale_prior_text(kind: str, k: int, d: dict) -> str:
    """The prior of coordinate k's group scale tau, for a printed prior (the new kinds)."""
    if kind == "HalfNormal":
        return f"half-normal(0, {d['tau_scale'][k]:.4g})"
    if kind == "HalfStudentT":
        return f"half-t({d['tau_nu'][k]:.4g}, 0, {d['tau_scale'][k]:.4g})"
    return f"exponential({d['tau_rate'][k]:.4g})"


class InvWishart:
    """Sigma_beta ~ IW(df, Psi) with Psi = scale * I (scalar scale) or a given SPD matrix; df > q - 1."""

    def __init__(self, df, scale=1.0):
        self.df = _positive_scalar(df, "df", "InvWishart")
        arr = np.asarray(scale, dtype=float)
        if arr.ndim == 0:
            self.scale = _positive_scalar(scale, "scale", "InvWishart")
        else:
            self.scale = validate_cov(arr, None, "scale", "InvWishart")

    def __repr__(self):
        return f"InvWishart(df={self.df:g}, scale={_fmt(self.scale)})"


def _fmt(x):
    x = np.asarray(x)
    return f"{float(x):.4g}" if x.ndim == 0 else np.array2string(x, precision=4)


def _positive_vector(value, name, prior):
    arr = _finite_array(value, name, prior)
    if arr is None or not np.isfinite(arr).all() or not (arr > 0).all():
        raise ValueError(f"{prior}: {name} must be positive and finite, got {value!r}")
    return arr


def _vec(value, k, name):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(k, float(arr))
    if arr.shape != (k,):
        raise ValueError(f"{name} has {arr.shape[0]} entries but there are {k} coefficients")
    return arr.copy()




def resolve_group_scale(tau, q: int, default_scale: np.ndarray, who: str = "InvWishart") -> dict:
    """The numbers of a group-level scale prior on q coordinates, as resolved-prior fields.

    None is the data-scaled default, tau_k ~ half-Cauchy(default_scale_k); InvGamma, HalfCauchy, HalfNormal,
    HalfStudentT and Exponential broadcast over the coordinates (the last three default to default_scale, or a
    rate of 1/default_scale); InvWishart(df, scale) needs df > q - 1 and Psi = scale * I or
    a given SPD matrix.  Returns tau_kind and tau_a/tau_b, tau_scale (and tau_nu), tau_rate or iw_df/iw_scale.
    """
    if tau is None:
        return {"tau_kind": "HalfCauchy", "tau_scale": np.asarray(default_scale, dtype=float).copy()}
    if isinstance(tau, InvGamma):
        return {"tau_kind": "InvGamma", "tau_a": _vec(tau.a, q, "tau a"), "tau_b": _vec(tau.b, q, "tau b")}
    if isinstance(tau, HalfCauchy):
        return {"tau_kind": "HalfCauchy", "tau_scale": _vec(tau.scale, q, "tau scale")}
    if isinstance(tau, SCALE_PRIORS):
        return _scale_prior_fields(tau, q, default_scale, "tau")
    if isinstance(tau, HuangWand):
        scale = np.asarray(default_scale, dtype=float).copy() if tau.scale is None else _vec(tau.scale, q, "tau scale")
        return {"tau_kind": "HuangWand", "hw_nu": float(tau.nu), "tau_scale": scale}
    if tau.df <= q - 1:
        raise ValueError(f"{who}: df must exceed q - 1 = {q - 1} (the number of varying coefficients minus one), "
                         f"got {tau.df}")
    psi = np.eye(q) * tau.scale if np.ndim(tau.scale) == 0 else validate_cov(tau.scale, q, "scale", "InvWishart")
    return {"tau_kind": "InvWishart", "iw_df": float(tau.df), "iw_scale": psi}


class Exchangeable:
    """Exchangeable coefficients for one flat regression (a Bayesian ridge that learns its shrinkage).

    The coefficients not in ``exclude`` share beta_k ~ N(mu, tau^2) with
    mu ~ N(mu_mean, mu_scale^2) and tau an InvGamma prior on tau^2 or a HalfCauchy
    prior on tau; sigma^2 ~ ``sigma`` (InvGamma).  Excluded coefficients keep the
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
        if sigma is not None and (not isinstance(sigma, InvGamma) or sigma.a.ndim or sigma.b.ndim):
            raise ValueError(f"{name}: sigma must be an InvGamma prior with scalar a and b")
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
        fixed = SemiConjugate(a=self.sigma.a if self.sigma else None, b=self.sigma.b if self.sigma else None).resolve(stats, names)
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
                                   a=fixed.a, b=fixed.b, defaults=defaults, centred_intercept=fixed.centred_intercept)
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
        lines.append(f"  sigma^2 ~ IG({self.a:.4g}, {self.b:.4g})")
        return "\n".join(lines)
