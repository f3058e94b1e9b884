"""The scale priors on the crossed/nested model (gibbsreg.models.crossed): HalfNormal, HalfStudentT and
Exponential on every factor's scales and on sigma, and Huang & Wand on a correlated factor (issue 26, item 3;
docs/scale-priors.md).  Helpers and tolerances are test_scale_priors.py's (the one-factor model).

* Exact posteriors by 3-D quadrature over (tau_a, tau_b, sigma) for two crossed factors (5 x 4 levels, 2 rows
  per cell): given the scales y is Gaussian, so E[tau_a], E[tau_b], E[sigma] | y are known to far below the
  MCSE; ours within Z = 4 MCSE (9 checks, family-wise ~6e-4).
* Kernel and NumPy twin agree to 1e-9 for every sampler; resume bit for bit; save/load keeps the prior.
* SBC with negative controls (scales and Huang-Wand; one chain per replication, chi-square p >= 1e-4).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import gibbsreg
from gibbsreg import InvGamma
from gibbsreg.models.crossed import CrossedPrior, CrossedRegression, Factor
from gibbsreg.priors import Exponential, HalfNormal, HalfStudentT, HuangWand
from test_scale_priors import (HW_A, SBC_BINS, SBC_KEPT, SBC_P_MIN, _assert_same, _draw_scale, _log_prior,  # noqa: F401
                               _z_failures, one_thread)


CJ = (5, 4)  # levels of factors a and b, crossed, 2 rows per cell
C_FIXED = ((0.5, 2.0), (0.0, 1.5))  # (mean, scale) of mu[intercept] and alpha[x0]


def _crossed_data():
    rng = np.random.default_rng(77)
    a, b = np.meshgrid(np.arange(CJ[0]), np.arange(CJ[1]), indexing="ij")
    a, b = np.repeat(a.ravel(), 2), np.repeat(b.ravel(), 2)
    x = rng.standard_normal(a.size)
    y = 0.5 + 0.9 * rng.standard_normal(CJ[0])[a] + 0.5 * rng.standard_normal(CJ[1])[b] + 0.3 * x \
        + 0.8 * rng.standard_normal(a.size)
    return x, y, {"a": a, "b": b}


def exact_crossed_means(x, y, groups, tau_priors, sigma_prior, tau_max=(10.0, 10.0), sigma_range=(0.05, 4.0),
                        nt=(110, 110), ns=200):
    """E[tau_a], E[tau_b], E[sigma] | y by the midpoint rule over (tau_a, tau_b, sigma): given the scales,
    y ~ N(m0 + a0 x, s0^2 11' + sa^2 xx' + tau_a^2 Z_a Z_a' + tau_b^2 Z_b Z_b' + sigma^2 I)."""
    n = y.size
    Za = (groups["a"][:, None] == np.arange(CJ[0])).astype(float)
    Zb = (groups["b"][:, None] == np.arange(CJ[1])).astype(float)
    (m0, s0), (a0, sa) = C_FIXED
    fixed = s0**2 * np.ones((n, n)) + sa**2 * np.outer(x, x)
    r = y - m0 - a0 * x
    ta = (np.arange(nt[0]) + 0.5) * tau_max[0] / nt[0]
    tb = (np.arange(nt[1]) + 0.5) * tau_max[1] / nt[1]
    sig = sigma_range[0] + (np.arange(ns) + 0.5) * (sigma_range[1] - sigma_range[0]) / ns
    logp = np.empty((nt[0], nt[1], ns))
    AA, BB = Za @ Za.T, Zb @ Zb.T
    for i, t1 in enumerate(ta):
        for j, t2 in enumerate(tb):
            lam, U = np.linalg.eigh(fixed + t1 * t1 * AA + t2 * t2 * BB)
            proj = (U.T @ r) ** 2
            v = lam[None, :] + sig[:, None] ** 2
            logp[i, j] = -0.5 * (np.log(v).sum(axis=1) + (proj[None, :] / v).sum(axis=1))
    logp += (_log_prior(tau_priors[0], ta)[:, None, None] + _log_prior(tau_priors[1], tb)[None, :, None]
             + _log_prior(sigma_prior, sig)[None, None, :])
    w = np.exp(logp - logp.max())
    w /= w.sum()
    assert w[-1].sum() < 1e-6 and w[:, -1].sum() < 1e-6 and w[:, :, 0].sum() < 1e-9 and w[:, :, -1].sum() < 1e-9
    return (float((w.sum(axis=(1, 2)) * ta).sum()), float((w.sum(axis=(0, 2)) * tb).sum()),
            float((w.sum(axis=(0, 1)) * sig).sum()))


CROSSED_QUAD = {
    "a halfnormal, b exponential, sigma half-t": ((HalfNormal(1.0), Exponential(1.5)), HalfStudentT(4.0, 1.0)),
    "a half-t, b halfnormal, sigma exponential": ((HalfStudentT(3.0, 0.8), HalfNormal(0.7)), Exponential(1.0)),
    "a exponential, b half-t, sigma halfnormal": ((Exponential(1.0), HalfStudentT(4.0, 0.5)), HalfNormal(1.0)),
}


@pytest.mark.parametrize("case", list(CROSSED_QUAD))
def test_crossed_scale_posteriors_match_quadrature(case):
    """Two crossed factors (5 x 4 levels, 2 rows per cell): E[tau_a], E[tau_b], E[sigma] within 4 MCSE
    (9 checks over the three cases, family-wise ~6e-4)."""
    (pa, pb), ps = CROSSED_QUAD[case]
    x, y, groups = _crossed_data()
    exact = exact_crossed_means(x, y, groups, (pa, pb), ps)
    prior = CrossedPrior(fixed_mean=[C_FIXED[0][0], C_FIXED[1][0]], fixed_scale=[C_FIXED[0][1], C_FIXED[1][1]],
                         sigma=ps)
    model = CrossedRegression([Factor("a", tau=pa), Factor("b", tau=pb)], prior=prior)
    post = model.sample(x[:, None], y, groups, chains=4, draws=10_000, warmup=1000, seed=8, progress=False)
    fails = []
    for name, draws, e in (("tau_a", np.sqrt(post["tau2_a"][..., 0]), exact[0]),
                           ("tau_b", np.sqrt(post["tau2_b"][..., 0]), exact[1]),
                           ("sigma", np.sqrt(post["sigma2"]), exact[2])):
        fails += _z_failures(f"{case} {name}", draws, e)
    assert not fails, "\n".join(fails)


CROSSED_PRIORS = {
    "halfnormal, exponential; half-t sigma": ((HalfNormal(), Exponential(2.0)), HalfStudentT(3.0)),
    "half-t, halfnormal; exponential sigma": ((HalfStudentT(3.0, [1.0, 0.5]), HalfNormal(0.5)), Exponential()),
    "exponential, IG; halfnormal sigma": ((Exponential(), InvGamma(1.0, 1.0)), HalfNormal(1.0)),
}


def _crossed_small(seed=3):
    rng = np.random.default_rng(seed)
    n = 120
    a, b = rng.integers(0, 6, n), rng.integers(0, 4, n)
    X = rng.standard_normal((n, 1))
    y = 1.0 + 0.5 * X[:, 0] + 0.7 * rng.standard_normal(6)[a] + 0.3 * X[:, 0] * rng.standard_normal(6)[a] \
        + 0.4 * rng.standard_normal(4)[b] + rng.standard_normal(n)
    return X, y, {"a": a, "b": b}


def _crossed_model(name, sampler="asis"):
    (ta, tb), sigma = CROSSED_PRIORS[name]
    return CrossedRegression([Factor("a", varying=["intercept", "x0"], tau=ta), Factor("b", tau=tb)],
                             prior=CrossedPrior(sigma=sigma), sampler=sampler)


@pytest.mark.parametrize("sampler", CrossedRegression.SAMPLERS)
@pytest.mark.parametrize("name", list(CROSSED_PRIORS))
def test_crossed_kernel_and_numpy_twin_agree(name, sampler):
    X, y, groups = _crossed_small()
    model = _crossed_model(name, sampler)
    kw = dict(chains=3, draws=40, warmup=30, thin=2, seed=7, progress=False)
    _assert_same(model.sample(X, y, groups, **kw), model.sample(X, y, groups, backend="numpy", **kw))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_crossed_resume_and_save_load(tmp_path, backend):
    X, y, groups = _crossed_small(9)
    model = _crossed_model("half-t, halfnormal; exponential sigma")
    kw = dict(chains=2, warmup=20, seed=12, progress=False, backend=backend)
    whole = model.sample(X, y, groups, draws=40, **kw)
    part = model.sample(X, y, groups, draws=15, **kw)
    path = tmp_path / "crossed.npz"
    part.save(path)
    loaded = gibbsreg.load(path)
    prior = loaded.attrs["prior"]
    assert [f["tau_kind"] for f in prior.factors] == ["HalfStudentT", "HalfNormal"]
    assert prior.sigma["sigma_kind"] == "Exponential" and "exponential(" in str(prior) and "half-t(3" in str(prior)
    for source in (part, loaded):
        resumed = model.resume(source, X, y, groups, draws=25, progress=False)
        for k in whole.names:
            np.testing.assert_array_equal(resumed[k], whole[k], err_msg=k)


def test_crossed_bad_input():
    with pytest.raises(ValueError, match="HalfNormal: scale"):
        Factor("a", tau=HalfNormal(-1.0))
    with pytest.raises(ValueError, match="CrossedPrior: sigma must be"):
        CrossedPrior(sigma=HalfCauchyLike())
    X, y, groups = _crossed_small()
    with pytest.raises(ValueError, match="tau rate has 3 entries"):
        CrossedRegression([Factor("a", tau=Exponential([1.0, 2.0, 3.0])), Factor("b")]).sample(
            X, y, groups, chains=1, draws=5, warmup=5, progress=False)


class HalfCauchyLike:
    """Not a prior on sigma."""


def run_sbc_crossed(L, seed, taus, sigma, fit_taus=None):
    """Ranks among 99 kept draws of one chain of the crossed model (factors a, b: 5 x 4 levels, 2 rows per
    cell, intercept and one pooled slope): tau_a, tau_b, sigma, mu, b_a[0] and the log-likelihood."""
    rng = np.random.default_rng(seed)
    fit = fit_taus or taus
    (m0, s0), (a0, sa) = C_FIXED
    model = CrossedRegression([Factor("a", tau=fit[0]), Factor("b", tau=fit[1])],
                              prior=CrossedPrior(fixed_mean=[m0, a0], fixed_scale=[s0, sa], sigma=sigma))
    ia, ib = np.meshgrid(np.arange(CJ[0]), np.arange(CJ[1]), indexing="ij")
    ia, ib = np.repeat(ia.ravel(), 2), np.repeat(ib.ravel(), 2)
    ranks = {}
    for _ in range(L):
        x = rng.standard_normal(ia.size)
        mu, alpha = m0 + s0 * rng.standard_normal(), a0 + sa * rng.standard_normal()
        ta, tb, s = _draw_scale(taus[0], rng), _draw_scale(taus[1], rng), _draw_scale(sigma, rng)
        ba, bb = mu + ta * rng.standard_normal(CJ[0]), tb * rng.standard_normal(CJ[1])
        y = ba[ia] + bb[ib] + alpha * x + s * rng.standard_normal(ia.size)
        post = model.sample(x[:, None], y, {"a": ia, "b": ib}, chains=1, draws=SBC_KEPT, warmup=100, thin=3,
                            seed=int(rng.integers(2**63)), progress=False)
        pa, pb, s2 = post["b_a"][0, :, :, 0], post["b_b"][0, :, :, 0], post["sigma2"][0]
        al = post["alpha"][0, :, 0]

        def loglik(pa, pb, al, s2):
            line = pa[:, ia] + pb[:, ib] + al[:, None] * x
            return -0.5 * np.sum(np.log(s2)[:, None] + (y - line) ** 2 / s2[:, None], axis=1)

        draws = {"tau_a": np.sqrt(post["tau2_a"][0, :, 0]), "tau_b": np.sqrt(post["tau2_b"][0, :, 0]),
                 "sigma": np.sqrt(s2), "mu": post["mu"][0, :, 0], "b_a[0]": pa[:, 0], "loglik": loglik(pa, pb, al, s2)}
        true = {"tau_a": ta, "tau_b": tb, "sigma": s, "mu": mu, "b_a[0]": ba[0],
                "loglik": loglik(ba[None], bb[None], np.array([alpha]), np.array([s * s]))[0]}
        for k in draws:
            ranks.setdefault(k, []).append(int(np.sum(draws[k] < true[k])))
    return {k: stats.chisquare(np.bincount(np.asarray(r) * SBC_BINS // (SBC_KEPT + 1), minlength=SBC_BINS)).pvalue
            for k, r in ranks.items()}


CROSSED_SBC = ((HalfNormal(1.0), Exponential(2.0)), HalfStudentT(4.0, 0.8))


@pytest.mark.usefixtures("one_thread")
def test_crossed_sbc_and_negative_control():
    """6 p-values at L = 400 (family-wise <= 6e-4); the control fits factor b's rate 4x too large and must fail."""
    taus, sigma = CROSSED_SBC
    p = run_sbc_crossed(400, 61, taus, sigma)
    bad = {k: v for k, v in p.items() if not v >= SBC_P_MIN}
    assert not bad, f"crossed ranks not uniform: {bad}"
    control = run_sbc_crossed(400, 62, taus, sigma, fit_taus=(taus[0], Exponential(8.0)))
    assert control["tau_b"] < SBC_P_MIN, control


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_crossed_sbc_large():
    p = run_sbc_crossed(3000, 63, *CROSSED_SBC)
    bad = {k: v for k, v in p.items() if not v >= SBC_P_MIN}
    assert not bad, f"crossed ranks not uniform: {bad}"


