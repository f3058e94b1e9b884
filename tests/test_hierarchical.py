"""Tests of the hierarchical model, gibbsreg.HierarchicalRegression.

Model (docs: /DESIGN.md "Hierarchical"): y_ij = x_ij' beta_j + w_ij' alpha + eps_ij,
beta_j ~ N(mu, Sigma_beta), mu ~ N(mu_mean, diag(mu_scale^2)), alpha ~ N(pooled_mean,
diag(pooled_scale^2)), Sigma_beta = diag(tau2) (InvGamma or half-Cauchy on tau) or
IW(df, Psi), sigma^2 ~ IG(a, b) (one, or one per group).

What is checked here, and how
-----------------------------
* Outside reference (radon, 919 houses, 85 counties): the conjugate varying-intercept
  model run by rstan NUTS (16,000 draws, ESS 10,000-13,600; tests/data/radon/NOTICE.txt).
  On each backend, with its own seed: posterior means of mu, alpha (floor), tau2,
  sigma2 and seven county intercepts within 4 combined MCSE, sqrt(ours^2 + rstan's
  se_mean^2), of rstan's; posterior sds within 3% (relative) of rstan's.
* Limiting cases with closed-form answers: tau^2 pinned huge (independent per-group
  regressions: beta_j | y is a multivariate t around the per-group OLS fit and
  sigma^2 | y ~ IG(a + (N - Jq)/2, b + RSS/2)); tau^2 pinned near 1e-8 (beta_j = mu,
  and mu's posterior is that of the pooled flat regression); both variances pinned
  (y | mu is Gaussian, so mu | y and beta_j | y are exactly Gaussian).
* NumPy reference and Numba kernel: the same seed gives the same draws (they consume
  the same per-chain streams) for every variant and sampler, and different seeds
  agree in distribution.  Reproducibility: chain k does not depend on the number of
  chains, the thread count or the chunking; row order and the spelling of group
  labels do not change the draws.
* Bad input gives a ValueError naming the problem; groups with fewer rows than
  varying coefficients sample fine; prediction, shrinkage, save/load, ArviZ export
  and the CLI.

Tolerances and false alarms
---------------------------
Every Monte-Carlo comparison is |difference| <= 4 x (Monte-Carlo standard error of the
difference), with MCSE from gibbsreg.diagnostics (ArviZ-equivalent, ESS-based; a
batch-means fallback is used only if that module cannot be imported).  For an
approximately normal estimation error a 4-sigma check fails by chance with probability
6.3e-5; each test below states how many such checks it makes, hence its family-wise
false-alarm rate (at most a few times 1e-3).  Seeds are fixed, so a run is
deterministic; the rates say how likely a *correct* change of the random streams is
to trip a check.  Positive quantities (tau2, Sigma diagonals, sigma2) are compared on
the log scale when both sides are Monte Carlo, because their tails make raw-scale
MCSEs of the sd unreliable with a few thousand draws.

What these tests cannot detect: mean biases below ~4 MCSE (2-5% of a posterior sd),
sd errors below ~1-3%, errors that only appear with many groups or large p (J <= 85,
q <= 3 here), and anything in the tails beyond what a mean and an sd see; the SBC
file (test_hierarchical_sbc.py) covers the joint calibration of every variant on small
simulated data.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

import gibbsreg
from gibbsreg import HalfCauchy, HierarchicalPrior, HierarchicalRegression, InvGamma, InvWishart

from gibbsreg.diagnostics import mcse_mean, mcse_sd
RADON_DIR = Path(__file__).parent / "data" / "radon"
BACKENDS = ("numba", "numpy")
SAMPLERS = tuple(getattr(HierarchicalRegression, "SAMPLERS", ()))  # e.g. ("asis", "centered"); () if the option is absent
Z = 4.0  # every Monte-Carlo tolerance is Z standard errors; two-sided false-alarm rate 6.3e-5 per check


def _model(prior, varying=None, sampler=None, **kw):
    if sampler is not None:
        kw["sampler"] = sampler
    return HierarchicalRegression(prior, varying=varying, **kw)


def _z_failures(label, ours, ours_se, theirs, theirs_se=0.0, z=Z):
    """List of messages for components with |ours - theirs| > z * sqrt(ours_se^2 + theirs_se^2)."""
    ours, theirs = np.broadcast_arrays(np.asarray(ours, float), np.asarray(theirs, float))
    se = np.broadcast_to(np.hypot(ours_se, theirs_se), ours.shape)
    out = []
    for idx in np.ndindex(ours.shape):
        d = ours[idx] - theirs[idx]
        if not (abs(d) <= z * se[idx]):
            out.append(f"{label}{list(idx) if idx else ''}: {ours[idx]:.6g} vs {theirs[idx]:.6g}, "
                       f"diff {d:.3g} = {d / se[idx]:.2f} combined MCSE (limit {z})")
    return out


def _mean_sd_failures(label, a, b):
    """Means and sds of two independent Monte-Carlo samples (chain, draw, ...) within Z combined MCSE."""
    fails = _z_failures(f"mean {label}", a.mean(axis=(0, 1)), mcse_mean(a), b.mean(axis=(0, 1)), mcse_mean(b))
    fails += _z_failures(f"sd {label}", a.std(axis=(0, 1)), mcse_sd(a), b.std(axis=(0, 1)), mcse_sd(b))
    return fails


def _grouped_data(seed, sizes, px=1, beta=None, sigma=1.0, tau=1.0):
    """Grouped regression data: X (n, px) standard normal, integer groups 0..J-1 in order, y."""
    rng = np.random.default_rng(seed)
    sizes = np.asarray(sizes)
    J = len(sizes)
    groups = np.repeat(np.arange(J), sizes)
    n = groups.size
    X = rng.standard_normal((n, px))
    full = np.column_stack([np.ones(n), X])
    if beta is None:
        beta = rng.normal(0.0, 1.0, px + 1) + tau * rng.standard_normal((J, px + 1))
    y = np.einsum("ik,ik->i", full, beta[groups]) + sigma * rng.standard_normal(n)
    return X, y, groups, full


# =============================================================================================
# outside reference: radon, conjugate varying-intercept model, rstan NUTS
# =============================================================================================

RADON_PRIOR = dict(mu_mean=0.0, mu_scale=1000.0, tau=InvGamma(0.5, 0.5), sigma=InvGamma(0.001, 0.001),
                   pooled_mean=0.0, pooled_scale=1000.0)
RADON_DRAWS = 10_000  # x 4 chains; ESS 17,000-40,000 (numba ~1 s, numpy ~2.5 s once compiled)
RADON_SEEDS = {"numba": 20_240_601, "numpy": 20_240_602}  # different seeds: two independent checks
# county index (1-based, as in Stan's alpha[j]) -> rows: 1 (4), 2 (52), 26 (105), 36 (2), 50 (1), 70 (116), 85 (2)
RADON_COUNTIES = (1, 2, 26, 36, 50, 70, 85)


def _radon_data():
    with open(RADON_DIR / "radon_mn.json") as fh:
        d = json.load(fh)
    y = np.asarray(d["log_radon"], dtype=float)
    floor = np.asarray(d["floor_measure"], dtype=float)
    county = np.asarray(d["county_idx"], dtype=np.int64)
    assert y.shape == floor.shape == county.shape == (d["N"],) and np.unique(county).size == d["J"]
    return floor, y, county


def _radon_reference():
    with open(RADON_DIR / "radon_mn-varying_intercept_conjugate.rstan_summary.csv", newline="") as fh:
        return {row[""]: {k: float(v) for k, v in row.items() if k} for row in csv.DictReader(fh)}


@pytest.fixture(scope="module", params=BACKENDS)
def radon_fit(request):
    import pandas as pd
    floor, y, county = _radon_data()
    model = HierarchicalRegression(HierarchicalPrior(**RADON_PRIOR), varying=["intercept"])
    post = model.sample(pd.DataFrame({"floor": floor}), y, county, chains=4, draws=RADON_DRAWS, warmup=1000,
                        seed=RADON_SEEDS[request.param], backend=request.param, progress=False)
    return request.param, post


def _radon_pairs(post):
    """(Stan name, our draws (chain, draw)) for every compared quantity."""
    labels = post.coords["group"]
    pairs = [("mu_alpha", post["mu"][..., 0]), ("beta", post["alpha"][..., 0]),
             ("sigma2_alpha", post["tau2"][..., 0]), ("sigma2_y", post["sigma2"])]
    pairs += [(f"alpha[{j}]", post["beta"][:, :, labels.index(j), 0]) for j in RADON_COUNTIES]
    return pairs


def test_radon_layout(radon_fit):
    _, post = radon_fit
    assert post["beta"].shape == (4, RADON_DRAWS, 85, 1)
    assert post["mu"].shape == (4, RADON_DRAWS, 1) and post["tau2"].shape == (4, RADON_DRAWS, 1)
    assert post["alpha"].shape == (4, RADON_DRAWS, 1) and post["sigma2"].shape == (4, RADON_DRAWS)
    assert post.coords["group"] == list(range(1, 86))
    assert post.coords["coef"] == ["intercept"] and post.coords["pooled_coef"] == ["floor"]


def test_radon_means_match_rstan(radon_fit):
    """11 means, each within 4 combined MCSE of rstan's: family-wise false alarm ~7e-4 per backend.

    The combined MCSE is 0.0006 (mu), 0.0008 (floor), 0.0004 (tau2), 0.0003 (sigma2) and
    0.0007-0.0033 for the county intercepts, i.e. 1.0-1.3% of each posterior sd: a mean off
    by more than 4-5% of its posterior sd fails.
    """
    backend, post = radon_fit
    ref = _radon_reference()
    fails = []
    for name, draws in _radon_pairs(post):
        fails += _z_failures(f"{backend} {name}", draws.mean(), mcse_mean(draws), ref[name]["mean"], ref[name]["se_mean"])
    assert not fails, "\n".join(fails)


def test_radon_sds_match_rstan(radon_fit):
    """11 sds, each within 3% (relative) of rstan's.

    Monte-Carlo error of the relative sd difference, sqrt(ours^2 + rstan's^2), with rstan's
    estimated as sqrt((kurtosis - 1) / (4 n_eff)) from its n_eff and our draws' kurtosis:
    0.7-0.8% for mu, floor, sigma2 and the county intercepts, 1.0% for the right-skewed tau2.
    3% is therefore >= 3.9 standard errors for all but tau2 and 2.9 for tau2: family-wise
    false alarm ~5e-3 per backend, almost all of it from tau2.  An sd wrong by more than 3%
    fails; smaller errors may pass.
    """
    backend, post = radon_fit
    ref = _radon_reference()
    fails = []
    for name, draws in _radon_pairs(post):
        rel = draws.std() / ref[name]["sd"] - 1.0
        if not abs(rel) <= 0.03:
            fails.append(f"{backend} {name}: sd {draws.std():.6g} vs rstan {ref[name]['sd']:.6g} ({100 * rel:+.2f}%, limit 3%)")
    assert not fails, "\n".join(fails)


# =============================================================================================
# limiting cases with closed-form answers
# =============================================================================================

def _per_group_ols(full, y, groups, J):
    coef, xtx_inv, rss = [], [], 0.0
    for j in range(J):
        Xj, yj = full[groups == j], y[groups == j]
        b, *_ = np.linalg.lstsq(Xj, yj, rcond=None)
        coef.append(b)
        xtx_inv.append(np.linalg.inv(Xj.T @ Xj))
        rss += float(np.sum((yj - Xj @ b) ** 2))
    return np.array(coef), np.array(xtx_inv), rss


def test_tau_huge_gives_independent_per_group_regressions():
    """tau^2 ~ IG(1e6, 1e12), i.e. pinned at 1e6 (+-0.1%), 4 groups x 200 rows.

    With tau^2 -> infinity the groups decouple and each beta_j has a flat prior, so exactly
    sigma^2 | y ~ IG(a + (N - Jq)/2, b + RSS/2) (RSS of the per-group OLS fits) and
    beta_j | y is a multivariate t around the per-group OLS fit with covariance
    E[sigma^2 | y] (X_j'X_j)^{-1}.  tau^2 = 1e6 instead of infinity moves the means by
    < 1e-5 posterior sds.  Checks: sigma2 mean and sd, 4 x 2 beta means and sds, each
    within 4 MCSE of the exact value (18 checks; family-wise false alarm ~1e-3).
    """
    J, n_j, q = 4, 200, 2
    beta_true = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -1.0], [2.0, 1.0]])
    X, y, groups, full = _grouped_data(3, [n_j] * J, beta=beta_true, sigma=0.8)
    a0, b0 = 2.0, 1.0
    prior = HierarchicalPrior(mu_mean=0.0, mu_scale=10.0, tau=InvGamma(1e6, 1e6 * 1e6), sigma=InvGamma(a0, b0))
    post = HierarchicalRegression(prior).sample(X, y, groups, chains=4, draws=2500, warmup=500, seed=11, progress=False)
    ols, xtx_inv, rss = _per_group_ols(full, y, groups, J)
    an, bn = a0 + (J * n_j - J * q) / 2.0, b0 + rss / 2.0
    s2_mean, s2_sd = bn / (an - 1.0), bn / ((an - 1.0) * math.sqrt(an - 2.0))
    s2 = post["sigma2"]
    fails = _z_failures("sigma2 mean", s2.mean(), mcse_mean(s2), s2_mean)
    fails += _z_failures("sigma2 sd", s2.std(), mcse_sd(s2), s2_sd)
    B = post["beta"]
    beta_sd = np.sqrt(s2_mean * np.diagonal(xtx_inv, axis1=1, axis2=2))
    fails += _z_failures("beta mean", B.mean(axis=(0, 1)), mcse_mean(B), ols)
    fails += _z_failures("beta sd", B.std(axis=(0, 1)), mcse_sd(B), beta_sd)
    assert not fails, "\n".join(fails)


@pytest.fixture(scope="module", params=["InvGamma", "InvWishart"])
def tau_tiny(request):
    """tau^2 pinned at 1e-8 (tau = 1e-4), 4 groups x 200 rows, default sampler; and the pooled flat model.

    InvGamma: tau_k^2 ~ IG(1e6, 1e-2).  InvWishart: Sigma ~ IW(1e6, 1e-2 I), i.e. Sigma ~ 1e-8 I.
    """
    J, n_j = 4, 200
    beta_true = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -1.0], [2.0, 1.0]])
    X, y, groups, _ = _grouped_data(3, [n_j] * J, beta=beta_true, sigma=0.8)
    mu_mean, mu_scale, a0, b0 = 0.0, 10.0, 2.0, 1.0
    tau = InvGamma(1e6, 1e6 * 1e-8) if request.param == "InvGamma" else InvWishart(1e6, 1e6 * 1e-8)
    prior = HierarchicalPrior(mu_mean=mu_mean, mu_scale=mu_scale, tau=tau, sigma=InvGamma(a0, b0))
    post = HierarchicalRegression(prior).sample(X, y, groups, chains=4, draws=2500, warmup=500, seed=12, progress=False)
    flat = gibbsreg.LinearRegression(gibbsreg.SemiConjugate(mean=mu_mean, scale=mu_scale, a=a0, b=b0)).sample(
        X, y, chains=4, draws=2500, warmup=500, seed=13, progress=False)
    return post, flat


def test_tau_tiny_sets_every_beta_j_to_mu(tau_tiny):
    """beta_j - mu ~ N(0, ~1e-8) a posteriori: |beta_j - mu| < 1e-3 = 10 tau for every draw (chance failure ~1e-18)."""
    post, _ = tau_tiny
    dev = np.abs(post["beta"] - post["mu"][:, :, None, :]).max()
    assert dev < 1e-3, f"max |beta_j - mu| = {dev:.3g}, expected ~ tau = 1e-4"
    tau2 = post["tau2"] if "tau2" in post else np.diagonal(post["Sigma"], axis1=2, axis2=3)
    assert np.allclose(tau2, 1e-8, rtol=0.01)


def test_tau_tiny_mu_matches_pooled_flat_model(tau_tiny):
    """As tau -> 0, mu's posterior is the pooled regression's beta posterior (prior N(mu_mean, mu_scale^2),
    sigma^2 ~ IG(a, b)); tau^2 = 1e-8 next to sigma^2/n_j ~ 3e-3 changes it by ~1e-6 relative.
    mu: 2 means and 2 sds, log sigma2: 1 mean and 1 sd, within 4 combined MCSE (family-wise
    false alarm ~4e-4).

    The plain centred Gibbs sampler cannot pass this: each sweep moves mu by ~tau / sqrt(J),
    so mu stays where it started.  The interweaving step helps only if it moves mu
    whatever tau's prior: a joint (mu, tau) proposal that a concentrated tau prior rejects
    leaves mu stuck too.
    """
    post, flat = tau_tiny
    fails = _mean_sd_failures("mu vs pooled beta", post["mu"], flat["beta"])
    fails += _mean_sd_failures("log sigma2 vs pooled", np.log(post["sigma2"]), np.log(flat["sigma2"]))
    chain_means = np.array2string(post["mu"].mean(axis=1), precision=3)
    assert not fails, "\n".join(fails) + f"\nper-chain means of mu:\n{chain_means}"


@pytest.mark.parametrize("sampler", SAMPLERS or (None,))
def test_pinned_variances_give_exact_gaussian_posterior(sampler):
    """sigma^2 ~ IG(1e6, 1e6 s^2) and tau_k^2 ~ IG(1e6, 1e6 t_k^2): both pinned (+-0.1%).

    Then y_j | mu ~ N(X_j mu, s^2 I + X_j T X_j') and mu | y, beta_j | y are exactly Gaussian:
    P = S0^-1 + sum_j X_j' V_j^-1 X_j, E[mu|y] = P^-1 (S0^-1 m0 + sum_j X_j' V_j^-1 y_j);
    beta_j | mu, y ~ N(A_j^-1 (T^-1 mu + X_j'y_j / s^2), A_j^-1), A_j = T^-1 + X_j'X_j / s^2, so
    Cov(beta_j | y) = A_j^-1 + A_j^-1 T^-1 P^-1 T^-1 A_j^-1.  Here t^2 = (0.05, 0.02) is well
    below s^2 / n_j = 0.1 (the regime where the centred sampler mixes slowly).  The pinning
    changes the answer by ~1e-3 relative.  Checks: 2 + 8 x 2 means and as many sds within
    4 MCSE of the exact values (36 checks; family-wise false alarm ~2e-3).
    """
    J, n_j, s2, t2 = 8, 10, 1.0, np.array([0.05, 0.02])
    X, y, groups, full = _grouped_data(5, [n_j] * J, sigma=1.0, tau=0.2)
    m0, S0 = np.array([0.5, -0.5]), np.diag([4.0, 4.0])
    prior = HierarchicalPrior(mu_mean=m0, mu_scale=np.sqrt(np.diag(S0)), tau=InvGamma(1e6, 1e6 * t2),
                              sigma=InvGamma(1e6, 1e6 * s2))
    post = _model(prior, sampler=sampler).sample(X, y, groups, chains=4, draws=5000, warmup=500, seed=21, progress=False)
    T = np.diag(t2)
    S0inv = np.linalg.inv(S0)
    P, rhs = S0inv.copy(), S0inv @ m0
    for j in range(J):
        Xj, yj = full[groups == j], y[groups == j]
        Vinv = np.linalg.inv(s2 * np.eye(n_j) + Xj @ T @ Xj.T)
        P += Xj.T @ Vinv @ Xj
        rhs += Xj.T @ Vinv @ yj
    mu_cov = np.linalg.inv(P)
    mu_mean = mu_cov @ rhs
    beta_mean, beta_sd = np.empty((J, 2)), np.empty((J, 2))
    Tinv = np.linalg.inv(T)
    for j in range(J):
        Xj, yj = full[groups == j], y[groups == j]
        Ainv = np.linalg.inv(Tinv + Xj.T @ Xj / s2)
        beta_mean[j] = Ainv @ (Tinv @ mu_mean + Xj.T @ yj / s2)
        beta_sd[j] = np.sqrt(np.diag(Ainv + Ainv @ Tinv @ mu_cov @ Tinv @ Ainv))
    mu, B = post["mu"], post["beta"]
    fails = _z_failures("mu mean", mu.mean(axis=(0, 1)), mcse_mean(mu), mu_mean)
    fails += _z_failures("mu sd", mu.std(axis=(0, 1)), mcse_sd(mu), np.sqrt(np.diag(mu_cov)))
    fails += _z_failures("beta mean", B.mean(axis=(0, 1)), mcse_mean(B), beta_mean)
    fails += _z_failures("beta sd", B.std(axis=(0, 1)), mcse_sd(B), beta_sd)
    assert not fails, "\n".join(fails)


# =============================================================================================
# backends: same draws for the same seed, same distribution for different seeds
# =============================================================================================

def _variant_prior(name):
    if name == "invgamma":
        return HierarchicalPrior(mu_mean=0.0, mu_scale=2.0, tau=InvGamma(2.0, 1.0), sigma=InvGamma(2.0, 1.0)), None
    if name == "halfcauchy":
        return HierarchicalPrior(mu_mean=0.0, mu_scale=2.0, tau=HalfCauchy(1.0), sigma=InvGamma(2.0, 1.0)), None
    if name == "invwishart":
        return HierarchicalPrior(mu_mean=0.0, mu_scale=2.0, tau=InvWishart(4.0, 1.0), sigma=InvGamma(2.0, 1.0)), None
    if name == "pooled_varying":
        return HierarchicalPrior(mu_mean=0.0, mu_scale=2.0, tau=InvGamma(2.0, 1.0), sigma=InvGamma(2.0, 1.0),
                                 pooled_mean=0.0, pooled_scale=2.0), ["intercept", "x0"]
    if name == "group_variance":
        return HierarchicalPrior(mu_mean=0.0, mu_scale=2.0, tau=InvGamma(2.0, 1.0), sigma=InvGamma(2.0, 1.0),
                                 group_variance=True), None
    if name == "iw_pooled_groupvar":
        return HierarchicalPrior(mu_mean=0.0, mu_scale=2.0, tau=InvWishart(4.0, 1.0), sigma=InvGamma(3.0, 2.0),
                                 pooled_mean=0.0, pooled_scale=2.0, group_variance=True), ["intercept", "x0"]
    if name == "defaults":  # data-scaled defaults (half-Cauchy on tau)
        return HierarchicalPrior(), None
    raise KeyError(name)


VARIANTS = ("invgamma", "halfcauchy", "invwishart", "pooled_varying", "group_variance", "iw_pooled_groupvar", "defaults")


@pytest.fixture(scope="module")
def small_data():
    """5 groups of 3-14 rows, two covariates x0, x1 (three coefficients with the intercept)."""
    X, y, groups, _ = _grouped_data(1, [3, 5, 8, 10, 14], px=2, sigma=0.7, tau=0.8)
    return X, y, groups


def _assert_same_draws(a, b, what, rtol=1e-9):
    assert sorted(a) == sorted(b), what
    for name in a:
        x, z = a[name], b[name]
        assert x.shape == z.shape, f"{what}: {name} shapes {x.shape} vs {z.shape}"
        scale = max(float(np.abs(x).max()), 1e-300)
        np.testing.assert_allclose(z, x, rtol=rtol, atol=rtol * scale, err_msg=f"{what}: {name}")


@pytest.mark.parametrize("sampler", SAMPLERS or (None,))
@pytest.mark.parametrize("variant", VARIANTS)
def test_backends_same_seed_same_draws(small_data, variant, sampler):
    X, y, groups = small_data
    prior, varying = _variant_prior(variant)
    model = _model(prior, varying=varying, sampler=sampler)
    kw = dict(chains=3, draws=60, warmup=40, thin=2, seed=7, progress=False)
    a = model.sample(X, y, groups, backend="numba", **kw)
    b = model.sample(X, y, groups, backend="numpy", **kw)
    assert all(np.isfinite(a[k]).all() for k in a)
    _assert_same_draws(a, b, f"{variant}/{sampler}: numba vs numpy")


def _log_positive(post, name):
    x = post[name]
    if name == "Sigma":  # diagonal on the log scale, correlations on the raw scale
        d = np.sqrt(np.diagonal(x, axis1=2, axis2=3))
        corr = x / (d[..., :, None] * d[..., None, :])
        iu = np.triu_indices(x.shape[-1], 1)
        return np.concatenate([np.log(d**2), corr[..., iu[0], iu[1]]], axis=-1)
    return np.log(x) if name in ("tau2", "sigma2") else x


@pytest.mark.parametrize("variant", ["iw_pooled_groupvar", "halfcauchy"])
def test_backends_agree_in_distribution(small_data, variant):
    """Numba (seed 101) and NumPy (seed 202): every scalar's mean and sd within 4 combined MCSE.

    iw_pooled_groupvar: beta 10, mu 2, Sigma 3 (2 log-variances, 1 correlation), alpha 1,
    log sigma2 5 -> 42 checks; halfcauchy: beta 15, mu 3, log tau2 3, log sigma2 1 -> 44 checks.
    Family-wise false alarm ~3e-3 each.
    """
    X, y, groups = small_data
    prior, varying = _variant_prior(variant)
    model = HierarchicalRegression(prior, varying=varying)
    kw = dict(chains=4, draws=3000, warmup=500, progress=False)
    a = model.sample(X, y, groups, backend="numba", seed=101, **kw)
    b = model.sample(X, y, groups, backend="numpy", seed=202, **kw)
    fails = []
    for name in a:
        fails += _mean_sd_failures(name, _log_positive(a, name), _log_positive(b, name))
    assert not fails, "\n".join(fails)


# =============================================================================================
# reproducibility
# =============================================================================================

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("variant", ["invgamma", "invwishart", "group_variance"])
def test_chain_draws_do_not_depend_on_number_of_chains(small_data, variant, backend):
    X, y, groups = small_data
    prior, varying = _variant_prior(variant)
    model = HierarchicalRegression(prior, varying=varying)
    kw = dict(draws=50, warmup=30, seed=99, backend=backend, progress=False)
    two = model.sample(X, y, groups, chains=2, **kw)
    five = model.sample(X, y, groups, chains=5, **kw)
    for name in two:
        np.testing.assert_array_equal(five[name][:2], two[name], err_msg=name)


def test_chain_draws_do_not_depend_on_threads_or_chunks(small_data, monkeypatch):
    import numba

    from gibbsreg import sampling

    X, y, groups = small_data
    prior, varying = _variant_prior("halfcauchy")
    model = HierarchicalRegression(prior, varying=varying)
    kw = dict(chains=3, draws=40, warmup=25, thin=2, seed=5, backend="numba", progress=False)
    ref = model.sample(X, y, groups, **kw)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one_thread = model.sample(X, y, groups, **kw)
    finally:
        numba.set_num_threads(threads)
    monkeypatch.setattr(sampling, "_next_chunk", lambda chunk, n_iter, seconds, cap: 1)  # one iteration per call
    chunked = model.sample(X, y, groups, **kw)
    for name in ref:
        np.testing.assert_array_equal(one_thread[name], ref[name], err_msg=f"{name}: 1 thread vs {threads}")
        np.testing.assert_array_equal(chunked[name], ref[name], err_msg=f"{name}: chunks of 1 iteration")


def test_row_order_and_label_spelling_do_not_change_draws():
    """Integer labels (non-contiguous) in sorted row order vs shuffled rows with labels 'county_NN'.

    Both label sets sort the groups the same way, so group j gets the same random numbers;
    only floating-point summation order differs (sufficient statistics), hence rtol 1e-8.
    """
    codes = np.array([3, 7, 10, 42, 99])
    X, y, g_idx, _ = _grouped_data(8, [4, 6, 9, 5, 7], px=1, sigma=0.5)
    g_int = codes[g_idx]
    prior, _ = _variant_prior("invgamma")
    kw = dict(chains=2, draws=80, warmup=40, seed=17, progress=False)
    a = HierarchicalRegression(prior).sample(X, y, g_int, **kw)
    perm = np.random.default_rng(0).permutation(len(y))
    g_str = np.array([f"county_{c:02d}" for c in g_int[perm]])
    b = HierarchicalRegression(prior).sample(X[perm], y[perm], g_str, **kw)
    assert a.coords["group"] == codes.tolist()
    assert b.coords["group"] == [f"county_{c:02d}" for c in codes]
    order = [b.coords["group"].index(f"county_{c:02d}") for c in a.coords["group"]]
    np.testing.assert_allclose(b["beta"][:, :, order], a["beta"], rtol=1e-8, atol=1e-10)
    for name in ("mu", "tau2", "sigma2"):
        np.testing.assert_allclose(b[name], a[name], rtol=1e-8, atol=1e-10, err_msg=name)


# =============================================================================================
# bad input
# =============================================================================================

def _bad_input_cases():
    rng = np.random.default_rng(0)
    n = 20
    X = rng.standard_normal((n, 1))
    y = rng.standard_normal(n)
    g = np.repeat(np.arange(4), 5)
    prior = HierarchicalPrior(mu_mean=0.0, mu_scale=1.0, tau=InvGamma(2.0, 1.0), sigma=InvGamma(2.0, 1.0))
    model = HierarchicalRegression(prior)
    kw = dict(chains=1, draws=5, warmup=5, progress=False)
    g_nan = g.astype(float)
    g_nan[3] = np.nan
    g_none = g.astype(object)
    g_none[4] = None
    g_str_none = np.array(["a"] * 10 + ["b"] * 10, dtype=object)
    g_str_none[2] = None
    X_nan = X.copy()
    X_nan[2, 0] = np.nan

    def categorical(kind):
        import pandas as pd
        cat = pd.Categorical(g, categories=[0, 1, 2, 3, 4])  # category 4 is unused
        return cat if kind == "raw" else pd.Series(cat)

    return {
        "single group": (lambda: model.sample(X, y, np.zeros(n), **kw), r"at least 2 groups"),
        "NaN label (float array)": (lambda: model.sample(X, y, g_nan, **kw), r"NaN"),
        "None label (object array)": (lambda: model.sample(X, y, g_none, **kw), r"missing|None"),
        "None label (object array of strings)": (lambda: model.sample(X, y, g_str_none, **kw), r"missing|None"),
        "groups length mismatch": (lambda: model.sample(X, y, g[:-1], **kw), r"19 labels.*20 rows"),
        "groups 2-D": (lambda: model.sample(X, y, g[:, None], **kw), r"1-D"),
        "groups None": (lambda: model.sample(X, y, None, **kw), r"groups"),
        "unused category (pandas Series)": (lambda: model.sample(X, y, categorical("series"), **kw), r"no rows"),
        "unused category (pandas Categorical)": (lambda: model.sample(X, y, categorical("raw"), **kw), r"no rows"),
        "varying names an unknown column": (
            lambda: HierarchicalRegression(prior, varying=["floor"]).sample(X, y, g, **kw), r"'floor'"),
        "varying index out of range": (lambda: HierarchicalRegression(prior, varying=[5]).sample(X, y, g, **kw), r"out of range"),
        "varying empty": (lambda: HierarchicalRegression(prior, varying=[]).sample(X, y, g, **kw), r"varying"),
        "InvWishart df = q - 1": (
            lambda: HierarchicalRegression(HierarchicalPrior(tau=InvWishart(1.0, 1.0))).sample(X, y, g, **kw), r"df"),
        "InvWishart df < q - 1": (
            lambda: HierarchicalRegression(HierarchicalPrior(tau=InvWishart(0.5, 1.0))).sample(X, y, g, **kw), r"df"),
        "InvWishart non-positive df": (lambda: InvWishart(0.0, 1.0), r"df"),
        "InvWishart non-positive scale": (lambda: InvWishart(3.0, -1.0), r"scale"),
        "InvGamma a = 0": (lambda: InvGamma(0.0, 1.0), r"\ba\b"),
        "InvGamma b < 0": (lambda: InvGamma(1.0, -1.0), r"\bb\b"),
        "InvGamma a NaN": (lambda: InvGamma(np.nan, 1.0), r"\ba\b"),
        "InvGamma b inf": (lambda: InvGamma(1.0, np.inf), r"\bb\b"),
        "HalfCauchy scale = 0": (lambda: HalfCauchy(0.0), r"scale"),
        "HalfCauchy scale < 0 (vector)": (lambda: HalfCauchy([1.0, -2.0]), r"scale"),
        "mu_scale = 0": (lambda: HierarchicalPrior(mu_scale=0.0), r"mu_scale"),
        "pooled_scale < 0": (lambda: HierarchicalPrior(pooled_scale=-1.0), r"pooled_scale"),
        "mu_mean NaN": (lambda: HierarchicalPrior(mu_mean=np.nan), r"mu_mean"),
        "tau of the wrong type": (lambda: HierarchicalPrior(tau=gibbsreg.SemiConjugate()), r"tau"),
        "sigma of the wrong type": (lambda: HierarchicalPrior(sigma=HalfCauchy(1.0)), r"sigma"),
        "tau a with the wrong length": (
            lambda: HierarchicalRegression(HierarchicalPrior(tau=InvGamma([1.0, 2.0, 3.0], 1.0))).sample(X, y, g, **kw),
            r"3 entries"),
        "NaN in X": (lambda: model.sample(X_nan, y, g, **kw), r"X contains NaN at row 2"),
        "inf in y": (lambda: model.sample(X, np.where(np.arange(n) == 5, np.inf, y), g, **kw), r"y contains inf at row 5"),
    }


_BAD = _bad_input_cases()


@pytest.mark.parametrize("case", list(_BAD))
def test_bad_input_raises_value_error(case):
    call, match = _BAD[case]
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tau", ["invgamma", "halfcauchy", "invwishart"])
def test_groups_smaller_than_q_sample_fine(tau, backend):
    """Groups of 1, 1 and 2 rows with q = 3 varying coefficients: the proper hyperprior identifies them."""
    X, y, groups, _ = _grouped_data(4, [1, 1, 2, 12, 15], px=2, sigma=0.5)
    taus = {"invgamma": InvGamma(2.0, 1.0), "halfcauchy": HalfCauchy(1.0), "invwishart": InvWishart(4.0, 1.0)}
    prior = HierarchicalPrior(mu_mean=0.0, mu_scale=3.0, tau=taus[tau], sigma=InvGamma(2.0, 1.0))
    post = HierarchicalRegression(prior).sample(X, y, groups, chains=2, draws=200, warmup=200, seed=3,
                                                backend=backend, progress=False)
    assert post["beta"].shape == (2, 200, 5, 3)
    for name in post:
        assert np.isfinite(post[name]).all(), name
    assert post["beta"][:, :, :3].std(axis=(0, 1)).min() > 0  # the small groups actually move


# =============================================================================================
# prediction and shrinkage
# =============================================================================================

@pytest.fixture(scope="module")
def pooled_fit():
    """Intercept and x0 vary by group, x1 is pooled; group sizes 1, 2, 30, 40, 50 (labels 'g0'..'g4');
    group 'g1' has its two rows at the same x, so it cannot identify its own slope."""
    import pandas as pd
    rng = np.random.default_rng(31)
    sizes = np.array([1, 2, 30, 40, 50])
    g_idx = np.repeat(np.arange(5), sizes)
    n = g_idx.size
    X = pd.DataFrame({"x0": rng.standard_normal(n), "x1": rng.standard_normal(n)})
    X.loc[g_idx == 1, "x0"] = 0.3
    b = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, -1.0], [-1.0, 0.5], [0.5, 2.0]])
    y = b[g_idx, 0] + b[g_idx, 1] * X["x0"].to_numpy() - 0.7 * X["x1"].to_numpy() + 0.5 * rng.standard_normal(n)
    groups = np.array([f"g{k}" for k in g_idx])
    prior = HierarchicalPrior(mu_mean=0.0, mu_scale=5.0, tau=InvGamma(2.0, 2.0), sigma=InvGamma(2.0, 0.5),
                              pooled_mean=0.0, pooled_scale=5.0)
    post = HierarchicalRegression(prior, varying=["intercept", "x0"]).sample(
        X, y, groups, chains=4, draws=1000, warmup=300, seed=41, progress=False)
    return X, y, groups, post


def test_predict_known_and_new_groups(pooled_fit):
    import pandas as pd
    _, _, _, post = pooled_fit
    Xn = pd.DataFrame({"x0": [0.5, -1.0, 0.5, 0.5], "x1": [1.0, 0.2, 1.0, 1.0]})
    groups = ["g4", "g2", "new", "g0"]
    pred = post.predict(Xn, groups=groups, seed=3)
    C, D = post.nchains, post.ndraws
    assert pred.y.shape == pred.mean_draws.shape == (C, D, 4)
    labels = post.coords["group"]
    Xv = np.column_stack([np.ones(4), Xn["x0"]])
    for i in (0, 1, 3):  # known groups use beta_j, plus the pooled part, draw by draw
        j = labels.index(groups[i])
        line = post["beta"][:, :, j] @ Xv[i] + post["alpha"][..., 0] * Xn["x1"][i]
        np.testing.assert_allclose(pred.mean_draws[..., i], line, rtol=1e-12, atol=1e-12)
        # predictive mean = posterior mean of the line + mean of sigma * z: 4 sd of that noise
        # term (independent z), false alarm 6e-5 per row
        tol = Z * math.sqrt(post["sigma2"].mean() / (C * D))
        assert abs(pred.mean[i] - line.mean()) < tol, (i, pred.mean[i], line.mean(), tol)
    width = pred.upper - pred.lower
    band = pred.line_upper - pred.line_lower
    # 'new' draws beta_new ~ N(mu, diag(tau2)): wider than the well-measured group g4 at the same x
    assert width[2] > width[0] and band[2] > 3 * band[0], (width, band)
    # the one-row group g0 borrows strength, but is still less certain than g4
    assert band[3] > band[0]
    assert np.isfinite(pred.y).all()


def test_predict_new_group_with_group_variances(small_data):
    X, y, groups = small_data
    prior, varying = _variant_prior("group_variance")
    post = HierarchicalRegression(prior, varying=varying).sample(X, y, groups, chains=2, draws=300, warmup=200,
                                                                 seed=2, progress=False)
    pred = post.predict(np.array([[0.1, 0.2], [0.1, 0.2]]), groups=[4, 1234], seed=0)
    assert np.isfinite(pred.y).all()
    assert pred.upper[1] - pred.lower[1] > pred.upper[0] - pred.lower[0]


def test_predict_errors(pooled_fit):
    _, _, _, post = pooled_fit
    with pytest.raises(ValueError, match="groups"):
        post.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="groups"):
        post.predict(np.zeros((2, 2)), groups=["g0"])
    with pytest.raises(ValueError, match="columns"):
        post.predict(np.zeros((2, 3)), groups=["g0", "g1"])


def test_shrinkage_against_least_squares(pooled_fit):
    X, y, groups, post = pooled_fit
    s = gibbsreg.shrinkage(post, X, y, groups)
    J, q = 5, 2
    assert s.no_pooling.shape == s.partial_pooling.shape == (J, q)
    assert s.complete_pooling.shape == (q,)
    assert s.labels == post.coords["group"] and list(s.coef) == ["intercept", "x0"]
    np.testing.assert_array_equal(s.sizes, [1, 2, 30, 40, 50])
    np.testing.assert_allclose(s.partial_pooling, post["beta"].mean(axis=(0, 1)), rtol=1e-12)
    # complete pooling: one OLS fit of y on (1, x0, x1), ignoring groups
    full = np.column_stack([np.ones(len(y)), X["x0"], X["x1"]])
    theta, *_ = np.linalg.lstsq(full, y, rcond=None)
    np.testing.assert_allclose(s.complete_pooling, theta[:2], rtol=1e-8, atol=1e-10)
    # no pooling: per-group OLS on (1, x0) with the pooled x1 coefficient held at its complete-pooling value
    for j, lab in enumerate(s.labels):
        rows = groups == lab
        if lab in ("g0", "g1"):  # n_j < q, and a group whose two rows share one x0 (rank 1)
            assert np.isnan(s.no_pooling[j]).all(), lab
            continue
        b, *_ = np.linalg.lstsq(full[rows, :2], y[rows] - theta[2] * full[rows, 2], rcond=None)
        np.testing.assert_allclose(s.no_pooling[j], b, rtol=1e-8, atol=1e-10, err_msg=lab)
    df = s.to_pandas()
    assert len(df) == J * q


def test_shrinkage_all_varying_is_per_group_ols(small_data):
    X, y, groups = small_data
    prior, _ = _variant_prior("invgamma")
    post = HierarchicalRegression(prior).sample(X, y, groups, chains=1, draws=20, warmup=10, seed=1, progress=False)
    s = gibbsreg.shrinkage(post, X, y, groups)
    full = np.column_stack([np.ones(len(y)), X])
    for j in range(5):
        b, *_ = np.linalg.lstsq(full[groups == j], y[groups == j], rcond=None)
        np.testing.assert_allclose(s.no_pooling[j], b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(s.complete_pooling, np.linalg.lstsq(full, y, rcond=None)[0], rtol=1e-8, atol=1e-10)


# =============================================================================================
# persistence, ArviZ, CLI
# =============================================================================================

def test_save_load_round_trip(pooled_fit, tmp_path):
    _, _, _, post = pooled_fit
    path = tmp_path / "hier.npz"
    post.save(path)
    back = gibbsreg.load(path)
    assert back.names == post.names
    for name in post:
        np.testing.assert_array_equal(back[name], post[name], err_msg=name)
    assert back.dims == post.dims and back.coords == post.coords
    assert type(back.prior) is type(post.prior)
    a, b = back.prior.to_dict(), post.prior.to_dict()
    assert a == b
    assert str(back.prior) == str(post.prior)
    for key in ("model_kind", "varying_index", "pooled_index", "names", "group_sizes", "intercept", "seed"):
        assert back.attrs[key] == post.attrs[key], key
    p1 = post.predict(np.array([[0.1, 0.2]]), groups=["g3"], seed=1)
    p2 = back.predict(np.array([[0.1, 0.2]]), groups=["g3"], seed=1)
    np.testing.assert_array_equal(p1.y, p2.y)


def test_save_load_invwishart_group_variance(small_data, tmp_path):
    X, y, groups = small_data
    prior, varying = _variant_prior("iw_pooled_groupvar")
    post = HierarchicalRegression(prior, varying=varying).sample(X, y, groups, chains=2, draws=30, warmup=10,
                                                                 seed=1, progress=False)
    post.save(tmp_path / "iw.npz")
    back = gibbsreg.load(tmp_path / "iw.npz")
    for name in post:
        np.testing.assert_array_equal(back[name], post[name], err_msg=name)
    assert back["Sigma"].shape == (2, 30, 2, 2) and back["sigma2"].shape == (2, 30, 5)
    np.testing.assert_array_equal(back.prior.iw_scale, post.prior.iw_scale)
    assert back.prior.group_variance and back.prior.tau_kind == "InvWishart"


def test_to_arviz_has_group_coordinate(pooled_fit):
    import arviz  # noqa: F401  (a test extra, needed by to_arviz)
    _, _, _, post = pooled_fit
    idata = post.to_arviz()
    ds = idata.posterior
    assert ds["beta"].dims == ("chain", "draw", "group", "coef")
    assert list(ds["group"].values) == ["g0", "g1", "g2", "g3", "g4"]
    assert list(ds["coef"].values) == ["intercept", "x0"]
    assert ds["alpha"].dims == ("chain", "draw", "pooled_coef") and list(ds["pooled_coef"].values) == ["x1"]
    np.testing.assert_array_equal(ds["beta"].sel(group="g3").values, post["beta"][:, :, 3])
    assert ds["sigma2"].dims == ("chain", "draw")


def test_cli_sample_hierarchical(tmp_path, capsys):
    from gibbsreg import cli

    X, y, g_idx, _ = _grouped_data(6, [6, 8, 5, 9], px=1, sigma=0.5)
    path = tmp_path / "data.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["y", "x", "g"])
        for yi, xi, gi in zip(y, X[:, 0], g_idx):
            w.writerow([repr(float(yi)), repr(float(xi)), f"site_{gi}"])
    out = tmp_path / "post.npz"
    rc = cli.main(["sample", str(path), "--y", "y", "--groups", "g", "--varying", "intercept", "--draws", "50",
                   "--warmup", "20", "--quiet", "--out", str(out)])
    assert rc == 0
    post = gibbsreg.load(out)
    assert post["beta"].shape == (4, 50, 4, 1)
    assert post["alpha"].shape == (4, 50, 1) and post.coords["pooled_coef"] == ["x"]
    assert post.coords["group"] == ["site_0", "site_1", "site_2", "site_3"]
    assert post.attrs["model_kind"] == "hierarchical"
    assert "mu[intercept]" in capsys.readouterr().out


def test_predict_keeps_mixed_label_types():
    """[3, "new"] must predict group 3 as the fitted group 3 (np.asarray would turn 3 into "3")."""
    data = gibbsreg.datasets.synthetic_hierarchical(6, 8, 2, tau=1.0, seed=4)
    post = HierarchicalRegression().sample(data.X, data.y, data.groups, chains=2, draws=200, warmup=50, seed=1,
                                           progress=False)
    rows = np.zeros((2, 1))
    mixed = post.predict(rows, groups=[3, "new"], seed=0)
    known = post.predict(rows[:1], groups=np.array([3]), seed=0)
    np.testing.assert_allclose(mixed.mean_draws[..., 0], known.mean_draws[..., 0])
    np.testing.assert_allclose(mixed.mean_draws[..., 0], post["beta"][:, :, 3, 0])
