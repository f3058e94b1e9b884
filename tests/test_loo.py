"""Pointwise log-likelihood, the InferenceData export, LOO and model comparison (gibbsreg.analysis).

The pointwise values are checked against a direct NumPy/SciPy computation (to 1e-10); exact
leave-one-out of the conjugate model against brute-force refits without each row and
against PSIS-LOO from exact draws; the memory guard on an n = 10^6 design.
"""

from __future__ import annotations

import tracemalloc
import warnings

import arviz as az
import matplotlib
import numpy as np
import pytest
from scipy import stats as sps

import gibbsreg as gr
from gibbsreg.analysis import TooLargeError, exact_loo, pointwise_loglik, prior_draws

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SAMPLING = dict(chains=2, draws=300, warmup=200, progress=False)


@pytest.fixture(scope="module")
def flat_data():
    rng = np.random.default_rng(11)
    n = 80
    X = rng.normal(size=(n, 3))
    y = 1.0 + X @ np.array([0.8, -0.5, 0.0]) + rng.normal(scale=0.7, size=n)
    return X, y


@pytest.fixture(scope="module")
def hier_data():
    rng = np.random.default_rng(12)
    J, n = 6, 90
    g = np.array([f"g{j}" for j in rng.integers(0, J, n)])
    codes = np.unique(g, return_inverse=True)[1]
    X = rng.normal(size=(n, 2))
    b0 = rng.normal(2.0, 0.7, J)
    sig = np.linspace(0.4, 1.2, J)
    y = b0[codes] + X @ np.array([0.6, -0.4]) + rng.normal(size=n) * sig[codes]
    return X, y, g


def flat_posts(X, y):
    return {
        "semiconjugate": gr.LinearRegression().sample(X, y, seed=1, **SAMPLING),
        "nig_gibbs": gr.LinearRegression(gr.NormalInverseGamma()).sample(X, y, seed=2, **SAMPLING),
        "exchangeable": gr.LinearRegression(gr.Exchangeable()).sample(X, y, seed=3, **SAMPLING),
        "nig_exact": gr.fit_conjugate(X, y).sample(draws=300, chains=2, seed=4),
    }


def hier_posts(X, y, g):
    return {
        "intercept_shared": gr.HierarchicalRegression(varying="intercept").sample(X, y, g, seed=5, **SAMPLING),
        "intercept_per_group": gr.HierarchicalRegression(
            gr.HierarchicalPrior(group_variance=True), varying="intercept").sample(X, y, g, seed=6, **SAMPLING),
        "slopes_iw": gr.HierarchicalRegression(
            gr.HierarchicalPrior(tau=gr.InvWishart(df=4.0, scale=1.0)), varying=["intercept", "x0"]).sample(
                X, y, g, seed=7, **SAMPLING),
    }


@pytest.fixture(scope="module")
def posts(flat_data, hier_data):
    return {**flat_posts(*flat_data), **hier_posts(*hier_data)}


def direct_loglik(post, X, y, g=None):
    """log N(y_i | mean_i, sigma2) written out with SciPy, row by row of the model's definition."""
    full = np.column_stack([np.ones(len(y)), X])
    if post.attrs.get("model_kind") != "hierarchical":
        mean = np.einsum("cdp,np->cdn", post["beta"], full)
        sd = np.sqrt(post["sigma2"])[..., None]
        return sps.norm.logpdf(y, mean, sd)
    codes = np.array([post.coords["group"].index(v) for v in g])
    vi, pi = post.attrs["varying_index"], post.attrs["pooled_index"]
    beta_rows = post["beta"][:, :, codes, :]  # (c, d, n, q)
    mean = np.einsum("cdnq,nq->cdn", beta_rows, full[:, vi])
    if pi:
        mean += np.einsum("cdr,nr->cdn", post["alpha"], full[:, pi])
    s2 = post["sigma2"]
    sd = np.sqrt(s2[:, :, codes] if s2.ndim == 3 else s2[..., None])
    return sps.norm.logpdf(y, mean, sd)


def data_of(name, flat_data, hier_data):
    return (flat_data + (None,)) if name in ("semiconjugate", "nig_gibbs", "exchangeable", "nig_exact") else hier_data


