"""BinaryRegression (probit and logistic, flat): exact posteriors by quadrature, both backends, streams,
resume, save/load, the export, prediction and the input checks."""

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, log_ndtr

import gibbsreg as gr
from gibbsreg.diagnostics import mcse_mean, mcse_sd
from gibbsreg.models.binary import BinaryRegression, Flat, Normal, predict_proba, resume_binary


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the chains have not converged")
        yield


def data(n=25, seed=0, trials=None, coef=(0.3, -0.8)):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1))
    p = expit(coef[0] + coef[1] * x[:, 0])
    if trials is None:
        return x, (rng.random(n) < p).astype(float), None
    t = rng.integers(1, trials + 1, n)
    return x, rng.binomial(t, p).astype(float), t


def quadrature(x, y, t, link, scale):
    """Posterior mean and sd of (intercept, slope) under N(0, scale^2 I) on a 2-D grid."""
    t = np.ones_like(y) if t is None else t
    g = np.linspace(-6, 6, 601)
    b0, b1 = np.meshgrid(g, g, indexing="ij")
    eta = b0[..., None] + b1[..., None] * x[:, 0]
    if link == "logit":
        lp, lq = -np.logaddexp(0, -eta), -np.logaddexp(0, eta)
    else:
        lp, lq = log_ndtr(eta), log_ndtr(-eta)
    logpost = (y * lp + (t - y) * lq).sum(axis=-1) - 0.5 * (b0**2 + b1**2) / scale**2
    w = np.exp(logpost - logpost.max())
    w /= w.sum()
    mean = np.array([(w * b0).sum(), (w * b1).sum()])
    sd = np.sqrt(np.array([(w * b0**2).sum(), (w * b1**2).sum()]) - mean**2)
    return mean, sd


@pytest.mark.parametrize("link, trials, backend", [
    ("logit", None, "numba"), ("probit", None, "numba"), ("logit", 6, "numba"), ("probit", 4, "numba"),
    ("logit", 3, "numpy"), ("probit", None, "numpy")])
def test_exact_posterior_by_quadrature(link, trials, backend):
    x, y, t = data(n=25, seed=1, trials=trials)
    scale = 1.5
    mean, sd = quadrature(x, y, t, link, scale)
    draws = 2500 if backend == "numba" else 800
    post = BinaryRegression(link, Normal(scale=scale)).sample(x, y, t, chains=4, draws=draws, warmup=200, seed=3,
                                                             progress=False, backend=backend)
    beta = post["beta"]
    for k in range(2):
        b = beta[..., k]
        z_mean = (b.mean() - mean[k]) / mcse_mean(b)
        z_sd = (b.std() - sd[k]) / mcse_sd(b)
        assert abs(z_mean) < 4, (k, b.mean(), mean[k], z_mean)
        assert abs(z_sd) < 4, (k, b.std(), sd[k], z_sd)


@pytest.mark.parametrize("link, trials", [("logit", None), ("logit", 5), ("probit", 3)])
def test_backends_agree_for_the_same_seed(link, trials):
    x, y, t = data(n=30, seed=2, trials=trials)
    X = np.hstack([x, np.random.default_rng(9).standard_normal((30, 2))])
    kw = dict(chains=2, draws=40, warmup=10, thin=2, seed=11, progress=False)
    m = BinaryRegression(link)
    a = m.sample(X, y, t, backend="numba", **kw)["beta"]
    b = m.sample(X, y, t, backend="numpy", **kw)["beta"]
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_chain_draws_do_not_depend_on_the_number_of_chains():
    x, y, _ = data(n=40, seed=3)
    m = BinaryRegression("logit")
    one = m.sample(x, y, chains=1, draws=50, warmup=20, seed=5, progress=False)["beta"]
    three = m.sample(x, y, chains=3, draws=50, warmup=20, seed=5, progress=False)["beta"]
    np.testing.assert_array_equal(one[0], three[0])
    assert not np.array_equal(three[0], three[1])


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_resume_is_bit_for_bit_and_save_load_round_trips(link, tmp_path):
    x, y, t = data(n=30, seed=4, trials=3)
    m = BinaryRegression(link)
    full = m.sample(x, y, t, chains=2, draws=60, warmup=15, seed=8, progress=False)
    part = m.sample(x, y, t, chains=2, draws=25, warmup=15, seed=8, progress=False)
    np.testing.assert_array_equal(m.resume(part, x, y, t, draws=35, progress=False)["beta"], full["beta"])
    path = tmp_path / "run.npz"
    part.save(path)
    loaded = gr.load(path)
    np.testing.assert_array_equal(loaded["beta"], part["beta"])
    assert loaded.prior.to_dict() == part.prior.to_dict()
    assert loaded.attrs["link"] == link
    # the generic resume: the model rebuilt from the saved settings, trials in the third slot
    again = gr.resume(path, x, y, t, draws=35, progress=False)
    np.testing.assert_array_equal(again["beta"], full["beta"])
    # the trials come back from the saved run (varying by row here), or by keyword
    np.testing.assert_array_equal(gr.resume(path, x, y, draws=35, progress=False)["beta"], full["beta"])
    np.testing.assert_array_equal(resume_binary(loaded, x, y, trials=t, draws=35, progress=False)["beta"],
                                  full["beta"])
    with pytest.raises(ValueError, match="differ"):
        gr.resume(path, x, 1 - y if t is None else np.minimum(y + 1, t), t, draws=5, progress=False)


