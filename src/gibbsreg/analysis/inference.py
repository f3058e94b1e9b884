"""Export a Posterior to an arviz.InferenceData with the groups an ArviZ user expects.

posterior (the draws), log_likelihood (pointwise ``y``, dims (chain, draw, obs); and
per group for leave-one-group-out on request, ``y_group`` with beta_j integrated out and
``y_group_conditional``, both (chain, draw, group)),
posterior_predictive (``y``), observed_data (``y``), constant_data (the design ``X``
with dims (obs, feature), and ``group_label``, the group of each row) and prior (draws
from the resolved prior, when it is proper).
"""

from __future__ import annotations

import numpy as np

from .crossed_rows import crossed_pointwise_loglik, crossed_predictive, crossed_rows, is_crossed
from .loglik import (AUTO_BYTES, is_hierarchical, marginal_group_loglik, pointwise_loglik,
                     posterior_predictive_draws, rows_of, want)


# ---- draws from the prior ----------------------------------------------------------------------


def _gaussian(rng, mean, precision, size):
    """Draws (size, p) from N(mean, precision^{-1}) through the Cholesky factor of the precision."""
    L = np.linalg.cholesky(precision)
    z = rng.standard_normal((size, len(mean)))
    return mean + np.linalg.solve(L.T, z.T).T


def _tau2(rng, kind, a, b, scale, size, k):
    if kind == "InvGamma":
        return np.asarray(b) / rng.standard_gamma(np.broadcast_to(a, (k,)), (size, k))
    return (np.broadcast_to(scale, (k,)) * np.abs(rng.standard_cauchy((size, k)))) ** 2


def prior_draws(post, draws: int = 500, seed=None):
    """Draws from the resolved prior as {name: (1, draws, ...)}, or None when the prior is improper.

    Flat: beta ~ N(m0, S0) (times sigma2 under the NIG prior), sigma2 ~ IG(a, b); the
    exchangeable prior draws mu, tau2, the shared coefficients ~ N(mu, tau2) and the others
    from their Gaussian prior given the shared ones.  Hierarchical: mu, tau2 (InvGamma or
    half-Cauchy tau) or Sigma ~ IW, beta_j ~ N(mu, Sigma_beta), alpha, sigma2 (per group).
    """
    prior = post.prior
    if prior is None:
        return None
    rng = np.random.default_rng(seed)
    out = {}
    kind = getattr(prior, "kind", "")
    if is_hierarchical(post):
        q = len(prior.varying)
        J = len(post.coords["group"])
        mu = prior.mu_mean + prior.mu_scale * rng.standard_normal((draws, q))
        if prior.tau_kind == "InvWishart":
            from scipy import stats as sps

            Sigma = sps.invwishart.rvs(df=prior.iw_df, scale=prior.iw_scale, size=draws, random_state=rng)
            Sigma = np.asarray(Sigma).reshape(draws, q, q)
            L = np.linalg.cholesky(Sigma)
            beta = mu[:, None, :] + np.einsum("dab,djb->dja", L, rng.standard_normal((draws, J, q)))
            out["Sigma"] = Sigma
        else:
            tau2 = _tau2(rng, prior.tau_kind, prior.tau_a, prior.tau_b, prior.tau_scale, draws, q)
            beta = mu[:, None, :] + np.sqrt(tau2)[:, None, :] * rng.standard_normal((draws, J, q))
            out["tau2"] = tau2
        out = {"beta": beta, "mu": mu, **out}
        if len(prior.pooled):
            out["alpha"] = prior.pooled_mean + prior.pooled_scale * rng.standard_normal((draws, len(prior.pooled)))
        shape = (draws, J) if prior.group_variance else (draws,)
        out["sigma2"] = prior.sigma_b / rng.standard_gamma(prior.sigma_a, shape)
    elif kind == "Exchangeable":
        fixed = prior.fixed
        mask = prior.mask
        sigma2 = fixed.b / rng.standard_gamma(fixed.a, draws)
        mu = prior.mu_mean + prior.mu_scale * rng.standard_normal(draws)
        tau2 = _tau2(rng, prior.tau_kind, prior.tau_a, prior.tau_b, prior.tau_scale, draws, 1)[:, 0]
        beta = np.empty((draws, len(mask)))
        beta[:, mask] = mu[:, None] + np.sqrt(tau2)[:, None] * rng.standard_normal((draws, int(mask.sum())))
        ex = ~mask
        if ex.any():
            # the fixed part's precision P has rank |excluded| and P_EE is invertible: given the shared
            # coefficients, the excluded ones are N(m_E - P_EE^{-1} P_EM (beta_M - m_M), P_EE^{-1})
            P = fixed.precision
            Pee, Pem = P[np.ix_(ex, ex)], P[np.ix_(ex, mask)]
            shift = np.linalg.solve(Pee, Pem @ (beta[:, mask] - fixed.mean[mask]).T).T
            beta[:, ex] = _gaussian(rng, np.zeros(int(ex.sum())), Pee, draws) + fixed.mean[ex] - shift
        out = {"beta": beta, "sigma2": sigma2, "mu": mu, "tau2": tau2}
    else:
        if np.asarray(prior.flat).any():
            return None  # a flat coefficient: no prior draws
        sigma2 = prior.b / rng.standard_gamma(prior.a, draws)
        z = _gaussian(rng, np.zeros(len(prior.mean)), prior.precision, draws)
        scale = np.sqrt(sigma2)[:, None] if prior.conjugate else 1.0
        out = {"beta": prior.mean + scale * z, "sigma2": sigma2}
    return {k: np.asarray(v)[None] for k, v in out.items() if k in post}


