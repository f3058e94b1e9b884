"""Several grouping factors: the model, its initial state and the sampling run."""

from __future__ import annotations

import math
import time

import numpy as np

from ..data import as_design, sufficient_stats
from ..posterior import FittedData, Posterior
from ..sampling import chain_streams, check_sampling_args, chunk_runner, drive, no_huge_pages
from .priors import MAX_CHUNK_ELEMENTS, TAU_HALFCAUCHY, CrossedPrior, Factor, resolve_crossed_prior
from .cells import cell_stats, factor_columns
from .problem import CrossedProblem, crossed_problem
from .reference import crossed_gibbs_reference


# ---------------------------------------------------------------------------------------------
# running


def crossed_initial_state(problem: CrossedProblem, init_gens, chains: int):
    """Dispersed start values: mu, Sigma_f^{-1} (diagonal), lambda, sigma^2; b and alpha start at 0."""
    s = problem.stats
    K = len(problem.J)
    qmax = problem.vidx.shape[1]
    q1 = int(problem.q[0])
    resid_var = max(float(s.rr.sum() / max(s.n.sum(), 1.0)), 1e-300)
    mu = np.empty((chains, q1))
    Sinv = np.zeros((chains, K, qmax, qmax))
    lam = np.ones((chains, K, qmax))
    sigma2 = np.empty(chains)
    for c, g in enumerate(init_gens):
        for f in range(K):
            k = int(problem.q[f])
            tau2 = resid_var * np.exp(g.standard_normal(k))
            Sinv[c, f, np.arange(k), np.arange(k)] = 1.0 / tau2
            if f == 0:
                mu[c] = g.standard_normal(k) * np.sqrt(tau2)
        sigma2[c] = resid_var * math.exp(g.standard_normal())
    for f in range(K):
        if problem.tau_kind[f] == TAU_HALFCAUCHY:
            k = int(problem.q[f])
            lam[:, f, :k] = 1.0 / np.maximum(problem.hc_inv_scale2[f, :k], 1e-300)
    b = np.zeros((chains, int(problem.b_off[-1])))
    alpha = np.zeros((chains, len(problem.pidx)))
    return b, alpha, mu, Sinv, lam, sigma2


