"""Simulation-based calibration of the wide model (Talts et al. 2018): the truth drawn from the prior, y from
the likelihood, the ranks of the truth among thinned posterior draws uniform; a negative control (the truth
drawn with a global scale ten times the model's) must fail.  ``-m slow`` runs a larger version."""

import math
import warnings

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg.models.wide import BayesianLasso, Horseshoe, RegularizedHorseshoe
from gibbsreg.sbc import SBCResult

N, P = 10, 3
A, B = 3.0, 2.0  # sigma^2 ~ IG(A, B)


def _truth(rng, kind, scale, P=P, scaled=True):
    sigma2 = B / rng.standard_gamma(A)
    if kind != "BayesianLasso":
        glob = (scale * abs(rng.standard_cauchy())) ** 2
        local = np.abs(rng.standard_cauchy(P)) ** 2
        var = glob * local
        if kind == "RegularizedHorseshoe":  # slab c^2 ~ IG(2, 2 * 0.5^2)
            c2 = 0.5 / rng.standard_gamma(2.0)
            var = var * c2 / (c2 + var)
    else:  # scale: lambda^2 ~ Gamma(2, rate = 1 / scale)
        glob = rng.standard_gamma(2.0) * scale
        local = rng.standard_exponential(P) * 2.0 / glob
        var = local
    beta = np.sqrt((sigma2 if scaled else 1.0) * var) * rng.standard_normal(P)
    return beta, sigma2, glob


def run_sbc(kind, truth_scale, sims, draws=99, thin=5, warmup=200, seed=0, n=N, p=P, scaled=True):
    """Ranks of (beta, sigma2, global scale) over ``sims`` simulations on a fixed n x p design (p > n: the
    Bhattacharya draw)."""
    rng_X = np.random.default_rng(1)
    X = rng_X.standard_normal((n, p))
    if kind == "Horseshoe":
        prior = Horseshoe(global_scale=1.0, sigma=gr.InvGamma(A, B), standardize=False, sigma_scaled=scaled)
    elif kind == "RegularizedHorseshoe":
        prior = RegularizedHorseshoe(slab_scale=0.5, slab_df=4.0, global_scale=1.0, sigma=gr.InvGamma(A, B),
                                     standardize=False, sigma_scaled=scaled)
    else:
        prior = BayesianLasso(shape=2.0, rate=1.0, sigma=gr.InvGamma(A, B), standardize=False, sigma_scaled=scaled)
    model = gr.LinearRegression(prior=prior, intercept=False)
    ranks = []
    for child in np.random.SeedSequence(seed).spawn(sims):
        data_ss, chain_ss = child.spawn(2)
        rng = np.random.default_rng(data_ss)
        beta, sigma2, glob = _truth(rng, kind, truth_scale, p, scaled)
        y = X @ beta + math.sqrt(sigma2) * rng.standard_normal(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            post = model.sample(X, y, chains=1, draws=draws, warmup=warmup, thin=thin, seed=chain_ss, progress=False)
        d = np.column_stack([np.asarray(post["beta"])[0], np.asarray(post["sigma2"])[0],
                             np.asarray(post[prior_global(kind)])[0]])
        ranks.append((d < np.concatenate([beta, [sigma2, glob]])).sum(axis=0))
    names = [f"beta[{j}]" for j in range(p)] + ["sigma2", prior_global(kind)]
    return SBCResult(np.asarray(ranks), names, draws)


def prior_global(kind):
    return "lambda2" if kind == "BayesianLasso" else "tau2"


@pytest.mark.parametrize("kind", ["Horseshoe", "BayesianLasso", "RegularizedHorseshoe"])
def test_sbc_ranks_are_uniform_and_the_control_is_not(kind):
    thin = 25 if kind == "RegularizedHorseshoe" else 5  # its Metropolis steps for tau^2 mix more slowly
    res = run_sbc(kind, 1.0, sims=500, thin=thin)
    pv = res.pvalues(bins=10)
    assert pv.min() > 1e-3 / len(pv), str(res)  # chi-square uniformity, Bonferroni over the parameters
    control = run_sbc(kind, 10.0, sims=500, thin=thin)
    assert control.pvalues(bins=10).min() < 1e-4, str(control)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["Horseshoe", "BayesianLasso", "RegularizedHorseshoe"])
def test_sbc_large(kind):
    res = run_sbc(kind, 1.0, sims=4000, thin=100 if kind == "RegularizedHorseshoe" else 10, seed=7)
    assert res.pvalues(bins=20).min() > 1e-3 / 5, str(res)


@pytest.mark.parametrize("kind", ["Horseshoe", "BayesianLasso"])
def test_sbc_with_more_coefficients_than_rows(kind):
    """n = 5, p = 8: the Bhattacharya beta draw inside the whole sampler (the regularised horseshoe's tau^2
    needs far more thinning there: -m slow)."""
    res = run_sbc(kind, 1.0, sims=500, thin=10, n=5, p=8, seed=3)
    assert res.pvalues(bins=10).min() > 1e-3 / 10, str(res)


@pytest.mark.slow
def test_sbc_regularised_horseshoe_more_coefficients_than_rows():
    res = run_sbc("RegularizedHorseshoe", 1.0, sims=1000, thin=250, n=5, p=8, seed=5)
    assert res.pvalues(bins=10).min() > 1e-3 / 10, str(res)


@pytest.mark.parametrize("kind", ["Horseshoe", "BayesianLasso"])
def test_sbc_sigma_free_form(kind):
    """sigma_scaled=False (beta | sigma^2, then sigma^2 | beta), p > n."""
    res = run_sbc(kind, 1.0, sims=500, thin=10, n=5, p=8, seed=4, scaled=False)
    assert res.pvalues(bins=10).min() > 1e-3 / 10, str(res)
