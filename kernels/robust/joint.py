"""The joint (nu, sigma^2) move of the Student-t model with the weights integrated out.

Given the residuals r (n,) of the current coefficients, the weights w_i integrate out and (nu, sigma^2) has the
Student-t likelihood: on theta = (phi, s) = (log nu, log sigma^2), with the Jacobian,

    l(theta) = n g(nu) - n s / 2 - (nu + 1)/2 L1 + a_nu phi - b_nu nu - a_s s - b_s exp(-s),
    g(nu) = lgamma((nu + 1)/2) - lgamma(nu/2) - log(nu)/2,   L1 = sum_i log(1 + u_i),   u_i = r_i^2 / (nu sigma^2),

under nu ~ Gamma(a_nu, rate b_nu) and sigma^2 ~ IG(a_s, b_s).  nu and sigma^2 trade off along a ridge (a heavier
tail explains the same residuals with a smaller scale), so the one-at-a-time steps nu | w and sigma^2 | w
crawl along it (on Boston's medv, 4 chains x 1,000 draws: bulk ESS of nu 245).  This move draws the pair at
once from a bivariate t proposal (T_DF degrees of freedom) centred at l's mode with the scale (-H)^{-1} there,
found by a safeguarded Newton search, and accepts it by the independence Metropolis-Hastings ratio (two
normals, one Gamma(T_DF/2) and one standard exponential).  The search starts from the current state, but it
runs to convergence (steps below 1e-10), so the proposal is the mode's and the current state only moves its
rounding.  Then the weights are drawn given the new pair (the sweep's weight pass), so (nu, sigma^2, w) moves
as a block from p(nu, sigma^2 | r) p(w | nu, sigma^2, r).

With A1 = sum u/(1 + u) and A2 = sum u/(1 + u)^2 (du/dphi = du/ds = -u):

    l_phi = n nu g'(nu) - nu L1 / 2 + (nu + 1) A1 / 2 + a_nu - b_nu nu,   l_s = -n/2 + (nu + 1) A1 / 2 - a_s + b_s e^-s,
    l_phiphi = n (nu g' + nu^2 g'') - nu L1 / 2 + nu A1 - (nu + 1) A2 / 2 - b_nu nu,
    l_ss = -(nu + 1) A2 / 2 - b_s e^-s,   l_phis = nu A1 / 2 - (nu + 1) A2 / 2.

The row sums are ``row_sums`` (a loop in the Numba kernel, NumPy in the twin, through ``overload``); the rest
is plain Python (``register_jitable``) that both backends run.
"""

import math

import numpy as np
from numba.extending import overload, register_jitable

from .nu import PHI_MAX, PHI_MIN, T_DF, log_minus_digamma, trigamma

NEWTON_STEPS = 60
NEWTON_TOL = 1e-10


def row_sums(r2, c):
    """(L1, A1, A2) = sums of log(1 + u), u/(1 + u), u/(1 + u)^2 with u = c r2 (NumPy)."""
    u = c * r2
    d = 1.0 / (1.0 + u)
    ud = u * d
    return float(np.sum(np.log1p(u))), float(np.sum(ud)), float(np.sum(ud * d))


@overload(row_sums, jit_options={"fastmath": {"contract"}})
def _row_sums_numba(r2, c):
    def impl(r2, c):
        # sum log(1 + u) as the log of running products, flushed above 1e150: about one log per few hundred
        # rows instead of one per row (the logs were most of the move's cost), equal to the sum of log1p's to
        # ~n eps absolute
        L1 = 0.0
        prod = 1.0
        A1 = 0.0
        A2 = 0.0
        for i in range(r2.shape[0]):
            u = c * r2[i]
            one_u = 1.0 + u
            d = 1.0 / one_u
            A1 += u * d
            A2 += u * d * d
            if u > 1e100:
                L1 += math.log1p(u)
            else:
                prod *= one_u
                if prod > 1e150:
                    L1 += math.log(prod)
                    prod = 1.0
        return L1 + math.log(prod), A1, A2
    return impl


@register_jitable
def _g_terms(nu):
    """(g(nu), g'(nu), g''(nu)) of the module docstring."""
    x0 = 0.5 * nu
    x1 = 0.5 * (nu + 1.0)
    g = math.lgamma(x1) - math.lgamma(x0) - 0.5 * math.log(nu)
    # psi(x1) - psi(x0) = log(x1 / x0) - lmd(x1) + lmd(x0), lmd(x) = log x - psi(x)
    dpsi = math.log(x1 / x0) - log_minus_digamma(x1) + log_minus_digamma(x0)
    g1 = 0.5 * dpsi - 0.5 / nu
    g2 = 0.25 * (trigamma(x1) - trigamma(x0)) + 0.5 / (nu * nu)
    return g, g1, g2


@register_jitable
def joint_log_target(r2, n, phi, s, nu_a, nu_b, s_a, s_b):
    """l(phi, s) of the module docstring (up to a constant)."""
    nu = math.exp(phi)
    L1, A1, A2 = row_sums(r2, math.exp(-s - phi))
    g, g1, g2 = _g_terms(nu)
    return n * g - 0.5 * n * s - 0.5 * (nu + 1.0) * L1 + nu_a * phi - nu_b * nu - s_a * s - s_b * math.exp(-s)


