"""One-factor hierarchical regression with Student-t errors: HierarchicalStudentTRegression (kind "robust_hier").

y_ij = x_vij' beta_j + x_pij' alpha + e_ij, e_ij ~ t_nu(0, sigma^2), beta_j ~ N(mu, Sigma); the priors of mu,
alpha, Sigma (InvGamma, HalfCauchy, HalfStudentT, HalfNormal, Exponential or InvWishart) and sigma (InvGamma on
sigma^2; HalfNormal, HalfStudentT or Exponential on sigma) are the hierarchical Gaussian model's
HierarchicalPrior with its data-scaled defaults; nu is fixed or learned (Gamma prior, as StudentTRegression).
Sampled as the scale mixture e_ij | w_ij ~ N(0, sigma^2 / w_ij): each sweep redraws the n weights and rebuilds
the per-group X_j' W_j X_j (O(n p^2); kernels/robust/hier.py, the binary hierarchical model's steps from
kernels/rowhier), so the rows stay in memory.  Coordinates are the original ones (as the binary model's).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ...data import as_design, column_indices
from ...io.api import memory_stats, remembered_rows
from ...io.dask import has_dask
from ...io.groups import encode_groups
from ...posterior import Posterior
from ...reference import SIGMA_EXPONENTIAL, SIGMA_HALFNORMAL, SIGMA_HALFT, SIGMA_INVGAMMA
from ...rowhier import TAU_INVWISHART, tau_args
from ...runner import ChainSpec, map_diagonal_draws, new_state, run_chains, run_options
from ...runstate import fingerprint as make_fingerprint
from ...sampling import chain_streams, check_sampling_args
# the Gaussian hierarchical model's prior, reused as it is (declared reuse: tests/test_layers.py)
from ..hierarchical.model import HierarchicalPrior, ResolvedHierarchicalPrior, resolve_hierarchical_prior
from . import priors as robust_priors
from .hier_reference import robust_hier_gibbs as robust_hier_reference
from .model import NU_START, check_memory
from .priors import DEFAULT_NU_RATE, DEFAULT_NU_SHAPE, Gamma

SIGMA_KINDS = {"InvGamma": SIGMA_INVGAMMA, "HalfNormal": SIGMA_HALFNORMAL, "HalfStudentT": SIGMA_HALFT,
               "Exponential": SIGMA_EXPONENTIAL}


@dataclass
class ResolvedStudentTHier:
    """The hierarchical Student-t prior with every number filled in: ``hier`` (the hierarchical Gaussian model's
    resolved prior: mu, alpha, the group scale, sigma) and nu (``nu_fixed``, or Gamma(``nu_shape``,
    ``nu_rate``)).  The hierarchical prior's fields read through (``prior.tau_kind``, ``prior.sigma_b``, ...)."""

    hier: ResolvedHierarchicalPrior
    nu_fixed: float | None = None
    nu_shape: float = DEFAULT_NU_SHAPE
    nu_rate: float = DEFAULT_NU_RATE
    defaults: list = field(default_factory=list)

    kind = "StudentTHier"

    def __getattr__(self, name):
        if name.startswith("__") or name == "hier":
            raise AttributeError(name)
        return getattr(self.hier, name)

    @property
    def learn_nu(self) -> bool:
        return self.nu_fixed is None

    def to_dict(self) -> dict:
        return {"hier": self.hier.to_dict(), "nu_fixed": self.nu_fixed, "nu_shape": self.nu_shape,
                "nu_rate": self.nu_rate, "defaults": list(self.defaults)}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedStudentTHier":
        return cls(ResolvedHierarchicalPrior.from_dict(d["hier"]), None if d["nu_fixed"] is None
                   else float(d["nu_fixed"]), float(d["nu_shape"]), float(d["nu_rate"]), list(d.get("defaults", [])))

    def __str__(self) -> str:
        lines = str(self.hier).splitlines()
        lines[0] = lines[0].replace("Prior: HierarchicalPrior", "Prior: StudentT errors, HierarchicalPrior")
        lines.append(f"  nu = {self.nu_fixed:g} (fixed)" if self.nu_fixed is not None
                     else f"  nu ~ Gamma({self.nu_shape:g}, rate {self.nu_rate:g})")
        return "\n".join(lines)


def resolve(prior: HierarchicalPrior, nu, stats, names, vi, pi) -> ResolvedStudentTHier:
    """The resolved prior: the hierarchical one (its data-scaled defaults) and nu."""
    hier = resolve_hierarchical_prior(prior, stats, names, vi, pi)
    nu_fixed, nu_prior = robust_priors.check_nu(nu)
    defaults = list(hier.defaults) + (["nu"] if nu is None else [])
    return ResolvedStudentTHier(hier, nu_fixed, DEFAULT_NU_SHAPE if nu_prior is None else nu_prior.shape,
                                DEFAULT_NU_RATE if nu_prior is None else nu_prior.rate, defaults)


