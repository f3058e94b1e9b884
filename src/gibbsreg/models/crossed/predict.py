"""Several grouping factors: prediction at new rows (seen and new levels) and forest plots per factor."""

from __future__ import annotations


import numpy as np

from ...posterior import Posterior


# ---------------------------------------------------------------------------------------------
# prediction and plotting helpers


def predict_crossed(post, full: np.ndarray, groups, rng):
    """Regression-function draws (chains, draws, m) and sigma^2 per row for rows ``full`` (m, p).

    A seen level uses its b_f,j; a level not seen in fitting shares one draw per (chain, draw)
    from N(mu, Sigma_1) (first factor) or N(0, Sigma_f) (later factors).
    """
    attrs = post.attrs
    m = full.shape[0]
    if groups is None:
        raise ValueError("prediction with several factors needs groups={factor name: labels} (one label per row)")
    keys = list(groups.columns) if hasattr(groups, "columns") else list(groups)
    C, Dn = post.nchains, post.ndraws
    vidx, pidx = attrs["varying_index"], attrs["pooled_index"]
    line = np.zeros((C, Dn, m))
    if pidx:
        line += np.einsum("cdr,mr->cdm", post["alpha"], full[:, pidx])
    for f, name in enumerate(attrs["factors"]):
        if name not in keys:
            raise ValueError(f"groups has no labels for factor {name!r}")
        col = groups[name]
        g = col.tolist() if hasattr(col, "tolist") else list(col)
        if len(g) != m:
            raise ValueError(f"groups[{name!r}] has {len(g)} labels; expected one per row ({m})")
        b = post[f"b_{name}"]
        lookup = {lab: j for j, lab in enumerate(post.coords[f"{name}_level"])}
        Xv = full[:, vidx[f]]
        new = {}
        for i, lab in enumerate(g):
            if lab in lookup:
                bj = b[:, :, lookup[lab]]
            else:
                if lab not in new:
                    z = rng.standard_normal((C, Dn, len(vidx[f])))
                    if f"Sigma_{name}" in post:
                        dev = np.einsum("cdab,cdb->cda", np.linalg.cholesky(post[f"Sigma_{name}"]), z)
                    else:
                        dev = np.sqrt(post[f"tau2_{name}"]) * z
                    new[lab] = dev + (post["mu"] if f == 0 else 0.0)
                bj = new[lab]
            line[..., i] += bj @ Xv[i]
    return line, np.broadcast_to(post["sigma2"][..., None], (C, Dn, m))


def plot_forest_factors(post, factors=None, **kwargs):
    """One forest plot per factor (list of Figures): every level's effects, one panel per coefficient;
    the first factor's panels carry the posterior mean of mu.  kwargs go to plots.plot_forest."""
    from ...plots import plot_forest

    names = post.attrs.get("factors") if factors is None else ([factors] if isinstance(factors, str) else factors)
    if not names:
        raise ValueError("plot_forest_factors needs a CrossedRegression posterior")
    figs = []
    for i, name in enumerate(names):
        draws = {"beta": post[f"b_{name}"]}
        coords = {"group": post.coords[f"{name}_level"], "coef": post.coords[f"{name}_coef"]}
        if name == post.attrs["factors"][0]:
            draws["mu"] = post["mu"]
        view = Posterior(draws, dims={"beta": ["group", "coef"], "mu": ["coef"]}, coords=coords, attrs={})
        fig = plot_forest(view, var_names=["beta"], **kwargs)
        for ax in fig.axes:  # the generic plot names its rows "group": say which factor
            ax.set_title(ax.get_title().replace("beta[group", f"b_{name}[{name}"), fontsize=9)
            if ax.get_ylabel().startswith("group"):
                ax.set_ylabel(name + ax.get_ylabel()[len("group"):])
        fig.suptitle(f"Factor {name!r}: {len(coords['group'])} levels "
                     + ("(centred at mu)" if "mu" in draws else "(deviations, centred at 0)"), fontsize=10)
        figs.append(fig)
    return figs
