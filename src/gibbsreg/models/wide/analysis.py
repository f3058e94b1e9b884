"""The wide model's hooks for the analysis layers (rows, prediction, prior draws) and a summary that
collapses thousands of coefficients: how many intervals exclude zero, and the shrinkage factors kappa_j."""

from __future__ import annotations

import numpy as np

from ...analysis.loglik import design_rows


def rows(post, X=None, y=None, groups=None):
    """Gaussian rows given (beta, sigma2): gibbsreg.analysis.loglik.Rows; ``groups`` is not used."""
    if "beta" not in post:
        raise ValueError("this posterior did not keep beta (keep=...), so its likelihood cannot be evaluated")
    return design_rows(post, X, y, grouped=False)


def predict(post, full: np.ndarray, groups, rng):
    """x'beta (chains, draws, m) at full design rows (m, p), and sigma^2 (chains, draws, 1)."""
    return np.einsum("cdp,mp->cdm", post["beta"], full), post["sigma2"][..., None]


def prior_draws(post, draws: int, rng):
    """Draws from the prior, or None: the unpenalised coefficients have a flat prior, and Jeffreys' prior on
    sigma^2 is improper too."""
    prior = post.prior
    if not all(prior.penalized) or prior.sigma_a == 0:
        return None
    p = int(sum(prior.penalized))
    sigma2 = prior.sigma_b / rng.standard_gamma(prior.sigma_a, draws)
    extra = {}
    if prior.kind != "BayesianLasso":
        glob = (prior.global_scale * np.abs(rng.standard_cauchy(draws))) ** 2
        local = np.abs(rng.standard_cauchy((draws, p))) ** 2
        var = glob[:, None] * local
        if prior.kind == "RegularizedHorseshoe":
            c2 = 0.5 * prior.slab_df * prior.slab_scale ** 2 / rng.standard_gamma(0.5 * prior.slab_df, draws)
            var = var * c2[:, None] / (c2[:, None] + var)
            extra["c2"] = c2
    else:
        glob = rng.standard_gamma(prior.lasso_shape, draws) / prior.lasso_rate
        local = rng.standard_exponential((draws, p)) * 2.0 / glob[:, None]
        var = local
    scale = np.asarray(post.attrs["col_scale"])
    var = sigma2[:, None] * var if prior.sigma_scaled else var
    beta = np.sqrt(var) * rng.standard_normal((draws, p)) / scale
    out = {"beta": beta, "sigma2": sigma2, prior.global_name: glob, prior.local_name: local, **extra}
    return {k: v for k, v in out.items() if k in post}


def shrinkage(post) -> dict:
    """Per penalised coefficient: the posterior mean of kappa_j = 1 / (1 + m D_j) (D_j = tau^2 lambda_j^2 for
    the horseshoe, its slab-regularised version for the regularised one, tau_j^2 for the lasso, on
    standardised columns, over sigma^2 for the sigma-free form: near 1 shrunk to zero, near 0 left alone), when
    the local scales were kept; None otherwise."""
    prior = post.prior
    if prior.local_name not in post:
        return None
    local = np.asarray(post[prior.local_name])
    D = local * np.asarray(post[prior.global_name])[..., None] if prior.kind != "BayesianLasso" else local
    if prior.kind == "RegularizedHorseshoe":
        if "c2" not in post:
            return None
        c2 = np.asarray(post["c2"])[..., None]
        D = D * c2 / (c2 + D)
    if not getattr(prior, "sigma_scaled", True):  # D is gamma's variance itself: over sigma^2 in kappa
        D = D / np.asarray(post["sigma2"])[..., None]
    return (1.0 / (1.0 + post.attrs["m"] * D)).mean(axis=(0, 1))


