"""The hierarchical kernel with every chain's groups shared out between threads in blocks, stage by stage,
and the next sweep's random numbers drawn beside the stages."""

import math

import numpy as np
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from ..draws import fill_gammas, fill_normals, stream_at
from .layout import (
    EXACT_ORDER,
    LANE_ROWS,
    TAU_HALFCAUCHY,
    TAU_INVWISHART,
    _block_G_totals,
    _spread_at,
    group_blocks,
    sweep_layout,
)
from .stages import _stage_beta, _stage_noise, _stage_spread_asis
from .steps import _alpha_mu_step, _asis_step, _finish_step, _hyper_prior, _sigma_step, _sinv_mu

# Costs (ns) for cutting a stage's tasks into segments, one per pair of workers, when the next sweep's random
# numbers are drawn beside it, as timed on x86-64 with AVX-512 (they only balance the pairs' loads): per random
# number (the inlined streams of kernels/draws.py, a buffer at a time), and per group and flop-like unit of the
# three stages.
FILL_NS_PER_NORMAL = 2.6
FILL_NS_PER_GAMMA = 7.9
STAGE_NS_PER_UNIT = 0.17


@njit(cache=True)
def _stage_units(q, p, asis):
    """Work per group of the three stages (beta, spread and interweaving sums, move and RSS), in units."""
    beta = q * q * q / 3.0 + 3.0 * q * q + 2.0 * p * q + 8.0
    sums = q * q + 4.0 + ((3.0 * q * q + 2.0 * p * q + 4.0) if asis else 0.0)
    noise = p * p + 5.0 * p + q + 4.0
    return beta, sums, noise


@njit(cache=True)
def _task_shares(C, fill_cost, T, block_cost, n_workers):
    """Contiguous ranges [first[w], last[w]) of the tasks 0..C+T-1 (C fills of ``fill_cost``, then T blocks of
    ``block_cost``) with about equal estimated cost per worker."""
    total = C * fill_cost + T * block_cost
    first = np.zeros(n_workers, dtype=np.int64)
    last = np.zeros(n_workers, dtype=np.int64)
    cum = 0.0
    w = 0
    for task in range(C + T):
        cost = fill_cost if task < C else block_cost
        mid = cum + 0.5 * cost
        while w < n_workers - 1 and mid >= total * (w + 1) / n_workers:
            w += 1
            first[w] = task
        last[w] = task + 1
        cum += cost
    for v in range(w + 1, n_workers):
        first[v] = last[w]
        last[v] = last[w]
    return first, last


@njit(cache=True)
def _ahead_plan(C, T, size, q, p, asis, n_normal, n_gamma, n_workers):
    """How the next sweep's random numbers are drawn beside the three stages: stage s draws the normals
    [cuts[0, s], cuts[0, s + 1]) and the gammas [cuts[1, s], cuts[1, s + 1]) of each chain (the streams are
    read in order, a part per stage), in proportion to the stage's work; the stage's C fills and T blocks are
    cut into segments [first[s, m], last[s, m]) of about equal estimated cost, one per pair of workers."""
    units = _stage_units(q, p, asis)
    total_units = units[0] + units[1] + units[2]
    cuts = np.zeros((2, 4), dtype=np.int64)
    n_segments = (n_workers + 1) // 2
    first = np.zeros((3, n_segments), dtype=np.int64)
    last = np.zeros((3, n_segments), dtype=np.int64)
    share = 0.0
    for s in range(3):
        share += units[s] / total_units
        cuts[0, s + 1] = n_normal if s == 2 else int(share * n_normal)
        cuts[1, s + 1] = n_gamma if s == 2 else int(share * n_gamma)
        fill_cost = (FILL_NS_PER_NORMAL * (cuts[0, s + 1] - cuts[0, s])
                     + FILL_NS_PER_GAMMA * (cuts[1, s + 1] - cuts[1, s]))
        f, l = _task_shares(C, fill_cost, T, size * STAGE_NS_PER_UNIT * units[s], n_segments)
        first[s] = f
        last[s] = l
    return cuts, first, last


CLAIM_STRIDE = 8  # int64s between the segments' counters: one cache line each


