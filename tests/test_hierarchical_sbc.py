"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018,
arXiv:1804.06788) of the hierarchical Gibbs sampler, one variant at a time.

For each replication: draw every parameter from an explicit proper prior (numbers fixed
below, never the data-scaled defaults), simulate small grouped data (J = 6 groups x 4 rows,
intercept + one covariate x0 ~ N(0, 1)), run the sampler (one chain, warm-up 100, then
KEPT = 99 draws kept with thinning), and record the rank of each true value among the kept
draws (0..99).  If the sampler draws from the posterior, the ranks are uniform (up to the
residual autocorrelation left after thinning).  The ranks are pooled into 10 bins of 10
and tested with a chi-square test (9 d.o.f.); a quantity fails when p < P_MIN = 1e-4.

Quantities ranked, per variant: mu_k, tau2_k (Sigma_kk for the inverse-Wishart, and
Sigma_01), one group's beta_0k, the pooled alpha, sigma2 (group 0's with per-group
variances) and the log-likelihood log p(y | theta) (a joint test quantity: it is sensitive to
errors in the dependence between parameters that the marginal ranks cannot see).

Sizes: L = 500 replications per variant and sampler in CI (~1 s each once compiled: one
`sample` call costs ~1.5 ms with one Numba thread, which the module fixture sets because a
single chain gains nothing from more threads and a busy machine makes thread hand-offs slow),
L = 4000 in the tests marked slow.

False alarms: 6-9 quantities per variant, 5 variants, and each sampler (interweaving
"asis" and "centered") -> 78 p-values per run, so the family-wise false-alarm rate is
<= 78 x 1e-4 ~ 0.8% (Bonferroni).  Seeds are fixed, so a run is deterministic; the rate is
the chance that a correct change of the random streams trips the test.

Power (what the test can and cannot detect), measured with the negative controls below, which
fit a prior different from the generating one (a wrong conditional acts the same way):
* tau^2 prior scale 3x too large: p underflows to 0 at L = 500 (run in CI);
* the classic off-by-one in tau^2's shape, IG(a + (J - 1)/2) instead of IG(a + J/2),
  emulated by fitting a - 1/2 (J = 6): detected at L = 500 for 4 of 4 seeds tried
  (p = 1e-10 .. 5e-5), at L = 150 for only 1 of 4 (p = 7e-6 .. 0.13); at L = 4000 (slow test);
* the same off-by-one in sigma^2's shape, IG(a + (N - 1)/2) (N = 24 rows, a 2% change):
  NOT detected at L = 500 (p = 0.3) or 1000 (p = 0.01), detected at L = 4000 (p ~ 1e-24;
  slow test).
Smaller errors (a few % in a scale or shape) are beyond SBC at these sizes; the closed-form
and outside-reference tests in test_hierarchical.py are the sharper instruments there.  The
NumPy backend is not run here: it produces the same draws as the Numba kernel for the same
seed (test_hierarchical.py::test_backends_same_seed_same_draws).

Limitation (half-Cauchy, and small tau generally): the half-Cauchy puts mass on tau near 0,
where the centred Gibbs sampler mixes slowly (beta_j and mu move by ~tau per sweep).  The
scale 1.5, the data sizes and thin 4 were chosen so that thinned chains mix for nearly all
replications; with a smaller scale (or more rows per group) the centred sampler's ranks for
tau2 and mu drift towards a U shape and would fail for lack of mixing, not for a wrong
conditional.  SBC with one short chain per replication cannot tell those two apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy import stats

from gibbsreg import HalfCauchy, HierarchicalPrior, HierarchicalRegression, InvGamma, InvWishart

J, N_PER = 6, 4  # groups x rows per group
KEPT = 99  # kept draws per replication: ranks 0..99
BINS = 10  # 10 ranks per bin, 15 expected counts per bin at L = 150
WARMUP = 100
P_MIN = 1e-4  # per-quantity threshold of the chi-square p-value
L_CI, L_SLOW = 500, 4000
SAMPLERS = tuple(getattr(HierarchicalRegression, "SAMPLERS", ())) or (None,)


@pytest.fixture(autouse=True, scope="module")
def one_numba_thread():
    """Single-chain runs: one thread avoids waiting on worker threads (results do not depend on it)."""
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(threads)


@dataclass
class Variant:
    """The generating prior, which is also the prior the sampler is given."""

    name: str
    q: int  # varying coefficients (1: intercept only, x0 pooled; 2: intercept and x0 vary)
    tau: tuple  # ("ig", a, b) | ("hc", scale) | ("iw", df, psi_scalar)
    sigma: tuple = (3.0, 1.0)  # IG(a, b) on sigma^2 (mean 0.5)
    group_variance: bool = False
    mu_mean: float = 0.0
    mu_scale: float = 1.0
    pooled_mean: float = 0.0
    pooled_scale: float = 1.0
    thin: int = 3
    extra: dict = field(default_factory=dict)

    def prior(self, tau=None, sigma=None):
        tau = tau or self.tau
        sigma = sigma or self.sigma
        if tau[0] == "ig":
            t = InvGamma(tau[1], tau[2])
        elif tau[0] == "hc":
            t = HalfCauchy(tau[1])
        else:
            t = InvWishart(tau[1], tau[2])
        kw = dict(mu_mean=self.mu_mean, mu_scale=self.mu_scale, tau=t, sigma=InvGamma(*sigma),
                  group_variance=self.group_variance)
        if self.q == 1:
            kw.update(pooled_mean=self.pooled_mean, pooled_scale=self.pooled_scale)
        return HierarchicalPrior(**kw)

    def model(self, sampler=None, **prior_overrides):
        kw = {} if sampler is None else {"sampler": sampler}
        return HierarchicalRegression(self.prior(**prior_overrides), varying=["intercept"] if self.q == 1 else None, **kw)


