"""Tests of gibbsreg.plots: every plot runs on flat and hierarchical posteriors and draws
the expected axes and artists; many chains (300) and many groups (J = 2000) work.

Each figure is rendered (so layout and legends are exercised): into
$GIBBSREG_GALLERY/<name>.png at 100 dpi when that variable is set (README gallery),
otherwise to an in-memory buffer at low resolution.
"""

import io
import os
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

import gibbsreg as gr  # noqa: E402
from gibbsreg import plots  # noqa: E402
from gibbsreg.checks import ppc  # noqa: E402

GALLERY = os.environ.get("GIBBSREG_GALLERY")


def render(fig, name):
    """Draw the figure (PNG to the gallery if requested), then close it."""
    if GALLERY:
        Path(GALLERY).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(GALLERY) / f"{name}.png", dpi=100)
    else:
        fig.savefig(io.BytesIO(), format="png", dpi=25)
    plt.close(fig)


@pytest.fixture(scope="module")
def flat():
    d = gr.datasets.synthetic_regression(150, 3, seed=1)
    post = gr.LinearRegression().sample(d.X, d.y, chains=4, draws=200, warmup=100, seed=1, progress=False)
    return d, post


@pytest.fixture(scope="module")
def hier():
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 40, 30)
    sizes[:3] = 1  # three groups cannot identify two coefficients: NaN no-pooling estimates
    h = gr.datasets.synthetic_hierarchical(30, sizes, 2, seed=2)
    post = gr.HierarchicalRegression().sample(h.X, h.y, h.groups, chains=4, draws=200, warmup=100, seed=2,
                                              progress=False)
    return h, post


@pytest.fixture(scope="module")
def many_chains():
    d = gr.datasets.synthetic_regression(100, 2, seed=3)
    return gr.LinearRegression().sample(d.X, d.y, chains=300, draws=100, warmup=50, seed=3, progress=False)


@pytest.fixture(scope="module")
def many_groups():
    h = gr.datasets.synthetic_hierarchical(2000, "poisson:5", 2, seed=4)
    post = gr.HierarchicalRegression().sample(h.X, h.y, h.groups, chains=2, draws=40, warmup=40, seed=4,
                                              progress=False)
    return h, post


def lines_of(ax):
    return len(ax.lines)


# ---------------------------------------------------------------------------------------------
# trace
# ---------------------------------------------------------------------------------------------
def test_trace_flat(flat):
    _, post = flat
    fig = plots.plot_trace(post)
    assert len(fig.axes) == 2 * 4  # beta (3) + sigma2: density and trace per scalar
    dens, trace = fig.axes[0], fig.axes[1]
    assert lines_of(trace) == post.nchains
    assert lines_of(dens) == post.nchains + 1  # per-chain KDEs + pooled
    assert dens.get_title(loc="left") == "beta[intercept]"
    assert "R-hat" in trace.get_title(loc="right")
    render(fig, "trace")


def test_trace_hierarchical_cap_and_coords(hier):
    _, post = hier
    fig = plots.plot_trace(post)
    assert len(fig.axes) == 2 * 10
    assert "first 10 of" in fig._suptitle.get_text()
    assert fig.axes[0].get_title(loc="left") == "mu[intercept]"  # group-level variables first
    render(fig, "trace_hierarchical")
    labels = post.coords["group"]
    fig = plots.plot_trace(post, var_names="beta", coords={"group": labels[3:5], "coef": ["x0"]})
    assert len(fig.axes) == 4
    assert fig.axes[0].get_title(loc="left") == f"beta[{labels[3]},x0]"
    plt.close(fig)
    fig = plots.plot_trace(post, var_names=["sigma2", "beta"], coords={"group": slice(0, 2)}, max_panels=3)
    assert [a.get_title(loc="left") for a in fig.axes[::2]] == ["sigma2", f"beta[{labels[0]},intercept]",
                                                                f"beta[{labels[0]},x0]"]
    plt.close(fig)


