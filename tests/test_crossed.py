"""CrossedRegression (several grouping factors): exact Gaussian limit, backends, reproducibility, input checks.

Closed-form test: with every variance pinned by InvGamma(a, a v), a = 1e6 (sd v/1000), the
effects' posterior is the Gaussian of a linear model with known covariances.  Reparameterised
as fixed effects (mu, alpha) with N(m0, s^2) priors and zero-mean deviations u_f ~ N(0, Sigma_f)
(b_1 = mu + u_1), the posterior precision is prior precision + W'W/sigma^2 for the dense design
W = [X, Z_1, Z_2, ...].  Sample means are compared in MCSE units (|z| < 4.5 for every scalar,
~100 scalars per design: family-wise false-alarm rate < 1e-3) and the posterior covariance
matrix entry by entry with its MCSE sqrt((S_ii S_jj + S_ij^2)/ESS) (|z| < 5).
"""

from __future__ import annotations

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg import diagnostics
from gibbsreg.models.crossed import CrossedPrior, CrossedRegression, Factor, interaction_labels

A_PIN = 1e6


def pinned(v):
    return gr.InvGamma(A_PIN, A_PIN * np.asarray(v, float))


def crossed_data(seed=0, n=150, J1=6, J2=5):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, J1, n)
    b = rng.integers(0, J2, n)
    X = rng.standard_normal((n, 2))
    y = (1.0 + 0.5 * X[:, 0] - 0.3 * X[:, 1] + rng.normal(0, 0.8, J1)[a] + rng.normal(0, 0.6, J2)[b]
         + rng.normal(0, 0.3, J1)[a] * X[:, 0] + rng.normal(0, 0.7, n))
    return X, y, {"a": a, "b": b}


def nested_data(seed=1, states=4, per=3, n=140):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, states, n)
    c = rng.integers(0, per, n)
    X = rng.standard_normal((n, 1))
    y = 2.0 + 0.4 * X[:, 0] + rng.normal(0, 0.8, states)[s] + rng.normal(0, 0.5, (states, per))[s, c] \
        + rng.normal(0, 0.6, n)
    labels_s = np.array([f"S{k}" for k in s])
    return X, y, {"state": labels_s, "state:county": interaction_labels(labels_s, c)}


def dense_posterior(X, y, groups, factors, tau_v, sigma2, m0, s0):
    """Exact Gaussian posterior of (fixed (p), b_1 (J1 q1), b_2, ...) for known variances."""
    n = X.shape[0]
    full = np.hstack([np.ones((n, 1)), X])
    names = ["intercept"] + [f"x{k}" for k in range(X.shape[1])]
    blocks, prec_blocks, maps = [full], [np.diag(1.0 / s0**2)], []
    for f, v in zip(factors, tau_v):
        lv, codes = np.unique(np.asarray(groups[f.name]), return_inverse=True)
        idx = [names.index(c) for c in f.varying]
        J, q = len(lv), len(idx)
        Z = np.zeros((n, J * q))
        for k, col in enumerate(idx):
            Z[np.arange(n), codes * q + k] = full[:, col]
        blocks.append(Z)
        prec_blocks.append(np.kron(np.eye(J), np.diag(1.0 / np.asarray(v, float))))
        maps.append((J, q, idx))
    W = np.hstack(blocks)
    P0 = np.zeros((W.shape[1], W.shape[1]))
    o = 0
    for B in prec_blocks:
        P0[o: o + B.shape[0], o: o + B.shape[0]] = B
        o += B.shape[0]
    mean0 = np.zeros(W.shape[1])
    mean0[: full.shape[1]] = m0
    Q = P0 + W.T @ W / sigma2
    cov = np.linalg.inv(Q)
    mean = cov @ (P0 @ mean0 + W.T @ y / sigma2)
    # map to the sampler's parameters: b_1 = mu + u_1, others as they are
    T = np.eye(W.shape[1])
    J1, q1, idx1 = maps[0]
    start = full.shape[1]
    for j in range(J1):
        for k, col in enumerate(idx1):
            T[start + j * q1 + k, col] = 1.0
    return T @ mean, T @ cov @ T.T, maps