VARIANTS = {
    # tau_k^2 ~ IG(3, 2): mean 1; sigma^2 ~ IG(3, 1): mean 0.5; mu ~ N(0, 1)
    "invgamma": Variant("invgamma", q=2, tau=("ig", 3.0, 2.0)),
    # tau_k ~ half-Cauchy(0, 1.5)
    "halfcauchy": Variant("halfcauchy", q=2, tau=("hc", 1.5), thin=4),
    # Sigma ~ IW(5, 2 I): mean I
    "invwishart": Variant("invwishart", q=2, tau=("iw", 5.0, 2.0)),
    # intercept varies, slope of x0 pooled: alpha ~ N(0, 1)
    "pooled_varying": Variant("pooled_varying", q=1, tau=("ig", 3.0, 2.0)),
    # sigma_j^2 ~ IG(3, 1) per group
    "group_variance": Variant("group_variance", q=2, tau=("ig", 3.0, 2.0), group_variance=True),
}


def simulate(v: Variant, rng):
    """One draw of (theta, y) from the joint model; returns X (n, 1), y, groups, truth dict, design pieces."""
    n = J * N_PER
    groups = np.repeat(np.arange(J), N_PER)
    x = rng.standard_normal(n)
    q = v.q
    mu = v.mu_mean + v.mu_scale * rng.standard_normal(q)
    if v.tau[0] == "ig":
        Sigma = np.diag(v.tau[2] / rng.standard_gamma(v.tau[1], q))
    elif v.tau[0] == "hc":
        Sigma = np.diag((v.tau[1] * np.abs(rng.standard_cauchy(q))) ** 2)
    else:
        Sigma = np.atleast_2d(stats.invwishart.rvs(v.tau[1], v.tau[2] * np.eye(q), random_state=rng))
    beta = mu + rng.standard_normal((J, q)) @ np.linalg.cholesky(Sigma).T
    a, b = v.sigma
    sigma2 = b / rng.standard_gamma(a, J) if v.group_variance else np.full(J, b / rng.standard_gamma(a))
    full = np.column_stack([np.ones(n), x])
    alpha = v.pooled_mean + v.pooled_scale * rng.standard_normal(2 - q)  # empty when q = 2
    line = np.einsum("ik,ik->i", full[:, :q], beta[groups]) + full[:, q:] @ alpha
    y = line + np.sqrt(sigma2[groups]) * rng.standard_normal(n)
    truth = {"beta": beta, "mu": mu, "Sigma": Sigma, "alpha": alpha, "sigma2": sigma2}
    return x[:, None], y, groups, full, truth


def loglik(full, y, groups, q, beta, alpha, sigma2):
    """log p(y | theta) for S parameter sets: beta (S, J, q), alpha (S, r), sigma2 (S, J) -> (S,)."""
    line = np.einsum("ik,sik->si", full[:, :q], beta[:, groups]) + alpha @ full[:, q:].T
    s2 = sigma2[:, groups]
    return -0.5 * np.sum(np.log(2 * np.pi * s2) + (y - line) ** 2 / s2, axis=1)


def ranks_one(v: Variant, post, truth, full, y, groups):
    """Rank (0..KEPT) of each true quantity among the kept draws of chain 0."""
    q = v.q
    beta = post["beta"][0]  # (S, J, q)
    mu = post["mu"][0]
    Sigma = post["Sigma"][0] if "Sigma" in post else None
    tau2 = post["tau2"][0] if "tau2" in post else np.diagonal(Sigma, axis1=1, axis2=2)
    S = beta.shape[0]
    alpha = post["alpha"][0] if "alpha" in post else np.zeros((S, 0))
    s2 = post["sigma2"][0]
    s2_all = s2 if s2.ndim == 2 else np.repeat(s2[:, None], J, axis=1)
    draws = {}
    true = {}
    for k in range(q):
        draws[f"mu[{k}]"], true[f"mu[{k}]"] = mu[:, k], truth["mu"][k]
        draws[f"tau2[{k}]"], true[f"tau2[{k}]"] = tau2[:, k], truth["Sigma"][k, k]
        draws[f"beta[0,{k}]"], true[f"beta[0,{k}]"] = beta[:, 0, k], truth["beta"][0, k]
    if Sigma is not None and q == 2:
        draws["Sigma[0,1]"], true["Sigma[0,1]"] = Sigma[:, 0, 1], truth["Sigma"][0, 1]
    if q == 1:
        draws["alpha"], true["alpha"] = alpha[:, 0], truth["alpha"][0]
    draws["sigma2[0]"], true["sigma2[0]"] = s2_all[:, 0], truth["sigma2"][0]
    draws["loglik"] = loglik(full, y, groups, q, beta, alpha, s2_all)
    true["loglik"] = loglik(full, y, groups, q, truth["beta"][None], truth["alpha"][None], truth["sigma2"][None])[0]
    return {k: int(np.sum(draws[k] < true[k])) for k in draws}