@dataclass
class StudentTGroupRows:
    """The rows sorted by group, columns (varying..., pooled...): ``X`` (n, p), ``y``, ``start`` (J + 1,),
    ``labels`` (J,), ``codes`` (n,) each original row's group, and a digest of the raw rows."""

    X: np.ndarray
    y: np.ndarray
    start: np.ndarray
    labels: np.ndarray
    codes: np.ndarray
    digest: str


def group_rows(design, groups, vi, pi) -> StudentTGroupRows:
    codes, labels = encode_groups(groups, design.n)
    order = np.argsort(codes, kind="stable")
    full = design.full_matrix()
    X = np.ascontiguousarray(full[order][:, list(vi) + list(pi)], dtype=float)
    y = np.ascontiguousarray(np.asarray(design.y, dtype=float)[order])
    start = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(labels)))]).astype(np.int64)
    digest = hashlib.sha256(X.tobytes())
    digest.update(y.tobytes())
    digest.update(start.tobytes())
    return StudentTGroupRows(X, y, start, labels, np.asarray(codes, dtype=np.int64), digest.hexdigest())


def noise_args(prior, n: int):
    """(sigma_shape, sigma_b, sigma_kind, sigma_par) of the kernels: IG(a + n/2, b + RSS/2) under sigma^2 ~ IG(a, b);
    otherwise the flat-prior conditional ((n - 1)/2, 0) and the prior's numbers (kernels/scales.py)."""
    kind = SIGMA_KINDS[prior.sigma_kind]
    if kind == SIGMA_INVGAMMA:
        return prior.sigma_a + 0.5 * n, float(prior.sigma_b), kind, np.zeros(2)
    if kind == SIGMA_HALFNORMAL:
        par = [0.5 / prior.sigma_scale**2, 0.0]
    elif kind == SIGMA_HALFT:
        par = [prior.sigma_nu, prior.sigma_nu * prior.sigma_scale**2]
    else:
        par = [prior.sigma_rate, 0.0]
    return 0.5 * (n - 1.0), 0.0, kind, np.asarray(par, dtype=float)


