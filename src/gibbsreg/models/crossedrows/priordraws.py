"""Draws from the crossed models' priors (the kinds' ``prior_draws`` hooks): the population coefficients, each
factor's scales or covariance and its effects at the fitted levels, and (Student-t) sigma^2 and nu."""

from __future__ import annotations

import numpy as np

from ...analysis.inference import tau2_draws
from ...priors import scale2_draws


def factor_covariance_draws(fp: dict, draws: int, rng) -> np.ndarray:
    """(draws, q, q) covariances from one factor's resolved tau prior (diagonal, inverse Wishart or Huang-Wand:
    a_k ~ IG(1/2, 1/A_k^2), Sigma | a ~ IW(nu + q - 1, 2 nu diag(1/a)))."""
    from scipy.stats import invwishart

    q = len(fp["varying"])
    kind = fp["tau_kind"]
    if kind == "InvWishart":
        return invwishart(df=fp["iw_df"], scale=np.asarray(fp["iw_scale"])).rvs(
            size=draws, random_state=rng).reshape(draws, q, q)
    if kind == "HuangWand":  # Sigma^{-1} | a ~ Wishart(nu + q - 1, diag(a / (2 nu))), by Bartlett, all draws at once
        nu, A = float(fp["hw_nu"]), np.asarray(fp["tau_scale"], dtype=float)
        a = (1.0 / A**2) / rng.standard_gamma(0.5, (draws, q))
        B = np.zeros((draws, q, q))
        B[:, np.arange(q), np.arange(q)] = np.sqrt(rng.chisquare(nu + q - 1 - np.arange(q), (draws, q)))
        low = np.tril_indices(q, -1)
        B[:, low[0], low[1]] = rng.standard_normal((draws, len(low[0])))
        L = np.sqrt(a / (2.0 * nu))[:, :, None] * B
        return np.linalg.inv(L @ np.swapaxes(L, 1, 2))
    if kind in ("InvGamma", "HalfCauchy"):
        tau2 = tau2_draws(rng, kind, fp.get("tau_a"), fp.get("tau_b"), fp.get("tau_scale"), draws, q)
    else:
        tau2 = scale2_draws(rng, kind, fp.get("tau_scale"), fp.get("tau_nu"), fp.get("tau_rate"), draws, q)
    return np.einsum("da,ab->dab", tau2, np.eye(q))


def crossed_prior_draws(post, prior, draws: int, rng) -> dict | None:
    """{variable: (draws, ...)} from a ResolvedCrossedPrior ``prior`` for a crossed posterior's variables
    (mu, alpha, b_<factor>, tau2_<factor> or Sigma_<factor>); None when a population coefficient is flat."""
    if not np.isfinite(prior.fixed_scale).all():
        return None
    attrs = post.attrs
    v1, pidx = list(attrs["varying_index"][0]), list(attrs["pooled_index"])
    fixed = prior.fixed_mean + prior.fixed_scale * rng.standard_normal((draws, len(prior.fixed_mean)))
    out = {"mu": fixed[:, v1]}
    if pidx:
        out["alpha"] = fixed[:, pidx]
    for f, (name, fp) in enumerate(zip(attrs["factors"], prior.factors)):
        Sigma = factor_covariance_draws(fp, draws, rng)
        J, q = len(post.coords[f"{name}_level"]), Sigma.shape[-1]
        z = np.einsum("dab,djb->dja", np.linalg.cholesky(Sigma), rng.standard_normal((draws, J, q)))
        out[f"b_{name}"] = z + (out["mu"][:, None, :] if f == 0 else 0.0)
        if f"Sigma_{name}" in post:
            out[f"Sigma_{name}"] = Sigma
        else:
            out[f"tau2_{name}"] = np.diagonal(Sigma, axis1=1, axis2=2).copy()
    return out