def test_trace_many_chains_falls_back(many_chains):
    post = many_chains
    fig = plots.plot_trace(post, max_panels=3)
    assert len(fig.axes) == 2 * 3 + 1  # plus the shared colour bar
    rank_ax = fig.axes[1]
    images = [a for a in rank_ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 1 and images[0].get_array().shape[0] == 300  # one row per chain
    assert lines_of(rank_ax) == 0
    assert "rank histograms" in fig._suptitle.get_text()
    render(fig, "trace_300_chains")
    fig = plots.plot_trace(post, kind="trace", max_panels=2, seed=1)
    assert len(fig.axes) == 4 and lines_of(fig.axes[1]) == plots.MAX_CHAINS
    assert "20 of 300 chains chosen at random" in fig._suptitle.get_text()
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# rank / autocorrelation / density
# ---------------------------------------------------------------------------------------------
def test_rank(flat, hier, many_chains):
    _, post = flat
    fig = plots.plot_rank(post, bins=10)
    assert len(fig.axes) == 4
    ax = fig.axes[0]
    assert len(ax.containers) == post.nchains  # one bar histogram per chain
    assert [sum(b.get_height() for b in c) for c in ax.containers] == [post.ndraws] * post.nchains
    assert lines_of(ax) == post.nchains  # uniform-expectation lines
    render(fig, "rank")
    _, hp = hier
    fig = plots.plot_rank(hp, var_names="tau2")
    assert len(fig.axes) == 2
    plt.close(fig)
    fig = plots.plot_rank(many_chains, max_panels=2)
    assert len(fig.axes) == 3 and isinstance(fig.axes[0].images[0], AxesImage)
    plt.close(fig)
    fig, ax = plt.subplots()
    assert plots.plot_rank(post, var_names="sigma2", ax=ax) is ax
    plt.close(fig)


def test_autocorr(flat, hier, many_chains):
    _, post = flat
    fig = plots.plot_autocorr(post, max_lag=30)
    assert len(fig.axes) == 4
    assert lines_of(fig.axes[0]) == post.nchains + 2  # chains, average, zero line
    assert fig.axes[0].get_xlim() == (0, 30)
    render(fig, "autocorr")
    fig = plots.plot_autocorr(post, combined=True)
    assert lines_of(fig.axes[0]) == 2
    plt.close(fig)
    _, hp = hier
    fig = plots.plot_autocorr(hp, var_names=["mu", "tau2"])
    assert len(fig.axes) == 4
    plt.close(fig)
    fig = plots.plot_autocorr(many_chains, var_names="sigma2")
    ax = fig.axes[0]
    segs = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(segs) == 1 and len(segs[0].get_segments()) == 300
    plt.close(fig)


def test_density(flat, hier):
    _, post = flat
    fig = plots.plot_density(post, prob=0.9)
    assert len(fig.axes) == 4
    ax = fig.axes[0]
    assert lines_of(ax) == 2  # KDE + mean
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # shaded interval
    assert "90% CI" in ax.get_title()
    sig_ax = fig.axes[3]
    assert sig_ax.lines[0].get_xdata().min() >= 0  # variance: reflected at 0
    render(fig, "density")
    _, hp = hier
    fig, ax = plt.subplots()
    assert plots.plot_density(hp, var_names="mu", coords={"coef": ["x0"]}, ax=ax) is ax
    plt.close(fig)
    with pytest.raises(ValueError, match="exactly one scalar"):
        fig, ax = plt.subplots()
        plots.plot_density(hp, var_names="mu", ax=ax)
    plt.close("all")


def test_kde_matches_scipy():
    from scipy.stats import gaussian_kde

    x = np.random.default_rng(0).gamma(2.0, size=500)
    grid, dens = plots._kde_curve(x)
    np.testing.assert_allclose(dens, gaussian_kde(x)(grid), rtol=1e-10, atol=1e-14)
    grid, dens = plots._kde_curve(x, positive=True)
    assert grid.min() >= 0
    np.testing.assert_allclose(dens, gaussian_kde(x)(grid) + gaussian_kde(x)(-grid), rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# forest
# ---------------------------------------------------------------------------------------------
def _segments(ax):
    return [c for c in ax.collections if isinstance(c, LineCollection)]


def test_forest_flat_and_hierarchical(flat, hier):
    _, post = flat
    fig = plots.plot_forest(post)
    ax, = fig.axes
    outer, inner = _segments(ax)
    assert len(outer.get_segments()) == 3 and len(inner.get_segments()) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["beta[intercept]", "beta[x0]", "beta[x1]"]
    render(fig, "forest")
    _, hp = hier
    fig = plots.plot_forest(hp, sort=True)
    assert len(fig.axes) == 2  # one panel per coefficient, rows = groups
    for a in fig.axes:
        assert len(_segments(a)[0].get_segments()) == 30
        assert lines_of(a) == 1  # posterior mean of mu
    med = [s[0][0] + s[1][0] for s in _segments(fig.axes[0])[1].get_segments()]  # inner-interval midpoints
    assert np.corrcoef(med, np.arange(30))[0, 1] > 0.9  # sorted
    render(fig, "forest_hierarchical")
    fig = plots.plot_forest(hp, var_names=["mu", "tau2", "sigma2"])
    assert len(fig.axes) == 1 and len(_segments(fig.axes[0])[0].get_segments()) == 5
    plt.close(fig)
    fig, ax = plt.subplots()
    assert plots.plot_forest(hp, coords={"coef": ["intercept"], "group": hp.coords["group"][:10]}, ax=ax) is ax
    assert len(_segments(ax)[0].get_segments()) == 10
    plt.close(fig)


def test_forest_thousands_of_groups(many_groups):
    _, post = many_groups
    fig = plots.plot_forest(post, coords={"coef": ["intercept"]}, sort=True)
    ax, = fig.axes
    outer, inner = _segments(ax)
    assert len(outer.get_segments()) == 2000
    assert max(outer.get_linewidths()) < 0.5  # thin lines
    assert len(ax.get_yticklabels()) <= 10
    lows = np.array([s[0][0] for s in outer.get_segments()])
    assert lows.size == 2000
    render(fig, "forest_2000_groups")


# ---------------------------------------------------------------------------------------------
# posterior predictive checks
# ---------------------------------------------------------------------------------------------
def test_ppc_plots(flat, hier):
    d, post = flat
    r = ppc(post, d.X, d.y, statistics=("mean", "sd", "min", "max", "kurtosis"), seed=1)
    fig = plots.plot_ppc(r, n_rep=40)
    ax, = fig.axes
    reps = _segments(ax)
    assert len(reps) == 1 and len(reps[0].get_segments()) == 40
    assert lines_of(ax) == 1  # observed
    assert ax.get_xlabel() == "y"
    render(fig, "ppc")
    fig = plots.plot_ppc_stats(r)
    assert len(fig.axes) == 5
    assert fig.axes[0].get_title().startswith("mean: p = ")
    assert all(len(a.patches) > 0 and lines_of(a) == 1 for a in fig.axes)
    render(fig, "ppc_stats")
    h, hp = hier
    rh = ppc(hp, h.X, h.y, groups=h.groups, draws=100, seed=2)
    fig, ax = plt.subplots()
    assert plots.plot_ppc(rh, kind="ecdf", n_rep=500, ax=ax) is ax  # n_rep capped at 100
    assert len(_segments(ax)[0].get_segments()) == 100
    render(fig, "ppc_ecdf_hierarchical")
    fig, ax = plt.subplots()
    assert plots.plot_ppc_stats(rh, statistics=["max"], ax=ax) is ax
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# regression line with bands
# ---------------------------------------------------------------------------------------------
def test_predictive_flat(flat):
    d, post = flat
    fig = plots.plot_predictive(post, d.X, d.y, "x1", prob=0.9)
    ax, = fig.axes
    line = ax.lines[0]
    assert len(line.get_xdata()) == 100
    polys = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(polys) == 2  # credible band, predictive band
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "y"
    # the line is x'beta at the mean of x0: compare with the posterior mean coefficients
    beta = post["beta"].mean(axis=(0, 1))
    x = np.asarray(line.get_xdata())
    expect = beta[0] + beta[1] * d.X[:, 0].mean() + beta[2] * x
    np.testing.assert_allclose(line.get_ydata(), expect, rtol=1e-8, atol=1e-8)
    render(fig, "predictive")
    fig2 = plots.plot_predictive(post, d.X, d.y, 1, prob=0.9)
    np.testing.assert_allclose(fig2.axes[0].lines[0].get_ydata(), line.get_ydata())
    plt.close(fig2)
    with pytest.raises(ValueError, match="no predictor"):
        plots.plot_predictive(post, d.X, d.y, "x9")


def test_predictive_hierarchical(hier):
    h, hp = hier
    fig = plots.plot_predictive(hp, h.X, h.y, "x0", groups=h.groups)
    ax, = fig.axes
    assert "population" in ax.get_title()
    mu = hp["mu"].mean(axis=(0, 1))
    x = np.asarray(ax.lines[0].get_xdata())
    np.testing.assert_allclose(ax.lines[0].get_ydata(), mu[0] + mu[1] * x, rtol=1e-8, atol=1e-8)
    render(fig, "predictive_hierarchical")
    g = hp.coords["group"][5]
    fig, ax = plt.subplots()
    assert plots.plot_predictive(hp, h.X, h.y, 0, groups=h.groups, group=g, ax=ax) is ax
    b = hp["beta"][:, :, 5].mean(axis=(0, 1))
    np.testing.assert_allclose(ax.lines[0].get_ydata(), b[0] + b[1] * np.asarray(ax.lines[0].get_xdata()),
                               rtol=1e-8, atol=1e-8)
    assert len(ax.collections) == 4  # other groups, this group, two bands
    plt.close(fig)


def test_predictive_hierarchical_pooled_slopes():
    h = gr.datasets.synthetic_hierarchical(15, 12, 3, seed=5)
    hp = gr.HierarchicalRegression(varying=["intercept"]).sample(h.X, h.y, h.groups, chains=2, draws=100, warmup=50,
                                                                seed=5, progress=False)
    fig = plots.plot_predictive(hp, h.X, h.y, "x1", groups=h.groups)
    line = fig.axes[0].lines[0]
    mu, alpha = hp["mu"].mean(axis=(0, 1)), hp["alpha"].mean(axis=(0, 1))
    x = np.asarray(line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), mu[0] + alpha[0] * h.X[:, 0].mean() + alpha[1] * x,
                               rtol=1e-8, atol=1e-8)
    plt.close(fig)


def test_units_on_axes(flat):
    d, post = flat
    post.attrs["units"] = {"y": "kg", "x0": "cm"}
    try:
        fig = plots.plot_predictive(post, d.X, d.y, "x0")
        assert fig.axes[0].get_xlabel() == "x0 [cm]" and fig.axes[0].get_ylabel() == "y [kg]"
        plt.close(fig)
        fig = plots.plot_density(post, var_names="beta", coords={"coef": ["x0", "intercept"]})
        assert fig.axes[0].get_xlabel() == "value [kg/cm]" and fig.axes[1].get_xlabel() == "value [kg]"
        plt.close(fig)
    finally:
        del post.attrs["units"]


# ---------------------------------------------------------------------------------------------
# shrinkage
# ---------------------------------------------------------------------------------------------
def test_shrinkage(hier, many_groups):
    h, hp = hier
    s = gr.shrinkage(hp, h.X, h.y, h.groups)
    n_nan = int(np.isnan(s.no_pooling[:, 1]).sum())
    assert n_nan >= 3
    fig = plots.plot_shrinkage(s)
    assert len(fig.axes) == 2
    ax = fig.axes[1]
    assert len(ax.texts) == 30 - n_nan  # one arrow per group with a no-pooling estimate
    assert lines_of(ax) == 1  # complete pooling
    assert ax.lines[0].get_ydata()[0] == pytest.approx(s.complete_pooling[1])
    assert ax.get_xscale() == "log"  # sizes 1..39
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("undefined" in t for t in legend)
    render(fig, "shrinkage")
    fig, ax = plt.subplots()
    assert plots.plot_shrinkage(s, coef="intercept", ax=ax) is ax
    plt.close(fig)
    with pytest.raises(ValueError, match="one coefficient"):
        fig, ax = plt.subplots()
        plots.plot_shrinkage(s, ax=ax)
    plt.close("all")
    hb, post = many_groups
    sb = gr.shrinkage(post, hb.X, hb.y, hb.groups)
    fig = plots.plot_shrinkage(sb, coef=0)
    ax, = fig.axes
    assert len(ax.texts) == 0 and len(_segments(ax)[0].get_segments()) == int(np.isfinite(sb.no_pooling[:, 0]).sum())
    render(fig, "shrinkage_2000_groups")


# ---------------------------------------------------------------------------------------------
# prior sensitivity and convergence studies
# ---------------------------------------------------------------------------------------------
def test_prior_sensitivity():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 3))
    table = SimpleNamespace(prior_labels=["default", "tight", "wide", "flat"], columns=["beta[x0]", "sigma2", "tau"],
                            values=values, lower=values - 0.5, upper=values + 0.7)
    fig = plots.plot_prior_sensitivity(table)
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == table.prior_labels
    assert len(fig.axes[0].containers) == 1  # error bars
    render(fig, "prior_sensitivity")
    plain = SimpleNamespace(prior_labels=table.prior_labels, columns=table.columns, values=values)
    fig, ax = plt.subplots()
    assert plots.plot_prior_sensitivity(plain, quantities="tau", ax=ax) is ax
    assert ax.get_title() == "tau" and len(ax.containers) == 0
    plt.close(fig)
    with pytest.raises(ValueError, match="no quantity"):
        plots.plot_prior_sensitivity(plain, quantities=["nope"])


