"""The flat models' Gaussian prior in the sampler's coordinates gamma = T (beta - beta_ref), the check that a
flat (improper) prior still gives a proper posterior, and dispersed start values of sigma^2: shared by the
Gaussian, exact (conjugate) and Student-t flat models."""

from __future__ import annotations

import math

import numpy as np

from .data import SufficientStats
from .priors import ResolvedPrior


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


def prior_in_sampler_coords(stats: SufficientStats, prior: ResolvedPrior):
    """The Gaussian prior on beta as (precision P, mean m) on gamma = T(beta - beta_ref)."""
    tr = stats.transform
    if (prior.centred_var is not None and tr.intercept and prior.centre is not None
            and np.array_equal(tr.shift, prior.centre)):
        # T = diag(1, scale) C: the default prior is exactly diagonal here
        full_scale = np.concatenate([[1.0], tr.scale])
        P = np.diag(1.0 / (prior.centred_var * full_scale**2))
    else:
        P = tr.precision_to_gamma(prior.precision)
    return P, tr.to_gamma(prior.mean)


def initial_sigma2(stats: SufficientStats, prior: ResolvedPrior, init_gens) -> np.ndarray:
    """Dispersed start values: the rough posterior scale times exp(N(0, 1)), one draw per chain."""
    centre = (prior.b + 0.5 * stats.rr) / (prior.a + 0.5 * stats.n)
    return np.array([centre * math.exp(g.standard_normal()) for g in init_gens])
