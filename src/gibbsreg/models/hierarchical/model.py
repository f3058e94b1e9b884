"""Hierarchical linear regression: group-level coefficients with hyperpriors.

y_ij = x_ij' beta_j + w_ij' alpha + eps_ij,  eps_ij ~ N(0, sigma^2) (or sigma_j^2),
beta_j ~ N(mu, Sigma_beta),  mu ~ N(mu_mean, diag(mu_scale^2)),
alpha ~ N(pooled_mean, diag(pooled_scale^2)),
Sigma_beta = diag(tau^2) (InvGamma on tau^2; HalfCauchy, HalfNormal, HalfStudentT or Exponential on tau),
~ InvWishart(df, scale) or Huang-Wand; sigma: InvGamma on sigma^2 or a HalfNormal, HalfStudentT or
Exponential prior on sigma (docs/scale-priors.md).

The sampler works in scaled coordinates theta' = D (theta - theta_ref), with D
the column root-mean-squares and theta_ref the complete-pooling least-squares
point; D is diagonal, so every hyperprior keeps its family (docs/maths.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ... import reference
from ...data import column_indices
from ...io.api import memory_stats, model_stats, remembered_rows
from ...io.groups import GroupStats
from ...posterior import Posterior
from ...priors import (DEFAULT_A, DEFAULT_B_FRACTION, SCALE_PRIORS, SLOPE_SCALE, HalfCauchy, HuangWand, InvGamma,
                     InvWishart,
                     _finite_array, _positive_vector, _vec, noise_prior_text, resolve_group_scale, resolve_noise_scale,
                     scale_prior_text)
from ...sampling import chain_streams, check_sampling_args
from ...runner import ChainSpec, copy_draws, new_state, run_chains, run_options
from ...runstate import fingerprint as make_fingerprint

MAX_CHUNK_ELEMENTS = 1 << 23
GROUP_PARALLEL_MIN = 512  # groups from which a chain's groups are shared between threads
GROUP_PIECES = 64  # the most threads one chain's groups are shared between


# ---------------------------------------------------------------------------------------------
# hyperpriors


class HierarchicalPrior:
    """Priors of the hierarchical model; None means a data-scaled default.

    mu ~ N(mu_mean, diag(mu_scale^2)); tau: InvGamma, HalfCauchy, HalfNormal, HalfStudentT,
    Exponential, InvWishart or HuangWand (a correlated Sigma with half-t sds); default HalfCauchy with scale
    sd(y)/sd(x_k), sd(y) for the intercept, which HalfNormal(), HalfStudentT(nu), Exponential() (rate 1/scale)
    and HuangWand() take too;
    sigma: InvGamma prior on sigma^2 (default IG(1, var(y)/2)), per group when
    group_variance, or HalfNormal, HalfStudentT or Exponential on sigma (one shared sigma; default
    scale sd(y), rate 1/sd(y)); alpha ~ N(pooled_mean, diag(pooled_scale^2)).
    Default means: 0 for slopes, mean(y) for an intercept; default scales:
    2.5 sd(y)/sd(x_k) for slopes and, for an intercept, the sd that the flat
    model's centred-intercept default implies (see gibbsreg.priors).
    """

    def __init__(self, mu_mean=None, mu_scale=None, tau=None, sigma=None, pooled_mean=None, pooled_scale=None,
                 group_variance=False):
        name = "HierarchicalPrior"
        self.mu_mean = _finite_array(mu_mean, "mu_mean", name)
        self.mu_scale = None if mu_scale is None else _positive_vector(mu_scale, "mu_scale", name)
        self.pooled_mean = _finite_array(pooled_mean, "pooled_mean", name)
        self.pooled_scale = None if pooled_scale is None else _positive_vector(pooled_scale, "pooled_scale", name)
        for v, n in ((self.mu_mean, "mu_mean"), (self.pooled_mean, "pooled_mean")):
            if v is not None and not np.isfinite(v).all():
                raise ValueError(f"{name}: {n} must be finite")
        if tau is not None and not isinstance(tau, (InvGamma, HalfCauchy, InvWishart, HuangWand) + SCALE_PRIORS):
            raise ValueError(f"{name}: tau must be InvGamma, HalfCauchy, HalfNormal, HalfStudentT, Exponential, "
                             f"InvWishart or HuangWand, got {type(tau).__name__}")
        if sigma is not None:
            try:
                resolve_noise_scale(sigma, 1.0)  # the type and scalar checks, before any data is read
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
            if group_variance and not isinstance(sigma, InvGamma):
                raise ValueError(f"{name}: group_variance=True needs an InvGamma prior on sigma^2 (one per group); "
                                 f"{type(sigma).__name__} is supported for one shared sigma")
        self.tau = tau
        self.sigma = sigma
        self.group_variance = bool(group_variance)


@dataclass
class ResolvedHierarchicalPrior:
    """Every number of the hierarchical prior, on the original coordinates."""

    varying: list[str]
    pooled: list[str]
    mu_mean: np.ndarray
    mu_scale: np.ndarray
    tau_kind: str  # "InvGamma", "HalfCauchy", "HalfNormal", "HalfStudentT", "Exponential" or "InvWishart"
    tau_a: np.ndarray | None = None
    tau_b: np.ndarray | None = None
    tau_scale: np.ndarray | None = None
    tau_nu: np.ndarray | None = None
    tau_rate: np.ndarray | None = None
    iw_df: float | None = None
    iw_scale: np.ndarray | None = None
    hw_nu: float | None = None  # HuangWand's nu (its scales A_k in tau_scale)
    sigma_a: float = 1.0
    sigma_b: float = 1.0
    group_variance: bool = False
    sigma_kind: str = "InvGamma"  # or "HalfNormal", "HalfStudentT", "Exponential" on sigma
    sigma_scale: float | None = None
    sigma_nu: float | None = None
    sigma_rate: float | None = None
    pooled_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pooled_scale: np.ndarray = field(default_factory=lambda: np.zeros(0))
    defaults: list[str] = field(default_factory=list)

    kind = "HierarchicalPrior"

    def to_dict(self) -> dict:
        out = {}
        for k, v in self.__dict__.items():
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedHierarchicalPrior":
        arrays = {"mu_mean", "mu_scale", "tau_a", "tau_b", "tau_scale", "tau_nu", "tau_rate", "iw_scale", "pooled_mean",
                  "pooled_scale"}
        return cls(**{k: (np.asarray(v, dtype=float) if k in arrays and v is not None else v) for k, v in d.items()})

    def __str__(self) -> str:
        lines = ["Prior: HierarchicalPrior" + (f" (defaults scaled to the data: {', '.join(self.defaults)})" if self.defaults else "")]
        for k, n in enumerate(self.varying):
            lines.append(f"  mu[{n}] ~ N({self.mu_mean[k]:.4g}, {self.mu_scale[k]:.4g}^2)")
        if self.tau_kind == "InvGamma":
            for k, n in enumerate(self.varying):
                lines.append(f"  tau2[{n}] ~ IG({self.tau_a[k]:.4g}, {self.tau_b[k]:.4g})")
        elif self.tau_kind == "HalfCauchy":
            for k, n in enumerate(self.varying):
                lines.append(f"  tau[{n}] ~ half-Cauchy(0, {self.tau_scale[k]:.4g})")
        elif self.tau_kind == "HuangWand":
            lines.append(f"  Sigma | a ~ IW(nu + q - 1, 2 nu diag(1/a)), nu = {self.hw_nu:.4g} (Huang-Wand)")
            for k, n in enumerate(self.varying):
                lines.append(f"    a[{n}] ~ IG(1/2, 1/{self.tau_scale[k]:.4g}^2): sd[{n}] ~ half-t({self.hw_nu:.4g}, 0, "
                             f"{self.tau_scale[k]:.4g})")
        elif self.tau_kind != "InvWishart":
            for k, n in enumerate(self.varying):
                lines.append(f"  tau[{n}] ~ {scale_prior_text(self.tau_kind, k, self.__dict__)}")
        else:
            lines.append(f"  Sigma ~ IW({self.iw_df:.4g}, Psi) with diag(Psi) = {np.array2string(np.diag(self.iw_scale), precision=4)}")
        for k, n in enumerate(self.pooled):
            lines.append(f"  alpha[{n}] ~ N({self.pooled_mean[k]:.4g}, {self.pooled_scale[k]:.4g}^2)")
        lines.append(noise_prior_text(self.__dict__, "sigma", "sigma2[j]" if self.group_variance else "sigma2"))
        return "\n".join(lines)


def resolve_hierarchical_prior(prior: HierarchicalPrior, stats, names, varying_idx, pooled_idx) -> ResolvedHierarchicalPrior:
    """Fill defaults from the data (stats of the complete-pooling design)."""
    intercept = stats.transform.intercept
    y_sd = math.sqrt(stats.y_var) if stats.y_var > 0 else max(abs(stats.y_mean), 1.0)
    x_sd = np.where(stats.x_sd > 0, stats.x_sd, stats.transform.scale)
    slope_scale = SLOPE_SCALE * y_sd / x_sd
    default_scale = slope_scale
    default_mean = np.zeros(len(x_sd))
    tau_default = y_sd / x_sd
    if intercept:
        icpt = math.sqrt((SLOPE_SCALE * y_sd) ** 2 + float(np.sum((stats.x_mean * slope_scale) ** 2)))
        default_scale = np.concatenate([[icpt], slope_scale])
        default_mean = np.concatenate([[stats.y_mean], default_mean])
        tau_default = np.concatenate([[y_sd], tau_default])
    q, r = len(varying_idx), len(pooled_idx)
    defaults = []

    def pick(value, default, k, label):
        if value is None:
            defaults.append(label)
            return default.copy()
        return _vec(value, k, label)

    mu_mean = pick(prior.mu_mean, default_mean[varying_idx], q, "mu_mean")
    mu_scale = pick(prior.mu_scale, default_scale[varying_idx], q, "mu_scale")
    pooled_mean = pick(prior.pooled_mean, default_mean[pooled_idx], r, "pooled_mean") if r else np.zeros(0)
    pooled_scale = pick(prior.pooled_scale, default_scale[pooled_idx], r, "pooled_scale") if r else np.zeros(0)
    tau = prior.tau
    res = dict(varying=[names[i] for i in varying_idx], pooled=[names[i] for i in pooled_idx],
               mu_mean=mu_mean, mu_scale=mu_scale, pooled_mean=pooled_mean, pooled_scale=pooled_scale,
               group_variance=prior.group_variance)
    if tau is None or getattr(tau, "scale", 0) is None or getattr(tau, "rate", 0) is None:
        defaults.append("tau")
    res.update(resolve_group_scale(tau, q, tau_default[varying_idx]))
    if prior.sigma is None:
        defaults.append("sigma")
        res.update(sigma_a=DEFAULT_A, sigma_b=DEFAULT_B_FRACTION * y_sd**2)
    else:
        res.update(resolve_noise_scale(prior.sigma, y_sd))
        if getattr(prior.sigma, "scale", 0) is None or getattr(prior.sigma, "rate", 0) is None:
            defaults.append("sigma")
    return ResolvedHierarchicalPrior(defaults=defaults, **res)


# ---------------------------------------------------------------------------------------------
# the model


def _column_index(spec, names, intercept):
    if spec is None:
        return list(range(len(names)))
    idx = column_indices([spec] if isinstance(spec, (str, int, np.integer)) else list(spec), names)
    if not idx:
        raise ValueError("varying is empty: at least one coefficient must vary by group")
    return idx


@dataclass
class HierProblem:
    """Kernel arguments of the hierarchical model in scaled coordinates."""

    stats: GroupStats
    q: int
    S0inv: np.ndarray
    S0inv_mu0: np.ndarray
    Sainv: np.ndarray
    Sainv_a0: np.ndarray
    tau_kind: int
    tau_a: np.ndarray
    tau_b: np.ndarray
    hc_inv_scale2: np.ndarray
    iw_df: float
    iw_Psi: np.ndarray
    sigma_a: float
    sigma_b: float
    sigma_kind: int
    sigma_par: np.ndarray
    group_variance: bool
    asis: bool

    def kernel_args(self):
        """The model's arguments of both backends, ending with the map theta = theta' / scale + theta_ref
        by which the draws are stored in the original coordinates."""
        from ...kernels.hier.dispatch import HierInputs

        s = self.stats
        data = {"G": s.G, "h": s.h, "rr": s.rr, "nj": s.n, "out_scale": np.ascontiguousarray(s.scale, dtype=float),
                "out_ref": np.ascontiguousarray(s.theta_ref, dtype=float)}
        # every other input is this problem's field of the same name
        return (HierInputs(**{f: data[f] if f in data else getattr(self, f) for f in HierInputs._fields}),)


def hier_problem(gs: GroupStats, prior: ResolvedHierarchicalPrior, q: int, asis: bool = True) -> HierProblem:
    """Express the resolved prior in the scaled coordinates theta' = D (theta - theta_ref)."""
    sv, sp = gs.scale[:q], gs.scale[q:]
    rv, rp = gs.theta_ref[:q], gs.theta_ref[q:]
    S0inv = np.diag(1.0 / (sv * prior.mu_scale) ** 2)
    S0inv_mu0 = S0inv @ (sv * (prior.mu_mean - rv))
    Sainv = np.diag(1.0 / (sp * prior.pooled_scale) ** 2) if len(sp) else np.zeros((0, 0))
    Sainv_a0 = Sainv @ (sp * (prior.pooled_mean - rp)) if len(sp) else np.zeros(0)
    zeros = np.zeros(q)
    tau_a, tau_b, hc, iw_df, iw_Psi = zeros, zeros, zeros, 0.0, np.eye(q)
    if prior.tau_kind == "InvGamma":
        kind, tau_a, tau_b = reference.TAU_INVGAMMA, prior.tau_a.copy(), prior.tau_b * sv**2
    elif prior.tau_kind in ("HalfCauchy", "HalfStudentT"):
        # half-t(nu, s) on tau is half-t(nu, D s) on D tau; half-Cauchy is nu = 1 (tau_a holds nu)
        kind, hc = reference.TAU_HALFCAUCHY, 1.0 / (sv * prior.tau_scale) ** 2
        tau_a = np.ones(q) if prior.tau_kind == "HalfCauchy" else np.asarray(prior.tau_nu, dtype=float).copy()
    elif prior.tau_kind == "HalfNormal":  # tau_b = 1/(2 (D s)^2)
        kind, tau_b = reference.TAU_HALFNORMAL, 0.5 / (sv * prior.tau_scale) ** 2
    elif prior.tau_kind == "Exponential":  # Exp(rate) on tau is Exp(rate / D) on D tau
        kind, tau_b = reference.TAU_EXPONENTIAL, prior.tau_rate / sv
    elif prior.tau_kind == "HuangWand":  # D Sigma D: the a_k scale by D_k^2, so A_k by D_k
        kind, iw_df, hc = reference.TAU_HUANGWAND, prior.hw_nu + q - 1, 1.0 / (sv * prior.tau_scale) ** 2
    else:
        kind, iw_df, iw_Psi = reference.TAU_INVWISHART, prior.iw_df, prior.iw_scale * np.outer(sv, sv)
    sigma_kind, sigma_par = _noise_args(prior)
    sigma_a, sigma_b = (prior.sigma_a, prior.sigma_b) if sigma_kind == reference.SIGMA_INVGAMMA else (-0.5, 0.0)
    return HierProblem(gs, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, kind, tau_a, tau_b, hc, float(iw_df),
                       np.ascontiguousarray(iw_Psi), float(sigma_a), float(sigma_b), sigma_kind, sigma_par,
                       prior.group_variance, asis)


