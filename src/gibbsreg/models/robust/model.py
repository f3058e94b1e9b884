"""Flat regression with Student-t errors sampled by Gibbs: StudentTRegression (kind "robust").

The scale mixture y_i | beta, sigma^2, w_i ~ N(x_i'beta, sigma^2 / w_i), w_i ~ Gamma(nu/2, rate nu/2) makes
every step but nu's conjugate (kernels/robust/sweep.py); the weights change every sweep, so the sweep reads
every row: O(n p^2) per chain and sweep, with the rows kept in memory (docs/robust.md).
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from ...analysis.loglik import available_memory, human_bytes
from ...coords import check_identified, initial_sigma2, prior_in_sampler_coords
from ...data import SufficientStats, as_design
from ...io.api import memory_stats, remembered_rows
from ...io.dask import has_dask
from ...posterior import Posterior
from ...priors import SemiConjugate
from ...runner import ChainSpec, copy_draws, new_state, run_chains, run_options
from ...runstate import fingerprint as make_fingerprint
from ...sampling import chain_streams, check_sampling_args
from . import priors as robust_priors
from .priors import ResolvedStudentT
from .reference import robust_gibbs as robust_reference

MAX_CHUNK_ELEMENTS = 1 << 22  # NumPy twin: bound on chains * iterations * rows per chunk
NU_START = (1.0, 100.0)  # learned nu starts at a prior draw clipped to this range (dispersed, not extreme)


class RobustRows:
    """The rows of a Student-t run in the sampler's coordinates, the data a sweep reads: Z = X T^{-1} (n, p)
    row-major, r0 = y - X beta_ref (n,), and a digest of the raw rows (the run's fingerprint)."""

    def __init__(self, design, stats: SufficientStats):
        tr = stats.transform
        self.Z = np.ascontiguousarray(tr.z_rows(design.X))
        full_ref = design.full_matrix() @ tr.beta_ref if design.n * design.p <= 1 << 24 else None
        if full_ref is None:  # very large n: X beta_ref without the (n, p) copy of the full design
            k = int(design.intercept)
            full_ref = design.X @ tr.beta_ref[k:] + (tr.beta_ref[0] if k else 0.0)
        self.r0 = np.ascontiguousarray(design.y - full_ref)
        digest = hashlib.sha256(np.ascontiguousarray(design.X).tobytes())
        digest.update(np.ascontiguousarray(design.y).tobytes())
        self.digest = digest.hexdigest()

    @property
    def n(self) -> int:
        return self.Z.shape[0]


def memory_needed(n: int, p: int, chains: int) -> int:
    """Bytes a run allocates beyond the draws: the rows (Z, r0) and each chain's n-long workspaces
    (eta, w and the weights' gamma table of three rows)."""
    return 8 * (n * p + n) + 8 * 5 * n * chains


def check_memory(n: int, p: int, chains: int) -> None:
    need = memory_needed(n, p, chains)
    have = available_memory()
    if need > have:
        raise ValueError(f"StudentTRegression keeps the rows in memory and rebuilds X'WX every sweep: n = {n:,} "
                         f"rows, p = {p}, {chains} chains need {human_bytes(need)}, more than the "
                         f"{human_bytes(have)} available; use fewer chains or a subsample")


def robust_spec(rows: RobustRows, stats: SufficientStats, prior: ResolvedStudentT, names, n: int,
                intercept: bool, seed=None, init_superchains=None) -> ChainSpec:
    """The Student-t model under the run driver: the kernel (kernels/robust), its NumPy twin, the state
    (gamma = T (beta - beta_ref), sigma^2, nu; the weights are redrawn first in every sweep, not kept) and the
    outputs beta, sigma2 and (when learned) nu."""
    fixed = prior.fixed
    P, m = prior_in_sampler_coords(stats, fixed)
    check_identified(stats, fixed, P)
    p = stats.p
    learn = prior.learn_nu
    sigma_shape = prior.a + 0.5 * n
    tr = stats.transform

    def init_state(streams):
        sigma2 = initial_sigma2(stats, fixed, streams.init)
        if learn:
            nu = np.array([min(max(g.standard_gamma(prior.nu_shape) / prior.nu_rate, NU_START[0]), NU_START[1])
                           for g in streams.init])
        else:
            nu = np.full(len(streams.normal), float(prior.nu_fixed))
        return {"gamma": np.zeros((len(streams.normal), p)), "sigma2": np.asarray(sigma2, dtype=float).copy(),
                "nu": nu}

    def map_draws(src, dest):
        for k in dest:
            copy_draws(src[k], dest[k])

    def load_kernel():
        from ...kernels.robust.sweep import robust_gibbs

        return robust_gibbs

    variables = {"beta": ((p,), ["coef"]), "sigma2": ((), [])}
    if learn:
        variables["nu"] = ((), [])
    fp = make_fingerprint(
        {"kind": "robust", "names": list(names), "intercept": bool(intercept), "learn_nu": learn,
         "rows": rows.digest},
        {"G": stats.G, "h": stats.h, "rr": stats.rr, "n": float(stats.n), "shift": tr.shift, "scale": tr.scale,
         "beta_ref": tr.beta_ref, "gamma_ref": tr.gamma_ref},
        prior.to_dict())
    attrs = {
        "model": f"StudentTRegression ({fixed.kind}, nu {'learned' if learn else prior.nu_fixed}, Gibbs)",
        "prior": prior, "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
        "n": int(n), "p": p, "model_kind": "robust", "intercept": bool(intercept), "names": list(names),
        "nu": None if learn else float(prior.nu_fixed),
    }
    config = {"model": "StudentTRegression", "intercept": bool(intercept), "init_superchains": init_superchains}
    kernel_args = (rows.Z, rows.r0, np.ascontiguousarray(P), np.ascontiguousarray(P @ m), float(sigma_shape),
                   float(prior.b), bool(learn), float(prior.nu_shape), float(prior.nu_rate),
                   np.ascontiguousarray(tr.T_inv()), tr.beta_ref.copy())
    return ChainSpec(
        kind="robust", load_kernel=load_kernel, reference_fn=robust_reference, kernel_args=kernel_args,
        state_names=("gamma", "sigma2", "nu"),
        outputs={"beta": ((p,), True), "sigma2": ((), True), "nu": ((), learn)},
        variables=variables, map_draws=map_draws, init_state=init_state, fingerprint=fp, config=config,
        coords={"coef": list(names)}, attrs=attrs,
        failure_message="the conditional precision of beta lost positive definiteness; rescale the data or the prior",
        numpy_iter_values=max(n, 1), numpy_max_elements=MAX_CHUNK_ELEMENTS, direct_outputs=True, first_chunk=16)


class StudentTRegression:
    """Bayesian linear regression with Student-t errors, y = X beta + e, e_i ~ t_nu(0, sigma^2), sampled by Gibbs.

    ``nu``: a positive number (fixed degrees of freedom) or a :class:`Gamma` prior (learned; default
    ``None`` is Gamma(2, 0.1)).  ``prior``: a :class:`gibbsreg.SemiConjugate` prior on beta and sigma^2
    (default: its data-scaled defaults); ``sigma="jeffreys"`` puts p(sigma^2) ~ 1/sigma^2 instead of the
    inverse gamma.  Sampled as the scale mixture e_i | w_i ~ N(0, sigma^2 / w_i), w_i ~ Gamma(nu/2, nu/2):
    each sweep redraws the n weights and rebuilds X'WX, so it costs O(n p^2) and the rows stay in memory
    (docs/robust.md).
    """

    def __init__(self, nu=None, prior=None, sigma=None, intercept: bool = True):
        robust_priors.check_nu(nu)
        if prior is None:
            prior = SemiConjugate()
        if type(prior) is not SemiConjugate:
            raise ValueError(f"StudentTRegression: prior must be a SemiConjugate prior, got {type(prior).__name__}")
        if getattr(prior, "sigma", None) is not None:
            raise ValueError("StudentTRegression: give the noise prior as sigma=, not in SemiConjugate(sigma=...) "
                             "(that is LinearRegression's)")
        if sigma not in (None, "jeffreys"):
            raise ValueError(f"StudentTRegression: sigma must be None (the prior's inverse gamma) or 'jeffreys', "
                             f"got {sigma!r}")
        self.nu = nu
        self.prior = prior
        self.sigma = sigma
        self.intercept = bool(intercept)

    def _entry(self, X, y, stats, who):
        """The validated rows, the sampler's statistics and rows, and the resolved prior."""
        if stats is not None:
            raise ValueError(f"{who}: the Student-t model reads every row in every sweep, so it needs X and y "
                             "(statistics are not enough)")
        if X is None or y is None:
            raise ValueError(f"{who}: pass X and y")
        if has_dask(X) or has_dask(y):
            raise ValueError(f"{who}: the Student-t model keeps the rows in memory; compute the Dask collections "
                             "first (X.compute(), y.compute())")
        design = as_design(X, y, self.intercept)
        source = memory_stats(X, y, intercept=self.intercept)
        suff = source.to_sufficient(center=True)
        prior = robust_priors.resolve(self.prior, self.nu, self.sigma, suff, source.names)
        return design, source, suff, prior

    def sample(self, X=None, y=None, *, stats=None, chains: int = 4, draws: int = 1000, warmup: int = 1000,
               thin: int = 1, seed=None, backend: str = "numba", progress: bool = True,
               init_superchains: int | None = None, until=None, checkpoint=None, checkpoint_every: float = 60.0,
               store=None) -> Posterior:
        """Run ``chains`` Gibbs chains; returns a Posterior with beta (chains, draws, p), sigma2 (chains, draws)
        and, when learned, nu (chains, draws).  The options are LinearRegression.sample's; ``model.resume(post,
        X, y, draws=N)`` continues every chain exactly."""
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        options = run_options(until, checkpoint, checkpoint_every, store, progress)
        t0 = time.perf_counter()
        design, source, suff, prior = self._entry(X, y, stats, "StudentTRegression.sample")
        check_memory(design.n, design.p, chains)
        rows = RobustRows(design, suff)
        spec = robust_spec(rows, suff, prior, source.names, source.n, self.intercept, seed, init_superchains)
        streams = chain_streams(seed, chains, init_superchains)
        state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed,
                          backend=backend)
        post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
        post.data = remembered_rows(X, y)
        return post

    def resume(self, post: Posterior, X=None, y=None, *, stats=None, draws: int | None = None, until=None,
               checkpoint=None, checkpoint_every: float = 60.0, store=None, backend: str | None = None,
               progress: bool = True) -> Posterior:
        """Continue the run that made ``post`` (same rows and prior): bit for bit an uninterrupted run."""
        from ...runner import resume_run

        t0 = time.perf_counter()
        design, source, suff, prior = self._entry(X, y, stats, "StudentTRegression.resume")
        cfg = post.state.config if post.state is not None else {}
        rows = RobustRows(design, suff)
        spec = robust_spec(rows, suff, prior, source.names, source.n, self.intercept, None,
                           cfg.get("init_superchains"))
        resumed = resume_run(post, spec, draws=draws, until=until, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                             setup_seconds=time.perf_counter() - t0)
        resumed.data = remembered_rows(X, y)
        return resumed


def resume_robust(post, X=None, y=None, groups=None, *, stats=None, model=None, **options) -> Posterior:
    """The robust kind's ``resume`` hook: continue ``post`` with ``model`` or with the prior it recorded."""
    if model is not None:
        return model.resume(post, X, y, stats=stats, **options)
    from ...runner import resume_run

    cfg = post.state.config
    prior = post.attrs["prior"]
    intercept = bool(cfg.get("intercept", True))
    if stats is not None or X is None or y is None:
        raise ValueError("resume: the Student-t model needs the rows it was sampled from: resume(source, X, y)")
    design = as_design(X, y, intercept)
    source = memory_stats(X, y, intercept=intercept)
    suff = source.to_sufficient(center=True)
    spec = robust_spec(RobustRows(design, suff), suff, prior, source.names, source.n, intercept, None,
                       cfg.get("init_superchains"))
    resumed = resume_run(post, spec, **options)
    resumed.data = remembered_rows(X, y)
    return resumed

