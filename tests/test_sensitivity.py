"""prior_sensitivity and prior_grid: closed-form rows equal fit_conjugate exactly, Gibbs rows equal a
direct LinearRegression.sample call with the same seed, log evidence only where it exists."""

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg.sensitivity import SensitivityTable, prior_grid, prior_label, prior_sensitivity

SAMPLING = dict(chains=2, draws=300, warmup=100, seed=11)


@pytest.fixture(scope="module")
def data():
    d = gr.datasets.synthetic_regression(n=200, p=4, sigma=1.5, seed=7)
    return d.X, d.y


@pytest.fixture(scope="module")
def table(data):
    X, y = data
    priors = {
        "nig tight": gr.NormalInverseGamma(scale=0.5, a=2.0, b=2.0),
        "nig default": gr.NormalInverseGamma(),
        "nig flat": gr.NormalInverseGamma(scale=np.inf, a=2.0, b=2.0),
        "semi": gr.SemiConjugate(scale=1.0, a=2.0, b=2.0),
        "exch": gr.Exchangeable(),
    }
    return priors, prior_sensitivity(X, y, priors, quantities=["beta", "sigma2", "mu", "tau2"], **SAMPLING)


def test_structure(table):
    priors, t = table
    assert isinstance(t, SensitivityTable)
    assert t.prior_labels == list(priors)
    names = ["intercept", "x0", "x1", "x2"]
    expected = [f"{q} {s}" for q in [f"beta[{n}]" for n in names] + ["sigma2", "mu", "tau2"] for s in ("mean", "sd")]
    assert t.columns == expected + ["log_evidence", "elpd_loo", "elpd_loo se", "r_hat max", "ess_bulk min"]
    assert t.values.shape == t.lower.shape == t.upper.shape == (5, len(t.columns))
    assert t.methods[:3] == ["closed form"] * 3 and all(m.startswith("Gibbs") for m in t.methods[3:])
    # intervals only beside the means
    sd_cols = [j for j, c in enumerate(t.columns) if not c.endswith(" mean")]
    assert np.isnan(t.lower[:, sd_cols]).all() and np.isnan(t.upper[:, sd_cols]).all()
    df = t.to_pandas()
    assert list(df.index) == t.prior_labels and list(df.columns) == t.columns
    dfi = t.to_pandas(intervals=True)
    assert "beta[x1] lower" in dfi.columns and "beta[x1] upper" in dfi.columns
    text = str(t)
    assert "nig tight" in text and "log_evidence" in text and "closed form" in text and "Gibbs" in text


@pytest.mark.parametrize("label", ["nig tight", "nig default", "nig flat"])
def test_closed_form_rows_equal_fit_conjugate(data, table, label):
    X, y = data
    priors, t = table
    fit = gr.fit_conjugate(X, y, priors[label])
    i = t.prior_labels.index(label)
    ci = fit.credible_interval(0.95)
    sd = np.sqrt(np.diag(fit.cov))
    for k, n in enumerate(fit.names):
        j = t.columns.index(f"beta[{n}] mean")
        assert t.values[i, j] == fit.mean[k]
        assert t.values[i, j + 1] == sd[k]
        assert (t.lower[i, j], t.upper[i, j]) == (ci[k, 0], ci[k, 1])
    j = t.columns.index("sigma2 mean")
    assert (t.values[i, j], t.values[i, j + 1]) == (fit.sigma2_mean, fit.sigma2_sd)
    assert (t.lower[i, j], t.upper[i, j]) == tuple(fit.sigma2_interval(0.95))
    ev = t.values[i, t.columns.index("log_evidence")]
    if label == "nig flat":
        assert np.isnan(ev)  # improper prior: no evidence
    else:
        assert ev == fit.log_evidence and np.isfinite(ev)
    # mu / tau2 do not exist under these priors; no diagnostics for closed-form rows
    for c in ("mu mean", "tau2 mean", "r_hat max", "ess_bulk min"):
        assert np.isnan(t.values[i, t.columns.index(c)])


