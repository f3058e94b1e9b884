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

from .. import registry
from .loglik import AUTO_BYTES, rows_of, want


# ---- draws from the prior ----------------------------------------------------------------------


def gaussian_draws(rng, mean, precision, size):
    """Draws (size, p) from N(mean, precision^{-1}) through the Cholesky factor of the precision."""
    L = np.linalg.cholesky(precision)
    z = rng.standard_normal((size, len(mean)))
    return mean + np.linalg.solve(L.T, z.T).T


def tau2_draws(rng, kind, a, b, scale, size, k):
    if kind == "InvGamma":
        return np.asarray(b) / rng.standard_gamma(np.broadcast_to(a, (k,)), (size, k))
    return (np.broadcast_to(scale, (k,)) * np.abs(rng.standard_cauchy((size, k)))) ** 2


def prior_draws(post, draws: int = 500, seed=None):
    """Draws from the resolved prior as {name: (1, draws, ...)}, or None when the prior is improper
    (or its model kind has no prior draws): the model kind's ``prior_draws`` hook."""
    if post.prior is None:
        return None
    hook = registry.of_posterior(post).prior_draws
    if hook is None:
        return None
    out = hook(post, draws, np.random.default_rng(seed))
    if out is None:
        return None
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
    import arviz  # noqa: F401  (fails at once, naming the package, when ArviZ is not installed)

    C, D = post.nchains, post.ndraws
    coords = {k: list(v) for k, v in post.coords.items()}
    dims = {k: list(v) for k, v in post.dims.items()}
    groups_out = {"posterior": {k: post[k] for k in post.names}}  # store-backed draws read here
    explicit = X is not None or y is not None
    kind = registry.of_posterior(post)
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
        for key, labels in rows.labels(post).items():
            const[key] = labels
            dims[key] = ["obs"]
        groups_out["constant_data"] = const
        loglik = {}
        if want(log_likelihood, "log-likelihood", C, D, n, max_bytes):
            loglik["y"] = rows.loglik(post, backend=backend, max_bytes=max_bytes)
        if group_log_likelihood:
            loglik["y_group"] = rows.group_loglik(post, max_bytes=max_bytes)
            loglik["y_group_conditional"] = rows.loglik(post, by="group", backend=backend, max_bytes=max_bytes)
        if loglik:
            groups_out["log_likelihood"] = loglik
        if want(posterior_predictive, "posterior predictive", C, D, n, max_bytes):
            groups_out["posterior_predictive"] = {
                "y": rows.replicate(post, seed=pp_seed, backend=backend, max_bytes=max_bytes)}
    if prior is None or prior:
        if kind.prior_draws is None:
            if prior:
                raise ValueError(f"prior draws are not available for the {kind.name} model yet; pass prior=False")
        else:
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