@pytest.mark.parametrize("sampler", CrossedRegression.SAMPLERS)
def test_crossed_huang_wand_backends_agree_and_resume(sampler):
    X, y, groups = _crossed_small(5)
    model = CrossedRegression([Factor("a", varying=["intercept", "x0"], tau=HuangWand(2.0, [1.0, 0.5])),
                               Factor("b", tau=HalfNormal())], prior=CrossedPrior(sigma=Exponential()), sampler=sampler)
    kw = dict(chains=3, draws=40, warmup=30, thin=2, seed=7, progress=False)
    whole = model.sample(X, y, groups, **kw)
    assert whole["Sigma_a"].shape[-2:] == (2, 2) and "HuangWand" in whole.attrs["model"]
    _assert_same(whole, model.sample(X, y, groups, backend="numpy", **kw))
    part = model.sample(X, y, groups, **dict(kw, draws=15))
    resumed = model.resume(part, X, y, groups, draws=25, progress=False)
    for k in whole.names:
        np.testing.assert_array_equal(resumed[k], whole[k], err_msg=k)


def run_sbc_crossed_hw(L, seed, fit_scale=HW_A):
    """The crossed model with a correlated factor: (1 + x | a) under Huang-Wand (nu = 2, scales HW_A), (1 | b)
    under N+(0, 0.5), sigma^2 ~ IG(3, 1); a: 6 levels, b: 3, crossed, 2 rows per cell.  Ranks of Sigma_a's
    entries, tau_b, sigma^2, mu and the log-likelihood among 99 kept draws of one chain."""
    rng = np.random.default_rng(seed)
    model = CrossedRegression([Factor("a", varying=["intercept", "x0"], tau=HuangWand(2.0, fit_scale)),
                               Factor("b", tau=HalfNormal(0.5))],
                              prior=CrossedPrior(fixed_mean=[0.0, 0.0], fixed_scale=[1.0, 1.0], sigma=InvGamma(3.0, 1.0)))
    ia, ib = np.meshgrid(np.arange(6), np.arange(3), indexing="ij")
    ia, ib = np.repeat(ia.ravel(), 2), np.repeat(ib.ravel(), 2)
    ranks = {}
    for _ in range(L):
        x = rng.standard_normal(ia.size)
        full = np.column_stack([np.ones(ia.size), x])
        a = 1.0 / (HW_A**2 * rng.standard_gamma(0.5, 2))
        Sigma = stats.invwishart.rvs(df=3.0, scale=np.diag(4.0 / a), random_state=rng)
        mu = rng.standard_normal(2)
        ba = mu + rng.standard_normal((6, 2)) @ np.linalg.cholesky(Sigma).T
        tb = 0.5 * abs(rng.standard_normal())
        bb = tb * rng.standard_normal(3)
        s2 = 1.0 / rng.standard_gamma(3.0)
        y = np.einsum("ik,ik->i", full, ba[ia]) + bb[ib] + np.sqrt(s2) * rng.standard_normal(ia.size)
        post = model.sample(x[:, None], y, {"a": ia, "b": ib}, chains=1, draws=SBC_KEPT, warmup=100, thin=3,
                            seed=int(rng.integers(2**63)), progress=False)
        pa, pb, S, sig2 = post["b_a"][0], post["b_b"][0, :, :, 0], post["Sigma_a"][0], post["sigma2"][0]

        def loglik(pa, pb, s2):
            line = np.einsum("ik,sik->si", full, pa[:, ia]) + pb[:, ib]
            return -0.5 * np.sum(np.log(s2)[:, None] + (y - line) ** 2 / s2[:, None], axis=1)

        draws = {"Sigma00": S[:, 0, 0], "Sigma11": S[:, 1, 1], "Sigma01": S[:, 0, 1],
                 "tau_b": np.sqrt(post["tau2_b"][0, :, 0]), "sigma2": sig2, "mu0": post["mu"][0, :, 0],
                 "loglik": loglik(pa, pb, sig2)}
        true = {"Sigma00": Sigma[0, 0], "Sigma11": Sigma[1, 1], "Sigma01": Sigma[0, 1], "tau_b": tb, "sigma2": s2,
                "mu0": mu[0], "loglik": loglik(ba[None], bb[None], np.array([s2]))[0]}
        for k in draws:
            ranks.setdefault(k, []).append(int(np.sum(draws[k] < true[k])))
    return {k: stats.chisquare(np.bincount(np.asarray(r) * SBC_BINS // (SBC_KEPT + 1), minlength=SBC_BINS)).pvalue
            for k, r in ranks.items()}


@pytest.mark.usefixtures("one_thread")
def test_crossed_huang_wand_sbc_and_negative_control():
    """7 p-values at L = 300 (family-wise <= 7e-4); the control fits Huang-Wand scales 4x too small."""
    p = run_sbc_crossed_hw(300, 71)
    bad = {k: v for k, v in p.items() if not v >= SBC_P_MIN}
    assert not bad, f"crossed Huang-Wand ranks not uniform: {bad}"
    control = run_sbc_crossed_hw(300, 72, fit_scale=HW_A / 4.0)
    assert min(control["Sigma00"], control["Sigma11"]) < SBC_P_MIN, control
