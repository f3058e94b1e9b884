"""Crossed and nested random-effects workloads for CrossedRegression: draws/s and min-ESS/s.

Workloads (seeded):
* crossed: factor a with 1,000 levels (intercept and the slope of x vary) crossed with factor
  b with 100 levels (intercept), 10^5 rows with random levels (~63,000 non-empty cells);
* nested: 50 states, 20 counties within each (factor "state:county", 1,000 levels), 10^5 rows,
  intercepts only, one pooled slope.
For each: both backends x both samplers ("plain" block Gibbs, "blocked" = block Gibbs plus the
exact moves along the unidentified mean directions).  min-ESS is the smallest bulk ESS over
every scalar (effects, mu, alpha, variances, sigma2); min-ESS/s divides by the sampling time.
Per-iteration cost at fixed cells: 20,000 fixed cells, n = 10^5 and 10^6 (numba, 4 chains).

Run:  flock /tmp/gibbsreg-bench.lock python benchmarks/crossed.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import gibbsreg as gr
from gibbsreg import diagnostics
from gibbsreg.crossed import CrossedRegression, Factor, interaction_labels


def crossed_workload(n=100_000, J1=1000, J2=100, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, J1, n)
    b = rng.integers(0, J2, n)
    x = rng.standard_normal(n)
    y = (1.0 + rng.normal(0, 0.5, J1)[a] + (0.3 + rng.normal(0, 0.2, J1)[a]) * x + rng.normal(0, 0.5, J2)[b]
         + rng.normal(0, 1.0, n))
    factors = [Factor("a", ["intercept", "x0"]), Factor("b")]
    return x[:, None], y, {"a": a, "b": b}, factors


def nested_workload(n=100_000, S=50, per=20, seed=1):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, S, n)
    c = rng.integers(0, per, n)
    x = rng.standard_normal(n)
    y = 2.0 + 0.4 * x + rng.normal(0, 0.6, S)[s] + rng.normal(0, 0.3, (S, per))[s, c] + rng.normal(0, 1.0, n)
    return x[:, None], y, {"state": s, "state:county": interaction_labels(s, c)}, \
        [Factor("state"), Factor("state:county")]


def fixed_cells_workload(n, cells=20_000, J1=1000, J2=100, seed=2):
    """Rows spread over one fixed set of cells, so that the cell count does not change with n."""
    rng = np.random.default_rng(seed)
    keys = rng.choice(J1 * J2, size=cells, replace=False)
    which = np.concatenate([np.arange(cells), rng.integers(0, cells, n - cells)])
    a, b = keys[which] // J2, keys[which] % J2
    x = rng.standard_normal(n)
    y = 1.0 + rng.normal(0, 0.5, J1)[a] + 0.3 * x + rng.normal(0, 0.5, J2)[b] + rng.normal(0, 1.0, n)
    return x[:, None], y, {"a": a, "b": b}, [Factor("a", ["intercept", "x0"]), Factor("b")]


def min_ess(post):
    values = [np.min(np.asarray(diagnostics.ess_bulk(post[k]))) for k in post.names]
    worst = int(np.argmin(values))
    return float(values[worst]), post.names[worst]


def run(name, data, backend, sampler, chains, draws, warmup, seed=1):
    X, y, groups, factors = data
    m = CrossedRegression(factors, sampler=sampler)
    t0 = time.perf_counter()
    post = m.sample(X, y, groups, chains=chains, draws=draws, warmup=warmup, seed=seed, backend=backend,
                    progress=False)
    wall = time.perf_counter() - t0
    ess, worst = min_ess(post)
    samp = post.attrs["sampling_seconds"]
    return dict(workload=name, backend=backend, sampler=sampler, chains=chains, draws=draws, warmup=warmup,
                cells=post.attrs["cells"], setup_s=round(post.attrs["setup_seconds"], 3),
                draws_per_s=round(chains * draws / samp, 1), min_ess=round(ess, 1), worst=worst,
                min_ess_per_s=round(ess / samp, 2), wall_s=round(wall, 2))


def per_iteration(n, chains=4, iters=200):
    X, y, groups, factors = fixed_cells_workload(n)
    m = CrossedRegression(factors)
    m.sample(X, y, groups, chains=chains, draws=5, warmup=0, seed=0, progress=False)  # compile / warm caches
    post = m.sample(X, y, groups, chains=chains, draws=iters, warmup=0, seed=0, progress=False)
    return dict(n=n, cells=post.attrs["cells"], chains=chains,
                ms_per_iteration=round(1e3 * post.attrs["sampling_seconds"] / iters, 3),
                setup_s=round(post.attrs["setup_seconds"], 2))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        sizes = dict(n=5000)
        nb, npd = (2, 200, 100), (2, 40, 20)
        fixed_n = (20_000, 40_000)
    else:
        sizes = dict(n=100_000)
        nb, npd = (4, 1000, 500), (4, 100, 50)
        fixed_n = (100_000, 1_000_000)
    rows = []
    for name, data in (("crossed", crossed_workload(**sizes)), ("nested", nested_workload(**sizes))):
        for backend, (c, d, w) in (("numba", nb), ("numpy", npd)):
            for sampler in ("plain", "blocked"):
                r = run(name, data, backend, sampler, c, d, w)
                print(r, flush=True)
                rows.append(r)
    flat = [per_iteration(n) for n in fixed_n]
    for r in flat:
        print(r, flush=True)
    print("\n| workload | backend | sampler | cells | draws/s | min ESS (param) | min-ESS/s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workload']} | {r['backend']} | {r['sampler']} | {r['cells']} | {r['draws_per_s']} | "
              f"{r['min_ess']} ({r['worst']}) | {r['min_ess_per_s']} |")
    print("\n| n | cells | ms / iteration (4 chains, numba) |\n|---|---|---|")
    for r in flat:
        print(f"| {r['n']} | {r['cells']} | {r['ms_per_iteration']} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"runs": rows, "per_iteration": flat, "version": gr.__version__}, fh, indent=1)


if __name__ == "__main__":
    main()
