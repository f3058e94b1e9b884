"""Kernel-only cost of the flat sweep, with output buffers touched beforehand.

The report (gibbsreg bench) times whole sampling calls, where first-touch page faults of the
draw buffers dominate the flat sampler on this virtual machine.  This script times the flat
kernel alone on W1, on W2 (n = 10^6, p = 50) and on n = 1,000, p = 50, to show that the
per-iteration cost does not depend on n:  python benchmarks/kernel_only.py
"""

import time

import numpy as np

from gibbsreg import SemiConjugate, datasets, sufficient_stats
from gibbsreg.models.flat.model import flat_problem
from gibbsreg.kernels.flat import flat_gibbs
from gibbsreg.sampling import chain_streams


def kernel_ns(n, p, chains=4, iters=200_000, reps=5):
    data = datasets.synthetic_regression(n, p, seed=0)
    source = sufficient_stats(data.X, data.y)
    stats = source.to_sufficient()
    problem = flat_problem(stats, SemiConjugate().resolve(stats, source.names))
    streams = chain_streams(1, chains)
    normal, gamma, _ = streams.addresses()  # the generators' own states, advanced in place
    state = (np.zeros((chains, p)), np.ones(chains), np.zeros(chains), np.ones(chains), np.ones(chains))
    outs = (np.zeros((chains, iters, p)), np.zeros((chains, iters)), np.zeros((chains, 0)), np.zeros((chains, 0)))
    args = problem.kernel_args(stats.transform.T_inv() @ problem.W, stats.transform.beta_ref)
    flat_gibbs(*args, *state, normal, gamma, iters, 1, 0, *outs)  # compile and touch
    best = min(_time(lambda: flat_gibbs(*args, *state, normal, gamma, iters, 1, 0, *outs))
               for _ in range(reps))
    return best / (chains * iters) * 1e9 * min(chains, 2)


def _time(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


if __name__ == "__main__":
    w1 = kernel_ns(1_000, 10)
    small = kernel_ns(1_000, 50)
    w2 = kernel_ns(1_000_000, 50)
    print(f"W1 (n=1,000, p=10): {w1:,.0f} core-ns per iteration per chain")
    print(f"n=1,000, p=50: {small:,.0f}; W2 (n=10^6, p=50): {w2:,.0f}; ratio W2 / n=1,000: {w2 / small:.2f}")