# ---- the export ---------------------------------------------------------------------------------


def to_inference_data(post, X=None, y=None, groups=None, *, log_likelihood=None, posterior_predictive=None,
                      prior=None, group_log_likelihood: bool = False, seed=None, prior_draws_count: int = 500,
                      max_bytes=None, backend: str = "numba"):
    """An arviz.InferenceData of ``post`` with every group its data allow.

    The rows are ``X, y, groups`` if given, else the data ``post`` was sampled from (kept in
    memory by the models' ``sample``; a Posterior read with ``load`` needs them passed).
    ``log_likelihood`` / ``posterior_predictive``: True builds the (chains, draws, n) array
    after checking its size against ``max_bytes`` (default: the memory available; a
    TooLargeError names the size); None (default) builds it only up to 256 MB and otherwise
    warns with its size; False skips it.  ``group_log_likelihood=True`` (hierarchical models) adds
    to log_likelihood, for leave-one-group-out (``az.loo(idata, var_name="y_group")``), ``y_group``
    (chain, draw, group): log p(y_(j) | mu, Sigma_beta, alpha, sigma2), each group's rows with its
    coefficients beta_j integrated out, and ``y_group_conditional``: the sum of the group's
    pointwise terms given beta_j (PSIS is far less reliable on it: beta_j moves with y_(j)).  ``prior`` (None: when
    proper) adds ``prior_draws_count`` draws from the prior.  ``seed`` fixes the predictive
    and prior draws (default: the sampling seed).
    """
    import arviz as az

    C, D = post.nchains, post.ndraws
    coords = {k: list(v) for k, v in post.coords.items()}
    dims = {k: list(v) for k, v in post.dims.items()}
    groups_out = {"posterior": {k: post[k] for k in post.names}}  # store-backed draws read here
    explicit = X is not None or y is not None
    if is_crossed(post):
        if group_log_likelihood:
            raise ValueError("leave-one-group-out (by='group') is available for one grouping factor; the crossed "
                             "model has the pointwise log-likelihood (by='obs')")
        return _crossed_inference_data(post, X, y, groups, coords, dims, groups_out, log_likelihood,
                                       posterior_predictive, prior, seed, max_bytes)
    try:
        rows = rows_of(post, X, y, groups)
    except ValueError:
        if explicit or log_likelihood or posterior_predictive or group_log_likelihood:
            raise
        rows = None
    ss = np.random.SeedSequence(seed if seed is not None else post.attrs.get("seed"))
    pp_seed, prior_seed = ss.spawn(2)
    if rows is not None:
        n = rows.n
        coords["obs"] = np.arange(n)
        names = list(post.attrs["names"])
        coords["feature"] = names[int(rows.intercept):]
        dims.update(y=["obs"], y_group=["group"], y_group_conditional=["group"], X=["obs", "feature"])
        groups_out["observed_data"] = {"y": rows.y}
        # rows on Dask stay there: the design is not copied into the export (y and the labels are)
        const = {"X": rows.X} if isinstance(rows.X, np.ndarray) else {}
        if rows.hierarchical:
            const["group_label"] = np.asarray(post.coords["group"])[rows.codes]
            dims["group_label"] = ["obs"]
        groups_out["constant_data"] = const
        loglik = {}
        if want(log_likelihood, "log-likelihood", C, D, n, max_bytes):
            loglik["y"] = pointwise_loglik(post, X, y, groups, backend=backend, max_bytes=max_bytes)
        if group_log_likelihood:
            loglik["y_group"] = marginal_group_loglik(post, X, y, groups, max_bytes=max_bytes)
            loglik["y_group_conditional"] = pointwise_loglik(post, X, y, groups, by="group", backend=backend,
                                                             max_bytes=max_bytes)
        if loglik:
            groups_out["log_likelihood"] = loglik
        if want(posterior_predictive, "posterior predictive", C, D, n, max_bytes):
            groups_out["posterior_predictive"] = {
                "y": posterior_predictive_draws(post, X, y, groups, seed=pp_seed, backend=backend, max_bytes=max_bytes)}
    if prior is None or prior:
        size = prior_draws_count * sum(int(np.prod(v.shape[2:])) for v in post._draws.values())
        if prior or 8 * size <= AUTO_BYTES:
            draws = prior_draws(post, prior_draws_count, prior_seed)
            if draws is None and prior:
                raise ValueError("the prior is improper (a flat coefficient), so it has no draws; pass prior=False")
            if draws is not None:
                groups_out["prior"] = draws
    return _from_dict(post, groups_out, coords, dims)


