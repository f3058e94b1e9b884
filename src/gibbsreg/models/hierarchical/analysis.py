"""The hierarchical model's hooks for the analysis layers: its rows, prediction and prior draws."""

from __future__ import annotations

import numpy as np

from ...analysis.inference import tau2_draws
from ...analysis.loglik import design_rows
from ...priors import scale2_draws


def rows(post, X=None, y=None, groups=None):
    """The rows with each one's group (gibbsreg.analysis.loglik.Rows, one coefficient vector per group)."""
    return design_rows(post, X, y, groups, grouped=True)


def predict(post, full: np.ndarray, groups, rng):
    """Regression function (chains, draws, m) and sigma^2 per row at full design rows (m, p): rows of a known
    group use that group's beta_j; rows of a new group share one beta_new ~ N(mu, Sigma_beta) per draw (and a
    sigma_new^2 from its prior when variances are per group)."""
    m = full.shape[0]
    C, D = post.nchains, post.ndraws
    if "beta" not in post:
        raise ValueError("the posterior was sampled with store_beta=False; group-level predictions need beta")
    if groups is None:
        raise ValueError("hierarchical prediction needs groups= (one label per new row)")
    # keep each label as the Python object it is: np.asarray would turn [70, "new"] into strings
    g = groups.tolist() if hasattr(groups, "tolist") else list(groups)
    if len(g) != m or any(isinstance(v, (list, tuple)) for v in g):
        raise ValueError(f"groups has {len(g)} labels; expected one label per row ({m})")
    vi, pi = post.attrs["varying_index"], post.attrs["pooled_index"]
    Xv, Xp = full[:, vi], full[:, pi]
    labels = post.coords["group"]
    lookup = {lab: j for j, lab in enumerate(labels)}
    line = np.zeros((C, D, m))
    if pi:
        line += np.einsum("cdr,mr->cdm", post["alpha"], Xp)
    beta = post["beta"]
    prior = post.attrs["prior"]
    Sigma = post["Sigma"] if "Sigma" in post else None
    new_beta, new_sigma2 = {}, {}
    sigma2 = post["sigma2"]
    s2_rows = np.empty((C, D, m))
    for i, lab in enumerate(g):
        if lab in lookup:
            j = lookup[lab]
            b = beta[:, :, j]
            s2_rows[..., i] = sigma2[..., j] if sigma2.ndim == 3 else sigma2
        else:
            if lab not in new_beta:
                z = rng.standard_normal(post["mu"].shape)
                if Sigma is None:
                    new_beta[lab] = post["mu"] + np.sqrt(post["tau2"]) * z
                else:
                    L = np.linalg.cholesky(Sigma)
                    new_beta[lab] = post["mu"] + np.einsum("cdab,cdb->cda", L, z)
                if sigma2.ndim == 3:
                    new_sigma2[lab] = prior.sigma_b / rng.standard_gamma(prior.sigma_a, (C, D))
                else:
                    new_sigma2[lab] = sigma2
            b = new_beta[lab]
            s2_rows[..., i] = new_sigma2[lab]
        line[..., i] += b @ Xv[i]
    return line, s2_rows


def prior_draws(post, draws: int, rng):
    """mu, tau2 (InvGamma, half-Cauchy, half-normal, half-t or exponential tau) or Sigma ~ IW,
    beta_j ~ N(mu, Sigma_beta), alpha, sigma2 (per group; or from a prior on sigma)."""
    prior = post.prior
    out = {}
    q = len(prior.varying)
    J = len(post.coords["group"])
    mu = prior.mu_mean + prior.mu_scale * rng.standard_normal((draws, q))
    if prior.tau_kind in ("InvWishart", "HuangWand"):
        from scipy import stats as sps

        if prior.tau_kind == "InvWishart":
            Sigma = sps.invwishart.rvs(df=prior.iw_df, scale=prior.iw_scale, size=draws, random_state=rng)
        else:  # Sigma | a ~ IW(nu + q - 1, 2 nu diag(1/a)), a_k ~ IG(1/2, 1/A_k^2)
            nu = prior.hw_nu
            a = 1.0 / (prior.tau_scale**2 * rng.standard_gamma(0.5, (draws, q)))
            Sigma = [sps.invwishart.rvs(df=nu + q - 1, scale=np.diag(2.0 * nu / a[d]), random_state=rng)
                     for d in range(draws)]
        Sigma = np.asarray(Sigma).reshape(draws, q, q)
        L = np.linalg.cholesky(Sigma)
        beta = mu[:, None, :] + np.einsum("dab,djb->dja", L, rng.standard_normal((draws, J, q)))
        out["Sigma"] = Sigma
    elif prior.tau_kind in ("HalfNormal", "HalfStudentT", "Exponential"):
        tau2 = scale2_draws(rng, prior.tau_kind, prior.tau_scale, prior.tau_nu, prior.tau_rate, draws, q)
        beta = mu[:, None, :] + np.sqrt(tau2)[:, None, :] * rng.standard_normal((draws, J, q))
        out["tau2"] = tau2
    else:
        tau2 = tau2_draws(rng, prior.tau_kind, prior.tau_a, prior.tau_b, prior.tau_scale, draws, q)
        beta = mu[:, None, :] + np.sqrt(tau2)[:, None, :] * rng.standard_normal((draws, J, q))
        out["tau2"] = tau2
    out = {"beta": beta, "mu": mu, **out}
    if len(prior.pooled):
        out["alpha"] = prior.pooled_mean + prior.pooled_scale * rng.standard_normal((draws, len(prior.pooled)))
    shape = (draws, J) if prior.group_variance else (draws,)
    if getattr(prior, "sigma_kind", "InvGamma") != "InvGamma":  # one shared sigma
        out["sigma2"] = scale2_draws(rng, prior.sigma_kind, prior.sigma_scale, prior.sigma_nu, prior.sigma_rate,
                                     draws, 1)[:, 0]
    else:
        out["sigma2"] = prior.sigma_b / rng.standard_gamma(prior.sigma_a, shape)
    return out