def sampled_vector(post, factors, maps, p):
    """(chains, draws, dim) in the dense layout: fixed (p) then every factor's effects."""
    C, D = post.nchains, post.ndraws
    fixed = np.zeros((C, D, p))
    vi = post.attrs["varying_index"][0]
    fixed[..., vi] = post["mu"]
    if post.attrs["pooled_index"]:
        fixed[..., post.attrs["pooled_index"]] = post["alpha"]
    parts = [fixed] + [post[f"b_{f.name}"].reshape(C, D, -1) for f in factors]
    return np.concatenate(parts, axis=2)


def check_gaussian(post, mean, cov, factors, maps, p):
    S = sampled_vector(post, factors, maps, p)
    ess = np.asarray(diagnostics.ess_mean(S))
    summ = post.summary()
    mcse = np.asarray(diagnostics.mcse_mean(S))
    est = S.mean(axis=(0, 1))
    z = (est - mean) / mcse
    assert np.max(np.abs(z)) < 4.5, f"posterior means off by {np.max(np.abs(z)):.2f} MCSE"
    flat = S.reshape(-1, S.shape[2])
    emp = np.cov(flat.T)
    ess_min = float(np.min(ess))
    sd = np.sqrt(np.diag(cov))
    se = np.sqrt((np.outer(sd**2, sd**2) + cov**2) / ess_min)
    zc = (emp - cov) / se
    assert np.max(np.abs(zc)) < 5.0, f"posterior covariance off by {np.max(np.abs(zc)):.2f} MCSE"
    assert len(summ) > 0


@pytest.mark.parametrize("sampler", CrossedRegression.SAMPLERS)
def test_crossed_pinned_variances_match_dense_gaussian(sampler):
    X, y, groups = crossed_data()
    tau_v = [[0.6, 0.1], [0.4]]
    sigma2 = 0.5
    factors = [Factor("a", ["intercept", "x0"], tau=pinned(tau_v[0])), Factor("b", tau=pinned(tau_v[1]))]
    m0, s0 = np.array([0.5, 0.0, 0.0]), np.array([2.0, 1.5, 1.0])
    prior = CrossedPrior(fixed_mean=m0, fixed_scale=s0, sigma=gr.InvGamma(A_PIN, A_PIN * sigma2))
    post = CrossedRegression(factors, prior, sampler=sampler).sample(
        X, y, groups, chains=4, draws=2500, warmup=300, seed=11, progress=False, thin=2 if sampler == "plain" else 1)
    mean, cov, maps = dense_posterior(X, y, groups, factors, tau_v, sigma2, m0, s0)
    check_gaussian(post, mean, cov, factors, maps, 3)


def test_nested_pinned_variances_match_dense_gaussian():
    X, y, groups = nested_data()
    tau_v = [[0.7], [0.3]]
    sigma2 = 0.4
    factors = [Factor("state", tau=pinned(tau_v[0])), Factor("state:county", tau=pinned(tau_v[1]))]
    m0, s0 = np.array([1.0, 0.0]), np.array([3.0, 2.0])
    prior = CrossedPrior(fixed_mean=m0, fixed_scale=s0, sigma=gr.InvGamma(A_PIN, A_PIN * sigma2))
    post = CrossedRegression(factors, prior).sample(X, y, groups, chains=4, draws=2500, warmup=300, seed=12,
                                                    progress=False)
    mean, cov, maps = dense_posterior(X, y, groups, factors, tau_v, sigma2, m0, s0)
    check_gaussian(post, mean, cov, factors, maps, 2)


def _model(sampler="blocked"):
    return CrossedRegression([Factor("a", ["intercept", "x0"], tau=gr.InvWishart(4, 1.0)),
                              Factor("b", tau=gr.HalfCauchy(1.0))], sampler=sampler)