@register_jitable
def _derivatives(r2, n, phi, s, nu_a, nu_b, s_a, s_b):
    """(l, l_phi, l_s, l_phiphi, l_phis, l_ss): the target and its derivatives, from one pass over the rows."""
    nu = math.exp(phi)
    es = math.exp(-s)
    L1, A1, A2 = row_sums(r2, es / nu)
    g, g1, g2 = _g_terms(nu)
    value = n * g - 0.5 * n * s - 0.5 * (nu + 1.0) * L1 + nu_a * phi - nu_b * nu - s_a * s - s_b * es
    d_phi = n * nu * g1 - 0.5 * nu * L1 + 0.5 * (nu + 1.0) * A1 + nu_a - nu_b * nu
    d_s = -0.5 * n + 0.5 * (nu + 1.0) * A1 - s_a + s_b * es
    h_pp = n * (nu * g1 + nu * nu * g2) - 0.5 * nu * L1 + nu * A1 - 0.5 * (nu + 1.0) * A2 - nu_b * nu
    h_ps = 0.5 * nu * A1 - 0.5 * (nu + 1.0) * A2
    h_ss = -0.5 * (nu + 1.0) * A2 - s_b * es
    return value, d_phi, d_s, h_pp, h_ps, h_ss


@register_jitable
def joint_mode(r2, n, phi, s, nu_a, nu_b, s_a, s_b):
    """(phi, s, R11, R21, R22, l0): l's mode by safeguarded Newton from (phi, s), the lower Cholesky factor R
    of -H there (R11 = 0 when -H is not positive definite) and l at the start.  One pass over the rows per
    Newton step: the last step's Hessian (at most NEWTON_TOL from the mode) is the proposal's."""
    l0 = 0.0
    h_pp = h_ps = h_ss = 0.0
    for it in range(NEWTON_STEPS):
        value, d_phi, d_s, h_pp, h_ps, h_ss = _derivatives(r2, n, phi, s, nu_a, nu_b, s_a, s_b)
        if it == 0:
            l0 = value
        det = h_pp * h_ss - h_ps * h_ps
        if h_pp < 0.0 and det > 0.0:  # H negative definite: the Newton step -H^{-1} grad
            step_phi = -(h_ss * d_phi - h_ps * d_s) / det
            step_s = -(h_pp * d_s - h_ps * d_phi) / det
        else:  # uphill along the gradient
            step_phi = d_phi / (abs(d_phi) + abs(d_s) + 1e-300)
            step_s = d_s / (abs(d_phi) + abs(d_s) + 1e-300)
        if abs(step_phi) < NEWTON_TOL and abs(step_s) < NEWTON_TOL:
            break
        step_phi = min(max(step_phi, -1.0), 1.0)
        step_s = min(max(step_s, -1.0), 1.0)
        phi = min(max(phi + step_phi, PHI_MIN), PHI_MAX)
        s = min(max(s + step_s, -700.0), 700.0)
    a11 = -h_pp
    if not a11 > 0.0:
        return phi, s, 0.0, 0.0, 0.0, l0
    r11 = math.sqrt(a11)
    r21 = -h_ps / r11
    a22 = -h_ss - r21 * r21
    if not a22 > 0.0:
        return phi, s, 0.0, 0.0, 0.0, l0
    return phi, s, r11, r21, math.sqrt(a22), l0


@register_jitable
def _log_proposal(phi, s, m_phi, m_s, r11, r21, r22):
    """log of the bivariate t proposal's density at (phi, s), up to a constant: -(T_DF + 2)/2 log(1 + Q/T_DF),
    Q = |R'(x - m)|^2."""
    dp = phi - m_phi
    ds = s - m_s
    y1 = r11 * dp + r21 * ds
    y2 = r22 * ds
    return -0.5 * (T_DF + 2.0) * math.log1p((y1 * y1 + y2 * y2) / T_DF)


@register_jitable
def joint_step(r2, n, nu, s2, nu_a, nu_b, s_a, s_b, z1, z2, gt, e):
    """(nu, sigma^2) after one independence Metropolis-Hastings move with the weights integrated out: z1, z2 ~
    N(0, 1), gt ~ Gamma(T_DF/2), e ~ Exp(1).  r2 (n,) the squared residuals."""
    phi0 = math.log(nu)
    s0 = math.log(s2)
    m_phi, m_s, r11, r21, r22, l0 = joint_mode(r2, n, phi0, s0, nu_a, nu_b, s_a, s_b)
    if r11 == 0.0:
        return nu, s2
    k = 1.0 / math.sqrt(gt / (0.5 * T_DF))
    # x = m + R^{-T} z k: solve R' y = z k (R' upper: [[r11, r21], [0, r22]])
    y2 = z2 * k / r22
    y1 = (z1 * k - r21 * y2) / r11
    phi1 = m_phi + y1
    s1 = m_s + y2
    if not (PHI_MIN < phi1 < PHI_MAX and -700.0 < s1 < 700.0):
        return nu, s2
    log_alpha = (joint_log_target(r2, n, phi1, s1, nu_a, nu_b, s_a, s_b) - l0
                 + _log_proposal(phi0, s0, m_phi, m_s, r11, r21, r22)
                 - _log_proposal(phi1, s1, m_phi, m_s, r11, r21, r22))
    if log_alpha >= -e:
        return math.exp(phi1), math.exp(s1)
    return nu, s2
