"""Student-t regression against its exact posterior by quadrature (nu fixed and learned), the nu step's
pieces against SciPy, and simulation-based calibration with a negative control."""

import math

import numpy as np
import pytest
from scipy import special, stats

import gibbsreg as gr
import gibbsreg.models.robust as rb
from gibbsreg.diagnostics import mcse_mean, mcse_sd
from gibbsreg.kernels.robust import nu as nu_mod

Z_TOL = 4.0  # tolerance in Monte-Carlo standard errors


def t_loglik(resid, sigma, nu):
    """sum_i log t_nu(resid_i; 0, sigma) over the last axis (sigma and nu broadcast against resid)."""
    return (special.gammaln(0.5 * (nu + 1)) - special.gammaln(0.5 * nu) - 0.5 * np.log(math.pi * nu) - np.log(sigma)
            - 0.5 * (nu + 1) * np.log1p((resid / sigma) ** 2 / nu)).sum(axis=-1)


def moments(logpost, values):
    """Posterior mean and sd of each value array under the grid weights exp(logpost) (same shapes)."""
    w = np.exp(logpost - logpost.max())
    w /= w.sum()
    out = []
    for v in values:
        m = float((w * v).sum())
        out.append((m, math.sqrt(float((w * (v - m) ** 2).sum()))))
    return out


def check_against(post_draws, exact):
    for (name, draws), (m, s) in zip(post_draws, exact):
        zm = (draws.mean() - m) / mcse_mean(draws)
        zs = (draws.std() - s) / mcse_sd(draws)
        assert abs(zm) < Z_TOL, (name, "mean", draws.mean(), m, zm)
        assert abs(zs) < Z_TOL, (name, "sd", draws.std(), s, zs)


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(42)
    n = 20
    x = rng.standard_normal(n)
    y = 1.0 + 0.7 * x + 0.8 * rng.standard_t(3, n)
    y[3] += 6.0  # an outlier
    return x, y


M0, S0, A, B = 0.0, 3.0, 2.0, 1.0  # beta ~ N(0, 3^2), sigma^2 ~ IG(2, 1)


def log_prior_sigma(sig, jeffreys):
    """log p(sigma) for sigma^2 ~ IG(A, B) (or 1/sigma^2), on a grid of sigma (Jacobian 2 sigma included)."""
    if jeffreys:
        return -np.log(sig)
    s2 = sig**2
    return -(A + 1) * np.log(s2) - B / s2 + np.log(sig)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("jeffreys", [False, True])
def test_location_scale_with_fixed_nu_matches_quadrature(small, backend, jeffreys):
    _, y = small
    nu = 4.0
    mu = np.linspace(-1.5, 3.5, 401)[:, None]
    sig = np.exp(np.linspace(np.log(0.2), np.log(5.0), 400))[None, :]
    lp = (t_loglik(y[None, None, :] - mu[..., None], sig[..., None], nu) - 0.5 * ((mu - M0) / S0) ** 2
          + log_prior_sigma(sig, jeffreys) + np.log(sig))  # + log sigma: the grid is uniform in log sigma
    exact = moments(lp, [mu + 0 * sig, sig**2 + 0 * mu])
    model = rb.StudentTRegression(nu=nu, prior=gr.SemiConjugate(mean=M0, scale=S0, a=A, b=B),
                                  sigma="jeffreys" if jeffreys else None)
    post = model.sample(np.zeros((len(y), 0)), y, chains=4, draws=5000, warmup=300, seed=5, backend=backend,
                        progress=False)
    check_against([("mu", post["beta"][..., 0]), ("sigma2", post["sigma2"])], exact)