@pytest.mark.parametrize("sampler", CrossedRegression.SAMPLERS)
def test_backends_same_seed_same_draws(sampler):
    X, y, groups = crossed_data(seed=3)
    kw = dict(chains=3, draws=40, warmup=15, thin=2, seed=7, progress=False)
    p1 = _model(sampler).sample(X, y, groups, backend="numba", **kw)
    p2 = _model(sampler).sample(X, y, groups, backend="numpy", **kw)
    for k in p1.names:
        np.testing.assert_allclose(p1[k], p2[k], rtol=1e-9, atol=1e-10, err_msg=k)


def test_chain_reproducible_whatever_chains_threads_and_chunks():
    import numba

    from gibbsreg import sampling

    X, y, groups = crossed_data(seed=4)
    base = _model().sample(X, y, groups, chains=2, draws=30, warmup=10, seed=9, progress=False)
    more = _model().sample(X, y, groups, chains=5, draws=30, warmup=10, seed=9, progress=False)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    old = sampling.TARGET_CHUNK_SECONDS
    sampling.TARGET_CHUNK_SECONDS = 1e-9  # many tiny chunks
    try:
        one = _model().sample(X, y, groups, chains=2, draws=30, warmup=10, seed=9, progress=False)
    finally:
        numba.set_num_threads(threads)
        sampling.TARGET_CHUNK_SECONDS = old
    for k in base.names:
        np.testing.assert_array_equal(base[k], more[k][:2], err_msg=k)
        np.testing.assert_array_equal(base[k], one[k], err_msg=k)


def test_string_unsorted_labels_and_dataframe_groups():
    import pandas as pd

    X, y, groups = crossed_data(seed=5)
    # labels whose sorted order is the integer order: the same draws, level for level
    same = np.array(["L0", "L1", "L2", "L3", "L4", "L5"])
    g_same = {"a": same[groups["a"]], "b": groups["b"]}
    post_int = _model().sample(X, y, groups, chains=2, draws=400, warmup=100, seed=1, progress=False)
    post_same = _model().sample(X, y, g_same, chains=2, draws=400, warmup=100, seed=1, progress=False)
    np.testing.assert_array_equal(post_same["b_a"], post_int["b_a"])
    # unsorted names: levels are sorted by name, each name keeps its own rows' effect
    names = np.array(["zeta", "alpha", "mike", "bravo", "echo", "kilo"])
    g_str = {"a": names[groups["a"]], "b": groups["b"]}
    post_str = _model().sample(X, y, g_str, chains=2, draws=400, warmup=100, seed=1, progress=False)
    assert post_str.coords["a_level"] == sorted(names.tolist())
    order = np.argsort(names)  # level k of the string fit is integer level order[k]
    m1, m2 = post_str["b_a"].mean(axis=(0, 1)), post_int["b_a"][:, :, order].mean(axis=(0, 1))
    se = np.hypot(diagnostics.mcse_mean(post_str["b_a"]), diagnostics.mcse_mean(post_int["b_a"][:, :, order]))
    assert np.all(np.abs(m1 - m2) < 5 * se)
    frame = pd.DataFrame({"a": pd.Categorical(g_str["a"]), "b": g_str["b"]})
    post_df = _model().sample(X, y, frame, chains=2, draws=400, warmup=100, seed=1, progress=False)
    np.testing.assert_allclose(post_df["b_a"], post_str["b_a"])


def test_level_in_one_cell_and_single_level_factor():
    X, y, groups = crossed_data(seed=6)
    a = groups["a"].copy()
    a[0] = 99  # level 99 has one row, in one cell
    single = np.zeros(len(y), dtype=int)
    m = CrossedRegression([Factor("a"), Factor("b"), Factor("one")])
    post = m.sample(X, y, {"a": a, "b": groups["b"], "one": single}, chains=2, draws=200, warmup=100, seed=2,
                    progress=False)
    assert post["b_one"].shape[2:] == (1, 1)
    assert post["b_a"].shape[2] == 7
    assert np.isfinite(post["b_a"]).all()
    # the lonely level is shrunk towards mu: its interval is wide
    assert post["b_a"][..., 6, 0].std() > post["b_a"][..., 0, 0].std()


