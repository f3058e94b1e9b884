"""Speed and mixing of the binary models (docs/binary.md has the numbers measured with it).

    python benchmarks/binary_speed.py [flat|imbalanced|hier|rowpass|all]

flat: logistic and probit at n = 5,000, p = 20 (intercept + 19 N(0, 1) predictors, coefficients N(0, 0.3^2)),
4 chains x 1,000 draws after 100 warm-up, Numba; the NumPy twin for 10 draws.  imbalanced: the same X with ~2%
ones, logistic and probit: plain augmentation, boost=True and laplace_mh=True (docs/binary-boost.md).  hier: logistic with 20 rows per group, varying intercept and slope, J = 50 and 500, both samplers.
rowpass: the shared row pass against NumPy at n = 5,000, p = 20 on one thread.  Draws/s count kept draws of all
chains over the whole call (warm-up included); min ESS is ArviZ's bulk ESS over every coefficient (flat) or
over mu and the diagonal of Sigma (hierarchical).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np


def _min_ess(post, names):
    import arviz as az

    out = []
    for name in (n for n in names if n in post.names):  # Sigma (InvWishart) or tau2, whichever the prior gives
        a = np.asarray(post[name])
        if name == "Sigma":
            a = np.diagonal(a, axis1=-2, axis2=-1)
        a = a.reshape(a.shape[0], a.shape[1], -1)
        out += [float(az.ess(a[..., k])) for k in range(a.shape[2])]
    return min(out)


def _run(label, sample, draws, names):
    sample(5)  # compile (or load the cache) first
    t = time.perf_counter()
    post = sample(draws)
    seconds = time.perf_counter() - t
    ess = _min_ess(post, names) if draws >= 100 else float("nan")
    print(f"{label:<44} {4 * draws / seconds:9.1f} draws/s   min ESS/s {ess / seconds:8.1f}   ({seconds:.1f} s)",
          flush=True)


def flat():
    from gibbsreg.models.binary import BinaryRegression

    rng = np.random.default_rng(0)
    n, p = 5000, 20
    X = rng.standard_normal((n, p - 1))
    b = rng.normal(0, 0.3, p)
    y = (rng.random(n) < 1 / (1 + np.exp(-(b[0] + X @ b[1:])))).astype(float)
    for link in ("logit", "probit"):
        m = BinaryRegression(link)
        _run(f"flat {link} n=5000 p=20 numba", lambda D: m.sample(X, y, chains=4, draws=D, warmup=100, seed=1,
                                                                  progress=False), 1000, ["beta"])
    m = BinaryRegression("logit")
    _run("flat logit n=5000 p=20 numpy", lambda D: m.sample(X, y, chains=4, draws=D, warmup=0, seed=1,
                                                            progress=False, backend="numpy"), 10, ["beta"])


def imbalanced():
    """~2% ones (intercept -4.2, one slope 0.3, 18 null predictors), n = 5,000, p = 20: plain augmentation
    against the boosted sweep (marginal data augmentation), logistic and probit."""
    from gibbsreg.models.binary import BinaryRegression

    rng = np.random.default_rng(0)
    n, p = 5000, 20
    X = rng.standard_normal((n, p - 1))
    rng.normal(0, 0.3, p)  # the flat case's coefficients: the same X as there
    rng.random(n)
    yi = (rng.random(n) < 1 / (1 + np.exp(-(-4.2 + 0.3 * X[:, 0])))).astype(float)
    for link in ("logit", "probit"):
        for option in ("plain", "boost", "laplace_mh"):
            m = BinaryRegression(link, **({} if option == "plain" else {option: True}))
            _run(f"imbalanced ({100 * yi.mean():.1f}% ones) {link} {option}",
                 lambda D: m.sample(X, yi, chains=4, draws=D, warmup=100, seed=1, progress=False), 1000, ["beta"])


def hier():
    from gibbsreg.models.binary import HierarchicalBinaryRegression

    rng = np.random.default_rng(0)
    for J in (50, 500):
        g = np.repeat(np.arange(J), 20)
        x = rng.standard_normal((J * 20, 1))
        bj = rng.normal([0.2, 0.5], [0.5, 0.3], (J, 2))
        y = (rng.random(J * 20) < 1 / (1 + np.exp(-(bj[g, 0] + bj[g, 1] * x[:, 0])))).astype(float)
        for sampler in ("centered", "asis"):
            m = HierarchicalBinaryRegression("logit", sampler=sampler)
            _run(f"hier logit J={J} n={J * 20} {sampler} numba",
                 lambda D: m.sample(x, y, g, chains=4, draws=D, warmup=200, seed=1, progress=False), 1000,
                 ["mu", "Sigma", "tau2"])


def rowpass():
    from gibbsreg.kernels.rowpass import weighted_cross

    rng = np.random.default_rng(3)
    n, p = 5000, 20
    X = rng.standard_normal((n, p))
    w, u = rng.random(n), rng.standard_normal(n)
    G, h = np.zeros((p, p)), np.zeros(p)
    weighted_cross(X, w, u, G, h)

    def best(f, k=30):
        out = np.inf
        for _ in range(k):
            t = time.perf_counter()
            f()
            out = min(out, time.perf_counter() - t)
        return out

    ours = best(lambda: weighted_cross(X, w, u, G, h))
    numpy = best(lambda: (X.T @ (w[:, None] * X), X.T @ (w * u)))
    print(f"row pass n=5000 p=20: {ours * 1e6:.0f} us, NumPy {numpy * 1e6:.0f} us, ratio {ours / numpy:.2f}")


if __name__ == "__main__":
    warnings.filterwarnings("ignore", message="the chains have not converged")
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    for name, fn in (("rowpass", rowpass), ("flat", flat), ("imbalanced", imbalanced), ("hier", hier)):
        if what in (name, "all"):
            fn()
