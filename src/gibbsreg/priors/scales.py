"""Priors on scales: the group (and exchangeable) scales tau and the noise scale sigma."""

from __future__ import annotations

import numpy as np

from ._checks import _fmt, _positive_scalar, _positive_vector, _vec, validate_cov

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