@intrinsic
def _claim(typingctx, counter, index):
    """counter[index] += 1, atomically; returns the value before."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and counter.ndim == 1):
        return None
    sig = types.int64(counter, index)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], arr, [args[1]])
        return builder.atomic_rmw("add", ptr, context.get_constant(types.int64, 1), "monotonic")

    return sig, codegen


@njit(cache=True)
def _next_task(claimed, s, w, first, last, taken):
    """Worker w's next task of stage s, or -1 when its segment is done.  Workers 2m and 2m + 1 share segment m,
    the first taking its tasks from the front and the second from the back; each claim counts on the segment's
    counter, so together they take every task once, and each keeps to its end of the segment (its blocks'
    data stay in its core's cache from stage to stage) while the two finish together."""
    m = w // 2
    lo = first[s, m]
    hi = last[s, m]
    if _claim(claimed, (s * first.shape[1] + m) * CLAIM_STRIDE) >= hi - lo:
        return -1
    return hi - 1 - taken if w % 2 == 1 else lo + taken


@njit(cache=True)
def _fill_part(normal, gamma_rng, z, g, gammas, cuts, s):
    """Stage s's part of a sweep's random numbers (_ahead_plan), continuing the streams in order."""
    fill_normals(normal, z[cuts[0, s]:], cuts[0, s + 1] - cuts[0, s])
    fill_gammas(gamma_rng, g[cuts[1, s]:], gammas[:, cuts[1, s]:cuts[1, s + 1]])


@njit(cache=True)
def _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, s):
    """Whether ``task`` of stage s is a chain's fill (tasks 0..C-1); draws that chain's part of the next
    sweep's random numbers when there is a next sweep in this call."""
    if task >= C:
        return False
    if ahead:
        c = np.int64(task)
        _fill_part(stream_at(normal_streams, c), stream_at(gamma_streams, c), z_next[task], g_next[task], gammas,
                   cuts, s)
    return True


@njit(cache=True)
def _task_block(task, C, nb, size, J):
    """Block task ``task`` (after the C fills) of a stage: (block index over chains, chain, block, j0, j1)."""
    i = task - C
    b = i % nb
    j0 = b * size
    return i, i // nb, b, j0, min(J, j0 + size)


