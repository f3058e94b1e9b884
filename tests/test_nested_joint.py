"""The joint parent-children update of a factor nested in the first (models/crossed/nested.py,
kernels/crossed/nested.py; docs/maths.md §14).

- Backends: the Numba kernel and the NumPy twin give the same draws (rtol 1e-9) for intercepts, varying slopes
  in both factors, a third crossed factor and Huang-Wand / exponential / half-normal / inverse-gamma scales.
- Against plain block Gibbs on a small nested design: posterior means and second moments of mu, alpha, both
  tau2 and sigma2 agree within 5 combined Monte-Carlo standard errors (MCSE from each run's bulk ESS).
- SBC (Talts et al. 2018, L = 200) of the default sampler on a tiny nested tree with one or two children per parent
  (the README radon example's shape), with the negative control of tau2 priors 3x too wide.
- Resume continues the draws bit for bit (the update keeps no state of its own).
- Convergence at the defaults on a radon subset with the README example's structure (log_radon ~ log_uppm +
  (1 | county/floor), the first 120 counties): ESS bulk and tail >= 400 and R-hat <= 1.01 for every
  population-level scalar (measured: the previous default, joint=False, gives tau2_county bulk ESS ~100).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg.diagnostics.ess import ess_bulk, ess_tail
from gibbsreg.diagnostics.rhats import rhat
from test_crossed_sbc import KEPT, P_MIN, SIGMA, THIN, WARMUP, loglik, model, pvalues


def _nested_data(n=150, seed=7):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, n)
    b = rng.integers(0, 3, n)
    c = rng.integers(0, 4, n)
    x = rng.normal(size=n)
    y = (1.0 + 0.5 * x + 0.4 * rng.normal(size=6)[a] + 0.3 * rng.normal(size=18)[a * 3 + b]
         + 0.2 * rng.normal(size=4)[c] + rng.normal(size=n))
    return x[:, None], y, a, b, c


CASES = {
    "intercepts": (("a", "a:b"), lambda: [gr.Factor("a"), gr.Factor("a:b")]),
    "slopes": (("a", "a:b"), lambda: [gr.Factor("a", varying=["intercept", "x0"]),
                                      gr.Factor("a:b", varying=["intercept", "x0"], tau=gr.InvGamma(2.0, 0.5))]),
    "three-factors": (("a", "c", "a:b"), lambda: [gr.Factor("a", tau=gr.InvGamma(1.0, 0.5)), gr.Factor("c"),
                                                  gr.Factor("a:b", tau=gr.HalfNormal(0.5))]),
    "huang-wand": (("a", "a:b"), lambda: [gr.Factor("a", varying=["intercept", "x0"], tau=gr.HuangWand()),
                                          gr.Factor("a:b", tau=gr.Exponential())]),
}


def _groups(names, a, b, c):
    cols = {"a": a, "c": c, "a:b": gr.interaction_labels(a, b)}
    return {k: cols[k] for k in names}


@pytest.mark.parametrize("case", list(CASES))
def test_backends_agree(case):
    X, y, a, b, c = _nested_data()
    names, factors = CASES[case]
    groups = _groups(names, a, b, c)
    out = {}
    for backend in ("numba", "numpy"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 10 draws: not converged, on purpose
            out[backend] = gr.CrossedRegression(factors()).sample(X, y, groups, chains=2, draws=10, warmup=6, seed=13,
                                                                  progress=False, backend=backend)
    assert "joint with a" in out["numba"].attrs["model"]
    for k in out["numba"].names:
        np.testing.assert_allclose(out["numba"][k], out["numpy"][k], rtol=1e-9, atol=1e-10, err_msg=k)


def test_joint_only_where_nested():
    """Crossed designs and the plain sampler do not use it; blocked takes it on request."""
    X, y, a, b, c = _nested_data()
    kw = dict(chains=1, draws=5, warmup=2, seed=1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        crossed = gr.CrossedRegression([gr.Factor("a"), gr.Factor("c")]).sample(X, y, {"a": a, "c": c}, **kw)
        plain = gr.CrossedRegression([gr.Factor("a"), gr.Factor("a:b")], sampler="plain", joint=True).sample(
            X, y, _groups(("a", "a:b"), a, b, c), **kw)
        blocked = gr.CrossedRegression([gr.Factor("a"), gr.Factor("a:b")], sampler="blocked", joint=True).sample(
            X, y, _groups(("a", "a:b"), a, b, c), **kw)
    assert "joint" not in crossed.attrs["model"] and "joint" not in plain.attrs["model"]
    assert "joint with a" in blocked.attrs["model"]
    with pytest.raises(ValueError, match="joint must be"):
        gr.CrossedRegression([gr.Factor("a")], joint="yes")


def _moments(post, names):
    """(mean, MCSE) of x and x^2 for each population-level scalar, MCSE = sd / sqrt(bulk ESS)."""
    out = {}
    for k in ("mu", "alpha", f"tau2_{names[0]}", f"tau2_{names[1]}", "sigma2"):
        v = np.asarray(post[k]).reshape(post.nchains, post.ndraws, -1)[:, :, 0]
        for tag, x in (("1", v), ("2", v * v)):
            out[f"{k}^{tag}"] = (x.mean(), x.std() / np.sqrt(ess_bulk(x)))
    return out


def test_joint_matches_plain_gibbs():
    X, y, a, b, c = _nested_data(n=120, seed=3)
    groups = _groups(("a", "a:b"), a, b, c)
    factors = [gr.Factor("a", tau=gr.InvGamma(2.0, 0.3)), gr.Factor("a:b", tau=gr.InvGamma(2.0, 0.3))]
    kw = dict(chains=4, draws=4000, warmup=500, seed=5, progress=False)
    joint = _moments(gr.CrossedRegression(factors).sample(X, y, groups, **kw), ("a", "a:b"))
    plain = _moments(gr.CrossedRegression(factors, sampler="plain").sample(X, y, groups, thin=5, **kw), ("a", "a:b"))
    for k, (m1, s1) in joint.items():
        m2, s2 = plain[k]
        assert abs(m1 - m2) < 5.0 * np.hypot(s1, s2), (k, m1, m2, s1, s2)


# ---- SBC on a tiny tree: 6 parents with one or two children each (the README radon example's shape)

L_SBC = 200


def _simulate_tree(rng, n=30):
    n_child = rng.integers(1, 3, 6)
    first = np.concatenate([[0], np.cumsum(n_child)[:-1]])
    s = rng.integers(0, 6, n)
    child = first[s] + rng.integers(0, n_child[s])
    x = rng.standard_normal(n)
    mu, alpha = rng.standard_normal(), rng.standard_normal()
    tau2 = 2.0 / rng.standard_gamma(3.0, 2)
    sigma2 = SIGMA[1] / rng.standard_gamma(SIGMA[0])
    b1 = mu + np.sqrt(tau2[0]) * rng.standard_normal(6)
    b2 = np.sqrt(tau2[1]) * rng.standard_normal(int(n_child.sum()))
    y = b1[s] + b2[child] + alpha * x + np.sqrt(sigma2) * rng.standard_normal(n)
    groups = {"p": s, "p:c": child}
    return x[:, None], y, groups, dict(mu=mu, alpha=alpha, tau2_0=tau2[0], tau2_1=tau2[1], b1=b1, b2=b2, sigma2=sigma2)


def _sbc(seed, tau_scale=1.0):
    rng = np.random.default_rng(seed)
    names = ["p", "p:c"]
    ranks = {k: [] for k in ("mu", "alpha", "tau2_0", "tau2_1", "b1", "b2", "sigma2", "loglik")}
    for rep in range(L_SBC):
        x, y, groups, t = _simulate_tree(rng)
        post = model(names, "asis", tau_scale).sample(x, y, groups, chains=1, draws=KEPT, warmup=WARMUP, thin=THIN,
                                                      seed=seed * 100003 + rep, progress=False)
        l1, l2 = np.unique(groups["p"]), np.unique(groups["p:c"])
        b1, b2 = post["b_p"][0, :, :, 0], post["b_p:c"][0, :, :, 0]
        draws = {"mu": post["mu"][0, :, 0], "alpha": post["alpha"][0, :, 0], "tau2_0": post["tau2_p"][0, :, 0],
                 "tau2_1": post["tau2_p:c"][0, :, 0], "b1": b1[:, 0], "b2": b2[:, 0], "sigma2": post["sigma2"][0],
                 "loglik": loglik(x, y, groups, names, b1, b2, post["alpha"][0, :, 0], post["sigma2"][0])}
        truth = dict(t, b1=t["b1"][l1][0], b2=t["b2"][l2][0],
                     loglik=loglik(x, y, groups, names, t["b1"][l1], t["b2"][l2], np.asarray(t["alpha"]),
                                   np.asarray(t["sigma2"])))
        for k, d in draws.items():
            ranks[k].append(int(np.sum(d < truth[k])))
    return pvalues({k: np.asarray(v) for k, v in ranks.items()})


@pytest.fixture(scope="module")
def one_numba_thread():
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(threads)


def test_sbc_tree(one_numba_thread):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = _sbc(31)
    bad = {k: v for k, v in p.items() if v < P_MIN}
    assert not bad, f"SBC of the joint nested update: non-uniform ranks {bad}"


def test_sbc_tree_negative_control(one_numba_thread):
    """tau2 priors 3x too wide: the variances' ranks must fail."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = _sbc(37, tau_scale=3.0)
    assert min(p["tau2_0"], p["tau2_1"]) < P_MIN, p


