"""The hierarchical Student-t model (kind robust_hier): both backends agree on the same streams, nu -> inf is the
Gaussian hierarchical posterior, SBC with a negative control, bad input, formula and command line, resume."""

import warnings

import numpy as np
import pandas as pd
import pytest

import gibbsreg as gr
from gibbsreg import registry
from gibbsreg.models.robust import Gamma
from gibbsreg.models.robust.hier import HierarchicalStudentTRegression as HierT
from gibbsreg.models.robust.hier_kind import HIER_KIND

if "robust_hier" not in registry.kinds():  # until the subpackage registers it
    registry.register(HIER_KIND)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def data():
    """J = 6 groups of 12 rows, two columns (one pooled when asked), t_3 noise."""
    rng = np.random.default_rng(4)
    J, m = 6, 12
    groups = np.repeat(np.arange(J), m)
    X = rng.standard_normal((J * m, 2))
    b = np.array([1.0, -0.5]) + 0.4 * rng.standard_normal((J, 2))
    y = b[groups, 0] + X[:, 0] * b[groups, 1] + 0.3 * X[:, 1] + 0.5 * rng.standard_t(3, J * m)
    return X, y, groups


def run(data, model=None, **kw):
    X, y, groups = data
    options = dict(chains=2, draws=10, warmup=4, seed=5, progress=False)
    options.update(kw)
    return quiet((model or HierT(nu=4)).sample, X, y, groups, **options)


TAUS = {"invgamma": gr.InvGamma(1.0, 0.5), "halfcauchy": None, "halft": gr.HalfStudentT(3.0, 1.0),
        "halfnormal": gr.HalfNormal(1.0), "exponential": gr.Exponential(1.0), "invwishart": gr.InvWishart(3.0, 1.0)}
SIGMAS = {"invgamma": None, "halfnormal": gr.HalfNormal(1.0), "halft": gr.HalfStudentT(3.0, 1.0),
          "exponential": gr.Exponential(2.0)}


@pytest.mark.parametrize("tau", sorted(TAUS))
def test_numba_and_numpy_agree_for_every_tau_prior(data, tau):
    for sampler, varying, nu in (("asis", None, Gamma(2.0, 0.1)), ("centered", [0, 1], 5.0)):
        model = HierT(nu=nu, prior=gr.HierarchicalPrior(tau=TAUS[tau]), varying=varying, sampler=sampler)
        a, b = run(data, model), run(data, model, backend="numpy")
        for k in a.names:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-10, err_msg=f"{tau} {sampler}: {k}")


@pytest.mark.parametrize("sigma", sorted(SIGMAS))
def test_numba_and_numpy_agree_for_every_sigma_prior(data, sigma):
    model = HierT(nu=None, prior=gr.HierarchicalPrior(tau=gr.HalfNormal(1.0), sigma=SIGMAS[sigma]))
    a, b = run(data, model, draws=15), run(data, model, draws=15, backend="numpy")
    assert "nu" in a.names and a["sigma2"].shape == (2, 15)
    for k in a.names:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-10, err_msg=f"{sigma}: {k}")


def test_chains_do_not_depend_on_their_number(data):
    two, four = run(data, chains=2), run(data, chains=4)
    for k in two.names:
        np.testing.assert_array_equal(two[k], four[k][:2])


def test_resume_continues_bit_for_bit(data):
    model = HierT(nu=Gamma(2.0, 0.1), prior=gr.HierarchicalPrior(tau=gr.Exponential(1.0)))
    full = run(data, model, draws=30)
    part = run(data, model, draws=12)
    rest = quiet(model.resume, part, *data, draws=18, progress=False)
    for k in full.names:
        np.testing.assert_array_equal(full[k], rest[k])
    again = quiet(gr.resume, part, *data, draws=18, progress=False)  # the kind's hook, the prior as recorded
    for k in full.names:
        np.testing.assert_array_equal(full[k], again[k])