def _from_dict(post, groups_out, coords, dims):
    import arviz as az

    # attrs["arviz_dims"] renames dimensions for ArviZ, e.g. group -> county for a formula model
    rename = dict(post.attrs.get("arviz_dims") or {})
    coords = {rename.get(k, k): v for k, v in coords.items()}
    dims = {k: [rename.get(d, d) for d in v] for k, v in dims.items()}
    return az.from_dict(**groups_out, coords=coords, dims=dims)


def _crossed_inference_data(post, X, y, groups, coords, dims, groups_out, log_likelihood, posterior_predictive,
                            prior, seed, max_bytes):
    """The crossed model's export: posterior, observed and constant data (design, each factor's labels),
    the pointwise log-likelihood and replicated data; no prior group (its draws are not implemented)."""
    if prior:
        raise ValueError("prior draws are not available for the crossed model yet; pass prior=False")
    try:
        Xr, yr, codes = crossed_rows(post, X, y, groups)
    except ValueError:
        if X is not None or y is not None or log_likelihood or posterior_predictive:
            raise
        return _from_dict(post, groups_out, coords, dims)
    C, D, n = post.nchains, post.ndraws, yr.shape[0]
    coords["obs"] = np.arange(n)
    coords["feature"] = list(post.attrs["names"])[int(post.attrs["intercept"]):]
    dims.update(y=["obs"], X=["obs", "feature"])
    groups_out["observed_data"] = {"y": yr}
    const = {"X": Xr}
    for f, name in enumerate(post.attrs["factors"]):
        key = f"{name}_label"
        const[key] = np.asarray(post.coords[f"{name}_level"])[codes[:, f]]
        dims[key] = ["obs"]
    groups_out["constant_data"] = const
    if want(log_likelihood, "log-likelihood", C, D, n, max_bytes):
        groups_out["log_likelihood"] = {"y": crossed_pointwise_loglik(post, X, y, groups, max_bytes=max_bytes)}
    if want(posterior_predictive, "posterior predictive", C, D, n, max_bytes):
        pp_seed = np.random.SeedSequence(seed if seed is not None else post.attrs.get("seed")).spawn(2)[0]
        groups_out["posterior_predictive"] = {"y": crossed_predictive(post, X, y, groups, seed=pp_seed,
                                                                      max_bytes=max_bytes)}
    return _from_dict(post, groups_out, coords, dims)
