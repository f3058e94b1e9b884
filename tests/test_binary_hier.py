"""HierarchicalBinaryRegression: both backends, streams, resume, the export, SBC with a negative control.

SBC (Talts et al. 2018): J = 5 groups x 8 rows, varying intercept and slope, explicit priors mu ~ N(0, 1),
tau^2_k ~ IG(3, 1) (mean 1/2); one chain, warm-up 50, KEPT = 99 draws, thin 4; ranks of mu_k, tau^2_k, one
group's coefficients and the log-likelihood; 10 bins, chi-square, fail at p < 1e-4 (4 cases x 7 quantities:
family-wise false alarms <= 0.28%), with the interweaving sampler (default) and the centred one, and with a
half-normal(0.7) prior on tau (truth drawn from it) as well.
Negative control: fitting tau^2 ~ IG(3, 0.25) (a prior scale 4x too small) fails.  L = 250 per case by
default, 2000 when slow.
"""

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, log_ndtr, ndtr

import gibbsreg as gr
from gibbsreg.models.binary import HierarchicalBinaryPrior, HierarchicalBinaryRegression
from gibbsreg.priors import Exponential, HalfNormal, HalfStudentT


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the chains have not converged")
        yield


def grouped(J=6, m=10, seed=0, trials=None):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J), m)
    rng.shuffle(g)
    x = rng.standard_normal((J * m, 2))
    b = rng.normal(0.2, 0.6, (J, 2))
    p = expit(b[g, 0] + b[g, 1] * x[:, 0] + 0.4 * x[:, 1])
    if trials is None:
        return x, (rng.random(J * m) < p).astype(float), np.array([f"g{k}" for k in g]), None
    t = rng.integers(1, trials + 1, J * m)
    return x, rng.binomial(t, p).astype(float), np.array([f"g{k}" for k in g]), t


@pytest.mark.parametrize("link, tau, trials, sampler", [
    ("logit", None, None, "asis"), ("probit", gr.InvGamma(2.0, 1.0), None, "asis"),
    ("logit", gr.InvWishart(4, 1.0), 4, "asis"), ("probit", gr.InvWishart(3.5, 0.5), 3, "centered"),
    ("logit", gr.HalfCauchy(0.7), 5, "asis"), ("probit", gr.HalfCauchy(0.7), None, "centered"),
    ("logit", gr.InvGamma(2.0, 1.0), 2, "centered"), ("logit", HalfNormal(0.8), None, "asis"),
    ("probit", HalfNormal(0.8), 2, "centered"), ("logit", Exponential(1.5), None, "asis"),
    ("probit", Exponential(), None, "centered"), ("logit", HalfStudentT(3.0, 0.7), 3, "asis")])
def test_backends_agree_for_the_same_seed(link, tau, trials, sampler):
    x, y, g, t = grouped(seed=1, trials=trials)
    m = HierarchicalBinaryRegression(link, HierarchicalBinaryPrior(tau=tau), varying=["intercept", "x0"],
                                     sampler=sampler)
    kw = dict(chains=2, draws=20, warmup=5, thin=2, seed=7, progress=False)
    a = m.sample(x, y, g, t, backend="numba", **kw)
    b = m.sample(x, y, g, t, backend="numpy", **kw)
    assert set(a.names) == {"beta", "mu", "alpha", "Sigma" if isinstance(tau, gr.InvWishart) else "tau2"}
    for name in a.names:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-12)


def test_chains_resume_save_load_and_the_export(tmp_path):
    x, y, g, _ = grouped(seed=2)
    m = HierarchicalBinaryRegression("logit", varying="intercept")
    full = m.sample(x, y, g, chains=3, draws=40, warmup=10, seed=5, progress=False)
    one = m.sample(x, y, g, chains=1, draws=40, warmup=10, seed=5, progress=False)
    np.testing.assert_array_equal(one["beta"][0], full["beta"][0])
    part = m.sample(x, y, g, chains=3, draws=15, warmup=10, seed=5, progress=False)
    np.testing.assert_array_equal(m.resume(part, x, y, g, draws=25, progress=False)["mu"], full["mu"])
    path = tmp_path / "h.npz"
    part.save(path)
    again = gr.resume(path, x, y, g, draws=25, progress=False)
    np.testing.assert_array_equal(again["beta"], full["beta"])
    assert gr.load(path).prior.to_dict() == part.prior.to_dict()
    idata = full.to_arviz()
    assert idata.prior["beta"].shape == (1, 500, 6, 1) and (idata.prior["tau2"].values > 0).all()
    ll = idata.log_likelihood["y"].values
    codes = np.array([full.coords["group"].index(lab) for lab in g])
    eta = full["beta"][..., codes, 0] + full["alpha"] @ x.T
    np.testing.assert_allclose(ll, stats.binom.logpmf(y, 1, expit(eta)), rtol=1e-10, atol=1e-12)
    by_group = gr.pointwise_loglik(full, by="group") if hasattr(gr, "pointwise_loglik") else None
    if by_group is not None:
        np.testing.assert_allclose(by_group.sum(axis=-1), ll.sum(axis=-1), rtol=1e-10)


