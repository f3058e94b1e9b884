"""compare_ols: the OLS columns against an independent least-squares computation, the posterior
columns against the ConjugatePosterior's closed form and against the draws."""

import numpy as np
import pytest
from scipy import stats

import gibbsreg as gr
from gibbsreg.ols import COLUMNS, OLSComparison, compare_ols


def _independent_ols(X, y, prob):
    """OLS by Householder QR written out here: beta = R^{-1} Q'y, se^2 = s^2 diag((R'R)^{-1})."""
    A = np.column_stack([np.ones(len(y)), X])
    n, p = A.shape
    Q, R = np.linalg.qr(A)
    beta = np.linalg.solve(R, Q.T @ y)
    resid = y - A @ beta
    s2 = resid @ resid / (n - p)
    Rinv = np.linalg.inv(R)
    se = np.sqrt(s2 * np.sum(Rinv**2, axis=1))
    t = stats.t.ppf((1 + prob) / 2, n - p)
    return beta, se, beta - t * se, beta + t * se, s2, n - p


def _normal_equations(X, y):
    A = np.column_stack([np.ones(len(y)), X])
    XtX = A.T @ A
    beta = np.linalg.solve(XtX, A.T @ y)
    r = y - A @ beta
    s2 = r @ r / (A.shape[0] - A.shape[1])
    return beta, np.sqrt(s2 * np.diag(np.linalg.inv(XtX)))


@pytest.fixture(scope="module")
def boston():
    df = gr.datasets.boston()
    return df.drop(columns="medv"), df["medv"]