# ---- pointwise values --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["semiconjugate", "nig_gibbs", "exchangeable", "nig_exact", "intercept_shared",
                                  "intercept_per_group", "slopes_iw"])
def test_pointwise_loglik_equals_direct_computation(name, posts, flat_data, hier_data):
    post = posts[name]
    X, y, g = data_of(name, flat_data, hier_data)
    idata = post.to_arviz(log_likelihood=True)
    ll = idata.log_likelihood["y"]
    assert ll.dims == ("chain", "draw", "obs") and ll.shape == (post.nchains, post.ndraws, len(y))
    ref = direct_loglik(post, X, y, g)
    np.testing.assert_allclose(ll.values, ref, rtol=0, atol=1e-10)
    # the NumPy reference of the kernel agrees too, and explicit data give the same values
    np.testing.assert_allclose(pointwise_loglik(post, backend="numpy"), ref, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(pointwise_loglik(post, X, y, g), ll.values)
    # sum over observations = the joint log density of y under each draw (here via the RSS form)
    resid = y - (direct_mean(post, X, g))
    s2 = post["sigma2"]
    if s2.ndim == 3:
        codes = np.array([post.coords["group"].index(v) for v in g])
        s2 = s2[:, :, codes]
    else:
        s2 = s2[..., None]
    joint = -0.5 * np.sum(np.log(2 * np.pi * s2) + resid**2 / s2, axis=-1)
    np.testing.assert_allclose(ll.values.sum(axis=-1).mean(), joint.mean(), rtol=1e-12)
    np.testing.assert_allclose(ll.values.sum(axis=-1), joint, rtol=1e-12)


def direct_mean(post, X, g):
    full = np.column_stack([np.ones(X.shape[0]), X])
    if post.attrs.get("model_kind") != "hierarchical":
        return np.einsum("cdp,np->cdn", post["beta"], full)
    codes = np.array([post.coords["group"].index(v) for v in g])
    vi, pi = post.attrs["varying_index"], post.attrs["pooled_index"]
    mean = np.einsum("cdnq,nq->cdn", post["beta"][:, :, codes, :], full[:, vi])
    if pi:
        mean = mean + np.einsum("cdr,nr->cdn", post["alpha"], full[:, pi])
    return mean


def test_joint_density_of_one_draw_by_multivariate_normal(posts, flat_data):
    X, y = flat_data
    post = posts["semiconjugate"]
    ll = pointwise_loglik(post)
    full = np.column_stack([np.ones(len(y)), X])
    for c, d in [(0, 0), (1, 123)]:
        mvn = sps.multivariate_normal(full @ post["beta"][c, d], post["sigma2"][c, d] * np.eye(len(y)))
        assert abs(ll[c, d].sum() - mvn.logpdf(y)) < 1e-9


def test_group_loglik_sums_the_rows_of_each_group(posts, hier_data):
    X, y, g = hier_data
    for name in ("intercept_shared", "intercept_per_group", "slopes_iw"):
        post = posts[name]
        idata = post.to_arviz(group_log_likelihood=True)
        lg = idata.log_likelihood["y_group_conditional"]
        assert lg.dims == ("chain", "draw", "group") and list(lg["group"].values) == post.coords["group"]
        ll = idata.log_likelihood["y"].values
        for j, lab in enumerate(post.coords["group"]):
            np.testing.assert_allclose(lg.values[..., j], ll[..., g == lab].sum(axis=-1), rtol=1e-12, atol=1e-10)
        # y_group: beta_j integrated out, against the multivariate normal density of the group's rows
        lm = idata.log_likelihood["y_group"]
        assert lm.dims == ("chain", "draw", "group")
        full = np.column_stack([np.ones(len(y)), X])
        vi, pi = post.attrs["varying_index"], post.attrs["pooled_index"]
        for c, d in [(0, 0), (1, 77)]:
            Sig = post["Sigma"][c, d] if "Sigma" in post else np.diag(post["tau2"][c, d])
            for j, lab in enumerate(post.coords["group"]):
                r = g == lab
                Xv, Xp = full[r][:, vi], full[r][:, pi]
                mean = Xv @ post["mu"][c, d] + (Xp @ post["alpha"][c, d] if pi else 0.0)
                s2 = post["sigma2"][c, d, j] if post["sigma2"].ndim == 3 else post["sigma2"][c, d]
                ref = sps.multivariate_normal(mean, s2 * np.eye(r.sum()) + Xv @ Sig @ Xv.T).logpdf(y[r])
                assert abs(lm.values[c, d, j] - ref) < 1e-10
        for by in ("group", "group_conditional"):
            logo = gr.loo(post, by=by)
            assert logo["loo_i"].shape == (len(post.coords["group"]),)


# ---- the InferenceData groups -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["semiconjugate", "exchangeable", "nig_exact", "intercept_per_group", "slopes_iw"])
def test_inference_data_groups_and_arviz_functions(name, posts, flat_data, hier_data):
    post = posts[name]
    X, y, g = data_of(name, flat_data, hier_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = post.to_arviz(seed=0)
        for group in ("posterior", "log_likelihood", "posterior_predictive", "observed_data", "constant_data",
                      "prior"):
            assert hasattr(idata, group), f"{name}: no {group} group"
        assert idata.observed_data["y"].dims == ("obs",)
        np.testing.assert_array_equal(idata.observed_data["y"].values, y)
        assert idata.constant_data["X"].dims == ("obs", "feature")
        assert list(idata.constant_data["feature"].values) == ["x0", "x1", "x2"][: X.shape[1]]
        assert idata.posterior_predictive["y"].shape == (post.nchains, post.ndraws, len(y))
        assert set(idata.prior.data_vars) == set(post.names)
        if g is not None:
            np.testing.assert_array_equal(idata.constant_data["group_label"].values, g)
            assert list(idata.posterior["group"].values) == post.coords["group"]
        loo = az.loo(idata)
        waic = az.waic(idata)
        assert np.isfinite(loo["elpd_loo"]) and np.isfinite(waic["elpd_waic"])
        assert abs(loo["elpd_loo"] - waic["elpd_waic"]) < 3 * loo["se"]
        cmp = az.compare({"a": idata, "b": idata})
        assert list(cmp.columns[:3]) == ["rank", "elpd_loo", "p_loo"]
        ax = az.plot_ppc(idata, num_pp_samples=20, random_seed=0)
        assert ax is not None
        plt.close("all")


def test_prior_draws_follow_the_prior(posts):
    """Moments of the exported prior draws against the resolved prior (4 Monte Carlo se)."""
    post = posts["semiconjugate"]
    d = prior_draws(post, 4000, seed=1)
    pr = post.prior
    cov = np.linalg.inv(pr.precision)
    beta = d["beta"][0]
    se = np.sqrt(np.diag(cov) / 4000)
    assert np.all(np.abs(beta.mean(0) - pr.mean) < 4 * se)
    np.testing.assert_allclose(np.cov(beta.T), cov, rtol=0.12, atol=0.12 * np.sqrt(np.outer(np.diag(cov), np.diag(cov))).max())
    s2 = d["sigma2"][0]
    assert abs(np.median(s2) - sps.invgamma.median(pr.a, scale=pr.b)) < 0.1 * sps.invgamma.median(pr.a, scale=pr.b)
    # exchangeable: shared slopes ~ N(mu, tau2); the excluded intercept at the centred predictors,
    # u_0 = (beta_0 - m_0) + xbar'(beta_s - m_s), is N(0, excluded_sd_0^2) whatever the slopes
    ex = posts["exchangeable"]
    de = prior_draws(ex, 4000, seed=3)
    pe = ex.prior
    xbar = ex.data.X.mean(axis=0)
    b = de["beta"][0]
    u0 = (b[:, 0] - pe.fixed.mean[0]) + (b[:, 1:] - pe.fixed.mean[1:]) @ xbar
    assert abs(u0.std() / pe.excluded_sd[0] - 1) < 0.05 and abs(u0.mean()) < 4 * pe.excluded_sd[0] / np.sqrt(4000)
    z = (b[:, 1:] - de["mu"][0][:, None]) / np.sqrt(de["tau2"][0])[:, None]
    assert abs(z.std() - 1) < 0.03 and abs(z.mean()) < 4 / np.sqrt(z.size)
    hp = posts["intercept_per_group"]
    dh = prior_draws(hp, 4000, seed=2)
    assert dh["beta"].shape == (1, 4000, 6, 1) and dh["sigma2"].shape == (1, 4000, 6)
    mu = dh["mu"][0, :, 0]
    assert abs(mu.mean() - hp.prior.mu_mean[0]) < 4 * hp.prior.mu_scale[0] / np.sqrt(4000)
    # improper (flat) prior: no prior group, and asking for it is an error
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 1)), rng.normal(size=30)
    flat = gr.LinearRegression(gr.SemiConjugate(scale=np.inf)).sample(X, y, seed=0, chains=1, draws=50, warmup=10,
                                                                       progress=False)
    assert not hasattr(flat.to_arviz(), "prior")
    with pytest.raises(ValueError, match="improper"):
        flat.to_arviz(prior=True)


