"""hier_gibbs: the hierarchical kernel's entry point, which picks the chains or the groups kernel."""

import os
from typing import NamedTuple

import numba
import numpy as np

from ..draws import gamma_table
from .chains import hier_gibbs_chains
from .groups import MAX_SEGMENT_TASKS, hier_gibbs_groups
from .layout import GROUP_PARALLEL_MIN_J, group_blocks


def _usable_cores():
    """The processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class HierInputs(NamedTuple):
    """The hierarchical model's inputs to both backends, by name (the state, streams and outputs follow them).

    Per-group statistics in scaled coordinates G (J, p, p), h (J, p), rr (J,), nj (J,); q varying columns;
    priors: S0inv (q, q) and S0inv_mu0 (q,) of mu, Sainv and Sainv_a0 of the pooled alpha; the tau prior
    (tau_kind code, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi) and the sigma prior (sigma_a, sigma_b,
    sigma_kind, sigma_par), group_variance, asis (the interweaving step); the map to the stored draws
    theta = theta' / out_scale + out_ref.
    """

    G: np.ndarray
    h: np.ndarray
    rr: np.ndarray
    nj: np.ndarray
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
    out_scale: np.ndarray
    out_ref: np.ndarray


def hier_gibbs(
    inputs: HierInputs,
    beta, alpha, mu, Sinv, lam, sigma2,
    normal_streams, gamma_streams,
    n_iter, thin, out_start,
    out_beta, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """Run n_iter centred Gibbs sweeps (plus interweaving) for every chain; returns the number of failed
    factorisations.

    With at least as many chains as threads (or few groups) the threads share out the chains
    (hier_gibbs_chains); otherwise every chain's groups are shared out in blocks, stage by stage
    (hier_gibbs_groups).  Both make the same arithmetic on the same random numbers, so the draws do
    not depend on the thread count.

    The draws are stored in the original coordinates, theta = theta' / out_scale + out_ref (elementwise; for
    Sigma, divided by out_scale_a out_scale_b), into out_* (C, draws, ...) at out_start: out_Sigma (q, q), or
    (q, 1) for a diagonal Sigma (its diagonal, tau^2), out_sigma2 (J) or (1).

    G (J, p, p), h (J, p) and beta (C, J, q) are handed to the kernels lane-major, as GT (p, p, J),
    hT (p, J) and betaT (C, q, J): a block's groups then sit side by side in memory, one per vector lane.
    """
    # the sweep's gamma shapes: one definition for both backends
    from ...reference import hier_gamma_shapes

    (G, h, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
     sigma_a, sigma_b, sigma_kind, sigma_par, group_variance, asis, out_scale, out_ref) = inputs

    J = G.shape[0]
    gammas = gamma_table(hier_gamma_shapes(tau_kind, tau_a, q, J, iw_df, sigma_a, nj, group_variance, asis, sigma_kind))
    GT = np.ascontiguousarray(G.transpose(1, 2, 0))
    hT = np.ascontiguousarray(h.T)
    betaT = np.ascontiguousarray(beta.transpose(0, 2, 1))
    args = (GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
            iw_Psi, sigma_a, sigma_b, sigma_kind, sigma_par, group_variance, asis, out_scale, out_ref, gammas, betaT,
            alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta, out_alpha,
            out_mu, out_Sigma, out_sigma2)
    # threads beyond the cores would only wait for one another: the groups kernel's workers spin between phases
    workers = min(numba.get_num_threads(), _usable_cores())
    nb = group_blocks(J)[1]
    try:
        if betaT.shape[0] < workers and J >= GROUP_PARALLEL_MIN_J and betaT.shape[0] * (nb + 1) <= MAX_SEGMENT_TASKS:
            return hier_gibbs_groups(*args, workers)
        return hier_gibbs_chains(*args)
    finally:
        beta[...] = betaT.transpose(0, 2, 1)