@pytest.mark.parametrize("case, match", [
    ("nan", "NaN"), ("none", "missing"), ("missing_factor", "no labels for factor"),
    ("empty_varying", "varying is empty"), ("unused_category", "no rows"), ("flat_singular", "singular"),
    ("length", "labels but X has"), ("not_column", "not a coefficient"), ("duplicate", "unique"),
])
def test_bad_input_raises_before_sampling(case, match):
    import pandas as pd

    X, y, groups = crossed_data(seed=7)
    factors = [Factor("a"), Factor("b")]
    prior = None
    if case == "nan":
        groups = {"a": groups["a"].astype(float), "b": groups["b"]}
        groups["a"][3] = np.nan
    elif case == "none":
        g = groups["a"].astype(object)
        g[2] = None
        groups = {"a": g, "b": groups["b"]}
    elif case == "missing_factor":
        groups = {"a": groups["a"]}
    elif case == "unused_category":
        groups = {"a": pd.Categorical(groups["a"], categories=list(range(10))), "b": groups["b"]}
    elif case == "flat_singular":
        X = np.column_stack([X[:, 0], 2.0 * X[:, 0]])
        prior = CrossedPrior(fixed_scale=np.inf)
    elif case == "length":
        groups = {"a": groups["a"][:-1], "b": groups["b"]}
    with pytest.raises(ValueError, match=match):
        if case == "empty_varying":
            factors = [Factor("a", varying=[]), Factor("b")]
        elif case == "not_column":
            factors = [Factor("a", varying=["x9"]), Factor("b")]
        elif case == "duplicate":
            factors = [Factor("a"), Factor("a")]
        CrossedRegression(factors, prior).sample(X, y, groups, chains=1, draws=5, warmup=0, progress=False)


def test_summary_save_load_arviz_predict_and_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gibbsreg.models.crossed import plot_forest_factors

    X, y, groups = crossed_data(seed=8)
    post = _model().sample(X, y, groups, chains=2, draws=100, warmup=50, seed=3, progress=False)
    table = post.summary()
    assert "b_a[0,intercept]" in table.index and "tau2_b[intercept]" in table.index
    assert "Sigma_a[intercept,x0]" in table.index and "mu[x0]" in table.index and "alpha[x1]" in table.index
    path = tmp_path / "post.npz"
    post.save(path)
    back = gr.load(path)
    assert str(back.prior) == str(post.prior)
    for k in post.names:
        np.testing.assert_array_equal(back[k], post[k])
    idata = post.to_arviz()
    assert idata.posterior["b_a"].dims == ("chain", "draw", "a_level", "a_coef")
    # prediction: seen levels use their effects, new levels draw from N(mu or 0, Sigma_f)
    Xn = np.array([[0.5, -1.0], [0.5, -1.0], [0.5, -1.0]])
    pred = post.predict(Xn, groups={"a": [0, 0, "new"], "b": [1, "new", 1]}, seed=4)
    line = pred.mean_draws
    expect0 = (post["b_a"][:, :, 0] @ np.array([1.0, 0.5]) + post["alpha"][..., 0] * -1.0
               + post["b_b"][:, :, 1, 0])
    np.testing.assert_allclose(line[..., 0], expect0)
    assert line[..., 1].std() > line[..., 0].std() and line[..., 2].std() > line[..., 0].std()
    with pytest.raises(ValueError, match="no labels for factor"):
        post.predict(Xn, groups={"a": [0, 0, 0]})
    figs = plot_forest_factors(post)
    assert len(figs) == 2
    for fig in figs:
        fig.savefig(tmp_path / "f.png")
        plt.close(fig)


@pytest.mark.parametrize("sampler", CrossedRegression.SAMPLERS)
def test_backends_agree_nested_with_slopes(sampler):
    """A nested pair with an intercept and a slope varying in both (per-parent shift moves on both)."""
    X, y, groups = nested_data(seed=9)
    m = CrossedRegression([Factor("state", ["intercept", "x0"], tau=gr.InvWishart(4, 1.0)),
                           Factor("state:county", ["intercept", "x0"], tau=gr.HalfCauchy(0.5))], sampler=sampler)
    kw = dict(chains=2, draws=30, warmup=10, seed=3, progress=False)
    p1 = m.sample(X, y, groups, backend="numba", **kw)
    p2 = m.sample(X, y, groups, backend="numpy", **kw)
    for k in p1.names:
        np.testing.assert_allclose(p1[k], p2[k], rtol=1e-9, atol=1e-10, err_msg=k)