def _noise_args(prior) -> tuple[int, np.ndarray]:
    """The kernels' (sigma_kind, sigma_par) of the noise prior; sigma is not rescaled (y keeps its units).
    A prior on sigma other than IG is sampled from the flat-prior conditional IG((n - 1)/2, RSS/2), so the
    kernel's (sigma_a, sigma_b) are (-1/2, 0) then (docs/scale-priors.md)."""
    kind = getattr(prior, "sigma_kind", "InvGamma")
    if kind == "HalfNormal":
        return reference.SIGMA_HALFNORMAL, np.array([0.5 / prior.sigma_scale**2, 0.0])
    if kind == "HalfStudentT":
        return reference.SIGMA_HALFT, np.array([prior.sigma_nu, prior.sigma_nu * prior.sigma_scale**2])
    if kind == "Exponential":
        return reference.SIGMA_EXPONENTIAL, np.array([prior.sigma_rate, 0.0])
    return reference.SIGMA_INVGAMMA, np.zeros(2)


def hier_initial_state(problem: HierProblem, init_gens, chains: int, J: int):
    """Dispersed start values for mu, Sigma_beta^{-1}, alpha, lambda and sigma^2 (beta_j is drawn first)."""
    s = problem.stats
    q, r = problem.q, s.G.shape[1] - problem.q
    resid_var = max(float(s.rr.sum() / max(s.n.sum(), 1.0)), 1e-300)
    mu = np.empty((chains, q))
    alpha = np.zeros((chains, r))
    Sinv = np.zeros((chains, q, q))
    lam = np.ones((chains, q))
    sigma2 = np.empty((chains, J))
    for c, g in enumerate(init_gens):
        tau2 = resid_var * np.exp(g.standard_normal(q))
        Sinv[c] = np.diag(1.0 / tau2)
        mu[c] = g.standard_normal(q) * np.sqrt(tau2)
        sigma2[c] = resid_var * math.exp(g.standard_normal())
    if problem.tau_kind in (reference.TAU_HALFCAUCHY, reference.TAU_HUANGWAND):
        lam[:] = 1.0 / np.maximum(problem.hc_inv_scale2, 1e-300)
    return mu, alpha, Sinv, lam, sigma2


