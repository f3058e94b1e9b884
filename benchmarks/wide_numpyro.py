"""NumPyro NUTS against gibbsreg on the wide workload: the regularised horseshoe, same data and same prior.

    python benchmarks/wide_numpyro.py [--n 200] [--p 1000] [--draws 1000] [--nuts-draws 500]

Data: benchmarks/wide_speed.py's design (X standard normal, 20 non-zero coefficients of size 1-3, intercept 1,
noise sd 1).  Prior: gibbsreg's ``RegularizedHorseshoe(p0=20)`` as it resolved it (tau ~ C+(0, tau0) with
Piironen & Vehtari's tau0, slab c^2 ~ IG(slab_df/2, slab_df slab_scale^2/2), Jeffreys' 1/sigma^2, a flat
intercept, every scale in units of sigma on the predictors standardised by gibbsreg's s_j); NumPyro gets the
same model in the usual non-centred form (gamma_j = sigma tau lambda~_j z_j), Jeffreys' prior as a flat
density on log sigma^2.  Both run 4 chains.  gibbsreg is timed for the whole call (warm-up included,
compilation excluded); NumPyro for sampling only (after adaptation; its sampling loop's compilation included).
Reported: min bulk ESS per second over the 20 non-zero coefficients and over all coefficients.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from families_numpyro import _cpu  # noqa: E402  (benchmarks/, beside this file)
from wide_speed import design  # noqa: E402

K = 20  # non-zero coefficients in the design


def min_ess(beta, ess_bulk):
    """(min over the K non-zero, min over all) bulk ESS of beta (chains, draws, p)."""
    e = np.asarray(ess_bulk(beta))
    return float(np.nanmin(e[:K])), float(np.nanmin(e))


def run_gibbsreg(X, y, draws, chains=4):
    import gibbsreg as gr
    from gibbsreg.models.wide import RegularizedHorseshoe

    model = gr.LinearRegression(prior=RegularizedHorseshoe(p0=K, keep=["beta", "sigma2", "tau2", "c2"]))
    model.sample(X, y, chains=chains, draws=5, warmup=5, seed=1, progress=False)  # compile / load the cache
    t0 = time.perf_counter()
    post = model.sample(X, y, chains=chains, draws=draws, warmup=draws // 2, seed=2, progress=False)
    secs = time.perf_counter() - t0
    beta = np.asarray(post["beta"])[:, :, 1:]  # the intercept first
    return post, beta, secs, chains * draws / secs


def run_nuts(X, y, prior, col_scale, draws, chains=4):
    """NumPyro NUTS on the same regularised horseshoe; (beta draws (chains, draws, p), sampling seconds)."""
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    numpyro.set_host_device_count(1)
    Xs = jnp.asarray(X / col_scale)  # gamma_j = s_j beta_j: the prior acts on gamma
    p = X.shape[1]
    nu, s = prior.slab_df, prior.slab_scale

    def model(Xs, y):
        alpha = numpyro.sample("alpha", dist.ImproperUniform(dist.constraints.real, (), ()))
        log_s2 = numpyro.sample("log_sigma2", dist.ImproperUniform(dist.constraints.real, (), ()))  # 1/sigma^2
        sigma = jnp.exp(0.5 * log_s2)
        tau = numpyro.sample("tau", dist.HalfCauchy(prior.global_scale))
        lam = numpyro.sample("lambda", dist.HalfCauchy(jnp.ones(p)))
        c2 = numpyro.sample("c2", dist.InverseGamma(nu / 2, nu * s * s / 2))
        lt2 = c2 * lam**2 / (c2 + tau**2 * lam**2)
        z = numpyro.sample("z", dist.Normal(jnp.zeros(p), 1.0))
        gamma = numpyro.deterministic("gamma", sigma * tau * jnp.sqrt(lt2) * z)
        numpyro.sample("y", dist.Normal(alpha + Xs @ gamma, sigma), obs=y)

    mcmc = MCMC(NUTS(model), num_warmup=draws, num_samples=draws, num_chains=chains, chain_method="vectorized",
                progress_bar=False)
    mcmc.warmup(jax.random.PRNGKey(0), Xs, jnp.asarray(y))
    # the sampling loop's compilation (a few seconds) is inside the timed run: a separate compiling run, as
    # peers.time_nuts makes, would double NUTS's time here (about a thousand leapfrog steps per draw)
    t0 = time.perf_counter()
    mcmc.run(mcmc.post_warmup_state.rng_key, Xs, jnp.asarray(y), extra_fields=("num_steps",))
    secs = time.perf_counter() - t0
    gamma = np.asarray(mcmc.get_samples(group_by_chain=True)["gamma"])
    steps = np.asarray(mcmc.get_extra_fields(group_by_chain=True)["num_steps"])
    return gamma / col_scale, secs, chains * draws / secs, float(steps.mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--p", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000, help="gibbsreg draws per chain (warm-up half as many)")
    ap.add_argument("--nuts-draws", type=int, default=500, help="NumPyro warm-up and draws per chain")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import jax
    import numpyro

    import gibbsreg as gr
    from gibbsreg.diagnostics import ess_bulk

    X, y = design(args.n, args.p, k=K)
    post, beta, secs, dps = run_gibbsreg(X, y, args.draws)
    ours = min_ess(beta, ess_bulk)
    prior = post.attrs["prior"]
    col_scale = np.asarray(post.attrs["col_scale"])
    print(f"gibbsreg: {secs:.1f} s, {dps:,.0f} draws/s, min ESS non-zero {ours[0]:.0f}, all {ours[1]:.0f}",
          flush=True)
    nbeta, nsecs, ndps, steps = run_nuts(X, y, prior, col_scale, args.nuts_draws)
    theirs = min_ess(nbeta, ess_bulk)
    print(f"NumPyro: {nsecs:.1f} s, {ndps:,.1f} draws/s ({steps:.0f} leapfrog steps per draw), "
          f"min ESS non-zero {theirs[0]:.0f}, all {theirs[1]:.0f}", flush=True)
    print(f"\nCPU: {_cpu()}; numpyro {numpyro.__version__}, jax {jax.__version__}, gibbsreg {gr.__version__}\n")
    print("| n | p | tool | draws | seconds | draws/s | min ESS/s non-zero | min ESS/s all |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for tool, d, s, r, e in (("gibbsreg (Gibbs)", args.draws, secs, dps, ours),
                             ("NumPyro NUTS", args.nuts_draws, nsecs, ndps, theirs)):
        print(f"| {args.n} | {args.p} | {tool} | 4 x {d} | {s:.1f} | {r:,.1f} | {e[0] / s:.2f} | {e[1] / s:.2f} |")
    print(f"\nratio (gibbsreg / NumPyro): non-zero {ours[0] / secs / (theirs[0] / nsecs):.1f}x, "
          f"all {ours[1] / secs / (theirs[1] / nsecs):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
