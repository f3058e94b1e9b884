"""The hierarchical kernel with every chain's groups shared out between threads in blocks, stage by stage,
and the next sweep's random numbers drawn beside the stages."""

import numpy as np
from numba import njit, prange

from ..draws import fill_gammas, fill_normals, stream_at
from .layout import EXACT_ORDER, _block_range, _draw_index, _sweep_buffers, _wishart, sweep_layout
from .stages import _stage_beta, _stage_noise, _stage_spread_asis
from .steps import _alpha_mu_step, _chain_workspaces, _finish_step, _sinv_mu, _spread_steps
from .sync import atomic_add, atomic_load, atomic_store, compare_exchange, spin_pause

# Costs (ns) for cutting a stage's tasks into segments, one per pair of workers, and the next sweep's random
# numbers into a part per stage, as timed on x86-64 with AVX-512 (they only balance the workers' loads; the
# draws do not depend on them): per random number (the inlined streams of kernels/draws.py, a buffer at a
# time), and per group of each stage, a fixed part plus a part per flop-like unit (_stage_ns), fitted to the
# stages' times at p = q = 2, 3, 5 and 8.
FILL_NS_PER_NORMAL = 3.0
FILL_NS_PER_GAMMA = 7.9
STAGE_NS_FIXED = (4.3, 1.8, 1.0)
STAGE_NS_PER_UNIT = (0.13, 0.083, 0.14)


