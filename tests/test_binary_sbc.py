"""Simulation-based calibration (Talts et al. 2018) of the binary models, with a negative control.

Per replication: beta ~ N(0, I_2) (intercept and slope; the fitted prior is the same explicit Normal(scale=1)),
y ~ Bernoulli or Binomial(3, F(x'beta)) on a fixed design (n = 20, x ~ N(0, 1)), one chain (warm-up 50,
KEPT = 99 draws, thin 3), and the rank of the true beta_0, beta_1 and of the log-likelihood log p(y | beta)
(a joint quantity) among the draws.  Ranks pooled in 10 bins, chi-square test (9 d.o.f.); a quantity fails
when p < P_MIN = 1e-4 (3 variants x 3 quantities: family-wise false alarms <= 0.1%, seeds fixed).

Negative control: fitting a prior twice too narrow (scale 0.5 against the generating 1) must fail
(p underflows at L = 400).  Sizes: L = 400 per variant by default (~2 s each once compiled), 3000 when slow.
"""

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, ndtr

from gibbsreg.models.binary import BinaryRegression, Normal

N_ROWS, KEPT, P_MIN = 20, 99, 1e-4


def loglik(beta, x, y, t, link):
    eta = beta[..., :1] + beta[..., 1:] * x
    p = np.clip(expit(eta) if link == "logit" else ndtr(eta), 1e-300, 1 - 1e-16)
    return (y * np.log(p) + (t - y) * np.log1p(-p)).sum(axis=-1)


def sbc_pvalues(link, trials, L, fit_scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(N_ROWS)
    t = np.full(N_ROWS, trials)
    model = BinaryRegression(link, Normal(mean=0.0, scale=fit_scale))
    ranks = np.empty((L, 3), dtype=np.int64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the chains have not converged")
        for s in range(L):
            beta = rng.standard_normal(2)
            eta = beta[0] + beta[1] * x
            y = rng.binomial(t, expit(eta) if link == "logit" else ndtr(eta)).astype(float)
            post = model.sample(x[:, None], y, None if trials == 1 else t, chains=1, draws=KEPT, warmup=50, thin=3,
                                seed=seed * 100_000 + s, progress=False)
            draws = post["beta"][0]
            ranks[s, :2] = (draws < beta).sum(axis=0)
            ranks[s, 2] = (loglik(draws, x, y, t, link) < loglik(beta, x, y, t, link)).sum()
    counts = np.stack([np.bincount(r * 10 // (KEPT + 1), minlength=10) for r in ranks.T])
    return stats.chisquare(counts, axis=1).pvalue


@pytest.mark.parametrize("link, trials", [("logit", 1), ("probit", 1), ("logit", 3)])
def test_sbc_ranks_are_uniform(link, trials):
    p = sbc_pvalues(link, trials, L=400, seed=1)
    assert (p > P_MIN).all(), p


def test_sbc_negative_control_prior_too_narrow():
    p = sbc_pvalues("logit", 1, L=400, fit_scale=0.5, seed=2)
    assert p.min() < P_MIN, p


@pytest.mark.slow
@pytest.mark.parametrize("link, trials", [("logit", 1), ("probit", 1), ("logit", 3), ("probit", 2)])
def test_sbc_ranks_are_uniform_large(link, trials):
    p = sbc_pvalues(link, trials, L=3000, seed=3)
    assert (p > P_MIN).all(), p