def test_posterior_predictive_is_reproducible_and_chain_wise(hier_data):
    X, y, g = hier_data
    model = gr.HierarchicalRegression(varying="intercept")
    p2 = model.sample(X, y, g, seed=9, chains=2, draws=50, warmup=50, progress=False)
    p3 = model.sample(X, y, g, seed=9, chains=3, draws=50, warmup=50, progress=False)
    a = p2.to_arviz(seed=4).posterior_predictive["y"].values
    b = p3.to_arviz(seed=4).posterior_predictive["y"].values
    np.testing.assert_array_equal(a, b[:2])
    assert not np.array_equal(a, p2.to_arviz(seed=5).posterior_predictive["y"].values)


def test_explicit_data_after_load_and_errors(posts, hier_data, tmp_path):
    X, y, g = hier_data
    post = posts["intercept_shared"]
    path = tmp_path / "post.npz"
    post.save(path)
    loaded = gr.load(path)
    assert loaded.data is None
    idata = loaded.to_arviz()  # no data: the posterior (and prior) only
    assert not hasattr(idata, "log_likelihood") and hasattr(idata, "posterior")
    with pytest.raises(ValueError, match="does not hold the data"):
        loaded.to_arviz(log_likelihood=True)
    with pytest.raises(ValueError, match="groups="):
        loaded.to_arviz(X=X, y=y)
    with pytest.raises(ValueError, match="not in the fitted data"):
        loaded.to_arviz(X=X, y=y, groups=np.where(g == "g0", "other", g))
    with pytest.raises(ValueError, match="coefficients"):
        loaded.to_arviz(X=X[:, :1], y=y, groups=g)
    ll = loaded.to_arviz(X=X, y=y, groups=g).log_likelihood["y"].values
    np.testing.assert_array_equal(ll, post.to_arviz().log_likelihood["y"].values)
    nobeta = gr.HierarchicalRegression(varying="intercept").sample(X, y, g, seed=1, chains=1, draws=20, warmup=20,
                                                                   progress=False, store_beta=False)
    with pytest.raises(ValueError, match="store_beta=False"):
        gr.loo(nobeta)


