"""Flat W1 (n = 1,000, p = 10): end-to-end draws/s against the no-storage rate, same process.

no-storage = chains x warm-up iterations / warm-up seconds (draws=1); end-to-end = chains x draws /
wall seconds of the whole ``sample`` call (setup, sampling, map back to beta, Posterior).
    python benchmarks/store_speed.py [chains] [dtype]
"""

import sys
import time

import numpy as np

from gibbsreg import LinearRegression, datasets


def rates(chains=4, sizes=(10**3, 10**4, 10**5, 10**6), dtype=None, reps=5):
    data = datasets.synthetic_regression(1_000, 10, seed=0)
    model = LinearRegression()
    kw = {} if dtype is None else {"dtype": dtype}
    model.sample(data.X, data.y, chains=chains, draws=10, warmup=10, seed=0, progress=False, **kw)
    out = []
    for n in sizes:
        best_ns = 0.0
        for r in range(reps):
            post = model.sample(data.X, data.y, chains=chains, draws=1, warmup=n, seed=r, progress=False, **kw)
            best_ns = max(best_ns, chains * n / post.attrs["warmup_seconds"])
        best_e2e = 0.0
        for r in range(reps if n < 10**6 else 3):
            t0 = time.perf_counter()
            post = model.sample(data.X, data.y, chains=chains, draws=n, warmup=0, seed=r, progress=False, **kw)
            wall = time.perf_counter() - t0
            best_e2e = max(best_e2e, chains * n / wall)
            del post
        out.append((n, best_ns, best_e2e))
        print(f"chains={chains} draws/chain={n:>8,d}  no-storage {best_ns / 1e6:7.2f} M/s  end-to-end "
              f"{best_e2e / 1e6:7.2f} M/s  ratio {best_e2e / best_ns:5.0%}", flush=True)
    return out


if __name__ == "__main__":
    chains = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    dtype = np.float32 if len(sys.argv) > 2 and sys.argv[2] == "float32" else None
    rates(chains, dtype=dtype)
