"""crossed_gibbs: the crossed kernel's entry point, a block-Gibbs sweep per iteration with the chains
shared out between threads."""

from typing import NamedTuple

import numpy as np
from numba import njit

from ..draws import standard_gamma, stream_at
from ..scales import SIGMA_INVGAMMA, noise_accept
from ..pool import over_chains
from .interweave import _interweave_scales
from .layout import TAU_INVWISHART
from .nested import _effects_joint
from .sweep import _effects_blocked, _effects_plain, _factor_scales, _residual_ss, _shift_moves, _store_draw


@njit(cache=True)
def _scale_list(tau_kind, q):
    """The interwoven scales: (factor, coordinate) of every diagonal Sigma_f, factor by factor."""
    n_scales = 0
    for f in range(q.shape[0]):
        if tau_kind[f] != TAU_INVWISHART:
            n_scales += q[f]
    tf = np.zeros(n_scales, dtype=np.int64)
    tk = np.zeros(n_scales, dtype=np.int64)
    pos = 0
    for f in range(q.shape[0]):
        if tau_kind[f] != TAU_INVWISHART:
            for a in range(q[f]):
                tf[pos] = f
                tk[pos] = a
                pos += 1
    return tf, tk


@njit(cache=True)
def _totals(nc, rr):
    """n and the residual sum of squares over the cells, summed in cell order."""
    n_total = 0.0
    rr_total = 0.0
    for c in range(nc.shape[0]):
        n_total += nc[c]
        rr_total += rr[c]
    return n_total, rr_total


class CrossedInputs(NamedTuple):
    """The crossed model's inputs to both backends, by name (models/crossed/problem.py says what each holds):
    cell statistics (G, h, rr, nc, level), the factors' layout (J, q, vidx, pidx, b_off, lv_off), per-level
    Gram sums (Gsum, hsum, Gfp, Gpp, hp), the priors of mu, alpha, the factors' scales and sigma, the shift
    moves (shift_target, parent_of, n_children) and the sampler's switches (blocked, interweave)."""

    G: object
    h: object
    rr: object
    nc: object
    level: object
    J: object
    q: object
    vidx: object
    pidx: object
    b_off: object
    lv_off: object
    Gsum: object
    hsum: object
    Gfp: object
    Gpp: object
    hp: object
    S0inv: object
    S0inv_mu0: object
    Sainv: object
    Sainv_a0: object
    tau_kind: object
    tau_a: object
    tau_b: object
    hc_inv_scale2: object
    iw_df: object
    iw_Psi: object
    shift_target: object
    parent_of: object
    n_children: object
    sigma_a: object
    sigma_b: object
    sigma_kind: object
    sigma_par: object
    blocked: object
    interweave: object
    joint: object
    joint_parent: object
    Gchild: object
    hchild: object
    joint_scales: object
    joint_step: object


