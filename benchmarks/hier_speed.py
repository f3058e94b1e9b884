"""Hierarchical kernel speed: ns per group-iteration (W3, W3b, 4 chains on all cores) and one chain
at 1 and 2 threads (J = 10^4, 10^5; 20 rows per group, p = 3).
    python benchmarks/hier_speed.py [w3|threads|all]
"""

import sys
import time

import numba

from gibbsreg import HierarchicalRegression, datasets
from gibbsreg.bench import hier_prior


def per_iteration(J, nj, p, chains, iters, tau="InvGamma", gv=False, threads=None, sampler="asis", reps=3):
    data = datasets.synthetic_hierarchical(J, nj, p, tau=0.5, seed=0)
    model = HierarchicalRegression(hier_prior(tau, gv), sampler=sampler)
    before = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        model.sample(data.X, data.y, data.groups, chains=chains, draws=2, warmup=2, seed=0, progress=False)
        best = float("inf")
        for r in range(reps):
            post = model.sample(data.X, data.y, data.groups, chains=chains, draws=1, warmup=iters, seed=r,
                                progress=False, store_beta=False)
            best = min(best, post.attrs["warmup_seconds"] / iters)
    finally:
        numba.set_num_threads(before)
    return best


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    cores = numba.get_num_threads()
    if what in ("w3", "all"):
        for label, tau, gv, sampler in (("W3 asis", "InvGamma", False, "asis"), ("W3 centred", "InvGamma", False, "centered"),
                                        ("W3b asis", "InvWishart", True, "asis")):
            s = per_iteration(100, 50, 5, 4, 4000, tau, gv, sampler=sampler)
            ns = s * cores / 4 / 100 * 1e9
            print(f"{label:12s}: {ns:6.1f} core-ns per group-iteration; {4 / s:10,.0f} draws/s on {cores} cores,"
                  f" {4 / s / cores:10,.0f} per core", flush=True)
    if what in ("threads", "all"):
        for J, iters in ((10_000, 300), (100_000, 30)):
            t1 = per_iteration(J, 20, 3, 1, iters, threads=1)
            t2 = per_iteration(J, 20, 3, 1, iters, threads=2)
            print(f"1 chain J={J:>7,d}: 1 thread {t1 * 1e3:7.3f} ms/it, 2 threads {t2 * 1e3:7.3f} ms/it, "
                  f"speed-up {t1 / t2:4.2f}x", flush=True)