@njit(cache=True)
def _stage_ns(q, p, asis):
    """Estimated ns per group of the three stages (beta, spread and interweaving sums, move and RSS)."""
    beta = q * q * q / 3.0 + 3.0 * q * q + 2.0 * p * q + 8.0
    sums = q * q + 4.0 + ((3.0 * q * q + 2.0 * p * q + 4.0) if asis else 0.0)
    noise = p * p + 5.0 * p + q + 4.0
    return (STAGE_NS_FIXED[0] + STAGE_NS_PER_UNIT[0] * beta, STAGE_NS_FIXED[1] + STAGE_NS_PER_UNIT[1] * sums,
            STAGE_NS_FIXED[2] + STAGE_NS_PER_UNIT[2] * noise)


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
    read in order, a part per stage), in proportion to the stage's work, so that two workers sharing a stage
    meet at about the same block in every stage; the stage's C fills and T blocks are cut into segments
    [first[s, m], last[s, m]) of about equal estimated cost, one per pair of workers."""
    ns = _stage_ns(q, p, asis)
    total_ns = ns[0] + ns[1] + ns[2]
    cuts = np.zeros((2, 4), dtype=np.int64)
    n_segments = (n_workers + 1) // 2
    first = np.zeros((3, n_segments), dtype=np.int64)
    last = np.zeros((3, n_segments), dtype=np.int64)
    share = 0.0
    for s in range(3):
        share += ns[s] / total_ns
        cuts[0, s + 1] = n_normal if s == 2 else int(share * n_normal)
        cuts[1, s + 1] = n_gamma if s == 2 else int(share * n_gamma)
        fill_cost = (FILL_NS_PER_NORMAL * (cuts[0, s + 1] - cuts[0, s])
                     + FILL_NS_PER_GAMMA * (cuts[1, s + 1] - cuts[1, s]))
        f, l = _task_shares(C, fill_cost, T, size * ns[s], n_segments)
        first[s] = f
        last[s] = l
    return cuts, first, last


# The workers' shared counters, in one int64 array, a cache line (8 int64s) apart: the phase open now (phase
# 3t + s is stage s of sweep t), the finished tasks of the open and the next phase, and each segment's claims.
STRIDE = 8
AT_PHASE = 0
AT_DONE = STRIDE  # and 2 * STRIDE: by the phase's parity
AT_CLAIMS = 3 * STRIDE  # + STRIDE m for segment m
# A segment's claim counter: the phase's tag (its low TAG_BITS bits), the tasks claimed from the front, and
# those claimed from the back, in one int64, so that one compare-and-swap checks and updates all three.
COUNT_BITS = 20
MAX_SEGMENT_TASKS = (1 << COUNT_BITS) - 1
TAG_BITS = 23
TAG_MASK = (1 << TAG_BITS) - 1
FRONT_SHIFT = COUNT_BITS
TAG_SHIFT = 2 * COUNT_BITS


@njit(cache=True)
def _claim(ctrl, at, tag, n, from_back):
    """Claim tasks of a segment of n tasks on its counter ctrl[at], from its front or its back, while the
    counter still carries the phase's tag: a quarter of the tasks left (at least one; guided scheduling: a
    few claims per stage rather than one per task, each an atomic on a cache line the cores pass around, while
    the last claims stay small enough for the workers to finish together).  Returns (first task's offset in
    the segment, tasks granted); a worker runs the tasks it was granted in order, even when it claims from the
    back, because the memory of ascending blocks streams in ahead of the loads.  (0, 0)
    when the phase has ended (a late worker then claims nothing of the next phase) or no task is left."""
    while True:
        old = atomic_load(ctrl, at)
        front = (old >> FRONT_SHIFT) & MAX_SEGMENT_TASKS
        back = old & MAX_SEGMENT_TASKS
        left = n - front - back
        if (old >> TAG_SHIFT) != tag or left <= 0:
            return 0, 0
        ask = max(1, left // 4)
        if compare_exchange(ctrl, at, old, old + (ask if from_back else ask << FRONT_SHIFT)) == old:
            return (n - back - ask if from_back else front), ask


@njit(cache=True)
def _next_task(ctrl, tag, s, w, first, last, mine):
    """Worker w's next task of stage s in the phase tagged ``tag``, or -1 when every task is claimed.  Worker
    w starts in segment w // 2, from its front if w is even and from its back if odd: the two workers of a
    segment each keep to their end (their blocks' data stay in their core's cache from stage to stage) and
    finish together.  When its own segment is claimed out, a worker claims from the others, so every worker
    can take every task: the phase ends even when the region's iterations do not all run at once.
    ``mine``: (next task, tasks granted and not yet taken), the second set to 0 at the start of each phase."""
    from_back = w % 2 == 1
    if mine[1] == 0:
        n_segments = first.shape[1]
        for i in range(n_segments):
            m = (w // 2 + i) % n_segments
            offset, granted = _claim(ctrl, AT_CLAIMS + m * STRIDE, tag, last[s, m] - first[s, m], from_back)
            if granted > 0:
                mine[0] = first[s, m] + offset
                mine[1] = granted
                break
        if mine[1] == 0:
            return -1
    task = mine[0]
    mine[0] += 1
    mine[1] -= 1
    return task


@njit(cache=True)
def _wait_for(ctrl, phase):
    """Wait until phase ``phase`` or a later one is open; returns the open phase."""
    while True:
        open_phase = atomic_load(ctrl, AT_PHASE)
        if open_phase >= phase:
            return open_phase
        spin_pause()


@njit(cache=True)
def _open(ctrl, phase, n_segments):
    """Open phase ``phase`` (by the worker that finished the phase before it, after that phase's serial step):
    its claim counters tagged with it and empty, the next phase's finished count zero, then the phase number
    itself, released last so that a worker that sees it sees the rest."""
    for m in range(n_segments):
        atomic_store(ctrl, AT_CLAIMS + m * STRIDE, (phase & TAG_MASK) << TAG_SHIFT)
    atomic_store(ctrl, AT_DONE + ((phase + 1) % 2) * STRIDE, 0)
    atomic_store(ctrl, AT_PHASE, phase)


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
    j0, j1 = _block_range(b, size, J)
    return i, i // nb, b, j0, j1


@njit(cache=True)
def _first_numbers(C, normal_streams, gamma_streams, z, g, gammas, cuts, q, Sinv, mu, small):
    """Before the first phase: sweep 0's random numbers, and Sigma^{-1} mu of every chain."""
    for s in range(3):
        for c in range(C):
            _fill_task(c, C, True, normal_streams, gamma_streams, z, g, gammas, cuts, s)
    for c in range(C):
        _sinv_mu(q, Sinv[c], mu[c], small[c, 7])


@njit(cache=True, parallel=True, fastmath=EXACT_ORDER, error_model="numpy")
def hier_gibbs_groups(GT, hT, rr, nj, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                      iw_df, iw_Psi, sigma_a, sigma_b, sigma_kind, sigma_par, group_variance, asis, out_scale, out_ref,
                      gammas, betaT,
                      alpha, mu, Sinv, lam, sigma2, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta,
                      out_alpha, out_mu, out_Sigma, out_sigma2, n_workers):
    """hier_gibbs with every stage over groups run in parallel over (chain, block) pairs, the chains in
    lockstep: the same sweeps as _one_chain, in one parallel region per call.  The workers go through the
    phases (3 per sweep: the beta, spread and noise stages) together; the worker that finishes a phase's
    last task runs the short per-chain steps that follow the stage and opens the next phase (_open), while
    the others wait for it (_wait_for).  No worker waits for another to arrive, only for tasks to be done,
    so the region also finishes when its iterations run one after another.  A sweep's random numbers do not
    depend on the state (sweep_layout), so each chain's next sweep's are drawn ahead, in _one_chain's order,
    a part beside each stage (_ahead_plan): no stage waits for one thread's drawing.  Within a stage, two
    workers share each segment of tasks from its two ends (_next_task), so they finish together whatever the
    tasks cost; a block's results do not depend on which worker ran it."""
    C = betaT.shape[0]
    J = GT.shape[2]
    p = GT.shape[0]
    r = p - q
    # workspaces of the stages per worker, not per task: with many blocks, per-task ones would not stay in cache
    size, nb, part, wAm, wlanes, G_totals = _sweep_buffers(GT, q, asis, group_variance, C, n_workers)
    T = C * nb
    n_hyper, o_mu, _, _, _, n_gamma, _, _, o_sigma = sweep_layout(q, r, J, tau_kind, asis, group_variance, sigma_kind)
    n_normal = J * q + n_hyper
    iw = _wishart(tau_kind)
    scale_step = asis and not iw
    inv_scale = 1.0 / out_scale
    cA, cvec, cqq, small, prior_ab = _chain_workspaces(C, p, q)
    zbuf = np.zeros((2, C, n_normal))  # this sweep's and the next sweep's
    gbuf = np.zeros((2, C, n_gamma))
    shift = np.zeros(C, dtype=np.bool_)
    cfail = np.zeros(C, dtype=np.int64)
    tfail = np.zeros(T, dtype=np.int64)
    cuts, first, last = _ahead_plan(C, T, size, q, p, asis, n_normal, n_gamma, n_workers)
    n_segments = first.shape[1]
    n_tasks = C + T
    n_phases = 3 * n_iter
    ctrl = np.zeros(AT_CLAIMS + n_segments * STRIDE, dtype=np.int64)
    claims = np.zeros((n_workers, STRIDE), dtype=np.int64)  # each worker's own, a cache line apart
    _first_numbers(C, normal_streams, gamma_streams, zbuf[0], gbuf[0], gammas, cuts, q, Sinv, mu, small)
    _open(ctrl, 0, n_segments)
    for w in prange(n_workers):
        mine = claims[w]
        phase = 0
        while True:
            phase = _wait_for(ctrl, phase)
            if phase >= n_phases:
                break
            t = phase // 3
            s = phase - 3 * t
            z = zbuf[t % 2]
            g = gbuf[t % 2]
            z_next = zbuf[(t + 1) % 2]
            g_next = gbuf[(t + 1) % 2]
            # not after the last sweep: the streams' saved state must be that of a run stopped there
            ahead = t + 1 < n_iter
            k = _draw_index(t, thin, out_start, out_mu.shape[1] > 0)
            mine[1] = 0
            finished = 0
            while True:
                task = _next_task(ctrl, phase & TAG_MASK, s, w, first, last, mine)
                if task < 0:
                    break
                finished += 1
                if _fill_task(task, C, ahead, normal_streams, gamma_streams, z_next, g_next, gammas, cuts, s):
                    continue
                i, c, b, j0, j1 = _task_block(task, C, nb, size, J)
                if s == 0:
                    if not group_variance:  # the shared sigma^2 of the last sweep, which _finish_step left in [0]
                        for j in range(max(j0, 1), j1):
                            sigma2[c, j] = sigma2[c, 0]
                    tfail[i] += _stage_beta(GT, hT, q, r, j0, j1, betaT[c], alpha[c], Sinv[c], small[c, 7],
                                            sigma2[c], z[c, j0 * q:], wAm[w], wlanes[w], part[c, b])
                elif s == 1:
                    _stage_spread_asis(GT, hT, q, r, j0, j1, iw, asis, scale_step, betaT[c], alpha[c], mu[c],
                                       sigma2[c], G_totals[b], wlanes[w], part[c, b])
                else:
                    part[c, b, 0] = _stage_noise(GT, hT, rr, q, r, j0, j1, shift[c], mu[c], small[c, 0],
                                                 small[c, 3], betaT[c], alpha[c], sigma2[c], group_variance,
                                                 sigma_b, g[c, o_sigma + j0:], wlanes[w], k, inv_scale, out_ref,
                                                 out_beta[c], out_sigma2[c])
            if finished == 0 or atomic_add(ctrl, AT_DONE + (phase % 2) * STRIDE, finished) + finished < n_tasks:
                phase += 1
                continue
            # this worker finished the phase's last task: the steps after stage s, then the next phase
            for c in range(C):
                zh = z[c, J * q:]
                if s == 0:
                    cfail[c] += _alpha_mu_step(J, q, r, nb, part[c], Sainv, Sainv_a0, S0inv, S0inv_mu0, Sinv[c],
                                               alpha[c], mu[c], cA[c], cvec[c, 0], cvec[c, 1], cvec[c, 2], zh,
                                               zh[o_mu:])
                elif s == 1:
                    failed, shift[c] = _spread_steps(J, q, r, nb, part[c], asis, group_variance, tau_kind, tau_a,
                                                     tau_b, hc_inv_scale2, iw_df, iw_Psi, S0inv, S0inv_mu0, Sinv[c],
                                                     lam[c], mu[c], cA[c], cvec[c], cqq[c], small[c], prior_ab[c], zh,
                                                     g[c])
                    cfail[c] += failed
                else:
                    _finish_step(1, q, r, nb, part[c], group_variance, sigma_b, sigma_kind, sigma_par, Sinv[c],
                                 alpha[c], mu[c], sigma2[c], cqq[c, 0], cvec[c, 2], g[c, o_sigma:], k, out_scale,
                                 out_ref, out_alpha[c], out_mu[c], out_Sigma[c], out_sigma2[c])
                    _sinv_mu(q, Sinv[c], mu[c], small[c, 7])
            _open(ctrl, phase + 1, n_segments)
            phase += 1
    if not group_variance:
        for c in range(C):
            sigma2[c, 1:] = sigma2[c, 0]
    return cfail.sum() + tfail.sum()
