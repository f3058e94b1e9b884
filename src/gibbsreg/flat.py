"""Flat Bayesian linear regression sampled by Gibbs: LinearRegression."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import reference
from .data import SufficientStats, as_design, sufficient_stats
from .posterior import Posterior
from .priors import NormalInverseGamma, ResolvedPrior, SemiConjugate, _GaussianIGPrior
from .sampling import chain_streams, check_sampling_args, drive

MAX_CHUNK_ELEMENTS = 1 << 22  # bound on chains * chunk iterations * values drawn per iteration (NumPy path)


@dataclass
class FlatProblem:
    """The flat model in sampler coordinates gamma = T(beta - beta_ref) (see gibbsreg.data)."""

    G: np.ndarray
    h: np.ndarray
    rr: float
    P: np.ndarray  # prior precision on gamma
    Pm: np.ndarray  # P @ m
    m: np.ndarray  # prior mean on gamma
    sigma_shape: float  # shape of sigma^2's full conditional
    b0: float
    conjugate: bool
    L_conj: np.ndarray  # chol(P + G) for the conjugate prior (identity otherwise)
    mean_conj: np.ndarray  # (P + G)^{-1}(Pm + h) for the conjugate prior

    @property
    def p(self) -> int:
        return self.h.shape[0]

    def kernel_args(self):
        return (self.G, self.h, self.rr, self.P, self.Pm, self.m, self.sigma_shape, self.b0,
                self.conjugate, self.L_conj, self.mean_conj)


def check_identified(stats: SufficientStats, prior: ResolvedPrior, P_gamma: np.ndarray) -> None:
    """Under flat (improper) coordinates the posterior is proper only if P + Z'Z is non-singular."""
    if not prior.flat.any():
        return
    M = P_gamma + stats.G
    d = np.sqrt(np.clip(np.diag(M), 1e-300, None))
    eig = np.linalg.eigvalsh(M / d[:, None] / d[None, :])
    if eig[0] <= 1e-10 * eig[-1]:
        flat_names = [n for n, f in zip(prior.names, prior.flat) if f]
        raise ValueError(
            "singular design under a flat prior: the columns of X are collinear (or n < p) and "
            f"the coefficients {flat_names} have a flat prior, so the posterior is improper; "
            "give them a proper prior scale or remove the collinear columns"
        )


def flat_problem(stats: SufficientStats, prior: ResolvedPrior) -> FlatProblem:
    """Express the resolved prior in sampler coordinates and precompute the conjugate pieces."""
    tr = stats.transform
    P = tr.precision_to_gamma(prior.precision)
    m = tr.to_gamma(prior.mean)
    check_identified(stats, prior, P)
    Pm = P @ m
    p = stats.p
    n_proper = int(p - prior.flat.sum())
    if prior.conjugate:
        sigma_shape = prior.a + 0.5 * (stats.n + n_proper)
        L = np.linalg.cholesky(P + stats.G)
        mean_conj = np.linalg.solve(P + stats.G, Pm + stats.h)
    else:
        sigma_shape = prior.a + 0.5 * stats.n
        L = np.eye(p)
        mean_conj = np.zeros(p)
    return FlatProblem(stats.G, stats.h, float(stats.rr), P, Pm, m, float(sigma_shape), float(prior.b),
                       bool(prior.conjugate), np.ascontiguousarray(L), mean_conj)


def initial_sigma2(stats: SufficientStats, prior: ResolvedPrior, init_gens) -> np.ndarray:
    """Dispersed start values: the rough posterior scale times exp(N(0, 1)), one draw per chain."""
    centre = (prior.b + 0.5 * stats.rr) / (prior.a + 0.5 * stats.n)
    return np.array([centre * math.exp(g.standard_normal()) for g in init_gens])