# ---- LOO and comparison ------------------------------------------------------------------------


def test_exact_loo_equals_refits_without_each_row():
    """log p(y_i | y_-i) from the rank-one downdate = the Student-t predictive of a refit without row i."""
    rng = np.random.default_rng(3)
    n = 25
    X = rng.normal(size=(n, 2))
    y = 0.5 + X @ np.array([1.0, -2.0]) + rng.normal(size=n)
    prior = gr.NormalInverseGamma(mean=0.0, scale=3.0, a=2.0, b=1.5)  # fixed numbers: not rescaled by the data
    ex = exact_loo(gr.fit_conjugate(X, y, prior))
    for i in (0, 7, 24):
        keep = np.arange(n) != i
        pred = gr.fit_conjugate(X[keep], y[keep], prior).predict(X[i:i + 1]).y
        ref = sps.t.logpdf(y[i], pred.dof, loc=pred.location[0], scale=pred.scale[0])
        assert abs(ex.pointwise[i] - ref) < 1e-10
    # and the evidence chain rule is not what it computes: leave-one-out, not sequential
    assert ex.elpd_loo == pytest.approx(ex.pointwise.sum())


def test_psis_loo_from_exact_draws_agrees_with_exact_loo():
    """PSIS-LOO from 4000 exact draws vs the closed form: within the reported se (and much closer)."""
    rng = np.random.default_rng(5)
    n = 100
    X = rng.normal(size=(n, 3))
    y = 1.0 + X @ np.array([0.5, -1.0, 0.2]) + rng.standard_t(5, size=n)
    fit = gr.fit_conjugate(X, y)
    ex = exact_loo(fit)
    res = gr.loo(fit.sample(draws=2000, chains=2, seed=8))
    assert abs(res["elpd_loo"] - ex.elpd_loo) < res["se"]
    assert abs(res["se"] - ex.se) < 0.1 * ex.se
    # pointwise: the importance-sampling error of each term is small where k is good
    good = res["pareto_k"].values < 0.5
    assert good.mean() > 0.9
    assert np.max(np.abs(res["loo_i"].values[good] - ex.pointwise[good])) < 0.05
    with pytest.raises(ValueError, match="exact_loo"):
        gr.loo(fit)


