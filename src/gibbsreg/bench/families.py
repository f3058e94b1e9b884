"""The bench's workloads of the model families beyond the Gaussian ones: Student-t errors, half-normal group
scales, binary outcomes.  Each is run by both backends like the Gaussian workloads; their floors are not
modelled (the row pass and the latent draws dominate them: docs/robust.md, docs/binary.md)."""

from __future__ import annotations

import numpy as np

FAMILY_WORKLOADS = {
    "W5 Student-t (n=10^4, p=10, 5% outliers)": dict(kind="robust", n=10_000, p=10, probe=40, min_draws=40),
    "W6 W3 with half-normal scales": dict(kind="hier-halfnormal", J=100, nj=50, p=5),
    "W7 flat logistic (n=5,000, p=20)": dict(kind="binary", n=5_000, p=20, link="logit", probe=10, min_draws=10,
                                              warmup=10),
    "W8 flat probit (n=5,000, p=20)": dict(kind="binary", n=5_000, p=20, link="probit", probe=10, min_draws=10,
                                           warmup=10),
    "W9 hier logistic (J=50, intercept and slope vary)": dict(kind="binary_hier", J=50, nj=40, p=2, link="logit",
                                                              probe=10, min_draws=10, warmup=10),
}
KINDS = {"robust", "hier-halfnormal", "binary", "binary_hier"}


def make_family_workload(spec: dict, seed: int = 0):
    """sample(backend, chains, draws, warmup, seed) of a family workload (the same data and priors every call)."""
    from .. import (BinaryRegression, HalfNormal, HierarchicalBinaryRegression, HierarchicalPrior,
                    HierarchicalRegression, StudentTRegression, datasets)

    kind = spec["kind"]
    rng = np.random.default_rng(seed)
    if kind == "robust":
        data = datasets.synthetic_regression(spec["n"], spec["p"], seed=seed)
        y = data.y.copy()
        out = rng.random(len(y)) < 0.05
        y[out] += rng.choice([-1.0, 1.0], out.sum()) * rng.uniform(5, 15, out.sum())

        def sample(backend, chains, draws, warmup, seed):
            return StudentTRegression(nu=None).sample(data.X, y, chains=chains, draws=draws, warmup=warmup,
                                                      seed=seed, backend=backend, progress=False)
    elif kind == "hier-halfnormal":
        data = datasets.synthetic_hierarchical(spec["J"], spec["nj"], spec["p"], tau=0.5, seed=seed)
        model = HierarchicalRegression(HierarchicalPrior(mu_mean=0.0, mu_scale=10.0, tau=HalfNormal(1.0),
                                                         sigma=HalfNormal(1.0)))

        def sample(backend, chains, draws, warmup, seed):
            return model.sample(data.X, data.y, data.groups, chains=chains, draws=draws, warmup=warmup, seed=seed,
                                backend=backend, progress=False)
    elif kind == "binary":
        X = rng.standard_normal((spec["n"], spec["p"] - 1))
        beta = rng.normal(0, 0.5, spec["p"] - 1)
        eta = 0.3 + X @ beta
        y = (rng.random(spec["n"]) < 1 / (1 + np.exp(-eta))).astype(float)
        model = BinaryRegression(spec["link"])

        def sample(backend, chains, draws, warmup, seed):
            return model.sample(X, y, chains=chains, draws=draws, warmup=warmup, seed=seed, backend=backend,
                                progress=False)
    else:
        data = datasets.synthetic_hierarchical(spec["J"], spec["nj"], spec["p"], tau=0.5, seed=seed)
        y = (rng.random(len(data.y)) < 1 / (1 + np.exp(-data.y))).astype(float)
        model = HierarchicalBinaryRegression(spec["link"])

        def sample(backend, chains, draws, warmup, seed):
            return model.sample(data.X, y, data.groups, chains=chains, draws=draws, warmup=warmup, seed=seed,
                                backend=backend, progress=False)
    return sample