def test_loglik_export_loo_and_predicted_probabilities():
    x, y, t = data(n=40, seed=5, trials=4)
    post = BinaryRegression("logit").sample(x, y, t, chains=2, draws=100, warmup=50, seed=1, progress=False)
    idata = post.to_arviz()
    ll = idata.log_likelihood["y"].values
    beta = post["beta"]
    eta = beta[..., :1] + beta[..., 1:] * x[:, 0]
    np.testing.assert_allclose(ll, stats.binom.logpmf(y, t, expit(eta)), rtol=1e-10, atol=1e-12)
    assert idata.posterior_predictive["y"].shape == (2, 100, 40)
    assert (idata.posterior_predictive["y"].values <= t).all()
    np.testing.assert_array_equal(idata.constant_data["trials"].values, t)
    assert "prior" in idata.groups()
    loo = gr.loo(post)
    lppd = np.log(np.exp(ll).mean(axis=(0, 1))).sum()
    assert lppd - 10 < loo.elpd_loo < lppd
    pred = predict_proba(post, np.array([[0.0], [2.0]]), seed=2)
    assert pred.mean_draws.shape == (2, 100, 2)
    np.testing.assert_allclose(pred.mean_draws[..., 1], expit(beta[..., 0] + 2 * beta[..., 1]))
    assert set(np.unique(pred.y)) <= {0.0, 1.0}
    assert (pred.line_lower <= pred.line_mean).all() and (pred.line_mean <= pred.line_upper).all()
    generic = post.predict(np.array([[0.0], [2.0]]), seed=2)  # the generic predict: Bernoulli replicates
    np.testing.assert_allclose(generic.mean_draws, pred.mean_draws)
    assert set(np.unique(generic.y)) <= {0.0, 1.0}
    assert abs(generic.y.mean() - generic.mean_draws.mean()) < 4 * 0.5 / np.sqrt(generic.y.size)


