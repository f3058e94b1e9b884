"""The remedies for slow mixing: the boosted sweep (marginal data augmentation, boost=True) and the Laplace-proposal
Metropolis step (laplace_mh=True): exact posteriors by quadrature,
both backends, resume, its input checks, and its latent draws (two-sided truncated normal, logistic utility)."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import gibbsreg as gr
from gibbsreg.diagnostics import mcse_mean, mcse_sd
from gibbsreg.kernels.binary.latent import logistic_utility, truncated_normal_between
from gibbsreg.kernels.draws import stream_state
from gibbsreg.models.binary import BinaryRegression, Normal
from gibbsreg.models.binary import latent as twin
from test_binary_model import data, quadrature


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the chains have not converged")
        yield


@pytest.mark.parametrize("link, scale", [("logit", 1.5), ("probit", 1.5), ("probit", [np.inf, 1.5])])
def test_boosted_posterior_matches_quadrature(link, scale):
    x, y, _ = data(n=25, seed=1)
    # a flat intercept (inf) cannot be integrated on the grid: its quadrature uses a wide normal instead
    mean, sd = quadrature(x, y, None, link, 1.5) if np.isscalar(scale) else (None, None)
    post = BinaryRegression(link, Normal(scale=scale), boost=True).sample(x, y, chains=4, draws=2500, warmup=200,
                                                                         seed=3, progress=False)
    if mean is None:  # the plain sampler is the reference
        ref = BinaryRegression(link, Normal(scale=scale)).sample(x, y, chains=4, draws=2500, warmup=200, seed=4,
                                                                 progress=False)["beta"]
        mean, sd = ref.mean(axis=(0, 1)), ref.std(axis=(0, 1))
    for k in range(2):
        b = post["beta"][..., k]
        z_mean = (b.mean() - mean[k]) / mcse_mean(b)
        z_sd = (b.std() - sd[k]) / mcse_sd(b)
        assert abs(z_mean) < 4.5, (k, b.mean(), mean[k], z_mean)
        assert abs(z_sd) < 4.5, (k, b.std(), sd[k], z_sd)


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_boosted_backends_agree_and_resume_is_bit_for_bit(link, tmp_path):
    x, y, _ = data(n=30, seed=2)
    X = np.hstack([x, np.random.default_rng(9).standard_normal((30, 1))])
    m = BinaryRegression(link, boost=True)
    kw = dict(chains=2, warmup=5, seed=11, progress=False)
    full = m.sample(X, y, draws=20, **kw)
    np.testing.assert_allclose(m.sample(X, y, draws=20, backend="numpy", **kw)["beta"], full["beta"], rtol=1e-9,
                               atol=1e-12)
    part = m.sample(X, y, draws=8, **kw)
    part.save(tmp_path / "run.npz")
    again = gr.resume(tmp_path / "run.npz", X, y, draws=12, progress=False)  # boost comes back from the run
    np.testing.assert_array_equal(again["beta"], full["beta"])
    assert "boosted" in again.attrs["model"]
    plain = BinaryRegression(link).sample(X, y, draws=20, **kw)["beta"]
    assert not np.array_equal(plain, full["beta"])


def test_boost_input_checks():
    x, y, t = data(n=20, seed=5, trials=3)
    with pytest.raises(ValueError, match="intercept"):
        BinaryRegression("logit", boost=True, intercept=False).sample(x, (y > 0).astype(float), progress=False)
    with pytest.raises(ValueError, match="zero prior mean"):
        BinaryRegression("logit", Normal(mean=1.0, scale=2.0), boost=True).sample(x, (y > 0).astype(float),
                                                                                 progress=False)
    with pytest.raises(ValueError, match="0/1 outcomes"):
        BinaryRegression("logit", boost=True).sample(x, y, t, progress=False)
    with pytest.raises(ValueError, match="True or False"):
        BinaryRegression("logit", boost="yes")


@pytest.mark.parametrize("a, b", [(-0.01, 0.02), (-1.0, 1.0), (-3.0, 4.0), (0.5, 0.6), (2.0, 2.2), (8.0, 8.05),
                                  (30.0, 31.0), (-31.0, -30.0), (-math.inf, -5.0), (1.0, math.inf), (-2.0, math.inf)])
def test_two_sided_truncated_normal_against_scipy_and_its_twin(a, b):
    n = 4000
    st = stream_state(np.random.default_rng(1))
    x = np.array([truncated_normal_between(st, a, b) for _ in range(n)])
    assert ((x >= a) & (x <= b)).all()
    ref = stats.truncnorm(a, b)
    assert stats.kstest(x, ref.cdf).pvalue > 1e-3
    g = np.random.default_rng(1)
    np.testing.assert_array_equal(x[:50], [twin.truncated_normal_between(g, a, b) for _ in range(50)])


@pytest.mark.parametrize("eta", [-6.0, 0.0, 3.0])
def test_logistic_utility_is_the_truncated_logistic(eta):
    u = np.random.default_rng(2).random(4000)
    for y in (0, 1):
        z = np.array([logistic_utility(eta, y, 1.0 - v) for v in u])
        assert ((z > 0) if y else (z <= 0)).all()
        F = stats.logistic(loc=eta).cdf
        F0 = F(0.0)
        cdf = (lambda v: (F(v) - F0) / (1 - F0)) if y else (lambda v: F(v) / F0)
        assert stats.kstest(z, cdf).pvalue > 1e-3


@pytest.mark.parametrize("link, trials", [("logit", None), ("probit", None), ("logit", 4)])
def test_laplace_metropolis_matches_quadrature_both_backends_and_resumes(link, trials, tmp_path):
    x, y, t = data(n=25, seed=1, trials=trials)
    mean, sd = quadrature(x, y, t, link, 1.5)
    m = BinaryRegression(link, Normal(scale=1.5), laplace_mh=True)
    post = m.sample(x, y, t, chains=4, draws=2000, warmup=100, seed=3, progress=False)
    for k in range(2):
        b = post["beta"][..., k]
        assert abs(b.mean() - mean[k]) / mcse_mean(b) < 4.5, (k, b.mean(), mean[k])
        assert abs(b.std() - sd[k]) / mcse_sd(b) < 4.5, (k, b.std(), sd[k])
    kw = dict(chains=2, warmup=5, seed=11, progress=False)
    full = m.sample(x, y, t, draws=20, **kw)
    np.testing.assert_allclose(m.sample(x, y, t, draws=20, backend="numpy", **kw)["beta"], full["beta"], rtol=1e-9,
                               atol=1e-12)
    part = m.sample(x, y, t, draws=8, **kw)
    part.save(tmp_path / "run.npz")
    np.testing.assert_array_equal(gr.resume(tmp_path / "run.npz", x, y, t, draws=12, progress=False)["beta"],
                                  full["beta"])
    with pytest.raises(ValueError, match="not both"):
        BinaryRegression(link, boost=True, laplace_mh=True)
