"""The wide model (gibbsreg.models.wide): horseshoe and Bayesian lasso priors, Cholesky and Bhattacharya beta
draws.  Exactness (closed forms, quadrature), both backends, reproducibility, resume, save/load, bad input."""

import math

import numpy as np
import pytest

import gibbsreg as gr
import gibbsreg.models.wide as wide
from gibbsreg.kernels.wide.blas import potrf_address, scratch, syrk_address
from gibbsreg.kernels.wide.sweep import bhattacharya_draw, cholesky_draw, gram
from gibbsreg.models.wide import BayesianLasso, Horseshoe, RegularizedHorseshoe
from gibbsreg.models.wide.reference import block_draw, inverse_gaussian

# short runs here check exactness, not convergence
pytestmark = pytest.mark.filterwarnings("ignore:the chains have not converged:RuntimeWarning")


def _data(n, p, seed=0, k=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:k] = [3.0, -2.0, 1.5][:k]
    y = 1.0 + X @ beta + rng.standard_normal(n)
    return X, y


def _assert_same_draws(a, b, what, rtol=1e-9):
    assert sorted(a.names) == sorted(b.names), what
    for name in a.names:
        x, z = np.asarray(a[name]), np.asarray(b[name])
        assert x.shape == z.shape, f"{what}: {name}"
        np.testing.assert_allclose(z, x, rtol=rtol, atol=rtol * float(np.abs(x).max()), err_msg=f"{what}: {name}")


# ---- the Gaussian conditional of beta ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(9, 5), (60, 50), (6, 12), (50, 60)],
                         ids=["p<m", "p<m-lapack", "p>m", "p>m-lapack"])
