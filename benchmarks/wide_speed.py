"""Wide model speed: ms per sweep of one chain (kernel alone, after compilation) on synthetic designs with 20
non-zero coefficients, and min-ESS/s over the non-zero coefficients end to end.

    python benchmarks/wide_speed.py sweep [n p ...]   # ms per sweep, e.g. 200 1000 200 10000 500 100000
    python benchmarks/wide_speed.py ess n p draws [prior]  # min-ESS/s over the 20 non-zero coefficients (2 chains;
                                                           # prior hs, hs-p0, rhs-p0 or lasso; warm-up draws/2)
    python benchmarks/wide_speed.py curve [n [p ...]]  # the p-curve at n = 500: ms per sweep for p = 10^3, 10^4,
                                                     # 3 x 10^4, 10^5, against O(n^2 p) (short runs)
"""

import sys
import time

import numpy as np

import gibbsreg as gr
from gibbsreg.models.wide import BayesianLasso, Horseshoe, RegularizedHorseshoe
from gibbsreg.models.wide.model import _build, wide_spec
from gibbsreg.runner import new_state
from gibbsreg.sampling import chain_streams


def design(n, p, seed=0, k=20):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:k] = rng.choice([-1, 1], k) * rng.uniform(1.0, 3.0, k)
    return X, 1.0 + X @ beta + rng.standard_normal(n)


def ms_per_sweep(n, p, iters=None, prior=None):
    X, y = design(n, p)
    prior = prior or Horseshoe(keep=["sigma2"])
    t0 = time.perf_counter()
    d, resolved, data = _build(X, y, prior, True, 1, 0, True, np.float64, "bench")
    prep = time.perf_counter() - t0
    del X
    spec = wide_spec(data, resolved, n, True, 0)
    streams = chain_streams(0, 1)
    state = new_state(spec, streams, chains=1, warmup=0, draws=0, thin=1, seed=0, backend="numba")
    kernel = spec.load_kernel()
    normal, gamma, _ = streams.addresses()
    arrays = [state.arrays[k] for k in spec.state_names]
    empty = [np.empty((1, 0) + s) for s, _ in spec.outputs.values()]
    t0 = time.perf_counter()
    kernel(*spec.kernel_args, *arrays, normal, gamma, 1, 1, 0, *empty)  # compile or load, first touch
    first = time.perf_counter() - t0
    if iters is None:
        iters = max(3, int(2.0 / max(first, 1e-4)))
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        kernel(*spec.kernel_args, *arrays, normal, gamma, iters, 1, 0, *empty)
        best = min(best, (time.perf_counter() - t0) / iters)
    return best * 1e3, prep, first, spec.attrs["beta_draw"]


PRIORS = {
    "hs": lambda: Horseshoe(keep=["beta", "sigma2", "tau2"]),
    "hs-p0": lambda: Horseshoe(p0=20, keep=["beta", "sigma2", "tau2"]),
    "rhs-p0": lambda: RegularizedHorseshoe(p0=20, keep=["beta", "sigma2", "tau2", "c2"]),
    "lasso": lambda: BayesianLasso(keep=["beta", "sigma2", "lambda2"]),
}


def ess_rate(n, p, draws, chains=2, prior="hs"):
    """min bulk-ESS (and per second of the whole call) over the 20 non-zero coefficients, over all of them,
    and of the global scale and sigma^2."""
    X, y = design(n, p)
    model = gr.LinearRegression(prior=PRIORS[prior]())
    model.sample(X, y, chains=chains, draws=10, warmup=10, seed=1, progress=False)  # compile
    t0 = time.perf_counter()
    post = model.sample(X, y, chains=chains, draws=draws, warmup=draws // 2, seed=2, progress=False)
    wall = time.perf_counter() - t0
    glob = "lambda2" if prior == "lasso" else "tau2"
    s = post.summary(var_names=["beta", "sigma2", glob])
    df = s.to_pandas() if hasattr(s, "to_pandas") else s
    ess = np.asarray(df["ess_bulk"], dtype=float)
    out = {"wall": wall, "ess_nz": float(ess[1:21].min()), "ess_all": float(ess[1:p + 1].min()),
           "ess_sigma2": float(ess[p + 1]), "ess_global": float(ess[p + 2])}
    out["rate_nz"], out["rate_all"] = out["ess_nz"] / wall, out["ess_all"] / wall
    return out


CURVE_P = (1_000, 10_000, 30_000, 100_000)


def p_curve(n=500, ps=CURVE_P):
    """ms per sweep (one chain, Bhattacharya draw, horseshoe) for each p at n, a few sweeps each; printed with
    ms / (n^2 p) and the log-log slope between neighbours (1 for O(n^2 p))."""
    rows = []
    for p in ps:
        ms, prep, first, how = ms_per_sweep(n, p, iters=max(2, 30_000 // p))
        rows.append((p, ms))
        slope = "" if len(rows) < 2 else f", slope {np.log(ms / rows[-2][1]) / np.log(p / rows[-2][0]):.2f}"
        print(f"n = {n} p = {p:7d} {how}: {ms:9.1f} ms/sweep, {ms * 1e9 / (n * n * p):6.2f} ps per n^2 p "
              f"(prep {prep:.1f} s){slope}", flush=True)
    p_all, ms_all = np.log([r[0] for r in rows]), np.log([r[1] for r in rows])
    print(f"least-squares slope of log ms on log p over p = {ps[0]}..{ps[-1]}: {np.polyfit(p_all, ms_all, 1)[0]:.2f}")
    return rows


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "sweep"
    nums = [int(v) for v in sys.argv[2:] if v.isdigit()]
    if what == "curve":
        p_curve(nums[0] if nums else 500, tuple(nums[1:]) or CURVE_P)
    elif what == "sweep":
        pairs = list(zip(nums[::2], nums[1::2])) or [(200, 1000), (200, 10000)]
        for n, p in pairs:
            ms, prep, first, how = ms_per_sweep(n, p)
            print(f"n = {n:6d} p = {p:7d} {how:>12}: {ms:10.2f} ms/sweep (prep {prep:.2f} s, first call {first:.2f} s)")
    else:
        n, p, draws = nums
        prior = sys.argv[5] if len(sys.argv) > 5 else "hs"
        r = ess_rate(n, p, draws, prior=prior)
        print(f"{prior} n = {n} p = {p}, 2 chains x {draws} draws: min bulk-ESS over the 20 non-zero {r['ess_nz']:.0f}, "
              f"over all {r['ess_all']:.0f}, global scale {r['ess_global']:.0f}, sigma^2 {r['ess_sigma2']:.0f}; "
              f"{r['wall']:.1f} s: {r['rate_nz']:.1f}/s non-zero, {r['rate_all']:.1f}/s all")
