"""The binary models' latent samplers: Polya-Gamma PG(b, c) and the truncated normal, against closed forms,
scipy, the `polyagamma` package (an oracle where installed) and their NumPy twins, bit for bit."""

import math

import numpy as np
import pytest
from scipy import stats

from gibbsreg.kernels.binary.latent import (DIRECT_MASS_Z, TRUNC, fill_polya_gamma, fill_truncated_normal,
                                            log_norm_cdf, pg_accept, pg_exponential_mass, pg_series_term)
from gibbsreg.kernels.draws import stream_state
from gibbsreg.models.binary import latent as twin

N = 100_000


def pg_draws(b, c, size, seed):
    out = np.empty(size)
    fill_polya_gamma(stream_state(np.random.default_rng(seed)), np.full(size, b, dtype=np.int64),
                     np.full(size, float(c)), out)
    return out


def pg_moments(b, c):
    """E and Var of PG(b, c): b/(2c) tanh(c/2) and b (sinh c - c) / (4 c^3 cosh^2(c/2)); b/4 and b/24 at c = 0."""
    if c == 0:
        return b / 4.0, b / 24.0
    return b / (2 * c) * math.tanh(c / 2), b * (math.sinh(c) - c) / (4 * c**3 * math.cosh(c / 2) ** 2)


def assert_moments(x, mean, var, tol=4.0):
    """Sample mean and variance within tol Monte-Carlo standard errors (the variance's from the fourth
    central moment)."""
    n = x.size
    d = x - x.mean()
    m2, m4 = (d**2).mean(), (d**4).mean()
    z_mean = (x.mean() - mean) / math.sqrt(m2 / n)
    z_var = (m2 - var) / math.sqrt(max(m4 - m2**2, 1e-300) / n)
    assert abs(z_mean) < tol, (x.mean(), mean, z_mean)
    assert abs(z_var) < tol, (m2, var, z_var)


# c = 3.125 = 2 / 0.64 is where the truncated inverse Gaussian switches methods (z = |c|/2 vs 1/t)
@pytest.mark.parametrize("c", [0.0, 0.1, 1.0, 3.0, 3.2, 7.0, 30.0, -12.0, 200.0])
def test_pg1_moments_match_the_closed_form(c):
    x = pg_draws(1, c, N, seed=int(abs(c) * 10) + 1)
    assert (x > 0).all()
    assert_moments(x, *pg_moments(1, abs(c)))


@pytest.mark.parametrize("b, c", [(2, 0.0), (3, 1.5), (10, 4.0), (25, 0.3)])
def test_pg_b_moments_match_the_closed_form(b, c):
    x = pg_draws(b, c, 30_000, seed=b)
    assert_moments(x, *pg_moments(b, c))


def test_pg_of_zero_trials_is_zero():
    assert (pg_draws(0, 1.0, 10, 0) == 0).all()


def test_both_proposals_are_used_and_the_mass_is_a_probability():
    for z in [0.0, 0.5, 1 / TRUNC, 5.0, 20.0]:
        m = pg_exponential_mass(z)
        assert 0.0 < m < 1.0 and math.isfinite(m)
    assert pg_exponential_mass(500.0) == 0.0  # log(q/p) ~ 8e4: the tail's mass underflows, no overflow
    # at c = 1 about half the proposals lie below t = 0.64 (J* scale), i.e. PG draws below 0.16
    x = pg_draws(1, 1.0, 20_000, seed=3)
    frac = (x < TRUNC / 4).mean()
    assert 0.05 < frac < 0.95


def test_log_norm_cdf_is_stable_in_the_tail():
    for x in [-1.0, -10.0, -29.9, -30.1, -45.0, -300.0]:
        ref = stats.norm.logcdf(x)
        assert abs(log_norm_cdf(x) - ref) <= 1e-12 * abs(ref), x


@pytest.mark.parametrize("c", [0.0, 1.0, 3.0, 6.0, 40.0])
def test_pg1_distribution_matches_the_polyagamma_package(c):
    import polyagamma  # the oracle: a test dependency (pyproject's test extra), never imported by the package
    ours = pg_draws(1, c, 40_000, seed=11)
    theirs = polyagamma.random_polyagamma(1, c, size=40_000, random_state=12)
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


def test_pg_and_truncated_normal_draws_equal_the_numpy_twins_bit_for_bit():
    rng = np.random.default_rng(0)
    c = np.concatenate([[0.0, 3.125, -3.125, 500.0], rng.normal(0, 8, 400)])
    b = rng.integers(0, 4, c.size)
    ours = np.empty(c.size)
    fill_polya_gamma(stream_state(np.random.default_rng(5)), b, c, ours)
    g = np.random.default_rng(5)
    np.testing.assert_array_equal(ours, [twin.polya_gamma(g, int(bb), float(cc)) for bb, cc in zip(b, c)])
    a = np.concatenate([[-40.0, 0.0, 8.0, 20.0, 40.0], rng.normal(0, 10, 400)])
    ours = np.empty(a.size)
    fill_truncated_normal(stream_state(np.random.default_rng(6)), a, ours)
    g = np.random.default_rng(6)
    np.testing.assert_array_equal(ours, [twin.truncated_normal_above(g, float(x)) for x in a])


@pytest.mark.parametrize("a", [-3.0, -0.5, 0.0, 0.7, 3.0, 8.0, 20.0, 40.0])
def test_truncated_normal_moments_match_scipy_far_in_the_tail(a):
    x = np.empty(N)
    fill_truncated_normal(stream_state(np.random.default_rng(int(a * 10) + 100)), np.full(N, a), x)
    assert (x >= a).all()
    ref = stats.truncnorm(a, np.inf)
    assert_moments(x, float(ref.mean()), float(ref.var()))


def _series_accept(x, u):
    """Devroye's test as written: u a_0(x) against the alternating partial sums of the a_n(x)."""
    s = pg_series_term(0, x)
    y = u * s
    n = 0
    while True:
        n += 1
        if n % 2 == 1:
            s -= pg_series_term(n, x)
            if y <= s:
                return True
        else:
            s += pg_series_term(n, x)
            if y > s:
                return False


def test_the_ratio_form_of_the_series_test_decides_as_the_series_does():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(0.01, 3.0, 3000), [TRUNC, TRUNC + 1e-12, 0.05, 2.5]])
    u = rng.random(x.size)
    # near the boundary the two orders of rounding may differ; the band is 1e-12 wide
    a0 = np.array([pg_series_term(0, v) for v in x])
    s1 = a0 - np.array([pg_series_term(1, v) for v in x])
    clear = np.abs(u * a0 - s1) > 1e-12 * a0
    decided = [pg_accept(float(v), float(w)) == _series_accept(float(v), float(w)) for v, w in zip(x, u)]
    assert np.all(np.asarray(decided)[clear])
    rejected = ~np.array([pg_accept(float(v), float(w)) for v, w in zip(x, u)])
    assert 0 < rejected.sum() < 0.05 * x.size  # both outcomes of the test occur


def test_the_mass_is_continuous_where_it_switches_to_logs():
    for z in (DIRECT_MASS_Z - 1e-9, 3.0, 8.0):
        lo, hi = pg_exponential_mass(z), pg_exponential_mass(z + 2e-9)
        assert abs(lo - hi) <= 1e-6 * lo