def run_crossed(problem: CrossedProblem, streams, *, draws, warmup, thin, backend, progress):
    """Sample; returns the scaled-coordinate draws (b, alpha, mu, Sigma, sigma2) and the RunInfo."""
    chains = len(streams.normal)
    K = len(problem.J)
    qmax = problem.vidx.shape[1]
    state = crossed_initial_state(problem, streams.init, chains)
    nb = int(problem.b_off[-1])
    r = len(problem.pidx)
    out = dict(b=np.empty((chains, draws, nb)), alpha=np.empty((chains, draws, r)),
               mu=np.empty((chains, draws, int(problem.q[0]))), Sigma=np.empty((chains, draws, K, qmax, qmax)),
               sigma2=np.empty((chains, draws)))
    order = ("b", "alpha", "mu", "Sigma", "sigma2")

    def load_kernel():
        from ..kernels.crossed import crossed_gibbs

        return crossed_gibbs

    run_chunk = chunk_runner(backend, load_kernel, crossed_gibbs_reference, problem.kernel_args(), state, streams,
                             out, order, thin, "a conditional precision matrix lost positive definiteness; "
                             "rescale the data or the prior")
    cells = problem.stats.G.shape[0]
    cap = None if backend == "numba" else max(1, MAX_CHUNK_ELEMENTS // (chains * (nb + 4 * cells * G_width(problem)) + 1))
    info = drive(run_chunk, draws=draws, warmup=warmup, thin=thin, progress=progress, max_chunk_iters=cap)
    return {k: v[:, : info.draws_done] for k, v in out.items()}, info


def G_width(problem) -> int:
    return int(problem.stats.G.shape[1])


def _column_list(spec, names, fname):
    idx = []
    for item in spec:
        if isinstance(item, (int, np.integer)):
            if not 0 <= item < len(names):
                raise ValueError(f"Factor {fname!r}: column index {item} is out of range for coefficients {names}")
            idx.append(int(item))
        else:
            if item not in names:
                raise ValueError(f"Factor {fname!r}: varying column {item!r} is not a coefficient; "
                                 f"coefficients are {names}")
            idx.append(names.index(item))
    if len(set(idx)) != len(idx):
        raise ValueError(f"Factor {fname!r}: varying lists a column twice: {spec}")
    return sorted(idx)


class CrossedRegression:
    """Linear regression with several grouping factors (crossed or nested random effects), by Gibbs.

    ``factors``: a list of :class:`Factor`; the first one's effects are centred at the
    population means mu, the others' at zero (lme4's identification).  ``prior``: a
    :class:`CrossedPrior` for the population coefficients and sigma^2.  ``sampler``:
    ``"asis"`` (default: ``"blocked"`` plus an interweaving step, Yu & Meng 2011, that redraws
    every diagonal factor scale tau_f in the non-centred parameterisation b_f = m_f + tau_f eta_f;
    it fixes the slow mixing of a factor variance near zero; inverse-Wishart factors are not
    interwoven), ``"blocked"`` ((mu, alpha) drawn with the first factor's effects integrated out,
    then those effects, so (mu, alpha, b_1) form one exact block; plus, for every later
    factor, an exact draw along its mean direction that the likelihood cannot see) or
    ``"plain"`` (block Gibbs: one block per factor, then alpha, then mu).
    For a nested design ``(1 | a/b)`` pass factors ``a`` and ``a:b`` with labels from
    :func:`interaction_labels`.
    """

    SAMPLERS = ("asis", "blocked", "plain")

    def __init__(self, factors, prior: CrossedPrior | None = None, intercept: bool = True, sampler: str = "asis"):
        if isinstance(factors, Factor):
            factors = [factors]
        factors = list(factors or [])
        if not factors:
            raise ValueError("CrossedRegression needs at least one Factor")
        for f in factors:
            if not isinstance(f, Factor):
                raise ValueError(f"factors must be Factor objects, got {type(f).__name__}")
        names = [f.name for f in factors]
        if len(set(names)) != len(names):
            raise ValueError(f"factor names must be unique, got {names}")
        if sampler not in self.SAMPLERS:
            raise ValueError(f"sampler must be one of {self.SAMPLERS}, got {sampler!r}")
        if prior is None:
            prior = CrossedPrior()
        if not isinstance(prior, CrossedPrior):
            raise ValueError(f"CrossedRegression: prior must be a CrossedPrior, got {type(prior).__name__}")
        self.factors = factors
        self.prior = prior
        self.intercept = bool(intercept)
        self.sampler = sampler

    def prepare(self, X, y, groups):
        """Validate and reduce the data to cell statistics; returns (problem, design, prior, levels, vidx, pidx)."""
        design = as_design(X, y, self.intercept)
        vidx = [_column_list(f.varying, design.names, f.name) for f in self.factors]
        pidx = [i for i in range(design.p) if i not in vidx[0]]
        codes, levels = factor_columns(groups, self.factors, design.n)
        flat = sufficient_stats(design)
        prior = resolve_crossed_prior(self.prior, self.factors, flat, design.names, vidx)
        flat_cols = np.flatnonzero(~np.isfinite(prior.fixed_scale))
        if len(flat_cols):
            Gs = flat.G[np.ix_(flat_cols, flat_cols)]
            eig = np.linalg.eigvalsh(Gs)
            if not eig[0] > 1e-10 * max(eig[-1], 1e-300):
                raise ValueError("the population-level design is singular in the columns with a flat prior "
                                 f"{[design.names[i] for i in flat_cols]}: the posterior is improper; give them "
                                 "a finite fixed_scale or drop collinear columns")
        J = [len(lv) for lv in levels]
        cs = cell_stats(design, codes, J, flat.transform.beta_ref)
        problem = crossed_problem(cs, prior, vidx, pidx, J, blocked=self.sampler in ("asis", "blocked"),
                                  interweave=self.sampler == "asis")
        return problem, design, prior, levels, vidx, pidx

    def sample(self, X, y, groups, *, chains: int = 4, draws: int = 1000, warmup: int = 1000, thin: int = 1,
               seed=None, backend: str = "numba", progress: bool = True) -> Posterior:
        """Gibbs sampling; returns ``b_<factor>`` (chains, draws, J_f, q_f), ``tau2_<factor>`` (q_f) or
        ``Sigma_<factor>`` (q_f, q_f), ``mu`` (q_1), ``alpha`` (r) when some columns do not vary in the
        first factor, and ``sigma2`` (chains, draws).  ``groups``: {factor name: labels} or a DataFrame."""
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        t0 = time.perf_counter()
        problem, design, prior, levels, vidx, pidx = self.prepare(X, y, groups)
        streams = chain_streams(seed, chains)
        setup = time.perf_counter() - t0
        with no_huge_pages():
            out, info = run_crossed(problem, streams, draws=draws, warmup=warmup, thin=thin, backend=backend,
                                    progress=progress)
        D, ref = problem.stats.scale, problem.stats.ref
        draws_out, dims = {}, {}
        coords = {}
        Ch, Dn = out["sigma2"].shape
        for f, fac in enumerate(self.factors):
            v = np.asarray(vidx[f])
            k, Jf = len(v), len(levels[f])
            b = out["b"][:, :, problem.b_off[f]: problem.b_off[f + 1]].reshape(Ch, Dn, Jf, k) / D[v]
            if f == 0:
                b += ref[v]
            draws_out[f"b_{fac.name}"] = b
            dims[f"b_{fac.name}"] = [f"{fac.name}_level", f"{fac.name}_coef"]
            coords[f"{fac.name}_level"] = levels[f].tolist()
            coords[f"{fac.name}_coef"] = [design.names[i] for i in v]
            coords[f"{fac.name}_coef_"] = [design.names[i] for i in v]
            Sig = out["Sigma"][:, :, f, :k, :k] / np.outer(D[v], D[v])
            if prior.factors[f]["tau_kind"] == "InvWishart":
                draws_out[f"Sigma_{fac.name}"] = Sig
                dims[f"Sigma_{fac.name}"] = [f"{fac.name}_coef", f"{fac.name}_coef_"]
            else:
                draws_out[f"tau2_{fac.name}"] = np.diagonal(Sig, axis1=2, axis2=3).copy()
                dims[f"tau2_{fac.name}"] = [f"{fac.name}_coef"]
        v1 = np.asarray(vidx[0])
        draws_out["mu"] = out["mu"] / D[v1] + ref[v1]
        dims["mu"] = ["coef"]
        coords["coef"] = [design.names[i] for i in v1]
        if pidx:
            pa = np.asarray(pidx)
            draws_out["alpha"] = out["alpha"] / D[pa] + ref[pa]
            dims["alpha"] = ["pooled_coef"]
            coords["pooled_coef"] = [design.names[i] for i in pidx]
        draws_out["sigma2"] = out["sigma2"]
        dims["sigma2"] = []
        kinds = ", ".join(f"{f['name']}: {f['tau_kind']}" for f in prior.factors)
        attrs = {
            "model": f"CrossedRegression ({kinds}; {self.sampler} Gibbs)",
            "model_kind": "crossed", "sampler": self.sampler, "prior": prior, "backend": backend,
            "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
            "chains": chains, "draws": draws, "warmup": warmup, "thin": thin,
            "n": design.n, "p": design.p, "intercept": self.intercept, "names": design.names,
            "factors": [f.name for f in self.factors],
            "group_dims": [f"{f.name}_level" for f in self.factors],  # collapsed in printed summaries
            "varying_index": [list(map(int, v)) for v in vidx],
            "pooled_index": [int(i) for i in pidx], "levels": [len(lv) for lv in levels],
            "cells": int(problem.stats.G.shape[0]),
            "setup_seconds": setup, "warmup_seconds": info.warmup_seconds,
            "sampling_seconds": info.sampling_seconds, "interrupted": info.interrupted,
        }
        post = Posterior(draws_out, dims=dims, coords=coords, attrs=attrs)
        codes, _ = factor_columns(groups, self.factors, design.n)
        post.data = FittedData(design.X, design.y, codes)  # codes (n, F): a reference, for the log-likelihood
        return post