def test_two_coefficients_with_fixed_nu_match_quadrature(small):
    x, y = small
    nu = 3.0
    b0 = np.linspace(-0.5, 2.5, 121)[:, None, None]
    b1 = np.linspace(-1.0, 2.4, 121)[None, :, None]
    sig = np.exp(np.linspace(np.log(0.15), np.log(4.0), 120))[None, None, :]
    resid = y - b0[..., None] - b1[..., None] * x
    lp = (t_loglik(resid, sig[..., None], nu) - 0.5 * ((b0 - M0) / S0) ** 2 - 0.5 * ((b1 - M0) / S0) ** 2
          + log_prior_sigma(sig, False) + np.log(sig))
    full = np.broadcast_shapes(b0.shape, b1.shape, sig.shape)
    exact = moments(lp, [np.broadcast_to(b0, full), np.broadcast_to(b1, full), np.broadcast_to(sig**2, full)])
    model = rb.StudentTRegression(nu=nu, prior=gr.SemiConjugate(mean=M0, scale=S0, a=A, b=B))
    post = model.sample(x[:, None], y, chains=4, draws=5000, warmup=300, seed=6, progress=False)
    check_against([("b0", post["beta"][..., 0]), ("b1", post["beta"][..., 1]), ("sigma2", post["sigma2"])], exact)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_location_scale_with_learned_nu_matches_quadrature(small, backend):
    _, y = small
    a_nu, b_nu = 2.0, 0.1
    mu = np.linspace(-1.0, 3.0, 81)[:, None, None]
    sig = np.exp(np.linspace(np.log(0.15), np.log(4.0), 80))[None, :, None]
    nu = np.exp(np.linspace(np.log(0.2), np.log(400.0), 90))[None, None, :]
    lp = (t_loglik(y - mu[..., None], sig[..., None], nu[..., None]) - 0.5 * ((mu - M0) / S0) ** 2
          + log_prior_sigma(sig, False) + np.log(sig) + (a_nu - 1) * np.log(nu) - b_nu * nu + np.log(nu))
    full = np.broadcast_shapes(mu.shape, sig.shape, nu.shape)
    exact = moments(lp, [np.broadcast_to(v, full) for v in (mu, sig**2, nu)])
    model = rb.StudentTRegression(nu=rb.Gamma(a_nu, b_nu), prior=gr.SemiConjugate(mean=M0, scale=S0, a=A, b=B))
    post = model.sample(np.zeros((len(y), 0)), y, chains=4, draws=6000, warmup=500, seed=7, backend=backend,
                        progress=False)
    check_against([("mu", post["beta"][..., 0]), ("sigma2", post["sigma2"]), ("nu", post["nu"])], exact)


def test_nu_step_pieces_against_scipy():
    for x in (1e-3, 0.4, 1.0, 3.7, 9.99, 10.0, 55.0, 1e4):
        ref = math.log(x) - special.digamma(x)
        assert abs(nu_mod.log_minus_digamma(x) - ref) <= 1e-12 * abs(ref)
        assert abs(nu_mod.trigamma(x) / special.polygamma(1, x) - 1) < 1e-12
    # h' and h'' against finite differences of h
    for n, D, phi in ((20.0, 3.0, 0.5), (1e4, 900.0, 1.2), (50.0, 80.0, -1.0)):
        h = lambda f: nu_mod.nu_log_target(f, n, D, 2.0, 0.1)  # noqa: E731
        d1, d2 = nu_mod.nu_slopes(phi, n, D, 2.0, 0.1)
        e = 1e-4
        assert abs(d1 - (h(phi + e) - h(phi - e)) / (2 * e)) < 1e-5 * max(1.0, abs(d1))
        assert abs(d2 - (h(phi + e) - 2 * h(phi) + h(phi - e)) / e**2) < 1e-3 * max(1.0, abs(d2))
        centre, scale = nu_mod.nu_proposal(n, D, 2.0, 0.1)
        assert abs(nu_mod.nu_slopes(centre, n, D, 2.0, 0.1)[0]) < 1e-6 * n


def test_nu_step_leaves_its_full_conditional_invariant():
    """Exactness of the independence MH move: started from exact draws of p(nu | w) (inverse CDF on a fine
    grid), one move keeps that distribution (two-sample KS on 20,000 draws)."""
    rng = np.random.default_rng(3)
    n, D, a, b = 30.0, 12.0, 2.0, 0.1
    phi = np.linspace(np.log(1e-2), np.log(1e3), 200_001)
    lp = np.array([nu_mod.nu_log_target(f, n, D, a, b) for f in phi[::100]])
    lp = np.interp(phi, phi[::100], lp)
    cdf = np.cumsum(np.exp(lp - lp.max()))
    cdf /= cdf[-1]
    start = np.exp(np.interp(rng.random(20_000), cdf, phi))
    moved = np.array([nu_mod.nu_step(v, n, D, a, b, rng.standard_normal(), rng.standard_gamma(0.5 * nu_mod.T_DF),
                                     rng.standard_exponential()) for v in start])
    fresh = np.exp(np.interp(rng.random(20_000), cdf, phi))
    assert (moved != start).mean() > 0.8  # it moves
    assert stats.ks_2samp(moved, fresh).pvalue > 1e-3