def test_prior_sensitivity_with_sensitivity_table():
    from gibbsreg.sensitivity import SensitivityTable
    values = np.array([[0.5, 0.10, -140.0], [0.8, 0.12, -138.0], [0.9, 0.13, -139.0]])
    nan = np.full(3, np.nan)
    lower = np.column_stack([values[:, 0] - 0.2, nan, nan])
    upper = np.column_stack([values[:, 0] + 0.2, nan, nan])
    table = SensitivityTable(["NIG(scale=0.1)", "NIG(scale=1)", "NIG(scale=10)"],
                             ["beta[x0] mean", "beta[x0] sd", "log_evidence"], values, lower, upper)
    fig = plots.plot_prior_sensitivity(table)  # default: the columns that have intervals
    assert [a.get_title() for a in fig.axes] == ["beta[x0] mean"]
    render(fig, "prior_sensitivity_table")
    fig = plots.plot_prior_sensitivity(table, quantities=["beta[x0]", "log_evidence"])
    assert [a.get_title() for a in fig.axes] == ["beta[x0] mean", "log_evidence"]
    assert len(fig.axes[1].containers) == 0  # no interval for the evidence
    plt.close(fig)


def test_convergence():
    draws, chains = [50, 100, 200, 400, 800], [4, 16, 64, 256]
    rhat = 1 + 2 / np.sqrt(np.outer(chains, draws))
    rhat[0, 0] = np.nan
    study = SimpleNamespace(draws=draws, chains=chains, rhat=rhat, nested_rhat=rhat * 1.01,
                            ess_bulk=0.3 * np.outer(chains, draws))
    fig = plots.plot_convergence(study)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert lines_of(ax) == len(chains) + 1  # one per chain count + threshold
        assert ax.get_xscale() == "log"
    assert fig.axes[2].get_yscale() == "log"
    render(fig, "convergence")
    empty = SimpleNamespace(draws=draws, chains=chains, rhat=rhat, nested_rhat=np.full(rhat.shape, np.nan),
                            ess_bulk=study.ess_bulk)
    fig = plots.plot_convergence(empty)
    assert "not available" in fig.axes[1].texts[0].get_text()
    plt.close(fig)
    from gibbsreg import convergence
    real = convergence.ConvergenceStudy(chains, draws, rhat, rhat, rhat * 1.01, study.ess_bulk)
    fig = plots.plot_convergence(real)
    assert len(fig.axes) == 3 and lines_of(fig.axes[0]) == len(chains) + 1
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# selection errors
# ---------------------------------------------------------------------------------------------
def test_selection_errors(flat, hier):
    _, post = flat
    with pytest.raises(KeyError, match="no variable"):
        plots.plot_density(post, var_names="gamma")
    with pytest.raises(ValueError, match="no label"):
        plots.plot_trace(post, coords={"coef": ["x7"]})
    with pytest.raises(ValueError, match="no selected variable"):
        plots.plot_trace(post, coords={"county": [1]})
    _, hp = hier
    with pytest.raises(ValueError, match="one panel"):
        fig, ax = plt.subplots()
        plots.plot_forest(hp, ax=ax)
    plt.close("all")
