"""Tests of gibbsreg.checks.ppc, posterior predictive checks.

What is checked, and how
------------------------
* Mechanics: shapes, reproducibility with a seed, that ``y_rep`` is exactly
  ``post.predict(X, seed=seed).y`` when every draw is used, subsampling with
  ``draws=``, flat and hierarchical posteriors, statistics given by name / callable /
  (name, callable), the mid-p convention for ties, clear errors.
* Calibration under a correct model.  40 data sets are simulated from the prior
  predictive distribution of an explicit semi-conjugate prior (true beta and sigma^2
  drawn from that prior, fixed seeds) and fitted with that prior.
  - The *sampled* posterior p-values (method="sampled", one posterior draw per data
    set; exactly uniform under the prior predictive, see gibbsreg.checks) of mean,
    sd, min and max pass a Kolmogorov-Smirnov test against U(0, 1) at level 1e-3:
    family-wise false-alarm rate <= 4e-3 (union bound; plus a negligible effect of
    the 1/1000 discreteness of a p-value computed from 1000 replicates and of Gibbs
    warm-up, which is exact after one sweep here up to MCMC error).
  - The ordinary posterior predictive p-values are NOT uniform under a correct model
    (Meng 1994; Gelman 2013): for mean and sd, statistics the model fits directly,
    they sit near 0.5 for every data set.  The test documents this: all 40 lie in
    (0.25, 0.75) and their sd is < 0.12 (uniform: 0.289).  Their spread around 0.5
    is Monte-Carlo noise (sd ~0.03 with 400 replicates) plus a small prior pull, so
    a failure would need a > 7-sigma excursion.  A KS test of these p-values against
    uniform would fail, correctly.
* Power against misspecification, fixed seeds: heavy-tailed noise (t with 2 d.f.)
  and heteroscedastic noise (sd = exp(x)) fitted by the Gaussian homoscedastic model
  give extreme p-values (< 0.01 or > 0.99) for the kurtosis and for a range / a
  residual-spread statistic.  These are fixed-seed regression checks of power, not
  statements about power at every seed.
"""

import numpy as np
import pytest
from scipy import stats

import gibbsreg as gr
from gibbsreg.checks import BUILTIN_STATISTICS, PPCResult, mid_p_value, ppc


@pytest.fixture(scope="module")
def flat():
    d = gr.datasets.synthetic_regression(120, 3, seed=3)
    post = gr.LinearRegression().sample(d.X, d.y, chains=4, draws=200, warmup=100, seed=3, progress=False)
    return d, post


@pytest.fixture(scope="module")
def hier():
    h = gr.datasets.synthetic_hierarchical(30, "poisson:6", 2, seed=4)
    post = gr.HierarchicalRegression().sample(h.X, h.y, h.groups, chains=4, draws=200, warmup=100, seed=4,
                                              progress=False)
    return h, post


# ---------------------------------------------------------------------------------------------
# mechanics
# ---------------------------------------------------------------------------------------------
def test_flat_shapes_and_exact_replicates(flat):
    d, post = flat
    r = ppc(post, d.X, d.y, seed=11)
    assert isinstance(r, PPCResult)
    S, n = post.nchains * post.ndraws, d.y.size
    assert r.y_rep.shape == (S, n) and r.y_obs.shape == (n,)
    np.testing.assert_array_equal(r.y_rep, post.predict(d.X, seed=11).y.reshape(S, n))
    assert r.statistics == ["mean", "sd", "min", "max"]
    for name in r.statistics:
        assert r.stats_rep[name].shape == (S,)
        assert 0.0 <= r.p_values[name] <= 1.0
    assert r.stats_obs["mean"] == pytest.approx(d.y.mean())
    assert r.stats_obs["sd"] == pytest.approx(d.y.std(ddof=1))
    np.testing.assert_allclose(r.stats_rep["max"], r.y_rep.max(axis=1))
    expected = np.mean(r.stats_rep["min"] > r.stats_obs["min"])
    assert r.p_values["min"] == pytest.approx(expected)
    text = str(r)
    for name in r.statistics:
        assert name in text
    assert "p-value" in text and f"{S} replicated" in text
    assert "PPCResult" in repr(r)