@pytest.mark.parametrize("label", ["semi", "exch"])
def test_gibbs_rows_equal_a_direct_sample_call(data, table, label):
    X, y = data
    priors, t = table
    post = gr.LinearRegression(priors[label]).sample(X, y, progress=False, **SAMPLING)
    i = t.prior_labels.index(label)
    beta = post["beta"]
    means, sds = beta.mean(axis=(0, 1)), beta.std(axis=(0, 1), ddof=1)
    q = np.quantile(beta, [(1 - 0.95) / 2, (1 + 0.95) / 2], axis=(0, 1))  # the table's probabilities, as computed
    for k, n in enumerate(post.coords["coef"]):
        j = t.columns.index(f"beta[{n}] mean")
        assert t.values[i, j] == means[k]
        assert t.values[i, j + 1] == sds[k]
        assert (t.lower[i, j], t.upper[i, j]) == (q[0, k], q[1, k])
    assert t.values[i, t.columns.index("sigma2 mean")] == post["sigma2"].mean(axis=(0, 1))
    assert np.isnan(t.values[i, t.columns.index("log_evidence")])
    assert np.isfinite(t.values[i, t.columns.index("r_hat max")])
    has_hyper = label == "exch"
    assert np.isfinite(t.values[i, t.columns.index("mu mean")]) == has_hyper
    if has_hyper:
        assert t.values[i, t.columns.index("tau2 mean")] == post["tau2"].mean(axis=(0, 1))
    np.testing.assert_array_equal(t.fits[i]["beta"], beta)


def test_priors_as_a_list_labels_and_quantity_selection(data):
    X, y = data
    priors = [gr.NormalInverseGamma(scale=2.0), gr.NormalInverseGamma(scale=2.0)]
    t = prior_sensitivity(X, y, priors, quantities=["x1", "sigma2"])
    assert t.prior_labels == ["NIG(scale=2)", "NIG(scale=2) (2)"]
    assert t.columns == ["beta[x1] mean", "beta[x1] sd", "sigma2 mean", "sigma2 sd", "log_evidence", "elpd_loo",
                         "elpd_loo se"]
    np.testing.assert_array_equal(t.values[0], t.values[1])
    t2 = prior_sensitivity(X, y, priors, labels=["a", "b"], quantities="beta[x0]")
    assert t2.prior_labels == ["a", "b"] and t2.columns[0] == "beta[x0] mean"
    with pytest.raises(ValueError, match="unknown quantity"):
        prior_sensitivity(X, y, priors, quantities=["gamma"])
    with pytest.raises(ValueError, match="labels"):
        prior_sensitivity(X, y, priors, labels=["a"])
    with pytest.raises(ValueError, match="must be NormalInverseGamma"):
        prior_sensitivity(X, y, [gr.HierarchicalPrior()])


def test_evidence_prefers_the_prior_that_fits(data):
    """A prior centred far from the data has lower evidence than a weak one (sanity, not a statistical test)."""
    X, y = data
    t = prior_sensitivity(X, y, {"weak": gr.NormalInverseGamma(scale=10.0, a=2.0, b=2.0),
                                 "wrong": gr.NormalInverseGamma(mean=20.0, scale=0.1, a=2.0, b=2.0)})
    ev = t["log_evidence"]
    assert ev[0] > ev[1]


def test_prior_grid():
    grid = prior_grid("NormalInverseGamma", scale=[1, 10], a=[1, 3], b=1.0)
    assert list(grid) == ["NIG(scale=1, a=1, b=1)", "NIG(scale=1, a=3, b=1)",
                          "NIG(scale=10, a=1, b=1)", "NIG(scale=10, a=3, b=1)"]
    p = grid["NIG(scale=10, a=3, b=1)"]
    assert isinstance(p, gr.NormalInverseGamma) and p.a == 3.0 and p.b == 1.0 and float(p.scale) == 10.0
    # arrays are single (vector) values, lists of arrays are axes
    g2 = prior_grid(gr.SemiConjugate, scale=[np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0, 5.0, 5.0, 5.0])])
    assert list(g2) == ["SemiConjugate(scale=[1,2,3,4])", "SemiConjugate(scale=[5,5,5,5])"]
    g3 = prior_grid("Exchangeable", tau=[gr.InvGamma(1.0, 1.0), gr.HalfCauchy(1.0)])
    assert len(g3) == 2 and all(isinstance(v, gr.Exchangeable) for v in g3.values())
    assert prior_label(gr.Exchangeable(tau=gr.HalfCauchy(2.0))) == "Exchangeable(tau=HalfCauchy(scale=2))"
    with pytest.raises(ValueError, match="unknown kind"):
        prior_grid("Horseshoe", scale=[1])
    with pytest.raises(ValueError, match="does not accept"):
        prior_grid("NIG", tau=[1.0])


def test_grid_feeds_prior_sensitivity(data):
    X, y = data
    grid = prior_grid("NIG", scale=[0.1, 1.0, 10.0], a=2.0, b=2.0)
    t = prior_sensitivity(X, y, grid)
    assert t.prior_labels == list(grid)
    sd = t["beta[x0] sd"]
    assert sd[0] < sd[1] <= sd[2] * 1.01  # a tighter prior gives a tighter posterior