class HierarchicalRegression:
    """Hierarchical (multilevel) linear regression sampled by Gibbs.

    ``varying`` names (or indexes) the coefficients that vary by group (None:
    all, intercept included); the others are pooled, as in y ~ x1 + (1 + x2 | g).
    ``sampler="asis"`` (default) adds an interweaving step (Yu & Meng 2011) that
    redraws (mu, tau) in the non-centred parameterisation, keeping tau well mixed
    whether groups carry little or much information; ``"centered"`` is the plain
    centred Gibbs sampler.
    """

    SAMPLERS = ("asis", "centered")

    def __init__(self, prior: HierarchicalPrior | None = None, varying=None, intercept: bool = True,
                 sampler: str = "asis"):
        if sampler not in self.SAMPLERS:
            raise ValueError(f"sampler must be one of {self.SAMPLERS}, got {sampler!r}")
        self.sampler = sampler
        if prior is None:
            prior = HierarchicalPrior()
        if not isinstance(prior, HierarchicalPrior):
            raise ValueError(f"HierarchicalRegression: prior must be a HierarchicalPrior, got {type(prior).__name__}")
        self.prior = prior
        self.varying = varying
        self.intercept = bool(intercept)

    def _entry(self, X, y, groups, stats=None, who="HierarchicalRegression.sample", weights=None):
        """Data entry: statistics from (X, y, groups[, weights]) or ``stats=``, the column split (everything before
        the prior)."""
        source = model_stats(X, y, groups, stats=stats, intercept=self.intercept, grouped=True, who=who,
                             weights=weights)
        if source.J < 2:
            raise ValueError(f"the hierarchical model needs at least 2 groups; got {source.J}")
        names = list(source.names)
        varying_idx = _column_index(self.varying, names, self.intercept)
        pooled_idx = [i for i in range(source.p) if i not in varying_idx]
        order = np.array(varying_idx + pooled_idx)
        flat_stats = source.pooled.to_sufficient()
        gs = source.to_group_stats(order, flat_stats.transform.beta_ref)
        design = DesignInfo(names, int(source.n_rows), self.intercept)
        return design, source.labels, varying_idx, pooled_idx, flat_stats, gs

    def sample(self, X=None, y=None, groups=None, *, stats=None, chains: int = 4, draws: int = 1000,
               warmup: int = 1000, thin: int = 1, seed=None, backend: str = "numba", progress: bool = True,
               store_beta: bool = True, init_superchains: int | None = None, until=None, checkpoint=None,
               checkpoint_every: float = 60.0, store=None, weights=None) -> Posterior:
        """Gibbs sampling; returns beta (chains, draws, J, q), mu (chains, draws, q), tau2 (q) or Sigma (q, q),
        alpha (chains, draws, r) when columns are pooled, sigma2 (chains, draws) or (chains, draws, J).

        ``store_beta=False`` keeps only the group-level parameters (for very many groups);
        ``init_superchains=S`` makes chain k start where chain k mod S starts (nested R-hat).
        ``stats=`` (a GroupedStats from :func:`gibbsreg.sufficient_stats` with groups, or
        :func:`gibbsreg.read_stats` / :func:`gibbsreg.load_stats`) replaces X, y and groups.
        ``until``, ``checkpoint``, ``checkpoint_every`` and ``store`` as in LinearRegression.sample;
        ``model.resume(post, X, y, groups, draws=N)`` continues the run exactly.
        ``weights`` (n,): known observation weights w_ij > 0, precisions: y_ij ~ N(., sigma^2 / w_ij)
        (docs/weights.md); the per-group statistics stay sufficient.
        """
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        options = run_options(until, checkpoint, checkpoint_every, store, progress)
        t0 = time.perf_counter()
        design, labels, varying_idx, pooled_idx, flat_stats, gs = self._entry(X, y, groups, stats, weights=weights)
        prior = resolve_hierarchical_prior(self.prior, flat_stats, design.names, varying_idx, pooled_idx)
        spec = hier_spec(gs, prior, design, labels, varying_idx, pooled_idx, self.sampler, store_beta, seed,
                         init_superchains)
        streams = chain_streams(seed, chains, init_superchains)
        state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed,
                          backend=backend)
        post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
        post.data = remembered_rows(X, y, groups, labels.tolist(), weights=weights)  # for the log-likelihood
        return post

    def resume(self, post: Posterior, X=None, y=None, groups=None, *, stats=None, draws: int | None = None,
               until=None, checkpoint=None, checkpoint_every: float = 60.0, store=None, backend: str | None = None,
               progress: bool = True, weights=None) -> Posterior:
        """Continue the run that made ``post`` (same data, groups, weights and prior); see LinearRegression.resume."""
        from ...runner import resume_run

        t0 = time.perf_counter()
        design, labels, varying_idx, pooled_idx, flat_stats, gs = self._entry(
            X, y, groups, stats, who="HierarchicalRegression.resume", weights=weights)
        prior = resolve_hierarchical_prior(self.prior, flat_stats, design.names, varying_idx, pooled_idx)
        cfg = post.state.config if post.state is not None else {}
        spec = hier_spec(gs, prior, design, labels, varying_idx, pooled_idx, self.sampler,
                         bool(cfg.get("store_beta", "beta" in post)), None, cfg.get("init_superchains"))
        resumed = resume_run(post, spec, draws=draws, until=until, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                             setup_seconds=time.perf_counter() - t0)
        resumed.data = remembered_rows(X, y, groups, labels.tolist(), weights=weights)
        return resumed


