"""Mixing of the hierarchical sampler: min-ESS/s of tau^2 and mu, centred vs interweaving (ASIS).

Regimes (issue 4): weak data J=100 groups x n_j=5 rows, true tau=0.1; strong data
J=100 x n_j=200, tau=1; p=3 all varying, InvGamma(1, 0.1) hyperprior on tau_k^2.
Run:  python benchmarks/mixing.py [--draws N]
"""

import argparse
import time

import numpy as np

import gibbsreg as gr
from gibbsreg.diagnostics import ess_bulk

REGIMES = {"weak (J=100, n_j=5, tau=0.1)": (100, 5, 0.1), "strong (J=100, n_j=200, tau=1)": (100, 200, 1.0)}


def measure(sampler, J, nj, tau, draws, seed=0, p=3, backend="numba"):
    data = gr.datasets.synthetic_hierarchical(J, nj, p, tau=tau, sigma=1.0, seed=seed)
    prior = gr.HierarchicalPrior(tau=gr.InvGamma(1.0, 0.1), mu_scale=10.0, sigma=gr.InvGamma(1.0, 1.0))
    model = gr.HierarchicalRegression(prior, sampler=sampler)
    model.sample(data.X, data.y, data.groups, chains=4, draws=10, warmup=10, seed=seed, progress=False, backend=backend)
    post = model.sample(data.X, data.y, data.groups, chains=4, draws=draws, warmup=500, seed=seed + 1,
                        progress=False, backend=backend)
    secs = post.attrs["sampling_seconds"]
    return {"tau2": float(np.min(ess_bulk(post["tau2"]))) / secs, "mu": float(np.min(ess_bulk(post["mu"]))) / secs,
            "draws/s": post.nchains * post.ndraws / secs}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=5000)
    args = parser.parse_args(argv)
    rows = []
    for name, (J, nj, tau) in REGIMES.items():
        for sampler in ("centered", "asis"):
            r = measure(sampler, J, nj, tau, args.draws)
            rows.append((name, sampler, r))
            print(f"{name:32s} {sampler:9s} min-ESS/s tau2 {r['tau2']:10.0f}  mu {r['mu']:10.0f}  draws/s {r['draws/s']:10.0f}")
    return rows


if __name__ == "__main__":
    main()