def robust_hier_spec(rows: StudentTGroupRows, prior: ResolvedStudentTHier, names, vi, pi, intercept: bool,
                     sampler: str = "asis", seed=None, init_superchains=None) -> ChainSpec:
    """The hierarchical Student-t model under the run driver: state beta_j, alpha, mu, Sigma^{-1}, lam, sigma^2
    and nu (the weights are redrawn first in every sweep, not kept); outputs beta, alpha, mu, tau2 or Sigma,
    sigma2 and (learned) nu."""
    X, y, start = rows.X, rows.y, rows.start
    n, p = X.shape
    q, r, J = len(vi), len(pi), len(rows.labels)
    learn = prior.learn_nu
    S0inv = np.diag(1.0 / prior.mu_scale**2)
    Sainv = np.diag(1.0 / prior.pooled_scale**2) if r else np.zeros((0, 0))
    kind, tau_a, tau_b, hc, iw_df, iw_Psi = tau_args(prior, q)
    sigma_shape, sigma_b, sigma_kind, sigma_par = noise_args(prior, n)
    args = (X, y, start, q, S0inv, S0inv @ prior.mu_mean, Sainv, Sainv @ prior.pooled_mean if r else np.zeros(0),
            kind, tau_a, tau_b, hc, iw_df, iw_Psi, sampler == "asis", float(sigma_shape), float(sigma_b),
            sigma_kind, sigma_par, bool(learn), float(prior.nu_shape), float(prior.nu_rate))
    y_var = float(np.var(y)) if n > 1 else 1.0
    resid_var = y_var if y_var > 0 else 1.0

    def init_state(streams):
        chains = len(streams.normal)
        state = {"beta": np.zeros((chains, J, q)), "alpha": np.zeros((chains, r)), "mu": np.zeros((chains, q)),
                 "Sinv": np.zeros((chains, q, q)), "lam": np.zeros((chains, q)), "sigma2": np.zeros(chains),
                 "nu": np.zeros(chains)}
        for c, g in enumerate(streams.init):
            tau2 = np.exp(g.standard_normal(q)) * (prior.mu_scale / 2.5) ** 2
            state["mu"][c] = prior.mu_mean + np.sqrt(tau2) * g.standard_normal(q)
            state["beta"][c] = state["mu"][c]
            state["alpha"][c] = prior.pooled_mean + 0.1 * prior.pooled_scale * g.standard_normal(r)
            state["Sinv"][c] = np.diag(1.0 / tau2)
            state["lam"][c] = 1.0 / hc
            state["sigma2"][c] = resid_var * math.exp(g.standard_normal())
            state["nu"][c] = (min(max(g.standard_gamma(prior.nu_shape) / prior.nu_rate, NU_START[0]), NU_START[1])
                              if learn else float(prior.nu_fixed))
        return state

    iw = kind == TAU_INVWISHART

    def load_kernel():
        from ...kernels.robust.hier import robust_hier_gibbs

        return robust_hier_gibbs

    variables = {"beta": ((J, q), ["group", "coef"]), "mu": ((q,), ["coef"])}
    variables.update({"Sigma": ((q, q), ["coef", "coef_"])} if iw else {"tau2": ((q,), ["coef"])})
    if r:
        variables["alpha"] = ((r,), ["pooled_coef"])
    variables["sigma2"] = ((), [])
    if learn:
        variables["nu"] = ((), [])
    varying, pooled = [names[i] for i in vi], [names[i] for i in pi]
    coords = {"group": rows.labels.tolist(), "coef": varying, "coef_": varying, "pooled_coef": pooled}
    fp = make_fingerprint(
        {"kind": "robust_hier", "names": list(names), "intercept": bool(intercept), "varying": list(vi),
         "sampler": sampler, "learn_nu": learn, "rows": rows.digest, "labels": [str(v) for v in rows.labels.tolist()]},
        {"XtX": X.T @ X, "Xty": X.T @ y, "start": start.astype(float)}, prior.to_dict())
    nu_text = "learned" if learn else f"{prior.nu_fixed:g}"
    attrs = {"model": f"HierarchicalStudentTRegression ({prior.tau_kind}, nu {nu_text}, {sampler} Gibbs)",
             "sampler": sampler, "prior": prior, "model_kind": "robust_hier",
             "seed": int(seed) if isinstance(seed, (int, np.integer)) else None, "n": int(n), "p": p, "J": J,
             "intercept": bool(intercept), "names": list(names), "varying_index": list(vi), "pooled_index": list(pi),
             "group_sizes": np.diff(start).astype(int).tolist(), "nu": None if learn else float(prior.nu_fixed)}
    config = {"model": "HierarchicalStudentTRegression", "intercept": bool(intercept), "varying": list(vi),
              "sampler": sampler, "init_superchains": init_superchains}
    return ChainSpec(
        kind="robust_hier", load_kernel=load_kernel, reference_fn=robust_hier_reference, kernel_args=args,
        state_names=("beta", "alpha", "mu", "Sinv", "lam", "sigma2", "nu"),
        outputs={"beta": ((J, q), True), "alpha": ((r,), True), "mu": ((q,), True), "Sigma": ((q, q), True),
                 "sigma2": ((), True), "nu": ((), learn)},
        variables=variables, map_draws=map_diagonal_draws, init_state=init_state, fingerprint=fp, config=config,
        coords=coords, attrs=attrs,
        failure_message="a conditional precision matrix lost positive definiteness; rescale the predictors or the "
                        "prior",
        numpy_iter_values=64 * (n + J * q), numpy_max_elements=1 << 22)


