"""Layout of a hierarchical sweep: the prior kinds, the fixed blocks of groups, where a sweep's random
numbers sit in its buffers, and the sums over a block's lanes."""

import numpy as np
from numba import njit

from ..scales import SIGMA_INVGAMMA, TAU_HALFNORMAL

TAU_INVGAMMA = 0
TAU_HALFCAUCHY = 1
TAU_INVWISHART = 2
# Huang & Wand (2013): Sigma | a ~ IW(nu + q - 1, 2 nu diag(1/a)), a_k ~ IG(1/2, 1/A_k^2) (a in the state's lam,
# nu = iw_df - q + 1, 1/A_k^2 in hc_inv_scale2); the inverse-Wishart steps with a prior scale that moves
TAU_HUANGWAND = 5
# the half-normal and exponential tau (tau_b = 1/(2 s^2) or the rate) and the priors on sigma (sigma_kind,
# sigma_par): kernels/scales.py; half-Student-t is TAU_HALFCAUCHY with tau_a = nu (the mixture with nu general)


# Groups are processed in fixed blocks; every sum over groups is formed per block and the block sums
# are added in block order.  The blocks depend on J alone, so the draws are the same whether the
# blocks of a chain run on one thread or on several.
MAX_BLOCK = 128  # groups side by side in a block's vector loops: long enough to fill the vectors, short enough
# for the block's lane workspace (q^2 + 2p + 4 rows) to stay in the L1/L2 caches
GROUP_PARALLEL_MIN_J = 512  # below this a stage is too short to share: the handoffs and serial steps outweigh it
LANE_ROWS = 4  # rows of per-group scratch in a block's lane workspace, besides 2p rows of per-coefficient values
# Contraction to fused multiply-adds, but no reassociation: the same function inlined into the
# chains kernel and into the groups kernel must round identically, which a reordered (vectorised)
# sum would not guarantee.
EXACT_ORDER = {"contract"}
# Block totals alone may be reassociated: a scalar sum of a block's lanes (about 100 dependent or 8 interleaved
# additions) cost as much as the products summed; vectorised it is 4x cheaper.  The reduction is one loop
# with the same operands wherever it is inlined, so the chains and groups kernels still round alike (tested
# at 1 and 2 threads, bit for bit).
LANE_SUM = {"reassoc", "contract"}
# error_model="numpy": a division by zero gives inf or NaN (caught by the pivot and positivity tests) instead of
# raising, so loops with a division carry no zero test and vectorise (the beta stage ran 1.5x slower with it).


@njit(cache=True)
def group_blocks(J):
    """(block size, number of blocks) for J groups: as few blocks as MAX_BLOCK allows, of near-equal sizes."""
    nb = (J + MAX_BLOCK - 1) // MAX_BLOCK
    size = (J + nb - 1) // nb
    return size, (J + size - 1) // size


@njit(cache=True)
def _block_range(b, size, J):
    """The groups [j0, j1) of block b."""
    j0 = b * size
    return j0, min(J, j0 + size)


@njit(cache=True)
def _draw_index(t, thin, out_start, store):
    """The output index of sweep t's draw (counted from 0 in this call), or -1 when it is not kept."""
    return out_start + (t + 1) // thin - 1 if (store and (t + 1) % thin == 0) else -1


@njit(cache=True)
def _spread_at(q):
    """Offset of the spread sums in a block's row of sums, after the interweaving sums (3q^2 + 2q)."""
    return 3 * q * q + 2 * q


@njit(cache=True)
def _wishart(tau_kind):
    """Whether Sigma is a full matrix drawn by Bartlett (inverse-Wishart or Huang-Wand)."""
    return tau_kind == TAU_INVWISHART or tau_kind == TAU_HUANGWAND


