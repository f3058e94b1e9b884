"""Small runs of every model and both backends whose draws are pinned in tests/data/draws/.

``python tests/draw_fixtures.py --record`` writes the draws of the current code (run it only when a
commit changes the draws on purpose, and say why in that commit); ``test_pinned_draws.py`` reruns the
same cases and compares.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

import gibbsreg as gr

HERE = Path(__file__).parent / "data" / "draws"


def _flat(prior, backend, dtype=np.float64):
    d = gr.datasets.synthetic_regression(120, 4, seed=4)
    return gr.LinearRegression(prior).sample(d.X, d.y, chains=2, draws=12, warmup=6, seed=5, progress=False,
                                             backend=backend, dtype=dtype)


def _hier(prior, backend, sampler="asis", varying=None):
    d = gr.datasets.synthetic_hierarchical(12, 8, 3, tau=0.5, seed=3)
    m = gr.HierarchicalRegression(prior, sampler=sampler, varying=varying)
    return m.sample(d.X, d.y, d.groups, chains=2, draws=10, warmup=6, seed=11, progress=False, backend=backend)


def _crossed(backend, sampler, nested=False, taus=(None, None), sigma=None, joint=None):
    rng = np.random.default_rng(7)
    n = 150
    a = rng.integers(0, 6, n)
    b = rng.integers(0, 5, n)
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * x + 0.4 * rng.normal(size=6)[a] + 0.3 * rng.normal(size=5)[b] + rng.normal(size=n)
    X = np.column_stack([x])
    if nested:
        groups = {"a": a, "a:b": gr.interaction_labels(a, b)}
        factors = [gr.Factor("a", tau=taus[0]), gr.Factor("a:b", tau=taus[1])]
    else:
        groups = {"a": a, "b": b}
        factors = [gr.Factor("a", varying=["intercept", "x0"], tau=taus[0]), gr.Factor("b", tau=taus[1])]
    m = gr.CrossedRegression(factors, sampler=sampler, prior=None if sigma is None else gr.CrossedPrior(sigma=sigma),
                             joint=joint)
    return m.sample(X, y, groups, chains=2, draws=10, warmup=6, seed=13, progress=False, backend=backend)


def _conjugate():
    d = gr.datasets.synthetic_regression(120, 4, seed=4)
    return gr.fit_conjugate(d.X, d.y).sample(draws=8, chains=2, seed=3)


def _weighted(backend, grouped):
    d = gr.datasets.synthetic_hierarchical(12, 8, 3, tau=0.5, seed=3)
    w = 1.0 + np.arange(len(d.y)) % 3
    kw = dict(chains=2, draws=10, warmup=6, seed=19, progress=False, backend=backend, weights=w)
    if grouped:
        return gr.HierarchicalRegression().sample(d.X, d.y, d.groups, **kw)
    return gr.LinearRegression().sample(d.X, d.y, **kw)


def _robust(nu, backend):
    d = gr.datasets.synthetic_regression(120, 4, seed=4)
    return gr.StudentTRegression(nu=nu).sample(d.X, d.y, chains=2, draws=12, warmup=6, seed=5, progress=False,
                                               backend=backend)


def _robust_hier(nu, backend):
    d = gr.datasets.synthetic_hierarchical(8, 10, 2, tau=0.5, seed=3)
    return gr.HierarchicalStudentTRegression(nu=nu, prior=gr.HierarchicalPrior(tau=gr.HalfNormal(1.0))).sample(
        d.X, d.y, d.groups, chains=2, draws=10, warmup=5, seed=13, progress=False, backend=backend)


def _crossed_rows(backend, family, nested=False):
    rng = np.random.default_rng(7)
    n = 150
    a, b, x = rng.integers(0, 6, n), rng.integers(0, 5, n), rng.normal(size=n)
    eta = 0.3 + 0.5 * x + 0.4 * rng.normal(size=6)[a] + 0.3 * rng.normal(size=5)[b]
    groups = {"a": a, "a:b": gr.interaction_labels(a, b)} if nested else {"a": a, "b": b}
    factors = [gr.Factor("a"), gr.Factor(list(groups)[1])]
    kw = dict(chains=2, draws=10, warmup=6, seed=13, progress=False, backend=backend)
    if family == "student":
        return gr.CrossedStudentTRegression(factors).sample(x[:, None], eta + rng.standard_t(4, n), groups, **kw)
    y = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
    return gr.CrossedBinaryRegression(factors, link=family).sample(x[:, None], y, groups, **kw)


def _binary(link, backend, trials=None):
    rng = np.random.default_rng(21)
    X = rng.normal(size=(80, 2))
    t = None if trials is None else np.full(80, trials)
    y = rng.binomial(1 if t is None else t, 1 / (1 + np.exp(-(0.3 + X @ [0.8, -0.5])))).astype(float)
    return gr.BinaryRegression(link).sample(X, y, t, chains=2, draws=10, warmup=5, seed=7, progress=False,
                                            backend=backend)


def _binary_hier(backend):
    d = gr.datasets.synthetic_hierarchical(8, 10, 2, tau=0.5, seed=3)
    y = (d.y > np.median(d.y)).astype(float)
    return gr.HierarchicalBinaryRegression("logit").sample(d.X, y, d.groups, chains=2, draws=10, warmup=5, seed=11,
                                                           progress=False, backend=backend)


def _wide(prior, backend, n=25, p=40):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:3] = [2.0, -1.5, 1.0]
    y = 0.5 + X @ beta + rng.standard_normal(n)
    return gr.LinearRegression(prior).sample(X, y, chains=2, draws=10, warmup=6, seed=17, progress=False,
                                             backend=backend)


def cases():
    """name -> a function returning a Posterior (every model kind and sampler, both backends)."""
    out = {"conjugate": _conjugate}
    for backend in ("numba", "numpy"):
        out[f"flat-semiconjugate-{backend}"] = lambda b=backend: _flat(gr.SemiConjugate(), b)
        out[f"flat-nig-{backend}"] = lambda b=backend: _flat(gr.NormalInverseGamma(), b)
        out[f"flat-exchangeable-{backend}"] = lambda b=backend: _flat(gr.Exchangeable(), b)
        out[f"flat-exchangeable-halfcauchy-{backend}"] = lambda b=backend: _flat(
            gr.Exchangeable(tau=gr.HalfCauchy(1.0)), b)
        out[f"hier-invgamma-asis-{backend}"] = lambda b=backend: _hier(None, b)
        out[f"hier-halfcauchy-asis-{backend}"] = lambda b=backend: _hier(
            gr.HierarchicalPrior(tau=gr.HalfCauchy(1.0)), b)
        out[f"hier-invwishart-{backend}"] = lambda b=backend: _hier(
            gr.HierarchicalPrior(tau=gr.InvWishart(7.0, 0.1), sigma=gr.InvGamma(1.0, 1.0), group_variance=True), b)
        out[f"hier-centered-varying-{backend}"] = lambda b=backend: _hier(None, b, "centered", [0, 1])
        out[f"hier-halfnormal-expsigma-{backend}"] = lambda b=backend: _hier(
            gr.HierarchicalPrior(tau=gr.HalfNormal(1.0), sigma=gr.Exponential(1.0)), b)
        out[f"hier-halft-centered-{backend}"] = lambda b=backend: _hier(
            gr.HierarchicalPrior(tau=gr.HalfStudentT(3.0, 0.5), sigma=gr.HalfStudentT(4.0, 1.0)), b, "centered")
        out[f"hier-exponential-hnsigma-{backend}"] = lambda b=backend: _hier(
            gr.HierarchicalPrior(tau=gr.Exponential(2.0), sigma=gr.HalfNormal(1.0)), b)
        out[f"hier-huangwand-{backend}"] = lambda b=backend: _hier(gr.HierarchicalPrior(tau=gr.HuangWand(2.0, 1.0)), b)
        for sampler in ("asis", "blocked", "plain"):
            out[f"crossed-{sampler}-{backend}"] = lambda b=backend, s=sampler: _crossed(b, s)
        out[f"nested-asis-{backend}"] = lambda b=backend: _crossed(b, "asis", nested=True)
        out[f"nested-asis-nojoint-{backend}"] = lambda b=backend: _crossed(b, "asis", nested=True, joint=False)
        out[f"nested-joint-blocked-{backend}"] = lambda b=backend: _crossed(b, "blocked", nested=True, joint=True)
        out[f"crossed-scale-priors-{backend}"] = lambda b=backend: _crossed(
            b, "asis", taus=(gr.HalfNormal(1.0), gr.Exponential(2.0)), sigma=gr.HalfStudentT(4.0, 1.0))
        out[f"nested-halft-blocked-{backend}"] = lambda b=backend: _crossed(
            b, "blocked", nested=True, taus=(gr.HalfStudentT(3.0, 1.0), gr.HalfNormal(0.5)), sigma=gr.HalfNormal(1.0))
        out[f"flat-weighted-{backend}"] = lambda b=backend: _weighted(b, False)
        out[f"hier-weighted-{backend}"] = lambda b=backend: _weighted(b, True)
        out[f"robust-nu4-{backend}"] = lambda b=backend: _robust(4.0, b)
        out[f"robust-nu-learned-{backend}"] = lambda b=backend: _robust(None, b)
        out[f"robust-hier-learned-{backend}"] = lambda b=backend: _robust_hier(None, b)
        out[f"robust-hier-nu4-{backend}"] = lambda b=backend: _robust_hier(4.0, b)
        out[f"binary-logit-{backend}"] = lambda b=backend: _binary("logit", b)
        out[f"binary-probit-binomial-{backend}"] = lambda b=backend: _binary("probit", b, trials=3)
        out[f"binary-hier-asis-{backend}"] = lambda b=backend: _binary_hier(b)
        out[f"crossed-logit-{backend}"] = lambda b=backend: _crossed_rows(b, "logit")
        out[f"nested-probit-{backend}"] = lambda b=backend: _crossed_rows(b, "probit", nested=True)
        out[f"crossed-student-{backend}"] = lambda b=backend: _crossed_rows(b, "student")
        out[f"flat-sigma-halfnormal-{backend}"] = lambda b=backend: _flat(gr.SemiConjugate(sigma=gr.HalfNormal(1.0)), b)
        out[f"flat-sigma-halft-{backend}"] = lambda b=backend: _flat(gr.SemiConjugate(sigma=gr.HalfStudentT(4.0, 0.7)), b)
        out[f"flat-exchangeable-expsigma-{backend}"] = lambda b=backend: _flat(
            gr.Exchangeable(sigma=gr.Exponential(2.0)), b)
        out[f"wide-horseshoe-bhattacharya-{backend}"] = lambda b=backend: _wide(gr.Horseshoe(), b)
        out[f"wide-horseshoe-cholesky-{backend}"] = lambda b=backend: _wide(gr.Horseshoe(), b, n=60, p=30)
        out[f"wide-lasso-{backend}"] = lambda b=backend: _wide(gr.BayesianLasso(unpenalized=["x3"]), b)
        out[f"wide-regularized-{backend}"] = lambda b=backend: _wide(gr.RegularizedHorseshoe(p0=3), b)
        out[f"wide-horseshoe-lapack-{backend}"] = lambda b=backend: _wide(gr.Horseshoe(p0=5), b, n=60, p=80)
    out["flat-semiconjugate-float32"] = lambda: _flat(gr.SemiConjugate(), "numba", np.float32)
    return out


def arrays(post) -> dict:
    return {k: np.asarray(post[k]) for k in post.names}


def digest(draws: dict) -> str:
    return hashlib.sha256(b"".join(np.ascontiguousarray(draws[k]).tobytes() for k in sorted(draws))).hexdigest()


def machine() -> dict:
    """What decides the last bits of the draws: the CPU (LAPACK and vector kernels) and the libraries."""
    import numba

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                cpu += " avx512f" if " avx512f" in line else " no-avx512f"
                break
    except OSError:
        cpu = platform.processor()
    return {"cpu": cpu, "machine": platform.machine(), "numpy": np.__version__, "numba": numba.__version__}


def record() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, make in cases().items():
        draws = arrays(make())
        np.savez(HERE / f"{name}.npz", **draws)
        digests[name] = digest(draws)
        print(name, digests[name])
    (HERE / "digests.json").write_text(json.dumps({"machine": machine(), "digests": digests}, indent=1) + "\n")


if __name__ == "__main__":
    if "--record" in sys.argv:
        record()