def test_large_nu_is_the_gaussian_hierarchical_posterior():
    """On 25 radon counties (varying intercept, floor pooled), nu = 1e6 gives the Gaussian hierarchical model's
    posterior means of mu, alpha, tau^2 and sigma^2 within 4.5 combined MCSE (fixed seeds)."""
    r = gr.datasets.radon(as_frame=False)
    keep = r["county"] <= 25
    X, y, g = r["floor_measure"][keep, None], r["log_radon"][keep], r["county"][keep]
    prior = gr.HierarchicalPrior(mu_mean=1.0, mu_scale=2.0, tau=gr.HalfNormal(1.0), sigma=gr.HalfNormal(1.0),
                                 pooled_mean=0.0, pooled_scale=2.0)
    opts = dict(chains=4, draws=1500, warmup=300, seed=11, progress=False)
    t = quiet(HierT(nu=1e6, prior=prior, varying=["intercept"]).sample, X, y, g, **opts)
    n = quiet(gr.HierarchicalRegression(prior, varying=["intercept"]).sample, X, y, g, **opts)
    st, sn = t.summary().to_pandas(), n.summary().to_pandas()
    for name in ("mu[intercept]", "alpha[x0]", "tau2[intercept]", "sigma2"):
        diff = abs(st.loc[name, "mean"] - sn.loc[name, "mean"])
        mcse = np.hypot(st.loc[name, "mcse_mean"], sn.loc[name, "mcse_mean"])
        assert diff < 4.5 * mcse, (name, diff, mcse)