@dataclass
class DesignInfo:
    """What the run driver needs of a design: coefficient names (intercept first), rows, intercept."""

    names: list
    n: int
    intercept: bool

    @property
    def p(self) -> int:
        return len(self.names)


def hier_spec(gs: GroupStats, prior: ResolvedHierarchicalPrior, design, labels, varying_idx, pooled_idx,
              sampler: str, store_beta: bool, seed=None, init_superchains=None) -> ChainSpec:
    """The hierarchical model under the run driver: the kernel's state (beta_j, alpha, mu,
    Sigma^{-1}, lambda, sigma^2 in scaled coordinates) and its outputs, which are the variables: both
    backends store theta = theta' / D + theta_ref in the original coordinates themselves, so in memory
    each draw is written once, into its final place (Sigma's diagonal tau2 as (q, 1), a shared sigma2
    as (1,): views of the variables' arrays)."""
    q = len(varying_idx)
    J = len(labels)
    p = gs.G.shape[1]
    r = p - q
    problem = hier_problem(gs, prior, q, asis=sampler == "asis")
    js = J if prior.group_variance else 1
    iw = prior.tau_kind in ("InvWishart", "HuangWand")

    def init_state(streams):
        chains = len(streams.normal)
        mu, alpha, Sinv, lam, sigma2 = hier_initial_state(problem, streams.init, chains, J)
        return {"beta": np.zeros((chains, J, q)), "alpha": alpha, "mu": mu, "Sinv": Sinv, "lam": lam,
                "sigma2": sigma2}

    def map_draws(src, dest):
        for k, d in dest.items():
            copy_draws(src[k].reshape(d.shape), d)

    def load_kernel():
        from ...kernels import warm
        from ...kernels.hier import hier_gibbs

        warm.wait("hierarchical")  # a background compilation started by a caller that knew this run was next
        return hier_gibbs

    variables = {}
    if store_beta:
        variables["beta"] = ((J, q), ["group", "coef"])
    variables["mu"] = ((q,), ["coef"])
    if iw:
        variables["Sigma"] = ((q, q), ["coef", "coef_"])
    else:
        variables["tau2"] = ((q,), ["coef"])
    if r:
        variables["alpha"] = ((r,), ["pooled_coef"])
    variables["sigma2"] = (((J,), ["group"]) if prior.group_variance else ((), []))
    varying_names = [design.names[i] for i in varying_idx]
    coords = {"group": labels.tolist(), "coef": varying_names, "coef_": varying_names,
              "pooled_coef": [design.names[i] for i in pooled_idx]}
    settings = {"kind": "hierarchical", "names": list(design.names), "intercept": bool(design.intercept),
                "varying": list(varying_idx), "sampler": sampler, "store_beta": bool(store_beta),
                "labels": [str(v) for v in labels.tolist()]}
    fp = make_fingerprint(settings, {"G": gs.G, "h": gs.h, "rr": gs.rr, "n": gs.n, "scale": gs.scale,
                                     "theta_ref": gs.theta_ref}, prior.to_dict())
    attrs = {
        "model": f"HierarchicalRegression ({prior.tau_kind}, {sampler} Gibbs)",
        "sampler": sampler, "model_kind": "hierarchical", "prior": prior,
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
        "n": design.n, "p": design.p, "J": J, "intercept": bool(design.intercept), "names": design.names,
        "varying_index": list(varying_idx), "pooled_index": list(pooled_idx),
        "group_sizes": gs.n.astype(int).tolist(),
    }
    config = {"model": "HierarchicalRegression", "intercept": bool(design.intercept), "varying": list(varying_idx),
              "sampler": sampler, "store_beta": bool(store_beta), "init_superchains": init_superchains}
    return ChainSpec(
        kind="hierarchical", load_kernel=load_kernel, reference_fn=reference.hier_gibbs,
        kernel_args=problem.kernel_args(), state_names=("beta", "alpha", "mu", "Sinv", "lam", "sigma2"),
        outputs={"beta": ((J, q), store_beta), "alpha": ((r,), True), "mu": ((q,), True),
                 ("Sigma" if iw else "tau2"): ((q, q) if iw else (q, 1), True), "sigma2": ((js,), True)},
        variables=variables, map_draws=map_draws, init_state=init_state, fingerprint=fp, config=config,
        coords=coords, attrs=attrs,
        failure_message="a conditional precision matrix lost positive definiteness; rescale the data or the prior",
        numpy_iter_values=J * q + p + 2 * q + J + 1, numpy_max_elements=MAX_CHUNK_ELEMENTS, direct_outputs=True,
        # with many groups the kernel also shares each chain's groups between threads (same draws)
        threads_per_chain=GROUP_PIECES if J >= GROUP_PARALLEL_MIN else 1)