def test_compare_table(posts, hier_data):
    X, y, g = hier_data
    models = {k: posts[k] for k in ("intercept_shared", "intercept_per_group", "slopes_iw")}
    flat = gr.LinearRegression().sample(X, y, seed=3, **SAMPLING)
    models["complete_pooling"] = flat
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = gr.compare(models)
    for col in ("rank", "elpd_loo", "p_loo", "elpd_diff", "weight", "se", "dse", "warning", "pareto_k_max",
                "n_high_k", "worst_obs"):
        assert col in table.columns
    assert table["elpd_diff"].iloc[0] == 0 and (table["elpd_diff"].iloc[1:] >= 0).all()
    assert abs(table["weight"].sum() - 1) < 1e-9
    for name in models:
        ref = gr.loo(models[name])
        assert table.loc[name, "elpd_loo"] == pytest.approx(float(ref["elpd_loo"]))
        k = ref["pareto_k"].values
        assert table.loc[name, "pareto_k_max"] == pytest.approx(k.max())
        assert table.loc[name, "worst_obs"] == int(np.argmax(k))
    # explicit data: the same table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = gr.compare(models, X, y, groups=g)
    np.testing.assert_allclose(again.loc[table.index, "elpd_loo"], table["elpd_loo"])
    other = gr.LinearRegression().sample(X, y + 1.0, seed=3, **SAMPLING)
    with pytest.raises(ValueError, match="different y"):
        gr.compare({"a": flat, "b": other})
    with pytest.raises(ValueError, match="at least two"):
        gr.compare({"a": flat})
    fig, ax = plt.subplots()
    az.plot_compare(table, ax=ax)
    plt.close(fig)


def test_prior_sensitivity_reports_elpd_loo(flat_data):
    X, y = flat_data
    priors = {"nig": gr.NormalInverseGamma(), "semi": gr.SemiConjugate()}
    t = gr.prior_sensitivity(X, y, priors, chains=2, draws=300, warmup=200, seed=0)
    assert t.row("nig")["elpd_loo"] == pytest.approx(exact_loo(gr.fit_conjugate(X, y)).elpd_loo, abs=1e-12)
    post = gr.LinearRegression().sample(X, y, chains=2, draws=300, warmup=200, seed=0, progress=False)
    assert t.row("semi")["elpd_loo"] == pytest.approx(float(gr.loo(post)["elpd_loo"]), abs=1e-10)
    assert np.isfinite(t.row("semi")["elpd_loo se"])
    # the two priors give nearly the same predictions: within the se
    assert abs(t.row("nig")["elpd_loo"] - t.row("semi")["elpd_loo"]) < t.row("nig")["elpd_loo se"]


# ---- memory bound ------------------------------------------------------------------------------