def test_both_beta_draws_give_the_closed_form_conditional(shape):
    """The block draw (sigma^2, beta) | D: sigma^2 x its gamma is exactly b + y'(I + X D X')^{-1} y / 2 (beta
    integrated out), and beta | sigma^2 from both algorithms is N(A^{-1} X'y, sigma^2 A^{-1}),
    A = X'X + D^{-1}: means and covariances of 20,000 draws each within 4.5 Monte-Carlo standard errors
    (independent draws; sigma^2 pinned by passing the gamma that gives it)."""
    m, p = shape
    rng = np.random.default_rng(5)
    X = rng.standard_normal((m, p))
    y = rng.standard_normal(m) * 2
    D = np.exp(rng.uniform(-2, 1, p))
    sd, b = 0.7, 0.3
    q = y @ np.linalg.solve(np.eye(m) + X @ np.diag(D) @ X.T, y)
    gamma_sigma = (b + 0.5 * q) / sd**2
    A = X.T @ X + np.diag(1.0 / D)
    mean = np.linalg.solve(A, X.T @ y)
    cov = sd**2 * np.linalg.inv(A)
    N = 20000
    Xt = np.ascontiguousarray(X.T)
    G, h, rr = X.T @ X, X.T @ y, float(y @ y)
    chol = np.empty((N, p))
    bcm = np.empty((N, p))
    M, r = np.zeros((m, m)), np.zeros(m)
    syrk, potrf, blas_args = np.uint64(syrk_address()), np.uint64(potrf_address()), scratch()
    Wb = np.zeros((4, m))
    Aw, v, inv_diag = np.zeros((p, p)), np.zeros(p), np.zeros(p)
    K = np.zeros((m, m))
    gram(syrk, Xt, D, K, Wb, blas_args, 4)  # blocks of 4 columns
    np.testing.assert_allclose(np.tril(K), np.tril(X @ np.diag(D) @ X.T), rtol=1e-12, atol=1e-12)
    for i in range(N):
        z = rng.standard_normal(p + m)
        s2a = cholesky_draw(potrf, G, h, rr, D, z, Aw, v, inv_diag, chol[i], gamma_sigma, b, blas_args, -1.0)
        s2b = bhattacharya_draw(potrf, blas_args, Xt, y, D, K, 1.0, z, M, r, bcm[i], gamma_sigma, b, -1.0)
        if i == 0:
            np.testing.assert_allclose([s2a, s2b], sd**2, rtol=1e-10)
    for name, draws in (("cholesky", chol), ("bhattacharya", bcm)):
        se = np.sqrt(np.diag(cov) / N)
        assert np.abs((draws.mean(axis=0) - mean) / se).max() < 4.5, name
        dev = draws - mean
        prods = dev[:, :, None] * dev[:, None, :]
        se_cov = prods.std(axis=0) / math.sqrt(N)
        assert np.abs((prods.mean(axis=0) - cov) / se_cov).max() < 4.5, name
    # the twin's algebra is the same draw up to rounding, given the same normals
    z = rng.standard_normal(p + m)
    for method in (0, 1):
        out = np.empty(p)
        if method == 0:
            s2 = cholesky_draw(potrf, G, h, rr, D, z, Aw, v, inv_diag, out, gamma_sigma, b, blas_args, -1.0)
        else:
            s2 = bhattacharya_draw(potrf, blas_args, Xt, y, D, K, 1.0, z, M, r, out, gamma_sigma, b, -1.0)
        s2_twin, out_twin = block_draw(method, Xt, y, G, h, rr, D, z, gamma_sigma, b)
        np.testing.assert_allclose(out_twin, out, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(s2_twin, s2, rtol=1e-12)


def test_inverse_gaussian_draws_have_the_inverse_gaussian_moments():
    """Michael-Schucany-Haas: mean mu, variance mu^3 / lam, also where mu y >> lam (the stable root)."""
    rng = np.random.default_rng(2)
    N = 200_000
    for mu, lam in ((1.0, 2.0), (50.0, 0.3), (1e-3, 5.0)):
        x = inverse_gaussian(mu, lam, rng.standard_normal(N), rng.random(N))
        assert (x > 0).all()
        sd = math.sqrt(mu**3 / lam)
        assert abs(x.mean() - mu) < 5 * sd / math.sqrt(N), (mu, lam)
        # E[1/x] = 1/mu + 1/lam
        inv = 1.0 / x
        assert abs(inv.mean() - (1 / mu + 1 / lam)) < 5 * inv.std() / math.sqrt(N), (mu, lam)


# ---- exact posteriors by quadrature --------------------------------------------------------------------------

def _nig_given_scale(x, y, v, a, b):
    """beta | sigma^2 ~ N(0, sigma^2 v), sigma^2 ~ IG(a, b) (a = b = 0: Jeffreys): log marginal likelihood
    (up to a constant), E[beta | v, y] and E[beta^2 | v, y]."""
    n = y.shape[0]
    Vn = 1.0 / (x @ x + 1.0 / v)
    mn = Vn * (x @ y)
    an = a + 0.5 * n
    bn = b + 0.5 * (y @ y - mn**2 / Vn)
    logml = 0.5 * np.log(Vn / v) - an * np.log(bn)
    return logml, mn, mn**2 + bn / (an - 1.0) * Vn


def _quadrature(x, y, a, b, log_prior_of_v):
    """Posterior mean and sd of beta with its prior variance (over sigma^2) v integrated on a log grid."""
    t = np.linspace(-40, 25, 60001)
    v = np.exp(t)
    logml, m1, m2 = _nig_given_scale(x, y, v, a, b)
    logw = logml + log_prior_of_v(v) + t  # dv = v dt
    w = np.exp(logw - logw.max())
    w /= w.sum()
    mean = float(w @ m1)
    return mean, math.sqrt(float(w @ m2) - mean**2)


def _batch_mcse(draws, batches=25):
    """Batch-means MCSE of the mean of draws (chains, n)."""
    C, n = draws.shape
    k = n // batches
    means = draws[:, : k * batches].reshape(C, batches, k).mean(axis=2).ravel()
    return means.std(ddof=1) / math.sqrt(means.size)


QUAD_X = np.array([0.3, -1.1, 0.8, 1.9, -0.4, 0.6, -1.5, 0.2])
QUAD_Y = np.array([0.9, -1.6, 0.1, 2.8, -0.2, 1.5, -2.7, 0.8])


def _check_against_quadrature(post, mean, sd):
    beta = np.asarray(post["beta"])[..., 0]
    se_mean = _batch_mcse(beta)
    se_m2 = _batch_mcse(beta**2)
    got_sd = math.sqrt(max((beta**2).mean() - beta.mean() ** 2, 0.0))
    assert abs(beta.mean() - mean) < 4 * se_mean, (beta.mean(), mean, se_mean)
    # sd from the second moment: its MCSE is that of E[beta^2] divided by 2 sd (delta method)
    assert abs(got_sd - sd) < 4 * (se_m2 + 2 * abs(mean) * se_mean) / (2 * sd), (got_sd, sd)


def test_horseshoe_one_coefficient_matches_quadrature():
    """p = 1: beta | sigma, eta ~ N(0, sigma^2 eta^2), eta = tau lambda the product of C+(0, s) and C+(0, 1),
    whose density is (4 / pi^2) log(eta / s) / (eta^2 - s^2) (times s); given eta^2 = v the model is
    normal-inverse-gamma, so one quadrature over v gives the posterior mean and sd."""
    s = 0.5

    def log_prior_v(v):  # v = eta^2: p(v) = p(eta) / (2 eta)
        eta = np.sqrt(v)
        z = eta / s
        with np.errstate(invalid="ignore", divide="ignore"):
            dens = np.where(np.abs(z - 1) < 1e-8, 0.5, np.log(z) / (z * z - 1.0)) * 4 / math.pi**2 / s
        return np.log(dens) - np.log(2 * eta)

    mean, sd = _quadrature(QUAD_X, QUAD_Y, 0.0, 0.0, log_prior_v)
    model = gr.LinearRegression(prior=Horseshoe(global_scale=s, standardize=False), intercept=False)
    post = model.sample(QUAD_X[:, None], QUAD_Y, chains=4, draws=25000, warmup=1000, seed=11, progress=False)
    _check_against_quadrature(post, mean, sd)


def test_lasso_one_coefficient_matches_quadrature():
    """p = 1, sigma^2 ~ IG(2, 1): tau^2 ~ Exp(lambda^2 / 2) with lambda^2 ~ Gamma(r, d) has the marginal density
    (r d^r / 2)(d + tau^2 / 2)^-(r + 1); given tau^2 the model is normal-inverse-gamma."""
    r, d = 2.0, 0.5

    def log_prior_v(v):
        return math.log(r * d**r / 2) - (r + 1) * np.log(d + v / 2)

    mean, sd = _quadrature(QUAD_X, QUAD_Y, 2.0, 1.0, log_prior_v)
    prior = BayesianLasso(shape=r, rate=d, sigma=gr.InvGamma(2.0, 1.0), standardize=False)
    post = gr.LinearRegression(prior=prior, intercept=False).sample(
        QUAD_X[:, None], QUAD_Y, chains=4, draws=25000, warmup=1000, seed=12, progress=False)
    _check_against_quadrature(post, mean, sd)


def _log_product_half_cauchy(v, s):
    """log density of v = eta^2, eta = tau lambda, tau ~ C+(0, s), lambda ~ C+(0, 1)."""
    eta = np.sqrt(v)
    z = eta / s
    with np.errstate(invalid="ignore", divide="ignore"):
        dens = np.where(np.abs(z - 1) < 1e-8, 0.5, np.log(z) / (z * z - 1.0)) * 4 / math.pi**2 / s
    return np.log(dens) - np.log(2 * eta)


def test_regularised_horseshoe_one_coefficient_matches_quadrature():
    """p = 1: the prior variance over sigma^2 is v = 1 / (1/eta^2 + 1/c^2), eta^2 = tau^2 lambda^2 and
    c^2 ~ IG(nu/2, nu s^2/2); a 2-D quadrature over (eta^2, c^2) with the normal-inverse-gamma moments given v.
    The slab binds (s = 0.3 against a coefficient near 0.6), so the Metropolis steps matter."""
    gs, nu, slab = 1.0, 4.0, 0.3
    t1 = np.linspace(-40, 25, 4001)[:, None]  # log eta^2
    t2 = np.linspace(-14, 10, 1201)[None, :]  # log c^2
    e2, c2 = np.exp(t1), np.exp(t2)
    a_c, b_c = nu / 2, nu * slab**2 / 2
    log_c = a_c * math.log(b_c) - math.lgamma(a_c) - (a_c + 1) * t2 - b_c / c2
    v = 1.0 / (1.0 / e2 + 1.0 / c2)
    logml, m1, m2 = _nig_given_scale(QUAD_X, QUAD_Y, v, 0.0, 0.0)
    logw = logml + _log_product_half_cauchy(e2, gs) + t1 + log_c + t2
    w = np.exp(logw - logw.max())
    w /= w.sum()
    mean = float((w * m1).sum())
    sd = math.sqrt(float((w * m2).sum()) - mean**2)
    prior = RegularizedHorseshoe(slab_scale=slab, slab_df=nu, global_scale=gs, standardize=False)
    post = gr.LinearRegression(prior=prior, intercept=False).sample(
        QUAD_X[:, None], QUAD_Y, chains=4, draws=25000, warmup=1000, seed=13, progress=False)
    _check_against_quadrature(post, mean, sd)
    plain = Horseshoe(global_scale=gs, standardize=False)
    free = gr.LinearRegression(prior=plain, intercept=False).sample(
        QUAD_X[:, None], QUAD_Y, chains=2, draws=5000, warmup=500, seed=13, progress=False)
    assert abs(np.mean(free["beta"]) - mean) > 0.1 * sd  # the slab changes the answer: this test can fail


def test_sigma_free_horseshoe_one_coefficient_matches_quadrature():
    """sigma_scaled=False: beta | eta ~ N(0, eta^2) (no sigma), sigma^2 ~ IG(2, 1); y | v = eta^2, sigma^2 ~
    N(0, sigma^2 I + v x x'), beta | v, sigma^2, y normal: a 2-D quadrature over (v, sigma^2)."""
    s, a, b = 0.5, 2.0, 1.0
    x, y = QUAD_X, QUAD_Y
    n, xx, xy, yy = len(y), x @ x, x @ y, y @ y
    t1 = np.linspace(-40, 25, 3001)[:, None]
    t2 = np.linspace(-9, 6, 1201)[None, :]
    v, s2 = np.exp(t1), np.exp(t2)
    logml = -0.5 * (n * t2 + np.log1p(v * xx / s2)) - 0.5 * (yy - v * xy**2 / (s2 + v * xx)) / s2
    log_s2 = -(a + 1) * t2 - b / s2
    logw = logml + _log_product_half_cauchy(v, s) + t1 + log_s2 + t2
    w = np.exp(logw - logw.max())
    w /= w.sum()
    prec = xx / s2 + 1.0 / v
    m1 = (xy / s2) / prec
    mean = float((w * m1).sum())
    sd = math.sqrt(float((w * (m1**2 + 1.0 / prec)).sum()) - mean**2)
    prior = Horseshoe(global_scale=s, sigma=gr.InvGamma(a, b), standardize=False, sigma_scaled=False)
    post = gr.LinearRegression(prior=prior, intercept=False).sample(
        x[:, None], y, chains=4, draws=25000, warmup=1000, seed=14, progress=False)
    _check_against_quadrature(post, mean, sd)


@pytest.mark.parametrize("kind,beta_draw", [("Horseshoe", "bhattacharya"), ("BayesianLasso", "cholesky"),
                                            ("RegularizedHorseshoe", "bhattacharya")])
def test_sigma_free_backends_agree(kind, beta_draw):
    X, y = _data(25, 40, seed=1)
    model = gr.LinearRegression(prior=_prior(kind, beta_draw, sigma_scaled=False, sigma=gr.InvGamma(2.0, 1.0)))
    a = model.sample(X, y, chains=2, draws=30, warmup=20, seed=4, progress=False)
    b = model.sample(X, y, chains=2, draws=30, warmup=20, seed=4, progress=False, backend="numpy")
    assert not a.attrs["prior"].sigma_scaled
    _assert_same_draws(a, b, f"{kind} {beta_draw} sigma-free")


# ---- backends, chains, resume, save/load -----------------------------------------------------------------------

CASES = [(kind, draw) for kind in ("Horseshoe", "BayesianLasso", "RegularizedHorseshoe")
         for draw in ("cholesky", "bhattacharya")]
PRIORS = {"Horseshoe": Horseshoe, "BayesianLasso": BayesianLasso, "RegularizedHorseshoe": RegularizedHorseshoe}


def _prior(kind, beta_draw, **kw):
    return PRIORS[kind](beta_draw=beta_draw, unpenalized=["x4"], **kw)


@pytest.mark.parametrize("kind,beta_draw", CASES)
def test_backends_agree_to_rounding(kind, beta_draw):
    X, y = _data(25, 40, seed=1)
    model = gr.LinearRegression(prior=_prior(kind, beta_draw))
    a = model.sample(X, y, chains=2, draws=30, warmup=20, seed=4, progress=False)
    b = model.sample(X, y, chains=2, draws=30, warmup=20, seed=4, progress=False, backend="numpy")
    assert a.attrs["beta_draw"] == beta_draw and a.attrs["model_kind"] == "wide"
    assert set(a.names) == {"beta", "lambda2", "sigma2", "tau2"} | ({"c2"} if kind == "RegularizedHorseshoe" else set())
    _assert_same_draws(a, b, f"{kind} {beta_draw}")


def test_backends_agree_with_lapack_cholesky():
    """p = 60 >= LAPACK_MIN_P: the Cholesky draw factorises by LAPACK's dpotrf."""
    X, y = _data(100, 60, seed=2)
    model = gr.LinearRegression(prior=Horseshoe(unpenalized=["x4"]))
    a = model.sample(X, y, chains=2, draws=30, warmup=20, seed=4, progress=False)
    b = model.sample(X, y, chains=2, draws=30, warmup=20, seed=4, progress=False, backend="numpy")
    assert a.attrs["beta_draw"] == "cholesky"
    _assert_same_draws(a, b, "lapack")


def test_backends_agree_on_the_slice_step_with_lapack():
    """m >= LAPACK_MIN_P under Bhattacharya's draw: the horseshoe's slice step on log tau^2 factorises
    I + tau^2 X* Lambda X*' by dpotrf; the twin takes the same uniforms and the same branches."""
    X, y = _data(60, 80, seed=3)
    model = gr.LinearRegression(prior=Horseshoe(p0=5))
    a = model.sample(X, y, chains=1, draws=25, warmup=5, seed=4, progress=False)
    b = model.sample(X, y, chains=1, draws=25, warmup=5, seed=4, progress=False, backend="numpy")
    assert a.attrs["beta_draw"] == "bhattacharya"
    _assert_same_draws(a, b, "slice lapack")


def test_the_beta_draw_switches_with_the_shape():
    X, y = _data(30, 20)
    assert gr.LinearRegression(prior=Horseshoe()).sample(
        X, y, chains=1, draws=5, warmup=0, progress=False).attrs["beta_draw"] == "cholesky"
    X, y = _data(15, 20)
    assert gr.LinearRegression(prior=Horseshoe()).sample(
        X, y, chains=1, draws=5, warmup=0, progress=False).attrs["beta_draw"] == "bhattacharya"


def test_a_chain_does_not_depend_on_the_number_of_chains():
    X, y = _data(20, 35, seed=2)
    model = gr.LinearRegression(prior=Horseshoe())
    one = model.sample(X, y, chains=1, draws=25, warmup=10, seed=9, progress=False)
    three = model.sample(X, y, chains=3, draws=25, warmup=10, seed=9, progress=False)
    for name in one.names:
        np.testing.assert_array_equal(np.asarray(three[name])[:1], np.asarray(one[name]), err_msg=name)


@pytest.mark.parametrize("kind", ["Horseshoe", "BayesianLasso", "RegularizedHorseshoe"])
def test_resume_and_save_load_are_bit_for_bit(tmp_path, kind):
    X, y = _data(20, 35, seed=3)
    model = gr.LinearRegression(prior=_prior(kind, "auto"))
    full = model.sample(X, y, chains=2, draws=40, warmup=15, seed=21, progress=False)
    half = model.sample(X, y, chains=2, draws=20, warmup=15, seed=21, progress=False)
    more = model.resume(half, X, y, draws=20, progress=False)
    for name in full.names:
        np.testing.assert_array_equal(np.asarray(more[name]), np.asarray(full[name]), err_msg=name)
    path = tmp_path / "run.npz"
    half.save(path)
    loaded = gr.load(path)
    assert loaded.attrs["prior"] == half.attrs["prior"]
    again = gr.resume(loaded, X, y, draws=20, progress=False)  # the registry's hook, model rebuilt from the file
    for name in full.names:
        np.testing.assert_array_equal(np.asarray(again[name]), np.asarray(full[name]), err_msg=name)
    with pytest.raises(ValueError):
        gr.resume(loaded, X[:, ::-1], y, draws=5, progress=False)  # other data: the fingerprint differs
    # a checkpoint file resumes to the same run
    cp = tmp_path / "cp.npz"
    model.sample(X, y, chains=2, draws=20, warmup=15, seed=21, progress=False, checkpoint=cp)
    from_cp = gr.resume(cp, X, y, draws=20, progress=False, checkpoint=False)
    for name in full.names:
        np.testing.assert_array_equal(np.asarray(from_cp[name]), np.asarray(full[name]), err_msg=name)


def test_keep_thin_summary_predict_and_loo():
    X, y = _data(30, 60, seed=4)
    post = gr.LinearRegression(prior=Horseshoe(keep=["beta", "sigma2", "tau2"])).sample(
        X, y, chains=2, draws=100, warmup=100, thin=2, seed=1, progress=False)
    assert sorted(post.names) == ["beta", "sigma2", "tau2"]
    assert post["beta"].shape == (2, 100, 61)
    text = str(post.summary())
    assert "beta" in text  # 61 coefficients collapse to one line
    assert "excluding 0" in wide.shrinkage_summary(post)
    pred = post.predict(X[:5], seed=0)
    assert pred is not None
    loo = gr.loo(post)
    assert np.isfinite(loo["elpd_loo"])
    idata = post.to_arviz(log_likelihood=True)
    assert idata.log_likelihood["y"].shape == (2, 100, 30)


def test_shrinkage_factors_separate_signal_from_noise():
    X, y = _data(60, 30, seed=6)
    post = gr.LinearRegression(prior=Horseshoe()).sample(X, y, chains=2, draws=400, warmup=300, seed=2,
                                                         progress=False)
    kappa = wide.shrinkage(post)
    assert kappa.shape == (30,)
    assert kappa[:3].max() < 0.2 and np.median(kappa[3:]) > 0.5
    assert "3 of 30 penalised coefficients have a 95% interval excluding 0" in wide.shrinkage_summary(post)
    import matplotlib

    matplotlib.use("Agg")
    fig = wide.plot_shrinkage(post)
    assert len(fig.axes[0].collections) == 2
    import matplotlib.pyplot as plt

    plt.close(fig)


# ---- bad input -------------------------------------------------------------------------------------------------

def test_bad_input_is_a_clear_error_before_sampling(monkeypatch):
    import gibbsreg.kernels.wide as kw

    monkeypatch.setattr(kw, "wide_gibbs", None)  # nothing below may reach the kernel
    X, y = _data(20, 30)
    for bad, words in ((lambda: Horseshoe(global_scale=0.0), "global_scale"),
                       (lambda: Horseshoe(global_scale=-1), "global_scale"),
                       (lambda: BayesianLasso(rate=0), "rate"),
                       (lambda: BayesianLasso(shape=np.nan), "shape"),
                       (lambda: Horseshoe(global_scale=1, p0=3), "not both"),
                       (lambda: Horseshoe(beta_draw="qr"), "beta_draw"),
                       (lambda: Horseshoe(sigma="flat"), "sigma")):
        with pytest.raises(ValueError, match=words):
            bad()
    cases = [(Horseshoe(p0=30), X, y, "p0"), (Horseshoe(p0=40), X, y, "p0"),
             (Horseshoe(unpenalized=["nope"]), X, y, "nope"), (Horseshoe(keep=["kappa"]), X, y, "keep"),
             (Horseshoe(), np.where(np.arange(30) == 3, np.nan, X), y, "NaN|finite"),
             (Horseshoe(), X, y[:-1], "y"), (Horseshoe(), X, np.full(20, np.inf), "finite|inf"),
             (Horseshoe(sigma_scaled=False), X, y, "improper")]  # p >= n - r under Jeffreys' prior
    for prior, Xb, yb, words in cases:
        with pytest.raises(ValueError, match=words):
            gr.LinearRegression(prior=prior).sample(Xb, yb, chains=1, draws=5, progress=False)
    with pytest.raises(ValueError, match="stats"):
        gr.LinearRegression(prior=Horseshoe()).sample(stats=gr.sufficient_stats(X, y), chains=1, draws=5)


def test_memory_is_estimated_before_allocating(monkeypatch):
    import gibbsreg.store as store

    monkeypatch.setattr(store, "available_memory", lambda: 200 << 20)
    X, y = _data(50, 2000)
    with pytest.raises(ValueError, match="GiB"):
        gr.LinearRegression(prior=Horseshoe(keep=["beta"])).sample(X, y, chains=4, draws=5000, progress=False)


def test_threads_float32_and_disk_store(tmp_path):
    """A chain's draws are the same on one thread and two; float32 draws are the float64 ones rounded once;
    the disk store holds the same draws as memory."""
    import numba

    X, y = _data(18, 30, seed=8)
    model = gr.LinearRegression(prior=RegularizedHorseshoe())
    two = model.sample(X, y, chains=2, draws=20, warmup=10, seed=6, progress=False)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = model.sample(X, y, chains=2, draws=20, warmup=10, seed=6, progress=False)
    finally:
        numba.set_num_threads(before)
    single = model.sample(X, y, chains=2, draws=20, warmup=10, seed=6, progress=False, dtype=np.float32)
    stored = model.sample(X, y, chains=2, draws=20, warmup=10, seed=6, progress=False, store=tmp_path / "run")
    for name in two.names:
        np.testing.assert_array_equal(np.asarray(one[name]), np.asarray(two[name]), err_msg=name)
        np.testing.assert_array_equal(np.asarray(single[name]), np.asarray(two[name]).astype(np.float32),
                                      err_msg=name)
        np.testing.assert_array_equal(np.asarray(stored[name]), np.asarray(two[name]), err_msg=name)