def test_formula_maps_crossed_and_nested_terms_onto_the_model():
    """`(1 | a) + (1 | b)` and `(1 | a/b)` through the formula front end give CrossedRegression with the
    same draws as the matrix API, and the printed summary collapses the levels."""
    pilots = gr.datasets.pilots()
    post = gr.model("y ~ (1 | treatment) + (1 | airport)", data=pilots).sample(chains=2, draws=100, warmup=50,
                                                                               seed=3, progress=False)
    model = gr.CrossedRegression([gr.Factor("treatment"), gr.Factor("airport")])
    direct = model.sample(np.empty((len(pilots), 0)), pilots["y"], pilots[["treatment", "airport"]], chains=2,
                          draws=100, warmup=50, seed=3, progress=False)
    np.testing.assert_allclose(post["b_airport"], direct["b_airport"], rtol=1e-10, atol=1e-12)
    assert post.attrs["model_kind"] == "crossed"
    radon = gr.datasets.radon_all().iloc[:3000]
    radon = radon.assign(floor=radon["floor_measure"].fillna(9).astype(int).astype(str))
    nested = gr.model("log_radon ~ log_uppm + (1 | county/floor)", data=radon).sample(
        chains=2, draws=60, warmup=30, seed=1, progress=False)
    assert set(nested.attrs["factors"]) == {"county", "county:floor"}
    text = str(nested)
    assert "b_county:floor:" in text and "group-level values" in text and len(text.splitlines()) < 40


def test_backends_agree_interweaving_invgamma_shared_column():
    """ASIS with InvGamma and half-Cauchy scales, the slope varying in both factors (two scales hit one
    column), so the interweaving step updates T = 3 coupled scales."""
    X, y, groups = crossed_data(seed=5)
    m = CrossedRegression([Factor("a", ["intercept", "x0"], tau=gr.InvGamma(2.0, 0.5)),
                           Factor("b", ["x0"], tau=gr.HalfCauchy(0.3))], sampler="asis")
    kw = dict(chains=2, draws=40, warmup=10, seed=4, progress=False)
    p1 = m.sample(X, y, groups, backend="numba", **kw)
    p2 = m.sample(X, y, groups, backend="numpy", **kw)
    for k in p1.names:
        np.testing.assert_allclose(p1[k], p2[k], rtol=1e-9, atol=1e-10, err_msg=k)


def test_interweaving_keeps_a_small_variance_moving():
    """The step's purpose, checked by its effect (no timing): on pilots, where tau_treatment is near 0,
    the lag-1 autocorrelation of log tau2_treatment falls from near 1 (blocked) to well below it (asis)."""
    data = gr.datasets.pilots()
    groups = {"treatment": data["treatment"].to_numpy(), "airport": data["airport"].to_numpy()}
    X = np.zeros((len(data), 0))
    rho = {}
    for sampler in ("blocked", "asis"):
        post = CrossedRegression([Factor("treatment"), Factor("airport")], sampler=sampler).sample(
            X, data["y"].to_numpy(), groups, chains=2, draws=1000, warmup=300, seed=1, progress=False)
        t = np.log(post["tau2_treatment"][..., 0])
        t = t - t.mean(axis=1, keepdims=True)
        rho[sampler] = float(np.mean((t[:, 1:] * t[:, :-1]).sum(axis=1) / (t * t).sum(axis=1)))
    assert rho["blocked"] > 0.8, rho
    assert rho["asis"] < 0.5, rho