@njit(cache=True)
def sweep_layout(q, r, J, tau_kind, asis, group_variance, sigma_kind=SIGMA_INVGAMMA):
    """Where one sweep's random numbers sit in its buffers: (n_hyper, o_mu, o_bartlett, o_location, o_scale;
    n_gamma, o_exp, o_lambda, o_sigma).  Normals: J q for the beta_j (drawn first, block by block), then
    the hyperparameters' n_hyper (alpha r, mu q, Bartlett off-diagonals, interweaving location q and scale q);
    gammas: tau^2 or Bartlett q, exponentials q, half-Cauchy lambdas q (or, for the half-normal and exponential
    tau, the acceptance exponentials q; for Huang-Wand the a_k q), sigma^2 (J, or 1 when shared), then the
    shared sigma's acceptance exponential (a sigma_kind other than SIGMA_INVGAMMA).
    Every count is fixed, whatever the state, so a sweep's numbers can be drawn ahead of it."""
    iw = _wishart(tau_kind)
    scale_step = asis and not iw
    n_off = q * (q - 1) // 2 if iw else 0
    o_mu = r
    o_bartlett = r + q
    o_location = o_bartlett + n_off
    o_scale = o_location + (q if asis else 0)
    n_hyper = o_scale + (q if scale_step else 0)
    o_exp = q
    o_lambda = o_exp + (q if scale_step else 0)
    o_sigma = o_lambda + (q if tau_kind == TAU_HALFCAUCHY or tau_kind >= TAU_HALFNORMAL else 0)
    n_gamma = o_sigma + (J if group_variance else 1) + (1 if sigma_kind != SIGMA_INVGAMMA else 0)
    return n_hyper, o_mu, o_bartlett, o_location, o_scale, n_gamma, o_exp, o_lambda, o_sigma


@njit(cache=True, fastmath=LANE_SUM, error_model="numpy", _nrt=False)
def _lane_total(row, m):
    """sum(row[:m]) as the compiler vectorises it (partial sums in vector lanes, then folded): the order
    depends on m and the machine's vector width, never on how blocks are shared between threads."""
    s = 0.0
    for l in range(m):
        s += row[l]
    return s


@njit(cache=True, fastmath=LANE_SUM, error_model="numpy", _nrt=False)
def _lane_dot(x, y, m):
    """sum(x[:m] * y[:m]) in vector lanes, as _lane_total."""
    s = 0.0
    for l in range(m):
        s += x[l] * y[l]
    return s


@njit(cache=True, fastmath=LANE_SUM, error_model="numpy", _nrt=False)
def _lane_dot3(x, y, z, m):
    """sum(x[:m] * y[:m] * z[:m]) in vector lanes, as _lane_total."""
    s = 0.0
    for l in range(m):
        s += x[l] * y[l] * z[l]
    return s


@njit(cache=True, fastmath=EXACT_ORDER, error_model="numpy")
def _block_G_totals(GT, q, size, nb, shared_variance):
    """Per block, the sums of G_j's varying block (lower triangle), for A with one shared sigma^2; rows of
    length 0 with per-group variances."""
    J = GT.shape[2]
    if not shared_variance:
        return np.zeros((nb, 0))
    out = np.zeros((nb, q * q))
    for b in range(nb):
        j0, j1 = _block_range(b, size, J)
        for a in range(q):
            for c in range(a + 1):
                out[b, a * q + c] = _lane_total(GT[a, c, j0:j1], j1 - j0)
    return out


@njit(cache=True)
def _sweep_buffers(GT, q, asis, group_variance, C, n_lanes):
    """The buffers of the stages over groups, for C chains and n_lanes workers: (block size, number of blocks,
    the block sums part (C, nb, row), the lane workspaces Am (n_lanes, q, q, size) and lanes (n_lanes,
    LANE_ROWS + 2p, size), _block_G_totals).  (sweep_layout's tuple is not returned with them: Numba's array
    analysis of a parallel caller then fails to lower it, "No definition for lowering UniTuple.shape".)"""
    J = GT.shape[2]
    p = GT.shape[0]
    r = p - q
    size, nb = group_blocks(J)
    part = np.zeros((C, nb, max(r * r + r + q, _spread_at(q) + q * q)))
    Am = np.zeros((n_lanes, q, q, size))
    lanes = np.zeros((n_lanes, LANE_ROWS + 2 * p, size))
    G_totals = _block_G_totals(GT, q, size, nb, asis and not group_variance)
    return size, nb, part, Am, lanes, G_totals