def test_bad_input_is_refused():
    x, y, g, _ = grouped(seed=3)
    m = HierarchicalBinaryRegression("probit")
    with pytest.raises(ValueError, match="groups"):
        m.sample(x, y, None, progress=False)
    with pytest.raises(ValueError, match="0/1"):
        m.sample(x, y + 1, g, progress=False)
    with pytest.raises(ValueError, match="at least 2"):
        m.sample(x, y, np.zeros(len(y)), progress=False)
    with pytest.raises(ValueError, match="tau must be"):
        HierarchicalBinaryPrior(tau=gr.SemiConjugate())
    with pytest.raises(ValueError, match="positive"):
        HierarchicalBinaryPrior(mu_scale=-1.0)


J_SBC, M_SBC, KEPT, P_MIN = 5, 8, 99, 1e-4


def sbc_pvalues(link, L, tau_b_fit=1.0, seed=0, sampler="asis", tau="ig"):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(J_SBC), M_SBC)
    x = rng.standard_normal(J_SBC * M_SBC)
    F = expit if link == "logit" else ndtr

    def log_lik(eta, y):
        if link == "logit":
            return np.where(y > 0, -np.logaddexp(0, -eta), -np.logaddexp(0, eta)).sum(axis=-1)
        return np.where(y > 0, log_ndtr(eta), log_ndtr(-eta)).sum(axis=-1)

    model = HierarchicalBinaryRegression(link, HierarchicalBinaryPrior(mu_mean=0.0, mu_scale=1.0,
                                                                       tau=gr.InvGamma(3.0, tau_b_fit)
                                                                       if tau == "ig" else HalfNormal(0.7)),
                                         sampler=sampler)
    ranks = np.empty((L, 7), dtype=np.int64)
    for s in range(L):
        mu = rng.standard_normal(2)
        tau2 = 1.0 / rng.standard_gamma(3.0, 2) if tau == "ig" else (0.7 * rng.standard_normal(2)) ** 2
        beta = mu + np.sqrt(tau2) * rng.standard_normal((J_SBC, 2))
        eta = beta[g, 0] + beta[g, 1] * x
        y = (rng.random(eta.size) < F(eta)).astype(float)
        post = model.sample(x[:, None], y, g, chains=1, draws=KEPT, warmup=50, thin=4, seed=seed * 100_000 + s,
                            progress=False)
        sig = post["tau2"][0]
        b = post["beta"][0]
        eta_d = b[:, g, 0] + b[:, g, 1] * x
        ll_d, ll = log_lik(eta_d, y), log_lik(eta, y)
        ranks[s] = [(post["mu"][0, :, 0] < mu[0]).sum(), (post["mu"][0, :, 1] < mu[1]).sum(),
                    (sig[:, 0] < tau2[0]).sum(), (sig[:, 1] < tau2[1]).sum(), (b[:, 0, 0] < beta[0, 0]).sum(),
                    (b[:, 0, 1] < beta[0, 1]).sum(), (ll_d < ll).sum()]
    counts = np.stack([np.bincount(r * 10 // (KEPT + 1), minlength=10) for r in ranks.T])
    return stats.chisquare(counts, axis=1).pvalue


@pytest.mark.parametrize("link, sampler, tau", [("logit", "asis", "ig"), ("probit", "asis", "ig"),
                                               ("logit", "centered", "ig"), ("probit", "asis", "halfnormal")])
def test_sbc_ranks_are_uniform(link, sampler, tau):
    p = sbc_pvalues(link, L=250, seed=1, sampler=sampler, tau=tau)
    assert (p > P_MIN).all(), p


def test_sbc_negative_control_tau_prior_too_small():
    p = sbc_pvalues("logit", L=250, tau_b_fit=0.25, seed=2)
    assert p.min() < P_MIN, p


@pytest.mark.slow
@pytest.mark.parametrize("link, sampler, tau", [("logit", "asis", "ig"), ("probit", "asis", "ig"),
                                               ("probit", "centered", "ig"), ("logit", "asis", "halfnormal")])
def test_sbc_ranks_are_uniform_large(link, sampler, tau):
    p = sbc_pvalues(link, L=2000, seed=3, sampler=sampler, tau=tau)
    assert (p > P_MIN).all(), p


def test_predicted_probabilities_for_fitted_and_new_groups():
    x, y, g, _ = grouped(seed=4)
    m = HierarchicalBinaryRegression("probit", varying=["intercept", "x0"])
    post = m.sample(x, y, g, chains=2, draws=50, warmup=20, seed=1, progress=False)
    X_new = np.array([[0.5, -1.0], [0.5, -1.0], [0.0, 0.0]])
    pred = m.predict_proba(post, X_new, ["g1", "new", "new"], seed=3)
    j = post.coords["group"].index("g1")
    b, a = post["beta"], post["alpha"][..., 0]
    np.testing.assert_allclose(pred.mean_draws[..., 0], ndtr(b[..., j, 0] + 0.5 * b[..., j, 1] - a))
    # one new group's coefficients per draw, shared by its rows: row 2 is that group's intercept alone
    mu, tau2 = post["mu"], post["tau2"]
    z = (stats.norm.ppf(pred.mean_draws[..., 2]) - mu[..., 0]) / np.sqrt(tau2[..., 0])
    assert abs(z.mean()) < 0.3 and 0.7 < z.std() < 1.3
    assert pred.y.shape == (2, 50, 3)
    with pytest.raises(ValueError, match="groups="):
        m.predict_proba(post, X_new, None)
    from gibbsreg.models.binary.plots import fitted_probabilities

    p_fit, _, _ = fitted_probabilities(post)
    codes = np.array([post.coords["group"].index(lab) for lab in g])
    eta = b[..., codes, 0] + b[..., codes, 1] * x[:, 0] + post["alpha"] @ x[:, 1:].T
    np.testing.assert_allclose(p_fit, ndtr(eta).mean(axis=(0, 1)), rtol=1e-10)


def test_inverse_wishart_reports_sigma_and_predicts_new_groups():
    x, y, g, _ = grouped(seed=6)
    m = HierarchicalBinaryRegression("logit", HierarchicalBinaryPrior(tau=gr.InvWishart(4, 1.0)))
    post = m.sample(x, y, g, chains=2, draws=30, warmup=10, seed=2, progress=False)
    S = post["Sigma"]
    assert S.shape == (2, 30, 3, 3) and np.allclose(S, np.swapaxes(S, -1, -2))
    assert (np.linalg.eigvalsh(S) > 0).all()
    pred = m.predict_proba(post, np.zeros((2, 2)), ["brand-new", "g0"], seed=1)
    assert np.isfinite(pred.mean_draws).all() and pred.mean_draws.shape == (2, 30, 2)
    assert "Sigma[intercept,x0]" in str(post.summary())


def test_formula_front_end_with_a_group_term():
    import pandas as pd

    x, y, g, _ = grouped(seed=8)
    df = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "y": y.astype(int), "school": g})
    fm = gr.model("y ~ x0 + x1 + (1 + x0 | school)", df, family="bernoulli", link="logit")
    assert fm.kind == "binary_hier" and isinstance(fm.model.prior.tau, gr.InvWishart)
    post = fm.sample(chains=2, draws=20, warmup=5, seed=1, progress=False)
    assert post["Sigma"].shape == (2, 20, 2, 2) and post["alpha"].shape == (2, 20, 1)
    assert post.attrs["arviz_dims"] == {"group": "school"}
    direct = HierarchicalBinaryRegression("logit", HierarchicalBinaryPrior(tau=fm.model.prior.tau),
                                          varying=["intercept", "x0"]).sample(
        df[["x0", "x1"]], y, g, chains=2, draws=20, warmup=5, seed=1, progress=False)
    np.testing.assert_array_equal(post["beta"], direct["beta"])
    diag = gr.model("y ~ x0 + (1 + x0 || school)", df, family="bernoulli", sampler="centered")
    assert "tau2" in diag.sample(chains=1, draws=5, warmup=2, seed=1, progress=False)