def test_subsampled_draws_reproducible(flat):
    d, post = flat
    a = ppc(post, d.X, d.y, draws=100, seed=5)
    b = ppc(post, d.X, d.y, draws=100, seed=5)
    c = ppc(post, d.X, d.y, draws=100, seed=6)
    assert a.y_rep.shape == (100, d.y.size)
    np.testing.assert_array_equal(a.y_rep, b.y_rep)
    assert not np.array_equal(a.y_rep, c.y_rep)
    assert np.unique(a.draw_index).size == 100 and np.all(np.diff(a.draw_index) > 0)
    # more draws than the posterior holds: all of them
    assert ppc(post, d.X, d.y, draws=10**6, seed=1).y_rep.shape[0] == post.nchains * post.ndraws


def test_sampled_method_uses_one_draw(flat):
    d, post = flat
    r = ppc(post, d.X, d.y, method="sampled", draws=300, seed=2)
    assert r.y_rep.shape == (300, d.y.size) and r.method == "sampled"
    assert np.unique(r.draw_index).size == 1
    # the replicates come from one parameter value: their means scatter like sigma/sqrt(n)
    sigma = np.sqrt(post["sigma2"].reshape(-1)[r.draw_index[0]])
    assert np.std(r.stats_rep["mean"]) == pytest.approx(sigma / np.sqrt(d.y.size), rel=0.25)
    assert "sampled" in str(r)


def test_hierarchical(hier):
    h, post = hier
    r = ppc(post, h.X, h.y, groups=h.groups, statistics=("mean", "sd", "max", "q90"), draws=200, seed=1)
    assert r.y_rep.shape == (200, h.y.size)
    assert set(r.p_values) == {"mean", "sd", "max", "q90"}
    assert r.stats_obs["q90"] == pytest.approx(np.quantile(h.y, 0.9))
    for p in r.p_values.values():
        assert 0.0 <= p <= 1.0
    with pytest.raises(ValueError, match="groups"):
        ppc(post, h.X, h.y, draws=10, seed=1)


def test_statistics_names_callables_and_ties(flat):
    d, post = flat

    def spread(y):
        return float(np.max(y) - np.min(y))

    r = ppc(post, d.X, d.y, statistics=["median", spread, ("iqr2", lambda y: np.subtract(*np.quantile(y, [.75, .25]))),
                                        "iqr", "skew", "kurtosis", lambda y: 0.0, spread], draws=50, seed=0)
    assert r.statistics == ["median", "spread", "iqr2", "iqr", "skew", "kurtosis", "<lambda>", "spread_2"]
    np.testing.assert_allclose(r.stats_rep["iqr2"], r.stats_rep["iqr"])
    np.testing.assert_allclose(r.stats_rep["spread"], r.stats_rep["spread_2"])
    assert r.stats_obs["kurtosis"] == pytest.approx(stats.kurtosis(d.y))
    # a constant statistic ties every replicate: mid-p gives exactly 1/2
    assert r.p_values["<lambda>"] == 0.5
    assert set(BUILTIN_STATISTICS) >= {"mean", "sd", "min", "max"}


def test_mid_p_value():
    assert mid_p_value([1, 2, 3, 4], 2.5) == 0.5
    assert mid_p_value([1, 2, 2, 3], 2) == pytest.approx(0.25 + 0.5 * 0.5)
    assert mid_p_value([1, 2, 3], 10) == 0.0
    assert mid_p_value([1, np.nan, 3], 2) == 0.5
    assert np.isnan(mid_p_value([1, 2], np.nan))


