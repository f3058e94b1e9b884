"""The joint update of a factor nested in the first: (mu, alpha, b_1, b_f) as one exact block.

A nested design is a tree: given Sigma_1, Sigma_f, sigma^2 and the other factors' effects, the children
b_f,j of parent s = parent[j] are independent Gaussians given b_1,s and alpha, so they integrate out child by
child; then the parents integrate out of (mu, alpha) parent by parent.  The draw runs backwards: (mu, alpha)
| the rest, b_1,s | mu, alpha (children integrated out), b_f,j | b_1,s, alpha.  Cost linear in the levels:
O(J_f (q_f^3 + q_f^2 p + p^2 q_f) + J_1 (q_1^3 + p^2 q_1)), one cell pass only when other factors exist.
Papaspiliopoulos, Roberts & Zanella (2020); docs/maths.md §14.  The NumPy twin is
gibbsreg.models.crossed.nested.joint_effects_ref (same normals, same order: p for (mu, alpha), J_1 q_1 for
b_1, J_f q_f for b_f).
"""

import math

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ..draws import standard_gamma, standard_normal
from ..linalg import cholesky_lower, forward_solve
from ..scales import TAU_EXPONENTIAL, TAU_HALFNORMAL
from .layout import TAU_INVGAMMA, _draw
from .steps import _draw_levels, _level_rhs, _skip_draw


@register_jitable
def scale_log_prior_u(kind, a, b, lam, tau2):
    """log prior density of u = log tau^2 up to a constant (scalars, or NumPy arrays from the reference): tau^2 ~
    IG(a, b); half-t(nu = a) given its lambda, tau^2 ~ IG(nu/2, nu/lambda); half-normal exp(-b tau^2) and
    exponential exp(-b tau) on tau, times the Jacobian tau/2."""
    if kind == TAU_HALFNORMAL:
        return 0.5 * np.log(tau2) - b * tau2
    if kind == TAU_EXPONENTIAL:
        return 0.5 * np.log(tau2) - b * np.sqrt(tau2)
    if kind == TAU_INVGAMMA:
        return -a * np.log(tau2) - b / tau2
    return -0.5 * a * np.log(tau2) - a / (lam * tau2)


@njit(cache=True, _nrt=False)
def _child_rhs(f, Jf, hchild, hcw, G, level, J, q, vidx, b_off, bc):
    """hcw[j] <- sum over child j's cells of h_c - G_c theta_c(other factors), all p columns; the factors
    other than the first and f are the only ones not integrated out (none when K = 2)."""
    p = G.shape[1]
    K = J.shape[0]
    for j in range(Jf):
        for a in range(p):
            hcw[j, a] = hchild[j, a]
    if K > 2:
        for c in range(G.shape[0]):
            j = level[c, f]
            for a in range(p):
                s = 0.0
                for g in range(1, K):
                    if g == f:
                        continue
                    base = b_off[g] + level[c, g] * q[g]
                    for bb in range(q[g]):
                        s += G[c, a, vidx[g, bb]] * bc[base + bb]
                hcw[j, a] -= s


@njit(cache=True, _nrt=False)
def _collapse_children(f, parent, Gchild, hcw, cols, vf, kf, J1, Sf, inv, Ps, ws, Lw, Uw, ew, col):
    """The children integrated out: P_s = sum_j (G_j[cols, cols]/s2 - U'U), w_s = sum_j (h_j[cols]/s2 - U'e)
    (lower triangles), with L L' = M_j = Sigma_f^{-1} + G_j[V_f, V_f]/s2, U = L^{-1} G_j[V_f, cols]/s2 and
    e = L^{-1} h_j[V_f]/s2.  Returns (the children's log-marginal terms sum_j (|e|^2/2 - log|L|), failures)."""
    p = cols.shape[0]
    for s in range(J1):
        for a in range(p):
            ws[s, a] = 0.0
            for bb in range(p):
                Ps[s, a, bb] = 0.0
    logm = 0.0
    nfail = 0
    for j in range(parent.shape[0]):
        s = parent[j]
        for a in range(kf):
            for bb in range(a + 1):
                Lw[a, bb] = Sf[a, bb] + Gchild[j, vf[a], vf[bb]] * inv
        if not cholesky_lower(Lw, kf):
            nfail += 1
            continue
        for c in range(p):
            for a in range(kf):
                col[a] = Gchild[j, vf[a], cols[c]] * inv
            forward_solve(Lw, col, kf)
            for a in range(kf):
                Uw[a, c] = col[a]
        for a in range(kf):
            ew[a] = hcw[j, vf[a]] * inv
        forward_solve(Lw, ew, kf)
        ee = 0.0
        ld = 0.0
        for a in range(kf):
            ee += ew[a] * ew[a]
            ld += math.log(Lw[a, a])
        logm += 0.5 * ee - ld
        for a in range(p):
            t = 0.0
            for kk in range(kf):
                t += Uw[kk, a] * ew[kk]
            ws[s, a] += hcw[j, cols[a]] * inv - t
            for bb in range(a + 1):
                t = 0.0
                for kk in range(kf):
                    t += Uw[kk, a] * Uw[kk, bb]
                Ps[s, a, bb] += Gchild[j, cols[a], cols[bb]] * inv - t
    return logm, nfail