class HierarchicalStudentTRegression:
    """Hierarchical linear regression with Student-t errors and one grouping factor, sampled by Gibbs.

    ``nu``: a positive number (fixed) or a :class:`Gamma` prior (learned; None is Gamma(2, 0.1)).  ``prior``: a
    :class:`gibbsreg.HierarchicalPrior` (mu, tau, sigma and the pooled coefficients; its data-scaled defaults;
    not ``group_variance`` nor HuangWand).  ``varying`` names the coefficients that vary by group (None: all);
    ``sampler="asis"`` (default) interweaves mu and tau given the weights (Yu & Meng 2011), ``"centered"`` is
    plain Gibbs.  ``sample(X, y, groups, ...)`` returns beta (chains, draws, J, q), mu (q,), tau2 (q,) or Sigma
    (q, q), alpha (r,) when columns are pooled, sigma2 and, when learned, nu.  Each sweep costs O(n p^2).
    """

    SAMPLERS = ("asis", "centered")

    def __init__(self, nu=None, prior: HierarchicalPrior | None = None, varying=None, intercept: bool = True,
                 sampler: str = "asis"):
        who = "HierarchicalStudentTRegression"
        if sampler not in self.SAMPLERS:
            raise ValueError(f"{who}: sampler must be one of {self.SAMPLERS}, got {sampler!r}")
        robust_priors.check_nu(nu)
        prior = HierarchicalPrior() if prior is None else prior
        if not hasattr(prior, "resolved") and not isinstance(prior, HierarchicalPrior):
            raise ValueError(f"{who}: prior must be a HierarchicalPrior, got {type(prior).__name__}")
        if getattr(prior, "group_variance", False):
            raise ValueError(f"{who}: group_variance (one sigma^2 per group) is not available with Student-t errors")
        if type(getattr(prior, "tau", None)).__name__ == "HuangWand":
            raise ValueError(f"{who}: tau=HuangWand is not available with Student-t errors yet; use InvWishart for "
                             "a correlated Sigma, or a per-coefficient scale prior")
        self.nu, self.prior, self.varying, self.intercept, self.sampler = nu, prior, varying, bool(intercept), sampler

    def _entry(self, X, y, groups, stats, who):
        if stats is not None:
            raise ValueError(f"{who}: the Student-t model reads every row in every sweep, so it needs X, y and "
                             "groups (statistics are not enough)")
        if X is None or y is None or groups is None:
            raise ValueError(f"{who}: pass X, y and groups (one label per row)")
        if has_dask(X) or has_dask(y) or has_dask(groups):
            raise ValueError(f"{who}: the Student-t model keeps the rows in memory; compute the Dask collections "
                             "first")
        design = as_design(X, y, self.intercept)
        names = list(design.names)
        if self.varying is None:
            vi = list(range(len(names)))
        else:
            spec = self.varying
            vi = column_indices([spec] if isinstance(spec, (str, int, np.integer)) else list(spec), names)
            if not vi:
                raise ValueError("varying is empty: at least one coefficient must vary by group")
        pi = [i for i in range(len(names)) if i not in vi]
        rows = group_rows(design, groups, vi, pi)
        if hasattr(self.prior, "resolved"):
            prior = self.prior.resolved
        else:
            stats_ = memory_stats(X, y, intercept=self.intercept).to_sufficient()
            prior = resolve(self.prior, self.nu, stats_, names, vi, pi)
        return rows, prior, names, vi, pi

    def sample(self, X=None, y=None, groups=None, *, stats=None, chains: int = 4, draws: int = 1000,
               warmup: int = 1000, thin: int = 1, seed=None, backend: str = "numba", progress: bool = True,
               init_superchains: int | None = None, until=None, checkpoint=None, checkpoint_every: float = 60.0,
               store=None) -> Posterior:
        """Gibbs sampling (the class docstring); options as LinearRegression.sample; resume with
        ``model.resume(post, X, y, groups, draws=N)``."""
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        options = run_options(until, checkpoint, checkpoint_every, store, progress)
        t0 = time.perf_counter()
        rows, prior, names, vi, pi = self._entry(X, y, groups, stats, "HierarchicalStudentTRegression.sample")
        check_memory(rows.X.shape[0], rows.X.shape[1], chains)
        spec = robust_hier_spec(rows, prior, names, vi, pi, self.intercept, self.sampler, seed, init_superchains)
        streams = chain_streams(seed, chains, init_superchains)
        state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed,
                          backend=backend)
        post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
        post.data = remembered_rows(X, y, groups, rows.labels.tolist())
        return post

    def resume(self, post: Posterior, X=None, y=None, groups=None, *, stats=None, draws: int | None = None,
               until=None, checkpoint=None, checkpoint_every: float = 60.0, store=None, backend: str | None = None,
               progress: bool = True) -> Posterior:
        """Continue the run that made ``post`` (same rows, groups and prior): bit for bit an uninterrupted run."""
        from ...runner import resume_run

        t0 = time.perf_counter()
        rows, prior, names, vi, pi = self._entry(X, y, groups, stats, "HierarchicalStudentTRegression.resume")
        cfg = post.state.config if post.state is not None else {}
        spec = robust_hier_spec(rows, prior, names, vi, pi, self.intercept, self.sampler, None,
                                cfg.get("init_superchains"))
        resumed = resume_run(post, spec, draws=draws, until=until, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                             setup_seconds=time.perf_counter() - t0)
        resumed.data = remembered_rows(X, y, groups, rows.labels.tolist())
        return resumed


class _SavedPrior:
    """A run's recorded prior, for resuming without the model object."""

    def __init__(self, resolved: ResolvedStudentTHier):
        self.resolved = resolved
        self.tau = None


def resume_robust_hier(post, X=None, y=None, groups=None, *, stats=None, model=None, **options) -> Posterior:
    """The robust_hier kind's ``resume`` hook: continue ``post`` with ``model`` or with the prior it recorded."""
    if model is None:
        cfg = post.state.config
        model = HierarchicalStudentTRegression(None, _SavedPrior(post.attrs["prior"]), cfg.get("varying"),
                                               bool(cfg.get("intercept", True)), cfg.get("sampler", "asis"))
    return model.resume(post, X, y, groups, stats=stats, **options)


__all__ = ["Gamma", "HierarchicalPrior", "HierarchicalStudentTRegression", "ResolvedStudentTHier", "resume_robust_hier"]