# ---- simulation-based calibration ------------------------------------------------------------


def sbc_ranks(model, X, n_sims, draws, thin, seed, nu_true_shift=1.0, learn=True):
    """Ranks of beta, sigma2 (and nu) among `draws` thinned draws of one chain, for `n_sims` simulations from the
    prior; ``nu_true_shift`` != 1 simulates the data with a wrong nu (the negative control)."""
    prior = model.prior
    ranks = []
    for child in np.random.SeedSequence(seed).spawn(n_sims):
        data_ss, chain_ss = child.spawn(2)
        rng = np.random.default_rng(data_ss)
        beta = prior.mean + prior.scale * rng.standard_normal(X.shape[1] + 1)
        sigma2 = prior.b / rng.standard_gamma(prior.a)
        nu = rng.standard_gamma(model.nu.shape) / model.nu.rate if learn else float(model.nu)
        y = beta[0] + X @ beta[1:] + math.sqrt(sigma2) * rng.standard_t(nu * nu_true_shift, X.shape[0])
        post = model.sample(X, y, chains=1, draws=draws, warmup=100, thin=thin, seed=chain_ss, progress=False)
        d = np.column_stack([post["beta"][0], post["sigma2"][0]] + ([post["nu"][0]] if learn else []))
        truth = np.concatenate([beta, [sigma2]] + ([[nu]] if learn else []))
        ranks.append((d < truth).sum(axis=0))
    return np.asarray(ranks)


def uniformity_pvalues(ranks, draws, bins=10):
    counts = np.stack([np.bincount(r * bins // (draws + 1), minlength=bins) for r in ranks.T])
    return stats.chisquare(counts, axis=1).pvalue


SBC_PRIOR = gr.SemiConjugate(mean=0.0, scale=1.0, a=3.0, b=2.0)


@pytest.mark.filterwarnings("ignore:the chains have not converged")
def test_sbc_calibrated_and_negative_control_fails():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((40, 1))
    model = rb.StudentTRegression(nu=rb.Gamma(4.0, 0.5), prior=SBC_PRIOR)
    ranks = sbc_ranks(model, X, n_sims=200, draws=49, thin=4, seed=1)
    assert uniformity_pvalues(ranks, 49).min() > 1e-3
    # negative control: data with a much heavier tail than the model's fixed nu says
    fixed = rb.StudentTRegression(nu=30.0, prior=SBC_PRIOR)
    bad = sbc_ranks(fixed, X, n_sims=200, draws=49, thin=4, seed=2, nu_true_shift=1 / 30, learn=False)
    assert uniformity_pvalues(bad, 49).min() < 1e-4


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:the chains have not converged")
def test_sbc_larger():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((60, 2))
    model = rb.StudentTRegression(nu=rb.Gamma(2.0, 0.1), prior=SBC_PRIOR)
    ranks = sbc_ranks(model, X, n_sims=1000, draws=99, thin=5, seed=3)
    assert uniformity_pvalues(ranks, 99, bins=20).min() > 1e-3


def test_large_nu_is_the_gaussian_model():
    """nu -> infinity: the Student-t posterior tends to the Gaussian one (nu = 1e7: w_i = 1 +- 3e-4)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2))
    y = X @ [1.0, 2.0] + rng.standard_normal(200)
    kw = dict(chains=4, draws=3000, warmup=200, seed=1, progress=False)
    t = rb.StudentTRegression(nu=1e7).sample(X, y, **kw)
    g = gr.LinearRegression().sample(X, y, **kw)
    for k in ("beta", "sigma2"):
        a, b = t[k].reshape(4, 3000, -1), g[k].reshape(4, 3000, -1)
        z = (a.mean((0, 1)) - b.mean((0, 1))) / np.hypot(mcse_mean(a), mcse_mean(b))
        assert np.all(np.abs(z) < Z_TOL), (k, z)
