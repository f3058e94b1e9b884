"""The interweaving move (ASIS) of a crossed sweep for the scales of every factor with a diagonal Sigma_f."""

import math

from numba import njit

from ..draws import standard_gamma, standard_normal
from ..scales import TAU_EXPONENTIAL, TAU_HALFNORMAL
from .layout import TAU_HALFCAUCHY, TAU_INVGAMMA, TAU_INVWISHART


@njit(cache=True, _nrt=False)
def _interweave_scales(G, h, rr, level, J, q, vidx, pidx, b_off, tau_kind, tau_a, tau_b, hc_inv_scale2, lam_ch, bc, al,
                       mc, S, inv, tf, tk, tcol, tau_old, itau, tau, eta, base, theta, rc, Q, bv, normal, gamma_rng):
    """Interweaving (ASIS, Yu & Meng 2011) for the scales of every factor with a diagonal Sigma_f.

    Non-centred: eta_f,j = (b_f,j - m_f) / tau_f (m_1 = mu, m_f = 0) held fixed, the fitted value of
    cell c is theta0_c + sum_i eta_i(c) tau_i e_col(i), linear in the stacked scales tau (T = sum of
    q_f over diagonal factors).  One cell pass gives the likelihood's precision Q and linear term bv
    in tau; each tau_i is proposed from its Gaussian conditional given the others and accepted with
    the ratio of its prior density on the real line (independence Metropolis-Hastings within Gibbs:
    one normal and one standard exponential per coordinate): |tau|^{-2a-1} exp(-b/tau^2) for
    tau^2 ~ IG(a, b); for a half-Cauchy(s) the Cauchy density itself, lambda integrated out, so that
    lambda is redrawn from IG(1, 1/s^2 + 1/tau^2) afterwards (one gamma(1) per half-Cauchy scale); for a
    half-t(nu, s) likewise, (1 + tau^2/(nu s^2))^{-(nu+1)/2}, lambda from IG((nu + 1)/2, 1/s^2 + nu/tau^2);
    exp(-rate |tau|) for the exponential; for the half-normal, exp(-tau^2/(2 s^2)), the conditional is Gaussian
    and drawn exactly (its exponential drawn and unused: fixed counts).  docs/scale-priors.md.
    Then b_f,j = m_f + (tau_new / tau_old) (b_f,j - m_f).  docs/maths.md section 12.6.

    Returns the residual sum of squares at the new state, RSS(tau) = R0 - 2 tau'bv + tau'Q tau (Q, bv
    without the 1/sigma^2), so that no further cell pass is needed for sigma^2 (the shift moves that
    follow leave every fitted value unchanged).
    """
    C = G.shape[0]
    p = G.shape[1]
    K = q.shape[0]
    T = tf.shape[0]
    for i in range(T):
        tau_old[i] = 1.0 / math.sqrt(S[tf[i], tk[i], tk[i]])
        itau[i] = 1.0 / tau_old[i]
        tau[i] = tau_old[i]
        tcol[i] = vidx[tf[i], tk[i]]
        bv[i] = 0.0
        for l in range(T):
            Q[i, l] = 0.0
    # theta0_c = alpha + (mu on V_1 when the first factor is interwoven) + the inverse-Wishart factors' effects
    for a in range(p):
        base[a] = 0.0
    for a in range(pidx.shape[0]):
        base[pidx[a]] = al[a]
    if tau_kind[0] != TAU_INVWISHART:
        for a in range(q[0]):
            base[vidx[0, a]] += mc[a]
    iw_any = False
    for f in range(K):
        if tau_kind[f] == TAU_INVWISHART:
            iw_any = True
    r0 = 0.0
    for c in range(C):
        for a in range(p):
            theta[a] = base[a]
        if iw_any:
            for f in range(K):
                if tau_kind[f] == TAU_INVWISHART:
                    bs = b_off[f] + level[c, f] * q[f]
                    for a in range(q[f]):
                        theta[vidx[f, a]] += bc[bs + a]
        for i in range(T):
            f = tf[i]
            k = tk[i]
            eta[i] = (bc[b_off[f] + level[c, f] * q[f] + k] - (mc[k] if f == 0 else 0.0)) * itau[i]
        # with u = theta0_c and rc = h_c - G_c u: rr - 2u'h + u'G u = rr - u'h - u'rc
        r0 += rr[c]
        for a in range(p):
            s = h[c, a]
            for bb in range(p):
                s -= G[c, a, bb] * theta[bb]
            rc[a] = s
            r0 -= theta[a] * (h[c, a] + s)
        for i in range(T):
            ci = tcol[i]
            bv[i] += eta[i] * rc[ci]
            for l in range(i + 1):
                Q[i, l] += eta[i] * eta[l] * G[c, ci, tcol[l]]
    for i in range(T):
        for l in range(i):
            Q[l, i] = Q[i, l]
    for i in range(T):
        z = standard_normal(normal)
        e = standard_gamma(gamma_rng, 1.0)
        if not Q[i, i] > 0.0:
            continue
        lin = bv[i]
        for l in range(T):
            if l != i:
                lin -= Q[i, l] * tau[l]
        f = tf[i]
        k = tk[i]
        if tau_kind[f] == TAU_HALFNORMAL:  # N(lin / Q_ii, sigma^2 / Q_ii) exp(-c tau^2): Gaussian
            prec = Q[i, i] * inv + 2.0 * tau_b[f, k]
            proposal = lin * inv / prec + z / math.sqrt(prec)
            if proposal != 0.0:
                tau[i] = proposal
            continue
        # likelihood in tau_i: N(lin / Q_ii, sigma^2 / Q_ii)
        proposal = lin / Q[i, i] + z / math.sqrt(Q[i, i] * inv)
        if proposal == 0.0:
            continue
        if tau_kind[f] == TAU_EXPONENTIAL:
            log_ratio = -tau_b[f, k] * (abs(proposal) - abs(tau[i]))
        elif tau_kind[f] == TAU_INVGAMMA:
            pa = tau_a[f, k]
            pb = tau_b[f, k]
            # hier's _asis_step has this ratio too, but compiled with contraction: sharing it would round differently
            log_ratio = -(2.0 * pa + 1.0) * (math.log(abs(proposal)) - math.log(abs(tau[i])))
            log_ratio -= pb * (1.0 / (proposal * proposal) - 1.0 / (tau[i] * tau[i]))
        elif tau_a[f, k] == 1.0:  # half-Cauchy
            hc = hc_inv_scale2[f, k]
            log_ratio = math.log1p(hc * tau[i] * tau[i]) - math.log1p(hc * proposal * proposal)
        else:  # half-t(nu): hc / nu = 1/(nu s^2)
            hc = hc_inv_scale2[f, k] / tau_a[f, k]
            log_ratio = 0.5 * (tau_a[f, k] + 1.0) * (math.log1p(hc * tau[i] * tau[i])
                                                     - math.log1p(hc * proposal * proposal))
        if log_ratio >= -e:
            tau[i] = proposal
    for i in range(T):
        f = tf[i]
        k = tk[i]
        factor = tau[i] / tau_old[i]
        m = mc[k] if f == 0 else 0.0
        for j in range(J[f]):
            idx = b_off[f] + j * q[f] + k
            bc[idx] = m + factor * (bc[idx] - m)
        S[f, k, k] = 1.0 / (tau[i] * tau[i])
    for i in range(T):
        f = tf[i]
        k = tk[i]
        if tau_kind[f] == TAU_HALFCAUCHY:
            lam_ch[f, k] = (hc_inv_scale2[f, k] + tau_a[f, k] * S[f, k, k]) / standard_gamma(
                gamma_rng, 0.5 * (tau_a[f, k] + 1.0))
    rss = r0
    for i in range(T):
        s = 0.0
        for l in range(T):
            s += Q[i, l] * tau[l]
        rss += tau[i] * (s - 2.0 * bv[i])
    return rss
