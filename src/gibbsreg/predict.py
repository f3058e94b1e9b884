"""Posterior predictive draws for flat and hierarchical posteriors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import new_rows


@dataclass
class PredictiveDraws:
    """Posterior predictive at m new rows.

    ``y`` (chains, draws, m): replicated observations; ``mean_draws``: the
    regression function x'beta per draw.  ``mean``, ``lower``, ``upper`` summarise
    ``y`` (equal-tailed, probability ``prob``); ``line_lower``/``line_upper`` the
    credible band of the regression function.
    """

    y: np.ndarray
    mean_draws: np.ndarray
    prob: float

    def _q(self, x, q):
        return np.quantile(x.reshape(-1, x.shape[-1]), q, axis=0)

    @property
    def mean(self):
        return self.y.mean(axis=(0, 1))

    @property
    def lower(self):
        return self._q(self.y, (1 - self.prob) / 2)

    @property
    def upper(self):
        return self._q(self.y, (1 + self.prob) / 2)

    @property
    def line_mean(self):
        return self.mean_draws.mean(axis=(0, 1))

    @property
    def line_lower(self):
        return self._q(self.mean_draws, (1 - self.prob) / 2)

    @property
    def line_upper(self):
        return self._q(self.mean_draws, (1 + self.prob) / 2)


def _full_rows(post, X_new) -> np.ndarray:
    attrs = post.attrs
    names = attrs["names"]
    intercept = attrs["intercept"]
    Xn = new_rows(X_new, len(names) - int(intercept), names[int(intercept):])
    return np.hstack([np.ones((Xn.shape[0], 1)), Xn]) if intercept else Xn


def predict(post, X_new, groups=None, seed=None, prob: float = 0.95) -> PredictiveDraws:
    """Posterior predictive draws at rows X_new (m, p_x), without the intercept column.

    Flat: y* = x*'beta + sigma z per draw.  Hierarchical: rows of a known group use
    that group's beta_j; rows of a new group share one beta_new ~ N(mu, Sigma_beta)
    per draw (and a sigma_new^2 from its prior when variances are per group).
    """
    if "names" not in post.attrs:
        raise ValueError("this Posterior does not record its design (names/intercept), so it cannot predict")
    full = _full_rows(post, X_new)
    m = full.shape[0]
    rng = np.random.default_rng(seed)
    C, D = post.nchains, post.ndraws
    if post.attrs.get("model_kind") == "crossed":
        from .factors import predict_crossed

        line, s2 = predict_crossed(post, full, groups, rng)
        return PredictiveDraws(line + np.sqrt(s2) * rng.standard_normal((C, D, m)), line, prob)
    if post.attrs.get("model_kind") != "hierarchical":
        line = np.einsum("cdp,mp->cdm", post["beta"], full)
        sd = np.sqrt(post["sigma2"])[..., None]
        return PredictiveDraws(line + sd * rng.standard_normal((C, D, m)), line, prob)
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
    return PredictiveDraws(line + np.sqrt(s2_rows) * rng.standard_normal((C, D, m)), line, prob)
