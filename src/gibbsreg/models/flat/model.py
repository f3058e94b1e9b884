"""Flat Bayesian linear regression sampled by Gibbs: LinearRegression."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ... import reference
from ...coords import check_identified, initial_sigma2, prior_in_sampler_coords
from ...data import SufficientStats
from ...io.api import model_stats, remembered_rows
from ...posterior import Posterior
from ...priors import Exchangeable, ResolvedExchangeable, SemiConjugate, _GaussianIGPrior
from ...sampling import chain_streams, check_draws_dtype, check_sampling_args
from ...runner import ChainSpec, copy_draws, new_state, run_chains, run_options
from ...runstate import fingerprint as make_fingerprint

MAX_CHUNK_ELEMENTS = 1 << 22  # bound on chains * chunk iterations * values drawn per iteration (NumPy path)


@dataclass
class FlatProblem:
    """The flat model as the kernels see it (docs/maths.md, "Sufficient statistics" and "Simultaneous
    diagonalisation").

    G, h, rr are the statistics in gamma = T(beta - beta_ref); P, Pm the prior precision and
    precision-times-mean there.  With a fixed prior the kernels work in u, gamma = W u, where
    W'(P + G)W = I, W'PW = diag(lam) and W'GW = diag(gdiag): c_u = W'Pm, e_u = W'h and
    u_m = W^{-1} m (the prior mean).  The exchangeable prior changes P every iteration, so it
    samples gamma itself (W = I).
    """

    G: np.ndarray
    h: np.ndarray
    rr: float
    P: np.ndarray
    Pm: np.ndarray
    sigma_shape: float  # shape of sigma^2's full conditional
    b0: float
    conjugate: bool
    W: np.ndarray
    lam: np.ndarray
    gdiag: np.ndarray
    c_u: np.ndarray
    e_u: np.ndarray
    u_m: np.ndarray
    exch_mask: np.ndarray  # 1.0 on coefficients sharing the exchangeable prior (zeros otherwise)
    exch_scale: np.ndarray  # T's diagonal: gamma_k = s_k (beta_k - ref_k) on those coefficients
    exch_ref: np.ndarray  # beta_ref
    mu0: float = 0.0
    mu_prec: float = 1.0
    tau_kind: int = 0  # 0: InvGamma on tau^2, 1: HalfCauchy on tau
    tau_a: float = 1.0
    tau_b: float = 1.0
    hc_inv_scale2: float = 1.0
    sigma_kind: int = 0  # the prior on sigma (kernels/scales.py SIGMA_*): 0 is IG(a, b) on sigma^2
    sigma_par: np.ndarray = field(default_factory=lambda: np.zeros(2))

    @property
    def p(self) -> int:
        return self.h.shape[0]

    @property
    def exchangeable(self) -> bool:
        return bool(self.exch_mask.any())

    def kernel_args(self, out_map, out_ref):
        """The inputs of both backends (kernels.flat.FlatInputs), with the map beta = out_ref + out_map @ state."""
        from ...kernels.flat import FlatInputs

        maps = {"out_map": np.ascontiguousarray(out_map), "out_ref": np.ascontiguousarray(out_ref)}
        return (FlatInputs(**{f: maps[f] if f in maps else getattr(self, f) for f in FlatInputs._fields}),)

    def to_gamma(self, state: np.ndarray) -> np.ndarray:
        """The kernels' state (u, or gamma for the exchangeable prior), shape (..., p), as gamma."""
        return state @ self.W.T


def simultaneous_diagonalisation(P: np.ndarray, G: np.ndarray):
    """W with W'(P + G)W = I and W'PW diagonal (then W'GW is diagonal too): (W, lam, gdiag).

    P + G must be positive definite (the posterior is proper); with L L' = P + G and
    L^{-1} P L^{-T} = U diag(lam) U', W = L^{-T} U.
    """
    L = np.linalg.cholesky(P + G)
    Li = np.linalg.inv(L)
    M = Li @ P @ Li.T
    lam, U = np.linalg.eigh(0.5 * (M + M.T))
    W = Li.T @ U
    N = W.T @ G @ W
    return W, np.clip(lam, 0.0, None), np.clip(np.diag(N).copy(), 0.0, None)


def flat_problem(stats: SufficientStats, prior) -> FlatProblem:
    """Express the resolved prior in sampler coordinates and precompute the diagonalising basis."""
    exch = prior if isinstance(prior, ResolvedExchangeable) else None
    if exch is not None:
        prior = exch.fixed
    tr = stats.transform
    P, m = prior_in_sampler_coords(stats, prior)
    check_identified(stats, prior, P)
    Pm = P @ m
    p = stats.p
    n_proper = int(p - prior.flat.sum())
    sigma_shape = prior.a + 0.5 * (stats.n + (n_proper if prior.conjugate else 0))
    if exch is None:
        W, lam, gdiag = simultaneous_diagonalisation(P, stats.G)
        u_m = np.linalg.solve(W, m)
    else:
        W, lam, gdiag, u_m = np.eye(p), np.zeros(p), np.zeros(p), np.zeros(p)
    problem = FlatProblem(stats.G, stats.h, float(stats.rr), P, Pm, float(sigma_shape), float(prior.b),
                          bool(prior.conjugate), W, lam, gdiag, W.T @ Pm, W.T @ stats.h, u_m,
                          np.zeros(p), np.ones(p), tr.beta_ref.copy())
    problem.sigma_kind, problem.sigma_par = reference.noise_args(prior)  # prior.a, prior.b are then (-1/2, 0)
    if problem.sigma_kind == reference.SIGMA_HALFT:  # the exact mixture step: sigma^2 | beta, lambda has nu/2 more
        problem.sigma_shape += 0.5 * (prior.sigma_nu + 1.0)
    if exch is not None:
        if not np.allclose(tr.T(), np.diag(np.diag(tr.T()))):
            raise AssertionError("the exchangeable prior needs diagonal sampler coordinates (center=False)")
        problem.exch_mask = exch.mask.astype(float)
        problem.exch_scale = np.diag(tr.T()).copy()
        problem.mu0 = exch.mu_mean
        problem.mu_prec = 1.0 / exch.mu_scale**2
        problem.tau_kind = 0 if exch.tau_kind == "InvGamma" else 1
        problem.tau_a, problem.tau_b = exch.tau_a, exch.tau_b
        problem.hc_inv_scale2 = 1.0 / exch.tau_scale**2 if exch.tau_kind == "HalfCauchy" else 1.0
    return problem


def exchangeable_initial(problem: FlatProblem, init_gens):
    """Dispersed start values of (mu, tau^2, lambda) around the reference point's shared coefficients."""
    ref = problem.exch_ref[problem.exch_mask > 0]
    spread = max(float(ref.var()), 1e-12 * max(float(np.mean(ref**2)), 1e-300))
    mu, tau2 = [], []
    for g in init_gens:
        tau2.append(spread * math.exp(g.standard_normal()))
        mu.append(ref.mean() + math.sqrt(spread) * g.standard_normal())
    lam = np.full(len(init_gens), 1.0 / problem.hc_inv_scale2)
    return np.array(mu), np.array(tau2), lam


def flat_spec(stats: SufficientStats, prior, names, n: int, intercept: bool, seed=None,
              init_superchains=None, dtype=np.float64) -> ChainSpec:
    """The flat model under the run driver: kernel, state (u or gamma, sigma^2, mu, tau^2, lambda) and
    outputs; the kernel writes beta = beta_ref + T^{-1} W u itself (out_map, out_ref), so the draws
    are copied to their storage (in ``dtype``) without another pass of arithmetic."""
    problem = flat_problem(stats, prior)
    p = problem.p
    exch = problem.exchangeable
    M = stats.transform.T_inv() @ problem.W
    ref = stats.transform.beta_ref.copy()

    def init_state(streams):
        sigma2 = initial_sigma2(stats, prior, streams.init)
        if exch:
            mu, tau2, lam = exchangeable_initial(problem, streams.init)
        else:
            chains = len(streams.normal)
            mu, tau2, lam = np.zeros(chains), np.ones(chains), np.ones(chains)
        return {"gamma": np.zeros((len(streams.normal), p)), "sigma2": np.asarray(sigma2, dtype=float).copy(),
                "mu": mu, "tau2": tau2, "lam": lam}

    def adopt_state(arrays, config):
        saved = np.asarray(config.get("basis", problem.W.tolist()), dtype=float)
        if saved.shape == problem.W.shape and not np.array_equal(saved, problem.W):
            # the basis was recomputed differently (another machine's LAPACK): same point, new coordinates
            arrays["gamma"][...] = np.linalg.solve(problem.W, (arrays["gamma"] @ saved.T).T).T
        return arrays

    def map_draws(src, dest):
        copy_draws(src["beta"], dest["beta"])
        copy_draws(src["sigma2"], dest["sigma2"])
        if exch:
            copy_draws(src["mu"], dest["mu"])
            copy_draws(src["tau2"], dest["tau2"])

    def load_kernel():
        from ...kernels.flat import flat_gibbs

        return flat_gibbs

    variables = {"beta": ((p,), ["coef"]), "sigma2": ((), [])}
    if exch:
        variables.update(mu=((), []), tau2=((), []))
    tr = stats.transform
    fp = make_fingerprint(
        {"kind": "flat", "names": list(names), "intercept": bool(intercept), "exchangeable": exch,
         "centred": bool(tr.intercept and np.any(tr.shift != 0))},
        {"G": stats.G, "h": stats.h, "rr": stats.rr, "n": float(stats.n), "shift": tr.shift, "scale": tr.scale,
         "beta_ref": tr.beta_ref, "gamma_ref": tr.gamma_ref},
        prior.to_dict())
    attrs = {
        "model": f"LinearRegression ({prior.kind}, Gibbs)", "prior": prior,
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
        "n": int(n), "p": p, "model_kind": "flat", "intercept": bool(intercept), "names": list(names),
    }
    config = {"model": "LinearRegression", "intercept": bool(intercept), "exchangeable": exch,
              "basis": problem.W.tolist(), "init_superchains": init_superchains, "dtype": np.dtype(dtype).name}
    kernel_args = problem.kernel_args(M, ref)
    return ChainSpec(
        kind="flat", load_kernel=load_kernel, reference_fn=reference.flat_gibbs, kernel_args=kernel_args,
        state_names=("gamma", "sigma2", "mu", "tau2", "lam"),
        outputs={"beta": ((p,), True), "sigma2": ((), True), "mu": ((), exch), "tau2": ((), exch)},
        variables=variables, map_draws=map_draws, init_state=init_state, fingerprint=fp, config=config,
        coords={"coef": list(names)}, attrs=attrs,
        failure_message="the conditional precision of beta lost positive definiteness; rescale the data or the prior",
        numpy_iter_values=p + 4, numpy_max_elements=MAX_CHUNK_ELEMENTS, adopt_state=adopt_state,
        draws_dtype=np.dtype(dtype), direct_outputs=True, first_chunk=first_chunk_flat(p))


def first_chunk_flat(p: int) -> int:
    """Iterations of a flat run's first kernel call: at most 4 ms per chain at a tenth of this machine's speed
    (an iteration costs about p^2 + 20 p + 100 ns per chain here; 512 at p = 10, 16 from p = 200): a short
    run then takes two calls instead of three or four, and progress still shows at once."""
    per_iteration_ns = 10 * (p * p + 20 * p + 100)
    return int(max(16, min(1 << 16, 2 ** int(np.log2(4e6 / per_iteration_ns)))))


class LinearRegression:
    """Bayesian linear regression y = X beta + eps, eps ~ N(0, sigma^2 I), sampled by Gibbs.

    ``prior`` is a :class:`SemiConjugate` (default), :class:`NormalInverseGamma`
    or :class:`Exchangeable` prior.  The first two are sampled by the two-block
    Gibbs sampler beta | sigma^2, y then sigma^2 | beta, y; the exchangeable prior
    adds mu | beta, tau^2 and tau^2 | beta, mu (and reports ``mu`` and ``tau2``).
    """

    def __init__(self, prior=None, intercept: bool = True):
        if prior is None:
            prior = SemiConjugate()
        if not isinstance(prior, (_GaussianIGPrior, Exchangeable)) and not hasattr(prior, "sample_regression"):
            raise ValueError("LinearRegression: prior must be SemiConjugate, NormalInverseGamma, Exchangeable, "
                             "Horseshoe or BayesianLasso, "
                             f"got {type(prior).__name__}")
        self.prior = prior
        self.intercept = bool(intercept)

    def _entry(self, X, y, stats=None, who="LinearRegression.sample", weights=None):
        """The data entry: mergeable statistics from (X, y[, weights]) or ``stats=``, the sampler's statistics, the
        prior."""
        source = model_stats(X, y, stats=stats, intercept=self.intercept, who=who, weights=weights)
        suff = source.to_sufficient(center=not isinstance(self.prior, Exchangeable))
        return source, suff, self.prior.resolve(suff, source.names)

    def sample(self, X=None, y=None, *, stats=None, chains: int = 4, draws: int = 1000, warmup: int = 1000, thin: int = 1,
               seed=None, backend: str = "numba", progress: bool = True, init_superchains: int | None = None,
               until=None, checkpoint=None, checkpoint_every: float = 60.0, store=None,
               dtype=np.float64, weights=None) -> Posterior:
        """Run ``chains`` Gibbs chains; returns a Posterior with beta (chains, draws, p) and sigma2 (chains, draws).

        Chains start from dispersed points; ``init_superchains=S`` makes chain k start where
        chain k mod S starts (superchains for nested R-hat).  ``stats=`` (from
        :func:`gibbsreg.sufficient_stats`, :func:`gibbsreg.read_stats` or :func:`gibbsreg.load_stats`)
        replaces X and y; X and y may also be Dask collections.  The Posterior keeps the run's state:
        ``model.resume(post, X, y, draws=N)`` continues every chain exactly.  ``until=Converged(...)``
        extends the run until the diagnostics meet their targets; ``checkpoint="run.npz"`` writes a
        crash-safe checkpoint every ``checkpoint_every`` seconds (continue with ``gibbsreg.resume``);
        ``store="run_dir"`` writes the draws to disk as they are made (see docs/long-runs.md).
        ``dtype=np.float32`` stores the draws in single precision (half the memory; the chains
        themselves run in float64, and each draw is the float64 draw rounded once).
        ``weights`` (n,): known observation weights w_i > 0, precisions: y_i ~ N(x_i'beta, sigma^2 / w_i)
        (heteroscedastic rows of known relative variance, or rows that average w_i observations); the
        statistics stay sufficient, so the cost does not grow with n (docs/weights.md).
        """
        if hasattr(self.prior, "sample_regression"):  # shrinkage priors run their own model (models/wide)
            if weights is not None:
                raise ValueError(f"weights= is not supported with the {type(self.prior).__name__} prior; "
                                 "use SemiConjugate, NormalInverseGamma or Exchangeable")
            return self.prior.sample_regression(
                self, X, y, stats=stats, chains=chains, draws=draws, warmup=warmup, thin=thin, seed=seed,
                backend=backend, progress=progress, init_superchains=init_superchains, until=until,
                checkpoint=checkpoint, checkpoint_every=checkpoint_every, store=store, dtype=dtype)
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        options = run_options(until, checkpoint, checkpoint_every, store, progress)
        dtype = check_draws_dtype(dtype)
        t0 = time.perf_counter()
        source, suff, prior = self._entry(X, y, stats, weights=weights)
        spec = flat_spec(suff, prior, source.names, source.n, self.intercept, seed, init_superchains, dtype)
        streams = chain_streams(seed, chains, init_superchains)
        state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed,
                          backend=backend)
        post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
        post.data = remembered_rows(X, y, weights=weights)  # in-memory rows, for the pointwise log-likelihood
        return post

    def resume(self, post: Posterior, X=None, y=None, *, stats=None, draws: int | None = None, until=None, checkpoint=None,
               checkpoint_every: float = 60.0, store=None, backend: str | None = None,
               progress: bool = True, weights=None) -> Posterior:
        """Continue the run that made ``post`` (same data, weights and prior): ``draws`` more draws per chain
        (default: the rest of the planned run, finishing an interrupted warm-up first).

        The result holds the old draws followed by the new ones and equals, bit for bit, one
        uninterrupted run of the total length with the same seed.
        """
        if hasattr(self.prior, "resume_regression"):  # shrinkage priors (models/wide)
            if weights is not None:
                raise ValueError(f"weights= is not supported with the {type(self.prior).__name__} prior")
            return self.prior.resume_regression(self, post, X, y, stats=stats, draws=draws, until=until,
                                                checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                                                store=store, backend=backend, progress=progress)
        from ...runner import resume_run

        t0 = time.perf_counter()
        source, suff, prior = self._entry(X, y, stats, who="LinearRegression.resume", weights=weights)
        cfg = post.state.config if post.state is not None else {}
        spec = flat_spec(suff, prior, source.names, source.n, self.intercept, None, cfg.get("init_superchains"),
                         cfg.get("dtype", "float64"))
        resumed = resume_run(post, spec, draws=draws, until=until, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                             setup_seconds=time.perf_counter() - t0)
        resumed.data = remembered_rows(X, y, weights=weights)
        return resumed


def resume_flat(post, X=None, y=None, groups=None, *, stats=None, model=None, weights=None, **options) -> Posterior:
    """The flat kind's ``resume`` hook: continue ``post`` with ``model`` or the model its settings describe."""
    if model is not None:  # its type was checked against the kind's (runner.continuation.resume)
        return model.resume(post, X, y, stats=stats, weights=weights, **options)
    from ...runner import resume_run

    cfg = post.state.config
    prior = post.attrs["prior"]
    source = model_stats(X, y, stats=stats, intercept=bool(cfg.get("intercept", True)), who="resume", weights=weights)
    suff = source.to_sufficient(center=not isinstance(prior, ResolvedExchangeable))
    spec = flat_spec(suff, prior, source.names, source.n, bool(cfg.get("intercept", True)), None,
                     cfg.get("init_superchains"), cfg.get("dtype", "float64"))
    resumed = resume_run(post, spec, **options)
    resumed.data = remembered_rows(X, y, weights=weights)
    return resumed
