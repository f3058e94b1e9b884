"""gibbsreg CrossedRegression vs NumPyro NUTS on the same crossed workload: min-ESS/s side by side.

Workload: ``crossed_workload`` of benchmarks/crossed.py (factor a: intercept and slope of x vary,
factor b: intercept, rows at random levels).  Full size: 1,000 x 100 levels, 10^5 rows; quick
size: 200 x 20 levels, 10^4 rows.

Model (both tools, the same numbers): the priors NumPyro gets are read from the resolved prior
of the gibbsreg run (``post.attrs["prior"]``):

    mu_k ~ N(m_k, s_k^2),  tau_a,k ~ half-Cauchy(c_a,k),  tau_b ~ half-Cauchy(c_b),
    sigma^2 ~ IG(a0, b0),  b_a,j ~ N(mu, diag(tau_a^2)),  b_b,j ~ N(0, tau_b^2),
    y_i ~ N(b_a[a_i, 0] + b_a[a_i, 1] x_i + b_b[b_i], sigma^2).

NumPyro uses the non-centred parameterisation (b_a = mu + tau_a z_a, b_b = tau_b z_b, z ~ N(0, 1)),
which is what a NumPyro user writes for weakly identified effects, and the row-level likelihood
(every gradient is one pass over the rows).  gibbsreg: default sampler ("blocked"), numba, 4 chains.

Timing: gibbsreg's ``sampling_seconds`` (after a compile run, warm-up excluded).  NumPyro: warm-up
(adaptation) through ``MCMC.warmup``; then the NUTS transition ``kernel.sample`` is jitted once
(on the 4 chains at once for chain_method="vectorized", one chain after another for
"sequential"), its compile time is measured on the first call and reported separately, and the
timed loop runs the draws.  This is the transition MCMC.run's loop calls, without re-compiling
the whole loop for each run.

min ESS: smallest gibbsreg.diagnostics.ess_bulk over mu, tau2_a, tau2_b, sigma2 and every effect
b_a, b_b (bulk ESS is rank based, so tau and tau^2 give the same ESS).

Run:  flock /tmp/gibbsreg-bench.lock python benchmarks/crossed_numpyro.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location("_crossed_bench", Path(__file__).with_name("crossed.py"))
_crossed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_crossed)
crossed_workload = _crossed.crossed_workload

import gibbsreg as gr  # noqa: E402
from gibbsreg import diagnostics  # noqa: E402
from gibbsreg.models.crossed import CrossedRegression  # noqa: E402

COMMON = ("mu", "tau2_a", "tau2_b", "sigma2", "b_a", "b_b")


def min_ess(draws: dict) -> tuple[float, str]:
    """Smallest bulk ESS over every scalar of the COMMON arrays (chains, draws, ...)."""
    values = {k: float(np.min(np.asarray(diagnostics.ess_bulk(draws[k])))) for k in COMMON}
    worst = min(values, key=values.get)
    return values[worst], worst


def run_gibbsreg(data, chains, draws, warmup, seed=1):
    X, y, groups, factors = data
    m = CrossedRegression(factors)
    m.sample(X, y, groups, chains=chains, draws=5, warmup=5, seed=0, progress=False)  # compile / load caches
    post = m.sample(X, y, groups, chains=chains, draws=draws, warmup=warmup, seed=seed, progress=False)
    d = {k: np.asarray(post[k]) for k in COMMON}
    secs = post.attrs["sampling_seconds"]
    ess, worst = min_ess(d)
    row = dict(tool="gibbsreg CrossedRegression", version=gr.__version__, sampler=post.attrs["sampler"],
               backend="numba", chains=chains, draws=draws, warmup=warmup, cells=post.attrs["cells"],
               setup_s=round(post.attrs["setup_seconds"], 3), warmup_s=round(post.attrs["warmup_seconds"], 2),
               compile_s=None, sampling_s=round(secs, 3), draws_per_s=round(chains * draws / secs, 1),
               min_ess=round(ess, 1), worst=worst, min_ess_per_s=round(ess / secs, 3))
    return row, d, post.attrs["prior"]


def numpyro_model_fn(prior, J1, J2):
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    fa, fb = prior.factors
    assert fa["tau_kind"] == "HalfCauchy" and fb["tau_kind"] == "HalfCauchy", "the default priors are half-Cauchy"
    assert fa["varying"] == ["intercept", "x0"] and fb["varying"] == ["intercept"], (fa["varying"], fb["varying"])
    assert np.isfinite(prior.fixed_scale).all()
    m0, s0 = jnp.asarray(prior.fixed_mean), jnp.asarray(prior.fixed_scale)
    ca, cb = jnp.asarray(fa["tau_scale"]), jnp.asarray(fb["tau_scale"])
    sa, sb = float(prior.sigma_a), float(prior.sigma_b)

    def model(x, a, b, y):
        mu = numpyro.sample("mu", dist.Normal(m0, s0).to_event(1))
        tau_a = numpyro.sample("tau_a", dist.HalfCauchy(ca).to_event(1))
        tau_b = numpyro.sample("tau_b", dist.HalfCauchy(cb).to_event(1))
        sigma2 = numpyro.sample("sigma2", dist.InverseGamma(sa, sb))
        z_a = numpyro.sample("z_a", dist.Normal(0.0, 1.0).expand([J1, 2]).to_event(2))
        z_b = numpyro.sample("z_b", dist.Normal(0.0, 1.0).expand([J2, 1]).to_event(2))
        b_a = numpyro.deterministic("b_a", mu + tau_a * z_a)
        b_b = numpyro.deterministic("b_b", tau_b * z_b)
        mean = b_a[a, 0] + b_a[a, 1] * x + b_b[b, 0]
        numpyro.sample("y", dist.Normal(mean, jnp.sqrt(sigma2)), obs=y)

    return model


def run_numpyro(data, prior, chains, draws, warmup, chain_method, seed=0):
    import jax
    import jax.numpy as jnp
    import numpyro
    from numpyro.infer import MCMC, NUTS

    X, y, groups, _ = data
    J1, J2 = int(groups["a"].max()) + 1, int(groups["b"].max()) + 1
    args = (jnp.asarray(X[:, 0]), jnp.asarray(groups["a"]), jnp.asarray(groups["b"]), jnp.asarray(y))
    kernel = NUTS(numpyro_model_fn(prior, J1, J2))
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=chains, chain_method=chain_method,
                progress_bar=False)
    t0 = time.perf_counter()
    mcmc.warmup(jax.random.PRNGKey(seed), *args)  # adaptation, including its own compilation
    jax.block_until_ready(mcmc.post_warmup_state)
    warm_s = time.perf_counter() - t0
    state = mcmc.post_warmup_state  # leading axis: chains

    def one(s, *a):
        return kernel.sample(s, a, {})

    if chain_method == "vectorized":
        step = jax.jit(one)  # after a vectorised init, the kernel's transition is already vmapped over chains
        t0 = time.perf_counter()
        first = jax.block_until_ready(step(state, *args))
        first_s = time.perf_counter() - t0
        zs, steps, div = [], [], []
        state = first
        t0 = time.perf_counter()
        for _ in range(draws):
            state = step(state, *args)
            zs.append(state.z)
            steps.append(state.num_steps)
            div.append(state.diverging)
        jax.block_until_ready(state)
        secs = time.perf_counter() - t0
        z = jax.tree.map(lambda *v: jnp.stack(v, axis=1), *zs)  # (chains, draws, ...)
        nsteps = np.stack([np.asarray(s) for s in steps], axis=1)
        ndiv = int(np.sum([np.asarray(d) for d in div]))
    else:
        step = jax.jit(one)
        per_chain, nsteps, ndiv, secs, first_s = [], [], 0, 0.0, 0.0
        for c in range(chains):
            s = jax.tree.map(lambda v: v[c], state)
            t0 = time.perf_counter()
            s = jax.block_until_ready(step(s, *args))  # compiles on the first chain only
            if c == 0:
                first_s = time.perf_counter() - t0
            zs, st, dv = [], [], []
            t0 = time.perf_counter()
            for _ in range(draws):
                s = step(s, *args)
                zs.append(s.z)
                st.append(s.num_steps)
                dv.append(s.diverging)
            jax.block_until_ready(s)
            secs += time.perf_counter() - t0
            ndiv += int(np.sum([np.asarray(v) for v in dv]))
            per_chain.append(jax.tree.map(lambda *v: jnp.stack(v), *zs))
            nsteps.append(np.asarray(st))
        z = jax.tree.map(lambda *v: jnp.stack(v), *per_chain)
        nsteps = np.stack(nsteps)
    # the first call is compile + one transition; subtract one timed transition's average
    compile_s = max(first_s - secs / (draws if chain_method == "vectorized" else chains * draws), 0.0)
    pp = kernel.postprocess_fn(args, {})
    flat = jax.tree.map(lambda v: v.reshape((chains * draws,) + v.shape[2:]), z)
    con = jax.lax.map(pp, flat, batch_size=64)
    out = {k: np.asarray(v).reshape((chains, draws) + v.shape[1:]) for k, v in con.items()}
    d = {"mu": out["mu"], "tau2_a": out["tau_a"] ** 2, "tau2_b": out["tau_b"] ** 2, "sigma2": out["sigma2"],
         "b_a": out["b_a"], "b_b": out["b_b"]}
    ess, worst = min_ess(d)
    row = dict(tool="NumPyro NUTS (non-centred)", version=numpyro.__version__, sampler=f"NUTS {chain_method}",
               backend=f"jax {jax.__version__} CPU", chains=chains, draws=draws, warmup=warmup, cells=None,
               setup_s=None, warmup_s=round(warm_s, 2), compile_s=round(compile_s, 2), sampling_s=round(secs, 3),
               draws_per_s=round(chains * draws / secs, 2), min_ess=round(ess, 1), worst=worst,
               min_ess_per_s=round(ess / secs, 4), mean_leapfrog=round(float(nsteps.mean()), 1),
               max_leapfrog=int(nsteps.max()), divergences=ndiv)
    return row, d


def agreement(g, n):
    """z = (mean_g - mean_n) / sqrt(mcse_g^2 + mcse_n^2) per scalar; max |z| per array."""
    res = {}
    for k in COMMON:
        mg, mn = g[k].mean(axis=(0, 1)), n[k].mean(axis=(0, 1))
        se = np.sqrt(np.asarray(diagnostics.mcse_mean(g[k])) ** 2 + np.asarray(diagnostics.mcse_mean(n[k])) ** 2)
        z = (mg - mn) / se
        entry = {"max_abs_z": round(float(np.max(np.abs(z))), 2), "scalars": int(np.size(z))}
        if np.size(z) <= 2:
            entry.update(gibbsreg=np.round(np.ravel(mg), 4).tolist(), numpyro=np.round(np.ravel(mn), 4).tolist(),
                         z=np.round(np.ravel(z), 2).tolist())
        res[k] = entry
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200 x 20 levels, 10^4 rows")
    ap.add_argument("--chain-method", default="vectorized", choices=["vectorized", "sequential"])
    ap.add_argument("--numpyro-draws", type=int, default=None)
    ap.add_argument("--numpyro-warmup", type=int, default=None)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        data = crossed_workload(n=10_000, J1=200, J2=20)
        size = "quick: 200 x 20 levels, 10^4 rows"
    else:
        data = crossed_workload()
        size = "full: 1,000 x 100 levels, 10^5 rows"
    nd = args.numpyro_draws or (500 if args.quick else 250)
    nw = args.numpyro_warmup or (500 if args.quick else 250)
    print(size, f"os.cpu_count()={os.cpu_count()}", flush=True)
    g_row, g, prior = run_gibbsreg(data, chains=4, draws=1000, warmup=500)
    print(g_row, flush=True)
    print(prior, flush=True)
    n_row, n = run_numpyro(data, prior, chains=4, draws=nd, warmup=nw, chain_method=args.chain_method)
    print(n_row, flush=True)
    agree = agreement(g, n)
    ratio = g_row["min_ess_per_s"] / n_row["min_ess_per_s"]
    print("agreement (max |z| of posterior-mean differences in combined MCSE):", json.dumps(agree), flush=True)
    print(f"\nmin-ESS/s ratio gibbsreg / NumPyro = {ratio:.1f} (goal >= 100)")
    print("\n| tool | chains x draws (warm-up) | draws/s | min ESS (param) | min-ESS/s | warm-up s | compile s |")
    print("|---|---|---|---|---|---|---|")
    for r in (g_row, n_row):
        print(f"| {r['tool']} ({r['sampler']}) | {r['chains']} x {r['draws']} ({r['warmup']}) | {r['draws_per_s']} | "
              f"{r['min_ess']} ({r['worst']}) | {r['min_ess_per_s']} | {r['warmup_s']} | {r['compile_s']} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"size": size, "runs": [g_row, n_row], "ratio": ratio, "agreement": agree}, fh, indent=1)


if __name__ == "__main__":
    main()