@dataclass
class Shrinkage:
    """Per-group estimates of the varying coefficients, ready for a shrinkage plot.

    ``no_pooling`` (J, q): per-group least squares with the pooled coefficients held
    at their complete-pooling values (NaN where a group cannot identify them);
    ``complete_pooling`` (q,): one regression ignoring groups; ``partial_pooling``
    (J, q): the posterior means; ``sizes`` (J,) rows per group.
    """

    labels: list
    coef: list[str]
    sizes: np.ndarray
    no_pooling: np.ndarray
    complete_pooling: np.ndarray
    partial_pooling: np.ndarray

    def to_pandas(self):
        import pandas as pd

        frames = []
        for k, name in enumerate(self.coef):
            frames.append(pd.DataFrame({"group": self.labels, "coef": name, "n": self.sizes,
                                        "no_pooling": self.no_pooling[:, k],
                                        "complete_pooling": self.complete_pooling[k],
                                        "partial_pooling": self.partial_pooling[:, k]}))
        return pd.concat(frames, ignore_index=True)


def shrinkage(post: Posterior, X, y, groups) -> Shrinkage:
    """No-pooling, complete-pooling and partial-pooling (posterior mean) estimates per group."""
    if post.attrs.get("model_kind") != "hierarchical" or "beta" not in post:
        raise ValueError("shrinkage needs a hierarchical posterior sampled with store_beta=True")
    attrs = post.attrs
    source = memory_stats(X, y, groups, intercept=attrs["intercept"])
    if list(source.names) != list(attrs["names"]):
        raise ValueError(f"X has coefficients {list(source.names)}, the posterior was fitted with {attrs['names']}")
    labels = source.labels
    if labels.tolist() != post.coords["group"]:
        raise ValueError("the group labels differ from the ones the posterior was fitted with")
    vi, pi = attrs["varying_index"], attrs["pooled_index"]
    order = np.array(vi + pi)
    gs = source.to_group_stats(order, source.pooled.to_sufficient().transform.beta_ref)
    q = len(vi)
    Gv = gs.G[:, :q, :q]
    est = np.full((len(labels), q), np.nan)
    ok = gs.n >= q
    if ok.any():
        eig = np.linalg.eigvalsh(Gv[ok])
        good = np.flatnonzero(ok)[eig[:, 0] > 1e-10 * np.maximum(eig[:, -1], 1e-300)]
        delta = np.linalg.solve(Gv[good], gs.h[good, :q][..., None])[..., 0]
        est[good] = gs.theta_ref[:q] + delta / gs.scale[:q]
    return Shrinkage(labels.tolist(), post.coords["coef"], gs.n.astype(int), est,
                     gs.theta_ref[:q].copy(), post["beta"].mean(axis=(0, 1)))


def resume_hierarchical(post, X=None, y=None, groups=None, *, stats=None, model=None, weights=None,
                        **options) -> Posterior:
    """The hierarchical kind's ``resume`` hook: continue ``post`` with ``model`` or the model its settings describe."""
    if model is not None:  # its type was checked against the kind's (runner.continuation.resume)
        return model.resume(post, X, y, groups, stats=stats, weights=weights, **options)
    from ...runner import resume_run

    if groups is None and stats is None:
        raise ValueError("resuming a hierarchical run needs groups: resume(source, X, y, groups)")
    cfg = post.state.config
    rebuilt = HierarchicalRegression(varying=cfg["varying"], intercept=cfg["intercept"], sampler=cfg["sampler"])
    design, labels, vi, pi, flat_stats, gs = rebuilt._entry(X, y, groups, stats, who="resume", weights=weights)
    spec = hier_spec(gs, post.attrs["prior"], design, labels, vi, pi, cfg["sampler"], cfg["store_beta"], None,
                     cfg.get("init_superchains"))
    resumed = resume_run(post, spec, **options)
    resumed.data = remembered_rows(X, y, groups, labels.tolist(), weights=weights)
    return resumed