def run_flat(problem: FlatProblem, streams, *, draws, warmup, thin, backend, progress, sigma2_init):
    """Sample the flat model; returns (gamma draws (C, D, p), sigma2 draws (C, D), RunInfo)."""
    chains = len(streams.normal)
    p = problem.p
    gamma_state = np.zeros((chains, p))
    sigma2_state = np.asarray(sigma2_init, dtype=float).copy()
    out_gamma = np.empty((chains, draws, p))
    out_sigma2 = np.empty((chains, draws))
    no_gamma = np.empty((chains, 0, p))
    no_sigma2 = np.empty((chains, 0))
    args = problem.kernel_args()

    if backend == "numba":
        from .kernels.flat import flat_gibbs

        normal, gamma = streams.typed()
        work = np.zeros((chains, p, p))
        vec = np.zeros((chains, p))

        def run_chunk(n_iter, store, out_start):
            failures = flat_gibbs(*args, gamma_state, sigma2_state, normal, gamma, n_iter, thin, out_start,
                                  out_gamma if store else no_gamma, out_sigma2 if store else no_sigma2, work, vec)
            if failures:
                raise FloatingPointError("the conditional precision of beta lost positive definiteness; rescale the data or the prior")
        cap = None
    else:
        def run_chunk(n_iter, store, out_start):
            reference.flat_gibbs(*args, gamma_state, sigma2_state, streams.normal, streams.gamma, n_iter, thin,
                                 out_start, out_gamma if store else no_gamma, out_sigma2 if store else no_sigma2)
        cap = max(1, MAX_CHUNK_ELEMENTS // (chains * (p + 1)))

    info = drive(run_chunk, draws=draws, warmup=warmup, thin=thin, progress=progress, max_chunk_iters=cap)
    return out_gamma[:, : info.draws_done], out_sigma2[:, : info.draws_done], info


class LinearRegression:
    """Bayesian linear regression y = X beta + eps, eps ~ N(0, sigma^2 I), sampled by Gibbs.

    ``prior`` is a :class:`SemiConjugate` (default) or :class:`NormalInverseGamma`
    prior; both are sampled by the two-block Gibbs sampler
    beta | sigma^2, y  then  sigma^2 | beta, y.
    """

    def __init__(self, prior: _GaussianIGPrior | None = None, intercept: bool = True):
        if prior is None:
            prior = SemiConjugate()
        if not isinstance(prior, _GaussianIGPrior):
            raise ValueError(f"LinearRegression: prior must be SemiConjugate or NormalInverseGamma, got {type(prior).__name__}")
        self.prior = prior
        self.intercept = bool(intercept)

    def sample(self, X, y, *, chains: int = 4, draws: int = 1000, warmup: int = 1000, thin: int = 1,
               seed=None, backend: str = "numba", progress: bool = True) -> Posterior:
        """Run ``chains`` Gibbs chains; returns a Posterior with beta (chains, draws, p) and sigma2 (chains, draws)."""
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        t0 = time.perf_counter()
        design = as_design(X, y, self.intercept)
        stats = sufficient_stats(design)
        prior = self.prior.resolve(stats, design.names)
        problem = flat_problem(stats, prior)
        streams = chain_streams(seed, chains)
        sigma2_init = initial_sigma2(stats, prior, streams.init)
        setup = time.perf_counter() - t0
        gamma, sigma2, info = run_flat(problem, streams, draws=draws, warmup=warmup, thin=thin,
                                       backend=backend, progress=progress, sigma2_init=sigma2_init)
        beta = stats.transform.to_beta(gamma)
        attrs = {
            "model": f"LinearRegression ({prior.kind}, Gibbs)",
            "prior": prior,
            "backend": backend,
            "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
            "chains": chains, "draws": draws, "warmup": warmup, "thin": thin,
            "n": design.n, "p": design.p,
            "model_kind": "flat", "intercept": design.intercept, "names": design.names,
            "setup_seconds": setup,
            "warmup_seconds": info.warmup_seconds,
            "sampling_seconds": info.sampling_seconds,
            "interrupted": info.interrupted,
        }
        return Posterior({"beta": beta, "sigma2": sigma2}, dims={"beta": ["coef"], "sigma2": []},
                         coords={"coef": design.names}, attrs=attrs)