def run_sbc(v: Variant, L: int, seed: int, sampler=None, **prior_overrides):
    """Ranks (L,) per quantity.  prior_overrides fit a prior different from the generating one."""
    rng = np.random.default_rng(seed)
    model = v.model(sampler, **prior_overrides)
    out: dict[str, list[int]] = {}
    for _ in range(L):
        X, y, groups, full, truth = simulate(v, rng)
        post = model.sample(X, y, groups, chains=1, draws=KEPT, warmup=WARMUP, thin=v.thin,
                            seed=int(rng.integers(2**63)), progress=False)
        for k, r in ranks_one(v, post, truth, full, y, groups).items():
            out.setdefault(k, []).append(r)
    return {k: np.asarray(r) for k, r in out.items()}


def rank_pvalues(ranks):
    """Chi-square p-value of uniformity of the binned ranks, and the bin counts, per quantity."""
    out = {}
    for k, r in ranks.items():
        counts = np.bincount(r * BINS // (KEPT + 1), minlength=BINS)
        out[k] = (stats.chisquare(counts).pvalue, counts)
    return out


def _check_uniform(ranks, label):
    res = rank_pvalues(ranks)
    bad = [f"{label} {k}: p = {p:.2g}, bin counts {c.tolist()}" for k, (p, c) in res.items() if not p >= P_MIN]
    assert not bad, "ranks not uniform (p < %g):\n" % P_MIN + "\n".join(bad)


# ---------------------------------------------------------------------------------------------
# CI: L = 500 replications per variant and sampler (~1 s each once compiled)
# ---------------------------------------------------------------------------------------------

SEEDS = {"invgamma": 101, "halfcauchy": 202, "invwishart": 303, "pooled_varying": 404, "group_variance": 505}


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_sbc_ranks_uniform(variant, sampler):
    ranks = run_sbc(VARIANTS[variant], L_CI, SEEDS[variant], sampler)
    assert all(len(r) == L_CI for r in ranks.values())
    _check_uniform(ranks, f"{variant}/{sampler}")


def test_sbc_detects_misspecified_prior():
    """Negative control: the same machinery must reject a sampler whose prior differs from the
    generating one.  Simulating with tau_k^2 ~ IG(3, 2) but fitting IG(3, 6) (tau^2 prior scale 3x
    too large) pushes the true tau2's ranks down (p underflows to 0 at L = 500; threshold 1e-4)."""
    v = VARIANTS["invgamma"]
    ranks = run_sbc(v, L_CI, seed=909, tau=("ig", 3.0, 6.0))
    res = rank_pvalues(ranks)
    p_tau = min(res["tau2[0]"][0], res["tau2[1]"][0])
    assert p_tau < P_MIN, f"mis-specified tau prior not detected: p = {p_tau:.3g}"
    # the direction: the truth sits low among draws from a posterior pulled upwards
    assert np.mean(ranks["tau2[0]"]) < 0.4 * KEPT


# ---------------------------------------------------------------------------------------------
# slow: L = 4000 per variant and sampler (~6 s each), and the power of off-by-one controls
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_sbc_ranks_uniform_slow(variant, sampler):
    """Same as the CI test with L = 4000: family-wise false alarm <= 0.8% over the 78 p-values."""
    ranks = run_sbc(VARIANTS[variant], L_SLOW, 10_000 + SEEDS[variant], sampler)
    _check_uniform(ranks, f"{variant}/{sampler} (L={L_SLOW})")


@pytest.mark.slow
@pytest.mark.parametrize("wrong", ["tau_shape", "sigma_shape"])
def test_sbc_power_off_by_one_slow(wrong):
    """At L = 4000 an off-by-one in a conditional's IG shape (emulated by fitting a - 1/2 where the
    truth uses a) is detected: tau^2 (J = 6) and sigma^2 (N = 24 rows) ranks, p < 1e-4."""
    v = VARIANTS["invgamma"]
    if wrong == "tau_shape":
        ranks = run_sbc(v, L_SLOW, seed=929, tau=("ig", 2.5, 2.0))
        res = rank_pvalues(ranks)
        p = min(res["tau2[0]"][0], res["tau2[1]"][0])
    else:
        ranks = run_sbc(v, L_SLOW, seed=919, sigma=(2.5, 1.0))
        p = rank_pvalues(ranks)["sigma2[0]"][0]
    assert p < P_MIN, f"{wrong} off-by-one not detected at L = {L_SLOW}: p = {p:.3g}"