@njit(cache=True, _nrt=False)
def _log_det_half(S, k, Lw):
    """log |S|^{1/2} of a positive definite S (k, k), by its Cholesky factor in Lw (-inf if it fails)."""
    for a in range(k):
        for bb in range(a + 1):
            Lw[a, bb] = S[a, bb]
    if not cholesky_lower(Lw, k):
        return -math.inf
    ld = 0.0
    for a in range(k):
        ld += math.log(Lw[a, a])
    return ld


@njit(cache=True, _nrt=False)
def _log_marginal_parents(f, k1, kf, J1, n_child, Sinv_c, mc, al, Ps, ws, Lw, ew, p):
    """The parents' part of the log marginal (_collapsed_scales), given the children's collapse P_s, w_s:
    sum_s (|L_s^{-1} r_s|^2/2 - log|L_s|) with L_s L_s' = Sigma_1^{-1} + P_s[V_1, V_1], r_s = Sigma_1^{-1} mu
    + w_s[V_1] - P_s[V_1, P] alpha, plus J_f log|Sigma_f^{-1}|^{1/2} + J_1 (log|Sigma_1^{-1}|^{1/2} -
    mu'Sigma_1^{-1} mu/2) - alpha' sum_s P_s[P, P] alpha/2 + alpha' sum_s w_s[P]; -inf when a factorisation fails."""
    S1 = Sinv_c[0]
    logm = 0.0
    for s in range(J1):
        for a in range(k1):
            t = 0.0
            for bb in range(k1):
                t += S1[a, bb] * mc[bb]
            t += ws[s, a]
            u = 0.0
            for bb in range(k1, p):
                u += Ps[s, bb, a] * al[bb - k1]
            ew[a] = t - u
            for bb in range(a + 1):
                Lw[a, bb] = S1[a, bb] + Ps[s, a, bb]
        if not cholesky_lower(Lw, k1):
            return -math.inf
        forward_solve(Lw, ew, k1)
        for a in range(k1):
            logm += 0.5 * ew[a] * ew[a] - math.log(Lw[a, a])
    logm += n_child * _log_det_half(Sinv_c[f], kf, Lw)
    quad = 0.0
    for a in range(k1):
        for bb in range(k1):
            quad += mc[a] * S1[a, bb] * mc[bb]
    logm += J1 * (_log_det_half(S1, k1, Lw) - 0.5 * quad)
    for a in range(k1, p):
        for s in range(J1):
            logm += al[a - k1] * ws[s, a]
            for bb in range(k1, p):
                pab = Ps[s, a, bb] if bb <= a else Ps[s, bb, a]
                logm -= 0.5 * al[a - k1] * pab * al[bb - k1]
    return logm


