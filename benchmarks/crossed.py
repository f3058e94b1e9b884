"""Crossed and nested random-effects workloads for CrossedRegression: draws/s and min-ESS/s.

Workloads (seeded):
* crossed: factor a with 1,000 levels (intercept and the slope of x vary) crossed with factor
  b with 100 levels (intercept), 10^5 rows with random levels (~63,000 non-empty cells);
* nested: 50 states, 20 counties within each (factor "state:county", 1,000 levels), 10^5 rows,
  intercepts only, one pooled slope;
* pilots: the pilots data, (1 | treatment) + (1 | airport) (5 x 8 levels, tau_treatment near 0);
* radon_all: all-state radon, log_radon ~ log_uppm + (1 | county) + (1 | floor) (386 x 5 levels,
  as examples/crossed_radon_all.py);
* radon_nested: the README's nested example, log_radon ~ log_uppm + (1 | county/floor) on the
  all-state radon data without missing values (385 counties, 742 county:floor levels, one to four
  floors per county: the two variances are confounded).
For each: both backends x the samplers ("plain" block Gibbs, "blocked" = block Gibbs plus the
exact moves along the unidentified mean directions, "asis" = "blocked" plus the interweaving
step for the factor scales, the default, which for a factor nested in the first adds the joint
parent-children update, docs/maths.md §14; "asis-nojoint" = "asis" without it).  min-ESS is the
smallest bulk ESS over every scalar (effects, mu, alpha, variances, sigma2); min-ESS/s divides by the
sampling time.
Per-iteration cost at fixed cells: 20,000 fixed cells, n = 10^5 and 10^6 (numba, 4 chains).

Run:  flock /tmp/gibbsreg-bench.lock python benchmarks/crossed.py [--quick] [--json out.json]
      [--workloads crossed,nested,pilots,radon_all,radon_nested] [--samplers plain,blocked,asis,asis-nojoint]
      [--backends numba,numpy] [--chains C --draws D --warmup W (numba; defaults 4, 1000, 500)]
      [--seeds 1,2,3] [--no-per-iteration]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import gibbsreg as gr
from gibbsreg import diagnostics
from gibbsreg.models.crossed import CrossedRegression, Factor, interaction_labels


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


def pilots_workload():
    df = gr.datasets.pilots()
    return np.zeros((len(df), 0)), df["y"].to_numpy(), {"treatment": df["treatment"].to_numpy(),
                                                          "airport": df["airport"].to_numpy()}, \
        [Factor("treatment"), Factor("airport")]


def radon_all_workload():
    df = gr.datasets.radon_all()
    floors = {0.0: "basement", 1.0: "first", 2.0: "second", 3.0: "third"}
    floor = np.where(df["floor_measure"].isna(), "missing", df["floor_measure"].map(floors).fillna("missing"))
    return df[["log_uppm"]].to_numpy(), df["log_radon"].to_numpy(), \
        {"county": df["county"].to_numpy(), "floor": floor}, [Factor("county"), Factor("floor")]


def radon_nested_workload():
    df = gr.datasets.radon_all().dropna()
    county = df["county"].astype(str).to_numpy()
    return df[["log_uppm"]].to_numpy(), df["log_radon"].to_numpy(), \
        {"county": county, "county:floor": interaction_labels(county, df["floor_measure"].astype(str))}, \
        [Factor("county"), Factor("county:floor")]


WORKLOADS = {"crossed": crossed_workload, "nested": nested_workload, "pilots": pilots_workload,
             "radon_all": radon_all_workload, "radon_nested": radon_nested_workload}


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


def population(post):
    """(min bulk ESS, min tail ESS, max R-hat) over the population-level scalars (mu, alpha, variances, sigma2)."""
    vals = []
    for k in post.names:
        if k.startswith("b_"):
            continue
        v = np.asarray(post[k]).reshape(post.nchains, post.ndraws, -1)
        for i in range(v.shape[2]):
            x = v[:, :, i]
            vals.append((float(diagnostics.ess_bulk(x)), float(diagnostics.ess_tail(x)), float(diagnostics.rhat(x))))
    b, t, r = zip(*vals)
    return min(b), min(t), max(r)


def run(name, data, backend, sampler, chains, draws, warmup, seed=1):
    X, y, groups, factors = data
    m = CrossedRegression(factors, sampler=sampler.split("-")[0], joint=False if sampler.endswith("-nojoint") else None)
    t0 = time.perf_counter()
    post = m.sample(X, y, groups, chains=chains, draws=draws, warmup=warmup, seed=seed, backend=backend,
                    progress=False)
    wall = time.perf_counter() - t0
    ess, worst = min_ess(post)
    pb, pt, pr = population(post)
    samp = post.attrs["sampling_seconds"]
    return dict(workload=name, backend=backend, sampler=sampler, chains=chains, draws=draws, warmup=warmup,
                cells=post.attrs["cells"], setup_s=round(post.attrs["setup_seconds"], 3),
                draws_per_s=round(chains * draws / samp, 1), min_ess=round(ess, 1), worst=worst,
                min_ess_per_s=round(ess / samp, 2), wall_s=round(wall, 2), pop_bulk=round(pb, 1),
                pop_tail=round(pt, 1), pop_rhat=round(pr, 4), ms_per_iteration=round(1e3 * samp / (draws + warmup), 3))


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
    ap.add_argument("--workloads", default="crossed,nested,pilots,radon_all")
    ap.add_argument("--samplers", default="plain,blocked,asis")
    ap.add_argument("--backends", default="numba,numpy")
    ap.add_argument("--seeds", default="1", help="comma-separated seeds (min ESS is noisy: report several)")
    ap.add_argument("--no-per-iteration", action="store_true")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=500)
    args = ap.parse_args(argv)
    if args.quick:
        sizes = dict(n=5000)
        nb, npd = (2, 200, 100), (2, 40, 20)
        fixed_n = (20_000, 40_000)
    else:
        sizes = dict(n=100_000)
        nb, npd = (args.chains, args.draws, args.warmup), (4, 100, 50)
        fixed_n = (100_000, 1_000_000)
    rows = []
    settings = {"numba": nb, "numpy": npd}
    for name in args.workloads.split(","):
        data = WORKLOADS[name](**sizes) if name in ("crossed", "nested") else WORKLOADS[name]()
        for backend in args.backends.split(","):
            c, d, w = settings[backend]
            for sampler in args.samplers.split(","):
                for seed in map(int, args.seeds.split(",")):
                    r = run(name, data, backend, sampler, c, d, w, seed=seed)
                    r["seed"] = seed
                    print(r, flush=True)
                    rows.append(r)
    flat = [] if args.no_per_iteration else [per_iteration(n) for n in fixed_n]
    for r in flat:
        print(r, flush=True)
    print("\n| workload | backend | sampler | seed | cells | draws/s | min ESS (param) | min-ESS/s | "
          "population bulk / tail / R-hat | ms / iteration |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workload']} | {r['backend']} | {r['sampler']} | {r['seed']} | {r['cells']} | "
              f"{r['draws_per_s']} | {r['min_ess']} ({r['worst']}) | {r['min_ess_per_s']} | "
              f"{r['pop_bulk']:.0f} / {r['pop_tail']:.0f} / {r['pop_rhat']:.3f} | {r['ms_per_iteration']} |")
    print("\n| n | cells | ms / iteration (4 chains, numba) |\n|---|---|---|")
    for r in flat:
        print(f"| {r['n']} | {r['cells']} | {r['ms_per_iteration']} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"runs": rows, "per_iteration": flat, "version": gr.__version__}, fh, indent=1)


if __name__ == "__main__":
    main()