def test_vanishing_tau_is_the_flat_student_t_posterior():
    """tau^2 ~ IG(1e4, 1e-4) pins every beta_j to mu (tau ~ 1e-4): the posterior of (mu, sigma^2) is then the flat
    Student-t model's (itself checked by quadrature in tests/test_robust_exact.py), nu = 3 fixed, same priors
    (x centred, so the intercepts mean the same); posterior means within 4 combined MCSE (fixed seeds)."""
    rng = np.random.default_rng(9)
    n, J = 48, 4
    x = rng.standard_normal(n)
    x -= x.mean()
    groups = np.repeat(np.arange(J), n // J)
    y = 0.5 + 1.2 * x + 0.8 * rng.standard_t(3, n)
    opts = dict(chains=4, draws=1500, warmup=300, seed=3, progress=False)
    flat = quiet(gr.StudentTRegression(nu=3.0, prior=gr.SemiConjugate(mean=0.0, scale=3.0, a=2.0, b=1.0)).sample,
                 x[:, None], y, **opts).summary().to_pandas()
    prior = gr.HierarchicalPrior(mu_mean=0.0, mu_scale=3.0, tau=gr.InvGamma(1e4, 1e-4), sigma=gr.InvGamma(2.0, 1.0))
    hier = quiet(HierT(nu=3.0, prior=prior).sample, x[:, None], y, groups, **opts).summary().to_pandas()
    for f, h in (("beta[intercept]", "mu[intercept]"), ("beta[x0]", "mu[x0]"), ("sigma2", "sigma2")):
        diff = abs(flat.loc[f, "mean"] - hier.loc[h, "mean"])
        assert diff < 4.0 * np.hypot(flat.loc[f, "mcse_mean"], hier.loc[h, "mcse_mean"]), (h, diff)


def _sbc(shift: float, reps: int = 100, draws: int = 200, seed: int = 2024) -> np.ndarray:
    """Ranks of the true mu and log tau among ``draws`` posterior draws (thinned by 5), one per replication;
    the data come from the model's prior with mu's mean moved by ``shift`` prior sds (0: the right prior)."""
    rng = np.random.default_rng(seed)
    prior = gr.HierarchicalPrior(mu_mean=0.0, mu_scale=1.0, tau=gr.HalfNormal(1.0), sigma=gr.HalfNormal(1.0))
    model = HierT(nu=4.0, prior=prior, intercept=True)
    J, m = 5, 6
    groups = np.repeat(np.arange(J), m)
    X = np.zeros((J * m, 0))
    ranks = np.empty((reps, 2), dtype=int)
    for k in range(reps):
        mu = shift + rng.standard_normal()
        tau, sigma = abs(rng.standard_normal()), abs(rng.standard_normal())
        beta = mu + tau * rng.standard_normal(J)
        y = beta[groups] + sigma * rng.standard_t(4.0, J * m)
        post = quiet(model.sample, X, y, groups, chains=1, draws=draws, warmup=100, thin=5, seed=k,
                     progress=False)
        ranks[k, 0] = int((post["mu"][0, :, 0] < mu).sum())
        ranks[k, 1] = int((post["tau2"][0, :, 0] < tau * tau).sum())
    return ranks


def _uniformity_p(ranks: np.ndarray, draws: int = 200, bins: int = 10) -> float:
    from scipy import stats

    counts = np.bincount(ranks * bins // (draws + 1), minlength=bins)
    return float(stats.chisquare(counts).pvalue)


def test_sbc_ranks_are_uniform_and_a_wrong_prior_is_caught():
    """SBC (Talts et al. 2018), 100 replications x 200 draws: a chi-square test on 10 bins of each rank keeps
    p > 0.001 (Bonferroni over 2 quantities: a false alarm 0.2% of the time); the negative control, data whose
    mu comes from a prior 3 sds off, gives p < 0.001 for mu."""
    good = _sbc(0.0)
    assert min(_uniformity_p(good[:, 0]), _uniformity_p(good[:, 1])) > 0.001
    bad = _sbc(3.0)
    assert _uniformity_p(bad[:, 0]) < 0.001


def test_bad_input_is_a_value_error_before_sampling(data):
    X, y, groups = data
    for nu, match in ((0.0, "nu must be a positive"), (-2, "nu must be a positive"), (float("nan"), "nu")):
        with pytest.raises(ValueError, match=match):
            HierT(nu=nu)
    with pytest.raises(ValueError, match="rate"):
        Gamma(2.0, -1.0)
    with pytest.raises(ValueError, match="scale"):
        gr.HierarchicalPrior(tau=gr.HalfNormal(-1.0))
    with pytest.raises(ValueError, match="scale"):
        gr.HierarchicalPrior(sigma=gr.HalfStudentT(3.0, 0.0))
    with pytest.raises(ValueError, match="group_variance"):
        HierT(prior=gr.HierarchicalPrior(group_variance=True))
    with pytest.raises(ValueError, match="HuangWand"):
        HierT(prior=gr.HierarchicalPrior(tau=gr.HuangWand()))
    with pytest.raises(ValueError, match="statistics are not enough"):
        HierT().sample(X, y, groups, stats=object())
    with pytest.raises(ValueError, match="groups"):
        HierT().sample(X, y, None)
    with pytest.raises(ValueError, match="2 groups|at least"):
        HierT().sample(X, y, np.zeros(len(y)))


def test_formula_and_analysis(data):
    X, y, groups = data
    df = pd.DataFrame({"y": y, "x": X[:, 0], "z": X[:, 1], "g": groups})
    bound = gr.model("y ~ x + z + (1 + x | g)", data=df, family="student", nu=4)
    post = quiet(bound.sample, chains=2, draws=20, warmup=10, seed=3, progress=False)
    assert post.attrs["model_kind"] == "robust_hier" and "Sigma" in post.names and "alpha" in post.names
    assert "tau (InvWishart)" in post.prior.defaults and post.prior.nu_fixed == 4.0
    ll = gr.analysis.loglik.rows_of(post).loglik(post)
    assert ll.shape == (2, 20, len(y)) and np.isfinite(ll).all()
    by_group = gr.analysis.loglik.rows_of(post).loglik(post, by="group")
    np.testing.assert_allclose(by_group.sum(axis=-1), ll.sum(axis=-1), rtol=1e-10)
    with pytest.raises(ValueError, match="Gaussian-only"):
        gr.analysis.loglik.rows_of(post).group_loglik(post)
    pred = post.predict(newdata=df.iloc[:3].assign(g=[0, 1, "new"]))
    assert pred.y.shape == (2, 20, 3) and np.isfinite(pred.y).all()
    # t noise: the replicates spread wider than the regression function
    assert (pred.y.std(axis=(0, 1)) > pred.mean_draws.std(axis=(0, 1))).all()
    indep = gr.model("y ~ x + (1 + x || g)", data=df, family="student")
    post = quiet(indep.sample, chains=2, draws=10, warmup=5, seed=3, progress=False)
    assert "tau2" in post.names and "nu" in post.names


def test_command_line_reaches_it(tmp_path, data):
    from gibbsreg.cli import main

    X, y, groups = data
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "g": groups, "y": y}).to_csv(path, index=False)
    status = quiet(main, ["sample", str(path), "--y", "y", "--x", "a,b", "--groups", "g", "--varying", "a",
                          "--family", "student", "--nu", "5", "--tau", "halfnormal:1", "--sigma", "exponential:1",
                          "--chains", "2", "--draws", "20", "--warmup", "10", "--seed", "3", "--quiet", "--out",
                          str(tmp_path / "post.npz")])
    assert status == 0
    post = gr.load(tmp_path / "post.npz")
    assert post.attrs["model_kind"] == "robust_hier" and post.prior.nu_fixed == 5.0
    assert post.prior.tau_kind == "HalfNormal" and post.prior.sigma_kind == "Exponential"
    assert "nu" not in post.names and post.attrs["varying_index"] == [1]