@njit(cache=True, _nrt=False)
def _collapsed_scales(f, parent, Gchild, hcw, cols, vf, k1, kf, J1, Sinv_c, lam_c, mc, al, inv, scales, step, tau_kind,
                      tau_a, tau_b, old, Ps, ws, Lw, Uw, ew, col, normal, gamma_rng):
    """Random-walk Metropolis on u = log tau^2 of the diagonal scales ``scales`` (T, 2: factor, coordinate) of the
    first and the nested factor, b_1 and b_f integrated out: the log marginal is the children's part
    (_collapse_children, which depends on Sigma_f only, so a step that moves only the first factor's scales reuses
    it) plus the parents' (_log_marginal_parents).  Step t moves every scale i with step[t, i] > 0 by
    step[t, i] z_i: T normals and one standard exponential per step.  Returns True when Ps, ws hold the children's
    collapse at the final state."""
    T = scales.shape[0]
    p = cols.shape[0]
    n_child = parent.shape[0]
    child, nf = _collapse_children(f, parent, Gchild, hcw, cols, vf, kf, J1, Sinv_c[f], inv, Ps, ws, Lw, Uw, ew, col)
    fresh = nf == 0
    logm = child + _log_marginal_parents(f, k1, kf, J1, n_child, Sinv_c, mc, al, Ps, ws, Lw, ew, p) if fresh \
        else -math.inf
    for t in range(step.shape[0]):
        ratio = 0.0
        moves_f = False
        for i in range(T):
            z = standard_normal(normal)
            g = scales[i, 0]
            k = scales[i, 1]
            old[i] = Sinv_c[g, k, k]
            if step[t, i] > 0.0:
                t2 = 1.0 / old[i]
                new = t2 * math.exp(step[t, i] * z)
                ratio += (scale_log_prior_u(tau_kind[g], tau_a[g, k], tau_b[g, k], lam_c[g, k], new)
                          - scale_log_prior_u(tau_kind[g], tau_a[g, k], tau_b[g, k], lam_c[g, k], t2))
                Sinv_c[g, k, k] = 1.0 / new
                if g == f:
                    moves_f = True
        if moves_f or not fresh:
            c_prop, nf = _collapse_children(f, parent, Gchild, hcw, cols, vf, kf, J1, Sinv_c[f], inv, Ps, ws, Lw, Uw,
                                            ew, col)
            fresh = not moves_f and nf == 0
            if not moves_f:
                child = c_prop
        else:
            c_prop, nf = child, 0
        prop = c_prop + _log_marginal_parents(f, k1, kf, J1, n_child, Sinv_c, mc, al, Ps, ws, Lw, ew, p) if nf == 0 \
            else -math.inf
        if ratio + prop - logm >= -standard_gamma(gamma_rng, 1.0):
            logm = prop
            child = c_prop
            fresh = nf == 0
        else:
            for i in range(T):
                Sinv_c[scales[i, 0], scales[i, 1], scales[i, 1]] = old[i]
    return fresh


@njit(cache=True, _nrt=False)
def _joint_effects(f, parent, Gchild, hcw, G, J, q, pidx, b_off, S0inv, S0inv_mu0, Sainv, Sainv_a0, Sinv_c, bc, al,
                   mc, inv, cols, vf, Ps, ws, Lw, Uw, ew, col, A, v, inv_diag, Pm, wv, fresh, normal):
    """(mu, alpha), b_1 and b_f drawn as one block (module docstring).  ``cols`` (p,): the first factor's columns
    then the pooled ones (the coordinates (b_1,s, alpha)); ``vf`` (q_f,): factor f's columns; ``hcw`` the
    children's right-hand sides (_child_rhs); ``fresh``: Ps, ws already hold the children's collapse at this
    state (_collapsed_scales).  Returns the number of failed factorisations."""
    p = G.shape[1]
    k1 = q[0]
    kf = q[f]
    J1 = J[0]
    Jf = J[f]
    r = pidx.shape[0]
    Sf = Sinv_c[f]
    S1 = Sinv_c[0]
    nfail = 0
    if not fresh:
        _, nfail = _collapse_children(f, parent, Gchild, hcw, cols, vf, kf, J1, Sf, inv, Ps, ws, Lw, Uw, ew, col)
    # (mu, alpha) with the parents out: Pm, wv as the blocked sampler's, from the collapsed P_s, w_s
    for a in range(p):
        wv[a] = 0.0
        for bb in range(p):
            Pm[a, bb] = 0.0
    for a in range(k1):
        for bb in range(k1):
            Pm[a, bb] = S0inv[a, bb] + J1 * S1[a, bb]
        wv[a] = S0inv_mu0[a]
    if r > 0:
        for s in range(J1):
            for a in range(k1, p):
                wv[a] += ws[s, a]
                for bb in range(k1, a + 1):
                    Pm[a, bb] += Ps[s, a, bb]
        for a in range(r):
            wv[k1 + a] += Sainv_a0[a]
            for bb in range(a + 1):
                Pm[k1 + a, k1 + bb] += Sainv[a, bb]
    for s in range(J1):
        for a in range(k1):
            for bb in range(a + 1):
                Lw[a, bb] = S1[a, bb] + Ps[s, a, bb]
        if not cholesky_lower(Lw, k1):
            nfail += 1
            continue
        # U = L^{-1} [Sigma_1^{-1}, -P_s[V_1, P]], e = L^{-1} w_s[V_1]
        for c in range(p):
            for a in range(k1):
                col[a] = S1[a, c] if c < k1 else -Ps[s, c, a]
            forward_solve(Lw, col, k1)
            for a in range(k1):
                Uw[a, c] = col[a]
        for a in range(k1):
            ew[a] = ws[s, a]
        forward_solve(Lw, ew, k1)
        for a in range(p):
            t = 0.0
            for kk in range(k1):
                t += Uw[kk, a] * ew[kk]
            wv[a] += t
            for bb in range(a + 1):
                t = 0.0
                for kk in range(k1):
                    t += Uw[kk, a] * Uw[kk, bb]
                Pm[a, bb] -= t
    if not _draw(Pm, wv, inv_diag, normal, p):
        nfail += 1
        _skip_draw(wv, normal, p)
        for a in range(k1):
            wv[a] = mc[a]
        for a in range(r):
            wv[k1 + a] = al[a]
    for a in range(k1):
        mc[a] = wv[a]
    for a in range(r):
        al[a] = wv[k1 + a]
    # b_1,s | mu, alpha: precision Sigma_1^{-1} + P_s[V_1, V_1], rhs Sigma_1^{-1} mu + w_s[V_1] - P_s[V_1, P] alpha
    for s in range(J1):
        for a in range(k1):
            t = 0.0
            for bb in range(k1):
                t += S1[a, bb] * mc[bb]
            t += ws[s, a]
            u = 0.0
            for bb in range(r):
                u += Ps[s, k1 + bb, a] * al[bb]
            v[a] = t - u
            for bb in range(a + 1):
                A[a, bb] = S1[a, bb] + Ps[s, a, bb]
        if not _draw(A, v, inv_diag, normal, k1):
            nfail += 1
            _skip_draw(v, normal, k1)
            for a in range(k1):
                v[a] = bc[s * k1 + a]
        for a in range(k1):
            bc[s * k1 + a] = v[a]
    # b_f,j | b_1,parent(j), alpha: precision M_j, rhs l_j - W_j (b_1,s, alpha)
    for j in range(Jf):
        s = parent[j]
        for a in range(kf):
            u = 0.0
            for c in range(p):
                x = bc[s * k1 + c] if c < k1 else al[c - k1]
                u += Gchild[j, vf[a], cols[c]] * inv * x
            v[a] = hcw[j, vf[a]] * inv - u
            for bb in range(a + 1):
                A[a, bb] = Sf[a, bb] + Gchild[j, vf[a], vf[bb]] * inv
        base = b_off[f] + j * kf
        if not _draw(A, v, inv_diag, normal, kf):
            nfail += 1
            _skip_draw(v, normal, kf)
            for a in range(kf):
                v[a] = bc[base + a]
        for a in range(kf):
            bc[base + a] = v[a]
    return nfail