def test_large_n_builds_no_big_array_unless_asked():
    """n = 10^6 rows, 4 x 1000 draws: the (4, 1000, 10^6) array (32 GB) is not built unasked; asking
    estimates its size first and refuses it beyond the limit, naming the size."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    X = rng.normal(size=(n, 1))
    y = 2.0 + 0.5 * X[:, 0] + rng.normal(size=n)
    post = gr.LinearRegression().sample(X, y, chains=4, draws=1000, warmup=100, seed=1, progress=False)
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match="32.0 GB"):
            idata = post.to_arviz()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not hasattr(idata, "log_likelihood") and not hasattr(idata, "posterior_predictive")
    assert hasattr(idata, "observed_data") and hasattr(idata, "constant_data")
    assert peak < 200 * 2**20, f"to_arviz() allocated {peak / 2**20:.0f} MB"
    with pytest.raises(TooLargeError, match=r"4 chains x 1000 draws x 1,000,000 rows .* 32\.0 GB"):
        post.to_arviz(log_likelihood=True, max_bytes=8 * 2**30)
    with pytest.raises(MemoryError, match="32.0 GB"):
        gr.loo(post, max_bytes=2**30)
    # a few draws on all rows: computed in blocks, equal to the direct formula
    few = gr.Posterior({k: post[k][:1, :3] for k in post.names}, post.dims, post.coords, post.attrs)
    few.data = post.data
    ll = pointwise_loglik(few)
    assert ll.shape == (1, 3, n)
    rows = np.r_[0:3, n // 2: n // 2 + 3, n - 3:n]
    ref = sps.norm.logpdf(y[rows], few["beta"][0, :, :1] + few["beta"][0, :, 1:] * X[rows, 0],
                          np.sqrt(few["sigma2"][0])[:, None])
    np.testing.assert_allclose(ll[0][:, rows], ref, rtol=0, atol=1e-10)


@pytest.mark.slow
def test_leave_one_group_out_agrees_with_refits_without_the_group():
    """PSIS-LOGO (y_group) against brute force: refit without group j, then
    log p(y_(j) | y_-j) = log E[N(y_(j) | 1 mu + W_j alpha, tau2 11' + sigma2 I)] over the refit's draws
    (beta_j integrated out).  Fixed prior numbers, so that removing a group does not move the prior.
    Tolerance 0.15 per group where k < 0.5: the two Monte Carlo errors are a few hundredths here."""
    rng = np.random.default_rng(21)
    J, nj = 8, 12
    g = np.repeat(np.arange(J), nj)
    X = rng.normal(size=(J * nj, 1))
    y = rng.normal(1.0, 0.5, J)[g] + 0.7 * X[:, 0] + rng.normal(size=J * nj)
    prior = gr.HierarchicalPrior(mu_mean=0.0, mu_scale=5.0, tau=gr.InvGamma(2.0, 0.5), sigma=gr.InvGamma(2.0, 2.0),
                                 pooled_mean=0.0, pooled_scale=5.0)
    model = gr.HierarchicalRegression(prior, varying="intercept")
    run = dict(chains=4, draws=2500, warmup=500, progress=False)
    post = model.sample(X, y, g, seed=1, **run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = gr.loo(post, by="group")
    k = res["pareto_k"].values
    checked = 0
    for j in range(J):
        if k[j] >= 0.5:
            continue
        keep = g != j
        refit = model.sample(X[keep], y[keep], g[keep], seed=2 + j, **run)
        mu, tau2 = refit["mu"][..., 0].ravel(), refit["tau2"][..., 0].ravel()
        alpha, s2 = refit["alpha"][..., 0].ravel(), refit["sigma2"].ravel()
        yj, wj = y[~keep], X[~keep, 0]
        r = yj[None, :] - mu[:, None] - alpha[:, None] * wj[None, :]
        # N(r | 0, s2 I + tau2 11'): determinant and quadratic form of a rank-one update
        logdet = nj * np.log(s2) + np.log1p(nj * tau2 / s2)
        quad = (r**2).sum(1) / s2 - tau2 * r.sum(1) ** 2 / (s2 * (s2 + nj * tau2))
        logp = -0.5 * (nj * np.log(2 * np.pi) + logdet + quad)
        brute = np.logaddexp.reduce(logp) - np.log(logp.size)
        assert abs(res["loo_i"].values[j] - brute) < 0.15, (j, res["loo_i"].values[j], brute)
        checked += 1
    assert checked >= J // 2