def test_bad_input(flat):
    d, post = flat
    with pytest.raises(ValueError, match="unknown statistic"):
        ppc(post, d.X, d.y, statistics=["nope"])
    with pytest.raises(ValueError, match="rows"):
        ppc(post, d.X, d.y[:-1])
    y = d.y.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ppc(post, d.X, y)
    with pytest.raises(ValueError, match="method"):
        ppc(post, d.X, d.y, method="bayes")
    with pytest.raises(ValueError, match="draws"):
        ppc(post, d.X, d.y, draws=0)


# ---------------------------------------------------------------------------------------------
# calibration under a correct model, power under misspecification
# ---------------------------------------------------------------------------------------------
STATS = ("mean", "sd", "min", "max")


@pytest.fixture(scope="module")
def calibration():
    """p-values for 40 data sets drawn from the prior predictive of the fitted prior."""
    prior = gr.SemiConjugate(mean=[0.0, 0.0, 0.0], scale=[1.0, 1.0, 1.0], a=3.0, b=2.0)
    ordinary, sampled = [], []
    for i in range(40):
        rng = np.random.default_rng(1000 + i)
        beta = rng.normal(0.0, 1.0, 3)
        sigma2 = 2.0 / rng.standard_gamma(3.0)  # IG(3, 2)
        X = rng.standard_normal((50, 2))
        y = beta[0] + X @ beta[1:] + np.sqrt(sigma2) * rng.standard_normal(50)
        post = gr.LinearRegression(prior).sample(X, y, chains=2, draws=200, warmup=100, seed=i, progress=False)
        r = ppc(post, X, y, statistics=STATS, seed=i)
        s = ppc(post, X, y, statistics=STATS, seed=i, method="sampled", draws=1000)
        ordinary.append([r.p_values[k] for k in STATS])
        sampled.append([s.p_values[k] for k in STATS])
    return np.array(ordinary), np.array(sampled)


def test_sampled_p_values_uniform_under_correct_model(calibration):
    _, sampled = calibration
    for j, name in enumerate(STATS):
        ks = stats.kstest(sampled[:, j], "uniform").pvalue
        assert ks > 1e-3, f"{name}: sampled posterior p-values not uniform (KS p = {ks:.2g})"


def test_ordinary_p_values_conservative_under_correct_model(calibration):
    ordinary, _ = calibration
    for j, name in enumerate(("mean", "sd")):
        p = ordinary[:, j]
        assert np.all((p > 0.25) & (p < 0.75)), f"{name}: {np.sort(p)}"
        assert p.std() < 0.12
    # never extreme for any statistic under the correct model (Meng's bound makes this rare)
    assert np.all((ordinary > 0.01) & (ordinary < 0.99))


def _fit(X, y, seed):
    return gr.LinearRegression().sample(X, y, chains=4, draws=250, warmup=100, seed=seed, progress=False)


def test_heavy_tails_detected():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2))
    y = 1.0 + X @ np.array([0.5, -1.0]) + rng.standard_t(2, 200)
    post = _fit(X, y, 0)

    def value_range(v):
        return float(v.max() - v.min())

    r = ppc(post, X, y, statistics=("mean", "sd", "kurtosis", value_range), seed=0)
    assert r.p_values["kurtosis"] < 0.01
    assert r.p_values["value_range"] < 0.01
    assert 0.05 < r.p_values["mean"] < 0.95  # the mean is fitted, so it cannot flag anything
    assert "extreme" in str(r)


def test_heteroscedasticity_detected():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(200)
    y = 1.0 + x + np.exp(x) * rng.standard_normal(200)
    X = x[:, None]
    post = _fit(X, y, 1)
    fitted = np.polyval(np.polyfit(x, y, 1), x)

    def spread_trend(v):
        """Correlation of |residual from the observed-data OLS line| with x."""
        return float(np.corrcoef(np.abs(v - fitted), x)[0, 1])

    r = ppc(post, X, y, statistics=("kurtosis", spread_trend), seed=1)
    assert r.p_values["kurtosis"] < 0.01
    assert r.p_values["spread_trend"] < 0.01