def test_probit_far_in_the_tails():
    """Strongly separated-looking data under a proper prior: eta reaches +-40, the latents stay finite."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((60, 1)) * 10
    y = (x[:, 0] + 0.3 * rng.standard_normal(60) > 0).astype(float)
    for backend in ("numba", "numpy"):
        post = BinaryRegression("probit", Normal(scale=10.0)).sample(x, y, chains=1, draws=30, warmup=10, seed=2,
                                                                    progress=False, backend=backend)
        assert np.isfinite(post["beta"]).all()


def test_flat_prior_samples_without_separation_and_refuses_it():
    x, y, _ = data(n=60, seed=7)
    post = BinaryRegression("logit", Flat()).sample(x, y, chains=1, draws=20, warmup=10, seed=1, progress=False)
    assert post.prior.kind == "Flat" and np.isfinite(post["beta"]).all()
    xs = np.arange(10.0)[:, None]
    with pytest.raises(ValueError, match="completely separated"):
        BinaryRegression("logit", Flat()).sample(xs, (xs[:, 0] > 4.5).astype(float), progress=False)
    yq = (xs[:, 0] > 4.5).astype(float)
    xq = np.vstack([xs, [[4.5], [4.5]]])  # two ties on the boundary, one of each outcome: quasi-complete
    with pytest.raises(ValueError, match="quasi-completely separated"):
        BinaryRegression("probit", Flat()).sample(xq, np.concatenate([yq, [0.0, 1.0]]), progress=False)
    with pytest.raises(ValueError, match="collinear"):
        BinaryRegression("logit", Flat()).sample(np.hstack([x, 2 * x]), y, progress=False)
    # a flat intercept alone with both outcomes present is fine; a proper prior never needs the check
    BinaryRegression("logit", Normal(scale=[np.inf, 2.0])).sample(xs, yq, chains=1, draws=5, warmup=5,
                                                                  progress=False)


def test_bad_input_is_refused_before_compiling(monkeypatch):
    import gibbsreg.models.binary.model as mod

    def no_spec(*a, **k):
        raise AssertionError("reached the sampler")

    monkeypatch.setattr(mod, "binary_spec", no_spec)
    x = np.random.default_rng(0).standard_normal((6, 1))
    m = BinaryRegression("logit")
    cases = [
        (dict(y=np.array([0, 1, 2, 0, 1, 0.0])), "0/1 labels"),
        (dict(y=np.array([0, 1, np.nan, 0, 1, 0])), "NaN|finite"),
        (dict(y=np.array([0, 1, 1.5, 0, 1, 0]), trials=np.full(6, 3)), "whole numbers"),
        (dict(y=np.array([0, 1, 4, 0, 1, 0.0]), trials=np.full(6, 3)), "exceeds trials"),
        (dict(y=np.array([0, 1, 1, 0, 1, 0.0]), trials=np.array([1, 1, 1, 0, 1, 1])), "trials must be positive"),
        (dict(y=np.array([0, 1, 1, 0, 1, 0.0]), trials=np.array([1, 1, 1, 2.5, 1, 1])), "whole numbers"),
        (dict(y=np.array([0, 1, 1, 0, 1, 0.0]), trials=np.array([1, 1, 1, np.nan, 1, 1])), "NaN"),
        (dict(y=np.array([0, 1, 1, 0, 1]), ), "rows|length|match"),
        (dict(y=np.array([0, -1, 1, 0, 1, 0.0]), trials=np.full(6, 2)), ">= 0"),
    ]
    for kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            m.sample(x, kw["y"], kw.get("trials"), progress=False)
    with pytest.raises(ValueError, match="NaN|finite"):
        m.sample(np.array([[np.nan], [1], [2], [3], [4], [5]]), np.array([0, 1, 1, 0, 1, 0.0]), progress=False)
    with pytest.raises(ValueError, match="link"):
        BinaryRegression("cloglog")
    with pytest.raises(ValueError, match="positive"):
        Normal(scale=-1.0)
    with pytest.raises(ValueError, match="2 entries"):
        BinaryRegression("logit", Normal(scale=[1.0, 2.0, 3.0][:2], mean=[0, 0, 0][:2])).sample(
            np.hstack([x, x**2]), np.array([0, 1, 1, 0, 1, 0.0]), progress=False)
    with pytest.raises(ValueError, match="prior must be"):
        BinaryRegression("logit", gr.SemiConjugate())


def test_checkpoint_and_store_then_resume_from_the_file(tmp_path):
    x, y, _ = data(n=30, seed=9)
    m = BinaryRegression("probit")
    full = m.sample(x, y, chains=2, draws=40, warmup=10, seed=4, progress=False)
    ck = tmp_path / "ck.npz"
    part = m.sample(x, y, chains=2, draws=15, warmup=10, seed=4, progress=False, checkpoint=ck,
                    store=tmp_path / "draws")
    np.testing.assert_array_equal(part["beta"], full["beta"][:, :15])
    assert ck.exists()
    cont = gr.resume(ck, x, y, draws=25, progress=False, checkpoint=False)
    np.testing.assert_array_equal(cont["beta"], full["beta"])
    assert "beta[intercept]" in str(cont.summary())


def test_real_data_kidiq_mothers_high_school_against_the_mle():
    """A real binary outcome (gibbsreg.datasets kidiq: mom_hs ~ mom_iq + kid_score, n = 434): under the weak
    default prior the posterior mean is near the maximum-likelihood estimate (within 0.2 posterior sd; the
    prior moves it by less than that) and the chains converge."""
    from scipy.optimize import minimize

    from gibbsreg.datasets import load

    ds = load("kidiq", as_frame=True)
    X, y = ds[["mom_iq", "kid_score"]], ds["mom_hs"].to_numpy()
    post = BinaryRegression("logit").sample(X, y, chains=4, draws=1000, warmup=300, seed=1, progress=False)
    Xf = np.column_stack([np.ones(len(y)), X.to_numpy()])
    mle = minimize(lambda b: np.sum(np.logaddexp(0, Xf @ b) - y * (Xf @ b)), np.zeros(3), method="BFGS").x
    beta = post["beta"].reshape(-1, 3)
    assert (np.abs(beta.mean(axis=0) - mle) < 0.2 * beta.std(axis=0)).all(), (beta.mean(axis=0), mle)
    assert post.coords["coef"] == ["intercept", "mom_iq", "kid_score"]
    from gibbsreg.diagnostics import rhat

    assert max(float(rhat(post["beta"][..., k])) for k in range(3)) < 1.01


def test_calibration_and_separation_plots():
    import matplotlib

    matplotlib.use("Agg")
    from gibbsreg.models.binary.plots import fitted_probabilities, plot_calibration, plot_separation

    x, y, t = data(n=40, seed=10, trials=3)
    post = BinaryRegression("logit").sample(x, y, t, chains=2, draws=50, warmup=20, seed=1, progress=False)
    p, yy, tt = fitted_probabilities(post)
    beta = post["beta"].reshape(-1, 2)
    np.testing.assert_allclose(p, expit(beta[:, :1] + beta[:, 1:] * x[:, 0]).mean(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(tt, t)
    fig = plot_calibration(post, bins=5)
    assert len(fig.axes[0].lines) >= 6  # five bins and the diagonal
    fig2 = plot_separation(post)
    assert len(fig2.axes[0].patches) == t.sum()
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig2)


def test_formula_front_end_bernoulli_family():
    import pandas as pd

    x, y, _ = data(n=50, seed=12)
    df = pd.DataFrame({"x0": x[:, 0], "y": y.astype(int)})
    fm = gr.model("y ~ x0", df, family="bernoulli", link="probit")
    assert fm.kind == "binary"
    a = fm.sample(chains=2, draws=20, warmup=5, seed=1, progress=False)
    b = BinaryRegression("probit").sample(x, y, chains=2, draws=20, warmup=5, seed=1, progress=False)
    np.testing.assert_array_equal(a["beta"], b["beta"])
    with pytest.raises(ValueError, match="unknown option"):
        gr.model("y ~ x0", df, family="bernoulli", sampler="asis")


def test_formula_front_end_binomial_family_binds_the_trials():
    import pandas as pd

    from gibbsreg.formula.design import build_design
    from gibbsreg.models.binary.front import BINOMIAL_FLAT_FRONT, BINOMIAL_HIER_FRONT

    x, y, t = data(n=40, seed=13, trials=5)
    df = pd.DataFrame({"x0": x[:, 0], "k": y.astype(int), "n": t})
    design = build_design("k ~ x0", df)
    bound = BINOMIAL_FLAT_FRONT.formula(design, None, link="logit", trials=df["n"].to_numpy())
    a = BINOMIAL_FLAT_FRONT.call(bound.model, design.X, design.y, None, chains=2, draws=20, warmup=5, seed=1,
                                 progress=False)
    b = BinaryRegression("logit").sample(x, y, t, chains=2, draws=20, warmup=5, seed=1, progress=False)
    np.testing.assert_array_equal(a["beta"], b["beta"])
    assert a.attrs["family"] == "binomial" and bound.model.link == "logit"
    np.testing.assert_array_equal(bound.model.resume(a, design.X, design.y, draws=5, progress=False)["beta"][:, :20],
                                  a["beta"])
    model = BINOMIAL_FLAT_FRONT.build(None, factors=[], varying=[], intercept=True, trials=t)
    np.testing.assert_array_equal(model.sample(x, y, chains=2, draws=20, warmup=5, seed=1, progress=False)["beta"],
                                  b["beta"])
    with pytest.raises(ValueError, match="exceeds trials"):
        BINOMIAL_FLAT_FRONT.formula(design, None, trials=np.maximum(t - 3, 1))
    with pytest.raises(ValueError, match=">= 0"):
        BINOMIAL_FLAT_FRONT.formula(build_design("I(-k) ~ x0", df), None, trials=t)
    with pytest.raises(ValueError, match="needs the trials"):
        BINOMIAL_FLAT_FRONT.formula(design, None)
    with pytest.raises(ValueError, match="needs --trials"):
        BINOMIAL_HIER_FRONT.build(None, factors=["g"], varying=["intercept"], intercept=True)
    with pytest.raises(ValueError, match="one number per row"):
        BINOMIAL_FLAT_FRONT.formula(design, None, trials=t[:5])
    df["g"] = np.arange(40) % 4
    hier = build_design("k ~ x0 + (1 | g)", df)
    assert BINOMIAL_HIER_FRONT.formula(hier, None, trials=t).model.trials is not None
    with pytest.raises(ValueError, match="exceeds trials"):
        BINOMIAL_HIER_FRONT.formula(hier, None, trials=np.maximum(t - 3, 1))