def crossed_gibbs(
    inputs,
    b, alpha, mu, Sinv, lam, sigma2,
    normal_streams, gamma_streams, n_iter, thin, out_start,
    out_b, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """Run n_iter block-Gibbs sweeps for every chain, the chains shared out between threads (kernels/pool.py);
    returns the number of failed factorisations.  ``inputs``: a CrossedInputs (the model's arrays by name)."""
    (G, h, rr, nc, level, J, q, vidx, pidx, b_off, lv_off, Gsum,
     hsum, Gfp, Gpp, hp, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
     iw_df, iw_Psi, shift_target, parent_of, n_children, sigma_a, sigma_b, sigma_kind, sigma_par, blocked, interweave,
     joint, joint_parent, Gchild, hchild, joint_scales, joint_step) = inputs
    n_total, rr_total = _totals(nc, rr)
    tf, tk = _scale_list(tau_kind, q)
    return over_chains(_one_chain, b.shape[0], (
        G, h, rr, level, J, q, vidx, pidx, b_off, lv_off, Gsum, hsum, Gfp, Gpp, hp, S0inv,
        S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi, shift_target,
        parent_of, n_children, sigma_a, sigma_b, sigma_kind, sigma_par, blocked, interweave, joint, joint_parent,
        Gchild, hchild, joint_scales, joint_step, n_total, rr_total, tf, tk, b, alpha, mu, Sinv, lam, sigma2,
        normal_streams, gamma_streams, n_iter, thin, out_start, out_b, out_alpha, out_mu, out_Sigma, out_sigma2))


@njit(cache=True, nogil=True)
def _one_chain(
    ch, G, h, rr, level, J, q, vidx, pidx, b_off, lv_off, Gsum, hsum, Gfp, Gpp, hp, S0inv, S0inv_mu0, Sainv,
    Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi, shift_target, parent_of, n_children, sigma_a,
    sigma_b, sigma_kind, sigma_par, blocked, interweave, joint, joint_parent, Gchild, hchild, joint_scales, joint_step,
    n_total, rr_total, tf, tk,
    b, alpha, mu, Sinv, lam, sigma2,
    normal_streams, gamma_streams, n_iter, thin, out_start, out_b, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """Chain ch's sweeps, on workspaces of its own (rows of shared arrays would put neighbouring chains on
    the same cache lines); returns its number of failed factorisations."""
    p = G.shape[1]
    K = J.shape[0]
    r = pidx.shape[0]
    qmax = vidx.shape[1]
    J_max = 0
    for f in range(K):
        if J[f] > J_max:
            J_max = J[f]
    n_scales = tf.shape[0]
    store = out_mu.shape[1] > 0
    normal = stream_at(normal_streams, ch)
    gamma_rng = stream_at(gamma_streams, ch)
    bc = b[ch]
    al = alpha[ch]
    mc = mu[ch]
    Sinv_c = Sinv[ch]
    lam_c = lam[ch]
    theta = np.zeros(p)
    lev = np.zeros((J_max, qmax))
    m = max(p, qmax)
    A = np.zeros((m, m))
    v = np.zeros(m)
    acc = np.zeros(m)
    inv_diag = np.zeros(m)
    Sm = np.zeros(qmax)
    M = np.zeros((qmax, qmax))
    Bart = np.zeros((qmax, qmax))
    W = np.zeros((qmax, qmax))
    Pm = np.zeros((p, p))
    wv = np.zeros(p)
    Lw = np.zeros((qmax, qmax))
    Uw = np.zeros((qmax, p))
    ew = np.zeros(qmax)
    childsum = np.zeros((J[0], qmax))
    cvals = np.zeros((J[0], qmax))
    scales = np.zeros((5, n_scales))
    tau_old, itau, tau_new, eta, bt = scales[0], scales[1], scales[2], scales[3], scales[4]
    tcol = np.zeros(n_scales, dtype=np.int64)
    theta_base = np.zeros(p)
    rc = np.zeros(p)
    Qt = np.zeros((n_scales, n_scales))
    # the joint update of a nested factor (kernels/crossed/nested.py): its workspaces, empty when unused
    jf = joint if joint >= 0 else 0
    nj = Gchild.shape[0]
    cols = np.zeros(p if joint >= 0 else 0, dtype=np.int64)
    vf = np.zeros(q[jf] if joint >= 0 else 0, dtype=np.int64)
    if joint >= 0:
        for a in range(q[0]):
            cols[a] = vidx[0, a]
        for a in range(r):
            cols[q[0] + a] = pidx[a]
        for a in range(q[jf]):
            vf[a] = vidx[jf, a]
    hcw = np.zeros((nj, p))
    Ps = np.zeros((J[0] if joint >= 0 else 0, p, p))
    ws = np.zeros((J[0] if joint >= 0 else 0, p))
    col = np.zeros(m)
    old = np.zeros(joint_scales.shape[0])
    nfail = 0
    countdown = thin
    for t in range(n_iter):
        inv = 1.0 / sigma2[ch]
        if not blocked:
            nfail += _effects_plain(G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, Gsum, Gpp, hp, S0inv, S0inv_mu0,
                                    Sainv, Sainv_a0, r, Sinv_c, bc, al, mc, inv, lev, A, v, acc, inv_diag, Sm, normal)
        elif joint >= 0:
            nfail += _effects_joint(G, level, J, q, vidx, pidx, b_off, lv_off, hsum, Gfp, Gsum, S0inv, S0inv_mu0, Sainv,
                                    Sainv_a0, r, Sinv_c, lam_c, bc, al, mc, inv, lev, A, v, inv_diag, Sm, Pm, wv, Lw,
                                    Uw, ew, col, joint, joint_parent, Gchild, hchild, cols, vf, hcw, Ps, ws,
                                    joint_scales, joint_step, tau_kind, tau_a, tau_b, old, normal, gamma_rng)
        else:
            nfail += _effects_blocked(G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, Gsum, Gpp, hp, S0inv,
                                      S0inv_mu0, Sainv, Sainv_a0, r, Sinv_c, bc, al, mc, inv, lev, A, v, acc, inv_diag,
                                      Sm, Pm, wv, Lw, Uw, ew, normal)
        nfail += _factor_scales(J, q, b_off, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi, Sinv_c, lam_c, bc,
                                mc, M, Bart, W, acc, normal, gamma_rng)
        # interweaving: redraw the diagonal scales in the non-centred parameterisation
        rss_known = interweave and n_scales > 0
        total = 0.0
        if rss_known:
            total = _interweave_scales(G, h, rr, level, J, q, vidx, pidx, b_off, tau_kind, tau_a, tau_b,
                                       hc_inv_scale2, lam_c, bc, al, mc, Sinv_c, 1.0 / sigma2[ch], tf, tk, tcol,
                                       tau_old, itau, tau_new, eta, theta_base, theta, rc, Qt, bt, normal, gamma_rng)
        if blocked:
            nfail += _shift_moves(J, q, b_off, lv_off, S0inv, S0inv_mu0, Sainv, Sainv_a0, shift_target, parent_of,
                                  n_children, Sinv_c, bc, al, mc, A, v, acc, inv_diag, childsum, cvals, normal)
        # sigma^2 | everything (the RSS already known from the interweaving pass: the shift moves leave the
        # fitted values unchanged)
        if not rss_known:
            total = _residual_ss(G, level, J, q, vidx, pidx, b_off, lv_off, hsum, hp, rr_total, bc, al, theta)
        if total < 0.0:
            total = 0.0
        s2 = (sigma_b + 0.5 * total) / standard_gamma(gamma_rng, sigma_a + 0.5 * n_total)
        # a prior on sigma: s2 is the flat-prior conditional's draw (sigma_a = -1/2, sigma_b = 0), accepted with
        # the prior ratio against one standard exponential (kernels/scales.py)
        if sigma_kind == SIGMA_INVGAMMA or noise_accept(sigma_kind, sigma_par, s2, sigma2[ch],
                                                        standard_gamma(gamma_rng, 1.0)):
            sigma2[ch] = s2
        countdown -= 1
        if store and countdown == 0:
            countdown = thin
            _store_draw(ch, out_start + (t + 1) // thin - 1, q, r, bc, al, mc, Sinv_c, sigma2[ch], M, acc, out_b,
                        out_alpha, out_mu, out_Sigma, out_sigma2)
    return nfail