def shrinkage_summary(post, prob: float = 0.95, top: int = 10) -> str:
    """A few lines for thousands of coefficients: how many central ``prob`` intervals exclude zero (and
    which, up to ``top``), the global scale's and sigma's posterior, and the shrinkage factors' spread."""
    names = post.attrs["names"]
    pen = np.asarray(post.attrs["penalized_index"])
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    lines = [f"{post.attrs['model']}: n = {post.attrs['n']}, p = {len(names)} ({pen.size} penalised), "
             f"{post.nchains} chains x {post.ndraws} draws"]
    if "beta" in post:
        beta = np.asarray(post["beta"])[:, :, pen].reshape(-1, pen.size)
        lo, hi = np.quantile(beta, [lo_q, hi_q], axis=0)
        out = np.flatnonzero((lo > 0) | (hi < 0))
        mean = beta.mean(axis=0)
        order = out[np.argsort(-np.abs(mean[out]))][:top]
        lines.append(f"  {out.size} of {pen.size} penalised coefficients have a {100 * prob:g}% interval excluding 0"
                     + (": " + ", ".join(f"{names[pen[j]]} ({mean[j]:.3g})" for j in order)
                        + (" ..." if out.size > top else "") if out.size else ""))
    g = np.asarray(post[post.prior.global_name]).ravel()
    lines.append(f"  {post.prior.global_name}: median {np.median(g):.3g}, {100 * prob:g}% interval "
                 f"[{np.quantile(g, lo_q):.3g}, {np.quantile(g, hi_q):.3g}]")
    s = np.sqrt(np.asarray(post["sigma2"]).ravel())
    lines.append(f"  sigma: median {np.median(s):.3g}, {100 * prob:g}% interval [{np.quantile(s, lo_q):.3g}, "
                 f"{np.quantile(s, hi_q):.3g}]")
    kappa = shrinkage(post)
    if kappa is not None:
        q = np.quantile(kappa, [0.0, 0.5, 1.0])
        lines.append(f"  shrinkage kappa_j (1 = to zero): min {q[0]:.3g}, median {q[1]:.3g}, max {q[2]:.3g}; "
                     f"{int((kappa < 0.5).sum())} coefficients with kappa < 0.5")
    return "\n".join(lines)


def plot_shrinkage(post, prob: float = 0.95, ax=None):
    """The shrinkage profile: each penalised coefficient's posterior mean kappa_j (1 = shrunk to zero) against
    the size of its posterior mean on the standardised scale |E[beta_j] s_j|, those whose central ``prob``
    interval excludes zero in colour.  Needs the local scales (kept by default up to p = 1000; else
    ``keep=[..., "lambda2"]``).  Returns the Figure, or ``ax`` when given."""
    import matplotlib.pyplot as plt

    kappa = shrinkage(post)
    if kappa is None or "beta" not in post:
        raise ValueError("plot_shrinkage needs beta and the local scales: sample with keep=['beta', 'sigma2', "
                         f"'{post.prior.global_name}', '{post.prior.local_name}'" +
                         (", 'c2'" if post.prior.kind == "RegularizedHorseshoe" else "") + "]")
    pen = np.asarray(post.attrs["penalized_index"])
    beta = np.asarray(post["beta"])[:, :, pen].reshape(-1, pen.size)
    lo, hi = np.quantile(beta, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    out = (lo > 0) | (hi < 0)
    size = np.abs(beta.mean(axis=0)) * np.asarray(post.attrs["col_scale"])
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.scatter(size[~out], kappa[~out], s=8, color="0.6", label=f"{100 * prob:g}% interval covers 0")
    ax.scatter(size[out], kappa[out], s=14, color="C3", label=f"excludes 0 ({int(out.sum())})")
    ax.set_xlabel("|posterior mean| x s_j (standardised)")
    ax.set_ylabel("posterior mean of kappa_j")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{post.prior.kind}: shrinkage profile, {pen.size} penalised coefficients", fontsize=10)
    ax.legend(fontsize=8, loc="center right")
    return fig if fig is not None else ax