def test_radon_nested_converges_at_defaults():
    radon = gr.datasets.radon_all().dropna()
    radon = radon[radon.county.isin(radon.county.unique()[:120])].assign(floor=lambda d: d.floor_measure.astype(str))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the run's own not-converged warning fails the test too
        post = gr.model("log_radon ~ log_uppm + (1 | county/floor)", data=radon).sample(seed=1, progress=False)
    assert "county:floor joint with county" in post.attrs["model"]
    for k in ("mu", "alpha", "tau2_county", "tau2_county:floor", "sigma2"):
        x = np.asarray(post[k]).reshape(post.nchains, post.ndraws)
        assert ess_bulk(x) >= 400 and ess_tail(x) >= 400 and rhat(x) <= 1.01, (k, ess_bulk(x), ess_tail(x), rhat(x))


def test_resume_continues_exactly():
    """The joint update keeps no state of its own: a resumed run continues the draws bit for bit."""
    X, y, a, b, c = _nested_data()
    groups = _groups(("a", "a:b"), a, b, c)
    m = gr.CrossedRegression([gr.Factor("a"), gr.Factor("a:b")])
    kw = dict(chains=2, warmup=5, seed=3, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = m.sample(X, y, groups, draws=20, **kw)
        part = m.resume(m.sample(X, y, groups, draws=10, **kw), X, y, groups, draws=10, progress=False)
    assert "joint with a" in whole.attrs["model"]
    for k in whole.names:
        np.testing.assert_array_equal(part[k], whole[k], err_msg=k)