@njit(cache=True, parallel=True, fastmath=EXACT_ORDER, error_model="numpy")
def hier_gibbs_groups(GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                      iw_df, iw_Psi, sigma_a, sigma_b, group_variance, asis, out_scale, out_ref, gammas, betaT,
                      alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta,
                      out_alpha, out_mu, out_Sigma, out_sigma2, n_workers):
    """hier_gibbs with every stage over groups run in parallel over (chain, block) pairs, the chains in
    lockstep: the same sweeps as _one_chain (the short per-chain steps between stages run on the calling
    thread: three parallel regions per sweep).  A sweep's random numbers do not depend on the state
    (sweep_layout), so each chain's next sweep's are drawn ahead, in _one_chain's order, a part beside each
    stage (_ahead_plan): no stage waits for one thread's drawing.  Within a stage, two workers share each
    segment of tasks from its two ends (_next_task), so they finish together whatever the tasks cost; a
    block's results do not depend on which worker ran it."""
    C = betaT.shape[0]
    J = GT.shape[2]
    p = GT.shape[0]
    r = p - q
    size, nb = group_blocks(J)
    T = C * nb
    n_hyper, o_mu, o_bartlett, o_location, o_scale, n_gamma, o_exp, o_lambda, o_sigma = sweep_layout(
        q, r, J, tau_kind, asis, group_variance)
    n_normal = J * q + n_hyper
    iw = tau_kind == TAU_INVWISHART
    scale_step = asis and not iw
    part = np.zeros((C, nb, max(r * r + r + q, _spread_at(q) + q * q)))
    # workspaces per worker, not per task: with many blocks, per-task ones would not stay in cache
    wAm = np.zeros((n_workers, q, q, size))
    wlanes = np.zeros((n_workers, LANE_ROWS + 2 * p, size))
    G_totals = _block_G_totals(GT, q, size, nb, asis and not group_variance)
    inv_scale = 1.0 / out_scale
    cA = np.zeros((C, p, p))
    cvec = np.zeros((C, 4, p))
    cqq = np.zeros((C, 5, q, q))
    small = np.zeros((C, 8, q))
    prior_ab = np.zeros((C, 2, q))
    zbuf = np.zeros((2, C, n_normal))  # this sweep's and the next sweep's
    gbuf = np.zeros((2, C, n_gamma))
    shift = np.zeros(C, dtype=np.bool_)
    cfail = np.zeros(C, dtype=np.int64)
    tfail = np.zeros(T, dtype=np.int64)
    cuts, first, last = _ahead_plan(C, T, size, q, p, asis, n_normal, n_gamma, n_workers)
    claimed = np.zeros(3 * first.shape[1] * CLAIM_STRIDE, dtype=np.int64)  # claims per stage and segment
    for s in range(3):
        for c in range(C):
            _fill_task(c, C, True, normal_streams, gamma_streams, zbuf[0], gbuf[0], gammas, cuts, s)
    for t in range(n_iter):
        k = out_start + (t + 1) // thin - 1 if (out_mu.shape[1] > 0 and (t + 1) % thin == 0) else -1
        z = zbuf[t % 2]
        g = gbuf[t % 2]
        z_next = zbuf[(t + 1) % 2]
        g_next = gbuf[(t + 1) % 2]
        # not after the last sweep: the streams' saved state must be that of a run stopped there
        ahead = t + 1 < n_iter
        for c in range(C):
            _sinv_mu(q, Sinv[c], mu[c], small[c, 7])
        # every stage's claim counters, once per sweep (a plain loop: claimed[:] = 0 would be a parallel region)
        for i in range(claimed.shape[0]):
            claimed[i] = 0
        for w in prange(n_workers):
            taken = 0
            while True:
                task = _next_task(claimed, 0, w, first, last, taken)
                if task < 0:
                    break
                taken += 1
                if _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, 0):
                    continue
                i, c, b, j0, j1 = _task_block(task, C, nb, size, J)
                tfail[i] += _stage_beta(GT, hT, q, r, j0, j1, betaT[c], alpha[c], Sinv[c], small[c, 7], sigma2[c],
                                        z[c, j0 * q:], wAm[w], wlanes[w], part[c, b])
        for c in range(C):
            zh = z[c, J * q:]
            cfail[c] += _alpha_mu_step(J, q, r, nb, part[c], Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv[c], alpha[c],
                                       mu[c], cA[c], cvec[c, 0], cvec[c, 1], cvec[c, 2], zh, zh[o_mu:])
        for w in prange(n_workers):
            taken = 0
            while True:
                task = _next_task(claimed, 1, w, first, last, taken)
                if task < 0:
                    break
                taken += 1
                if _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, 1):
                    continue
                i, c, b, j0, j1 = _task_block(task, C, nb, size, J)
                _stage_spread_asis(GT, hT, q, r, j0, j1, iw, asis, scale_step, betaT[c],
                                   alpha[c], mu[c], sigma2[c], G_totals[b], wlanes[w], part[c, b])
        for c in range(C):
            zh = z[c, J * q:]
            cfail[c] += _sigma_step(J, q, nb, part[c, :, _spread_at(q):], tau_kind, tau_a, tau_b, iw_df, iw_Psi,
                                    Sinv[c], lam[c], cqq[c, 0], cqq[c, 1], cqq[c, 2], cvec[c, 2], zh[o_bartlett:],
                                    g[c])
            shift[c] = False
            if asis:
                for a in range(q):
                    small[c, 0, a] = mu[c, a]
                    small[c, 2, a] = 1.0 / math.sqrt(Sinv[c, a, a]) if scale_step else 1.0
                _hyper_prior(q, tau_kind, tau_a, tau_b, lam[c], prior_ab[c])
                shift[c] = _asis_step(q, nb, part[c], scale_step, S0inv, S0inv_mu0, prior_ab[c, 0], prior_ab[c, 1],
                                      mu[c], Sinv[c], cA[c], cvec[c, 0], cvec[c, 1], cqq[c, 3], cqq[c, 4], small[c, 4],
                                      small[c, 1], small[c, 2], small[c, 3], zh[o_location:], zh[o_scale:],
                                      g[c, o_exp:])
            if tau_kind == TAU_HALFCAUCHY:
                for a in range(q):
                    lam[c, a] = (hc_inv_scale2[a] + Sinv[c, a, a]) / g[c, o_lambda + a]
        for w in prange(n_workers):
            taken = 0
            while True:
                task = _next_task(claimed, 2, w, first, last, taken)
                if task < 0:
                    break
                taken += 1
                if _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, 2):
                    continue
                i, c, b, j0, j1 = _task_block(task, C, nb, size, J)
                part[c, b, 0] = _stage_noise(GT, hT, rr, q, r, j0, j1, shift[c], mu[c], small[c, 0], small[c, 3],
                                             betaT[c], alpha[c], sigma2[c], group_variance, sigma_b,
                                             g[c, o_sigma + j0:], wlanes[w], k, inv_scale, out_ref, out_beta[c],
                                             out_sigma2[c])
        for c in range(C):
            _finish_step(J, q, r, nb, part[c], group_variance, sigma_b, Sinv[c], alpha[c], mu[c], sigma2[c],
                         cqq[c, 0], cvec[c, 2], g[c, o_sigma], k, out_scale, out_ref, out_alpha[c], out_mu[c],
                         out_Sigma[c], out_sigma2[c])
    return cfail.sum() + tfail.sum()