@njit(cache=True, _nrt=False)
def _effects_joint(G, level, J, q, vidx, pidx, b_off, lv_off, hsum, Gfp, Gsum, S0inv, S0inv_mu0, Sainv, Sainv_a0, r,
                   Sinv_c, lam_c, bc, al, mc, inv, lev, A, v, inv_diag, Sm, Pm, wv, Lw, Uw, ew, col, joint, parent,
                   Gchild, hchild, cols, vf, hcw, Ps, ws, scales, step, tau_kind, tau_a, tau_b, old, normal, gamma_rng):
    """The factors other than the first and the nested one as in block Gibbs (factor order), then the two
    factors' diagonal scales with their effects integrated out (_collapsed_scales, when ``step`` has rows), then
    the joint block (mu, alpha, b_1, b_joint).  Returns the number of failed factorisations."""
    C = G.shape[0]
    K = J.shape[0]
    nfail = 0
    for f in range(1, K):
        if f == joint:
            continue
        _level_rhs(f, True, lev, G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, bc, al, r, C, K)
        if not _draw_levels(f, lev, Sinv_c[f], Gsum, lv_off, J, q, b_off, bc, mc, inv, A, v, inv_diag, Sm, normal):
            nfail += 1
    _child_rhs(joint, J[joint], hchild, hcw, G, level, J, q, vidx, b_off, bc)
    fresh = False
    if step.shape[0] > 0:
        fresh = _collapsed_scales(joint, parent, Gchild, hcw, cols, vf, q[0], q[joint], J[0], Sinv_c, lam_c, mc, al,
                                  inv, scales, step, tau_kind, tau_a, tau_b, old, Ps, ws, Lw, Uw, ew, col, normal,
                                  gamma_rng)
    nfail += _joint_effects(joint, parent, Gchild, hcw, G, J, q, pidx, b_off, S0inv, S0inv_mu0, Sainv, Sainv_a0,
                            Sinv_c, bc, al, mc, inv, cols, vf, Ps, ws, Lw, Uw, ew, col, A, v, inv_diag, Pm, wv, fresh,
                            normal)
    return nfail