def test_stats_input_gives_the_in_memory_draws(tmp_path):
    """CrossedRegression(stats=...) from gibbsreg.io (one shot, merged from chunks, saved and loaded) gives the
    draws of the run on X, y, groups (1e-9 relative); without rows the log-likelihood needs them passed."""
    X, y, groups = crossed_data(seed=10)
    kw = dict(chains=2, draws=60, warmup=20, seed=5, progress=False)
    model = _model("asis")
    base = model.sample(X, y, groups, **kw)
    assert base.data is not None and base.data.codes.shape == (len(y), 2)
    s = gr.sufficient_stats(X, y, groups=groups)
    s.save(tmp_path / "cells.npz")
    chunks = [slice(0, 1), slice(1, 57), slice(57, 150)]
    merged = gr.merge([gr.sufficient_stats(X[c], y[c], groups={k: v[c] for k, v in groups.items()}) for c in chunks])
    for stats in (s, gr.load_stats(tmp_path / "cells.npz"), merged):
        post = model.sample(stats=stats, **kw)
        assert post.data is None and post.coords["a_level"] == base.coords["a_level"]
        for k in base.names:
            np.testing.assert_allclose(post[k], base[k], rtol=1e-9, atol=1e-9 * np.abs(base[k]).max(), err_msg=k)
    from_stats = model.sample(stats=s, **kw)
    np.testing.assert_array_equal(from_stats["b_a"], base["b_a"])  # the same statistics: the same draws
    with pytest.raises(ValueError, match="does not hold the data"):
        from_stats.to_arviz(log_likelihood=True)
    np.testing.assert_array_equal(from_stats.to_arviz(X=X, y=y, groups=groups).log_likelihood["y"].values,
                                  base.to_arviz().log_likelihood["y"].values)
    # extra label columns are ignored; the fields of the statistics may come in another order
    frame = {"b": groups["b"], "other": np.zeros(len(y)), "a": groups["a"]}
    np.testing.assert_array_equal(model.sample(X, y, frame, **kw)["b_a"], base["b_a"])
    swapped = gr.sufficient_stats(X, y, groups={"b": groups["b"], "a": groups["a"]})
    np.testing.assert_allclose(model.sample(stats=swapped, **kw)["b_a"], base["b_a"], rtol=1e-9)


def test_categorical_factor_keeps_its_level_order():
    import pandas as pd

    X, y, groups = crossed_data(seed=11)
    cats = [5, 3, 1, 0, 2, 4]
    frame = pd.DataFrame({"a": pd.Categorical(groups["a"], categories=cats), "b": groups["b"]})
    post = _model().sample(X, y, frame, chains=2, draws=20, warmup=10, seed=1, progress=False)
    assert post.coords["a_level"] == cats
    codes = post.data.codes[:, 0]
    np.testing.assert_array_equal(np.array(cats)[codes], groups["a"])


@pytest.mark.parametrize("case, match", [
    ("other_factors", "grouped by the factors"), ("one_factor", "one unnamed grouping factor"),
    ("flat", "must be GroupedStats"), ("both", "either data"), ("intercept", "intercept=False"),
    ("not_a_table", "dict or a DataFrame"), ("no_groups", "groups is None"),
])
def test_stats_input_errors(case, match):
    X, y, groups = crossed_data(seed=12)
    model = CrossedRegression([Factor("a"), Factor("b")])
    kw = dict(chains=1, draws=5, warmup=0, progress=False)
    with pytest.raises(ValueError, match=match):
        if case == "other_factors":
            model.sample(stats=gr.sufficient_stats(X, y, groups={"a": groups["a"], "c": groups["b"]}), **kw)
        elif case == "one_factor":
            model.sample(stats=gr.sufficient_stats(X, y, groups["a"]), **kw)
        elif case == "flat":
            model.sample(stats=gr.sufficient_stats(X, y), **kw)
        elif case == "both":
            model.sample(X, y, stats=gr.sufficient_stats(X, y, groups=groups), **kw)
        elif case == "intercept":
            model.sample(stats=gr.sufficient_stats(X, y, groups=groups, intercept=False), **kw)
        elif case == "not_a_table":
            model.sample(X, y, groups["a"], **kw)
        else:
            model.sample(X, y, **kw)
