"""Student-t flat workload of issue 26: n = 10^4, p = 10 (intercept + 9 predictors), 5% outliers, 4 chains.

Prints draws/s (kept draws over all chains per second of sampling), min-ESS/s (the smallest bulk ESS over
beta, sigma2 and nu per second of sampling) for both backends, the Gaussian flat model's rates on the same
data, and with --compile the robust kernel's cold compile time (a fresh cache folder, in a subprocess).
"""

import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np


def workload(n=10_000, p=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p - 1))
    y = 1.0 + X @ rng.normal(0, 0.5, p - 1) + rng.standard_normal(n)
    out = rng.random(n) < 0.05
    y[out] += rng.normal(0, 15, out.sum())
    return X, y


def rates(model, X, y, backend, draws, warmup=200):
    from gibbsreg.diagnostics import ess_bulk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.sample(X, y, chains=4, draws=5, warmup=5, seed=1, backend=backend, progress=False)  # compiled
        post = model.sample(X, y, chains=4, draws=draws, warmup=warmup, seed=2, backend=backend, progress=False)
    t = post.attrs["sampling_seconds"]
    ess = min(float(np.min(ess_bulk(post[k].reshape(4, draws, -1)))) for k in post.names)
    return 4 * draws / t, ess / t, post


COMPILE = """
import time, numpy as np, gibbsreg.models.robust as rb
X = np.random.default_rng(0).standard_normal((50, 2)); y = X.sum(1)
t = time.perf_counter(); rb.StudentTRegression().sample(X, y, chains=2, draws=5, warmup=5, seed=1, progress=False)
print(time.perf_counter() - t)
"""


def sweep_microseconds(X, y, nu, repeats=7, sweeps=200):
    """The kernel alone, one chain on one thread: best of ``repeats`` calls of ``sweeps`` sweeps (robust to load)."""
    import numba

    import gibbsreg.models.robust as rb
    from gibbsreg.io.api import memory_stats
    from gibbsreg.kernels.robust.sweep import robust_gibbs
    from gibbsreg.models.robust.model import RobustRows, robust_spec
    from gibbsreg.data import as_design
    from gibbsreg.sampling import chain_streams

    model = rb.StudentTRegression(nu=nu)
    design = as_design(X, y)
    suff = memory_stats(X, y).to_sufficient()
    prior = rb.priors.resolve(model.prior, model.nu, None, suff, design.names)
    spec = robust_spec(RobustRows(design, suff), suff, prior, design.names, design.n, True)
    streams = chain_streams(1, 1)
    state = spec.init_state(streams)
    normal, gamma, after = streams.addresses()
    empty = np.empty((1, 0, design.p)), np.empty((1, 0)), np.empty((1, 0))
    numba.set_num_threads(1)
    args = spec.kernel_args + tuple(state[k] for k in spec.state_names) + (normal, gamma)
    robust_gibbs(*args, 5, 1, 0, *empty)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        robust_gibbs(*args, sweeps, 1, 0, *empty)
        best = min(best, time.perf_counter() - t)
    after()
    return 1e6 * best / sweeps


def main():
    import gibbsreg as gr
    import gibbsreg.models.robust as rb

    X, y = workload()
    for nu in (None, 4.0):
        print(f"one chain, one thread, nu {'learned' if nu is None else nu}: "
              f"{sweep_microseconds(X, y, nu):.0f} us per sweep (best of 7)", flush=True)
    for name, model in (("student-t, nu learned", rb.StudentTRegression()),
                        ("student-t, nu = 4", rb.StudentTRegression(nu=4.0)),
                        ("gaussian flat", gr.LinearRegression())):
        for backend in ("numba", "numpy"):
            draws = 2000 if backend == "numba" else 300
            if name == "gaussian flat" and backend == "numba":
                draws = 20000
            d, e, post = rates(model, X, y, backend, draws)
            nu = f"  nu {post['nu'].mean():.2f}" if "nu" in post.names else ""
            print(f"{name:<22} {backend:<6} draws/s {d:10.0f}  min-ESS/s {e:9.1f}{nu}", flush=True)
    if "--compile" in sys.argv:
        env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp())
        out = subprocess.run([sys.executable, "-c", COMPILE], capture_output=True, text=True, env=env, check=True)
        print(f"cold first run (robust kernel compiles, fresh cache): {float(out.stdout):.1f} s")


if __name__ == "__main__":
    main()
