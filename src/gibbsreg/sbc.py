"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018) of the flat Gibbs
sampler, locally or on a Dask cluster.

For each simulation s: theta_s ~ prior, y_s ~ p(y | theta_s, X), M posterior draws by the
model's Gibbs sampler (one chain, thinned), and the rank of each true parameter among the draws
(0..M).  If the sampler is right, each parameter's ranks are uniform on 0..M.  Simulation s uses
the s-th child of SeedSequence(seed) for both its data and its chain, so the ranks are the same
on one machine and on a cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .data import as_design
from .parallel import run_map


@dataclass
class SBCResult:
    """``ranks`` (n_sims, p + 1) of beta_0..beta_{p-1} and sigma2 among ``draws`` draws (0..draws);
    ``names``; ``pvalues()`` chi-square uniformity p-values per parameter."""

    ranks: np.ndarray
    names: list
    draws: int

    def pvalues(self, bins: int | None = None) -> np.ndarray:
        from scipy import stats as sps

        M = self.draws
        if bins is None:
            bins = max(b for b in range(1, 21) if (M + 1) % b == 0)
        counts = np.stack([np.bincount(r * bins // (M + 1), minlength=bins) for r in self.ranks.T])
        return sps.chisquare(counts, axis=1).pvalue

    def __str__(self) -> str:
        p = self.pvalues()
        lines = [f"SBC: {self.ranks.shape[0]} simulations, ranks 0..{self.draws}"]
        lines += [f"  {n:<16} chi-square uniformity p = {v:.3g}" for n, v in zip(self.names, p)]
        return "\n".join(lines)

    __repr__ = __str__


def _fixed_prior(model, X):
    """The model's prior with every number given (SBC draws the truth from it)."""
    from .io.api import memory_stats

    rng = np.random.default_rng(0)
    dummy = rng.standard_normal(X.shape[0])
    src = memory_stats(X, dummy, intercept=model.intercept)
    prior = model.prior.resolve(src.to_sufficient(), src.names)
    if getattr(prior, "kind", "") == "Exchangeable" or not hasattr(prior, "precision"):
        raise ValueError("sbc supports SemiConjugate and NormalInverseGamma priors")
    if prior.defaults:
        raise ValueError(f"sbc needs a fully specified prior (mean, scale or cov, a, b); {prior.defaults} are "
                         "data-scaled defaults, which depend on the simulated y")
    if prior.flat.any():
        raise ValueError("sbc needs a proper prior (no flat coefficients)")
    return prior, src.names


def _one(args):
    model, X, full, prior, child, draws, warmup, thin = args
    data_ss, chain_ss = child.spawn(2)
    rng = np.random.default_rng(data_ss)
    sigma2 = prior.sigma2_draws(rng, 1)[0]
    L = np.linalg.cholesky(np.linalg.inv(prior.precision))
    z = L @ rng.standard_normal(len(prior.mean))
    beta = prior.mean + (math.sqrt(sigma2) * z if prior.conjugate else z)
    y = full @ beta + math.sqrt(sigma2) * rng.standard_normal(full.shape[0])
    post = model.sample(X, y, chains=1, draws=draws, warmup=warmup, thin=thin, seed=chain_ss, progress=False)
    d = np.column_stack([post["beta"].reshape(draws, -1), post["sigma2"].reshape(draws)])
    return (d < np.append(beta, sigma2)).sum(axis=0)


def sbc(model, X, *, n_sims: int = 1000, draws: int = 99, warmup: int = 100, thin: int = 3, seed=0,
        client=None, progress: bool = True, batch: int = 25) -> SBCResult:
    """Simulation-based calibration of ``model`` (a LinearRegression with a fully specified
    SemiConjugate or NormalInverseGamma prior) on the design X (n, p_x).

    ``n_sims`` simulations, each ``draws`` kept draws (thinned by ``thin``) after ``warmup``.
    ``client``: a distributed.Client to spread the simulations over its workers (``batch`` per task);
    the ranks equal the local run's for the same seed.  Returns an :class:`SBCResult`.
    """
    design = as_design(X, np.zeros(np.shape(X)[0]), model.intercept)
    prior, names = _fixed_prior(model, design.X)
    full = design.full_matrix()
    children = np.random.SeedSequence(seed).spawn(int(n_sims))
    args = [(model, design.X, full, prior, c, int(draws), int(warmup), int(thin)) for c in children]
    ranks = run_map(_one, args, client=client, progress=progress, label="SBC", batch=batch)
    return SBCResult(np.asarray(ranks, dtype=np.int64), [f"beta[{n}]" for n in names] + ["sigma2"], int(draws))