def _rel(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


@pytest.mark.parametrize("prob", [0.95, 0.8])
def test_ols_columns_match_independent_qr(boston, prob):
    X, y = boston
    fit = gr.fit_conjugate(X, y)
    table = compare_ols(X, y, fit, prob=prob)
    beta, se, lo, hi, s2, df = _independent_ols(X.to_numpy(), y.to_numpy(), prob)
    coef = table.coefficients
    assert _rel(coef["ols"], beta) < 1e-10
    assert _rel(coef["ols_se"], se) < 1e-10
    assert _rel(coef["ols_lower"], lo) < 1e-10
    assert _rel(coef["ols_upper"], hi) < 1e-10
    assert table.df_resid == df == 506 - 13
    assert abs(table.sigma2_ols / s2 - 1) < 1e-10
    # sigma2 row: s^2, s^2 sqrt(2/df) and the chi-square interval
    row = table.row("sigma2")
    assert abs(row["ols"] / s2 - 1) < 1e-10
    assert abs(row["ols_se"] / (s2 * np.sqrt(2 / df)) - 1) < 1e-10
    assert abs(row["ols_lower"] / (df * s2 / stats.chi2.ppf((1 + prob) / 2, df)) - 1) < 1e-10
    assert abs(row["ols_upper"] / (df * s2 / stats.chi2.ppf((1 - prob) / 2, df)) - 1) < 1e-10


def test_ols_matches_normal_equations_on_a_well_conditioned_design():
    d = gr.datasets.synthetic_regression(n=300, p=5, seed=4)
    post = gr.LinearRegression().sample(d.X, d.y, chains=2, draws=200, warmup=100, seed=1, progress=False)
    table = compare_ols(d.X, d.y, post)
    beta, se = _normal_equations(d.X, d.y)
    assert _rel(table.coefficients["ols"], beta) < 1e-10
    assert _rel(table.coefficients["ols_se"], se) < 1e-10


def test_posterior_columns_equal_the_closed_form(boston):
    X, y = boston
    fit = gr.fit_conjugate(X, y, gr.NormalInverseGamma(scale=100.0, a=2.0, b=10.0))
    table = compare_ols(X, y, fit, prob=0.9)
    coef = table.coefficients
    ci = fit.credible_interval(0.9)
    np.testing.assert_array_equal(coef["post_mean"], fit.mean)
    np.testing.assert_array_equal(coef["post_sd"], np.sqrt(np.diag(fit.cov)))
    np.testing.assert_array_equal(coef["post_lower"], ci[:, 0])
    np.testing.assert_array_equal(coef["post_upper"], ci[:, 1])
    np.testing.assert_array_equal(coef["diff_se"], (fit.mean - coef["ols"]) / coef["ols_se"])
    s = table.row("sigma2")
    si = fit.sigma2_interval(0.9)
    assert (s["post_mean"], s["post_sd"], s["post_lower"], s["post_upper"]) == (
        fit.sigma2_mean, fit.sigma2_sd, si[0], si[1])
    assert table.index == [f"beta[{n}]" for n in fit.names] + ["sigma2"]
    assert table.posterior_kind == "exact"


def test_posterior_columns_equal_the_draws(boston):
    X, y = boston
    post = gr.LinearRegression(gr.SemiConjugate()).sample(X, y, chains=3, draws=300, warmup=200, seed=5,
                                                          progress=False)
    table = compare_ols(X, y, post, prob=0.95)
    b = post["beta"]
    coef = table.coefficients
    np.testing.assert_allclose(coef["post_mean"], b.reshape(-1, b.shape[2]).mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(coef["post_sd"], b.reshape(-1, b.shape[2]).std(axis=0, ddof=1), rtol=1e-12)
    q = np.quantile(b.reshape(-1, b.shape[2]), [0.025, 0.975], axis=0)
    np.testing.assert_allclose(coef["post_lower"], q[0], rtol=1e-12)
    np.testing.assert_allclose(coef["post_upper"], q[1], rtol=1e-12)
    # the same numbers as Posterior.summary()
    summ = post.summary("beta")
    np.testing.assert_allclose(coef["post_mean"], summ["mean"], rtol=1e-10)
    np.testing.assert_allclose(coef["post_lower"], summ["q2.5"], rtol=1e-10)
    s = post["sigma2"]
    assert table.row("sigma2")["post_mean"] == pytest.approx(s.mean(), rel=1e-12)
    assert table.posterior_kind == "draws"
    # a weak prior on 506 rows: posterior means within a fraction of an OLS se
    assert np.all(np.abs(coef["diff_se"]) < 0.5)


def test_table_as_data_and_text(boston):
    X, y = boston
    table = compare_ols(X, y, gr.fit_conjugate(X, y))
    assert isinstance(table, OLSComparison)
    assert table.columns == COLUMNS
    assert table.values.shape == (14, 9)
    df = table.to_pandas()
    assert list(df.columns) == COLUMNS and list(df.index) == table.index
    text = str(table)
    assert "beta[lstat]" in text and "sigma2" in text and "diff_se" in text and "95%" in text
    assert compare_ols(X, y, gr.fit_conjugate(X, y), include_sigma2=False).index[-1] == "beta[lstat]"


def test_arrays_without_names_and_no_intercept():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = X @ [1.0, -2.0] + rng.normal(size=80)
    fit = gr.fit_conjugate(X, y, intercept=False)
    table = compare_ols(X, y, fit, intercept=False)
    A = X
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(table.coefficients["ols"], beta, rtol=1e-12)
    assert table.index == ["beta[x0]", "beta[x1]", "sigma2"]
    with pytest.raises(ValueError, match="intercept"):
        compare_ols(X, y, fit, intercept=True)


def test_errors():
    d = gr.datasets.synthetic_hierarchical(J=5, group_size=10, p=2, seed=1)
    hpost = gr.HierarchicalRegression().sample(d.X, d.y, d.groups, chains=2, draws=20, warmup=10, seed=1,
                                               progress=False)
    with pytest.raises(ValueError, match="hierarchical"):
        compare_ols(d.X, d.y, hpost)
    with pytest.raises(TypeError, match="Posterior"):
        compare_ols(d.X, d.y, {"beta": 1})
    X = np.column_stack([d.X[:, 0], 2 * d.X[:, 0]])
    fit = gr.fit_conjugate(d.X, d.y)
    with pytest.raises(ValueError, match="rank deficient"):
        compare_ols(X, d.y, fit)
    with pytest.raises(ValueError, match="coefficients"):
        compare_ols(np.column_stack([d.X, d.X**2]), d.y, fit)
    with pytest.raises(ValueError, match="more rows"):
        compare_ols(d.X[:2], d.y[:2], fit)
