"""Exchangeable-coefficients prior: backends, a limiting case, and calibration."""

import numpy as np
import pytest
from scipy import stats

import gibbsreg as gr
from gibbsreg.diagnostics import mcse_mean


@pytest.fixture(scope="module")
def data():
    return gr.datasets.synthetic_regression(60, 6, seed=5)


@pytest.mark.parametrize("tau", [None, gr.InvGamma(2.0, 1.0)])
def test_backends_give_the_same_chains(data, tau):
    model = gr.LinearRegression(gr.Exchangeable(tau=tau))
    a = model.sample(data.X, data.y, chains=3, draws=300, warmup=50, seed=2, progress=False)
    b = model.sample(data.X, data.y, chains=3, draws=300, warmup=50, seed=2, progress=False, backend="numpy")
    for name in ("beta", "sigma2", "mu", "tau2"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-12)


def test_fixed_hyperparameters_reduce_to_the_semi_conjugate_prior(data):
    """With tau^2 pinned (IG with a huge shape) and mu pinned (tiny mu_scale), the exchangeable
    prior is N(mu0, tau0^2) on every coefficient: the posterior of beta must match SemiConjugate.
    Tolerance: 4 combined MCSE per coefficient (false-alarm ~ 6e-5 each)."""
    tau0, mu0 = 0.7, 0.3
    shape = 1e7
    exch = gr.Exchangeable(mu_mean=mu0, mu_scale=1e-6, tau=gr.InvGamma(shape, tau0**2 * (shape + 1)),
                           sigma=gr.InvGamma(2.0, 1.0), exclude=[])
    kw = dict(chains=4, draws=3000, warmup=200, progress=False)
    a = gr.LinearRegression(exch, intercept=False).sample(data.X, data.y, seed=1, **kw)
    b = gr.LinearRegression(gr.SemiConjugate(mean=mu0, scale=tau0, a=2.0, b=1.0), intercept=False).sample(
        data.X, data.y, seed=2, **kw)
    np.testing.assert_allclose(a["tau2"].mean(), tau0**2, rtol=1e-3)
    for k in range(a["beta"].shape[-1]):
        xa, xb = a["beta"][..., k], b["beta"][..., k]
        se = np.hypot(mcse_mean(xa), mcse_mean(xb))
        assert abs(xa.mean() - xb.mean()) < 4 * se


def _sbc_ranks(L, M, thin, seed, tau_kind):
    rng = np.random.default_rng(seed)
    n, p = 12, 4
    X = rng.standard_normal((n, p))
    mu_scale, a_s, b_s = 1.0, 3.0, 2.0
    tau_prior = gr.InvGamma(3.0, 1.0) if tau_kind == "ig" else gr.HalfCauchy(0.5)
    prior = gr.Exchangeable(mu_mean=0.0, mu_scale=mu_scale, tau=tau_prior, sigma=gr.InvGamma(a_s, b_s), exclude=[])
    model = gr.LinearRegression(prior, intercept=False)
    ranks = []
    for rep in range(L):
        mu = rng.normal(0.0, mu_scale)
        tau2 = 1.0 / rng.gamma(3.0, 1.0) if tau_kind == "ig" else abs(0.5 * rng.standard_cauchy()) ** 2
        sigma2 = b_s / rng.gamma(a_s)
        beta = mu + np.sqrt(tau2) * rng.standard_normal(p)
        y = X @ beta + np.sqrt(sigma2) * rng.standard_normal(n)
        post = model.sample(X, y, chains=1, draws=M, warmup=100, thin=thin, seed=rep, progress=False)
        truth = [mu, np.log(tau2), sigma2, beta[0], beta[2]]
        draws = [post["mu"], np.log(post["tau2"]), post["sigma2"], post["beta"][..., 0], post["beta"][..., 2]]
        ranks.append([int((d.ravel() < t).sum()) for d, t in zip(draws, truth)])
    return np.array(ranks)


@pytest.mark.parametrize("tau_kind", ["ig", "hc"])
def test_simulation_based_calibration(tau_kind):
    """Ranks of the truth among M = 49 thinned draws are uniform on 0..49 (Talts et al. 2018).
    Chi-square over 10 bins per quantity, threshold p > 1e-4: false-alarm rate 5e-4 per test."""
    M = 49
    ranks = _sbc_ranks(L=200, M=M, thin=5, seed=11 if tau_kind == "ig" else 12, tau_kind=tau_kind)
    for col in ranks.T:
        counts = np.bincount(col * 10 // (M + 1), minlength=10)
        assert stats.chisquare(counts).pvalue > 1e-4, counts
