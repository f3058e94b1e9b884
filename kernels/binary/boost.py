"""The boosted flat binary sweep: marginal data augmentation of the latent utilities (Zens, Fruehwirth-Schnatter
& Wagner 2023, "UPG"), for imbalanced data; docs/binary-boost.md has the derivation.

Utilities z_i = eta_i + eps_i, y_i = 1{z_i > 0}: logistic eps_i | omega_i ~ N(0, 1/omega_i) with
omega_i | z_i, beta ~ PG(2, z_i - eta_i); probit omega_i = 1.  Prior beta ~ N(0, B0) (zero mean; flat
coefficients allowed), the intercept first.  Working parameters: delta ~ IG(d0, D0) and
gamma | beta, delta ~ N(-sqrt(delta) G0 (P beta)_0, delta G0 (1 - G0 P_00)), P = B0^{-1}, G0 P_00 < 1; then
beta~ = sqrt(delta) beta + gamma e_0 has prior N(0, delta Pt^{-1}), Pt = (B0 - G0 e_0 e_0')^{-1}, independent of
gamma ~ N(0, delta G0), and z~ = sqrt(delta) z + gamma has y_i = 1{z~_i > gamma}.

One sweep, per chain, on the gamma stream unless said: (1) row by row the utility (one uniform, inverse CDF)
and, logistic, omega_i ~ PG(2, z_i - eta_i); (2) delta* = D0 / Gamma(d0), gamma* (one normal) from the
working prior given beta; z~ = sqrt(delta*) z + gamma* (as statistics); (3) delta | gamma*, z~ with beta~
integrated out: IG(d0 + (n + 1)/2, D0 + S/2 + gamma*^2 / (2 G0)), S = z~' Omega z~ - h' A^{-1} h,
A = Pt + X' Omega X, h = X' Omega z~; gamma | delta, z~ ~ N(0, delta G0) truncated to [max_{y=0} z~, min_{y=1} z~];
beta~ | delta, z~ ~ N(A^{-1} h, delta A^{-1}) with p normals from the normal stream; beta = (beta~ - gamma e_0)
/ sqrt(delta).  Exact: a partially collapsed Gibbs sweep of the expanded model, whose beta-margin is the
posterior.  Cost: the plain sweep's, with PG(2, .) (two PG(1) draws with shared constants) in place of PG(1, .)
and one log-pair per row for the utility.
"""

import math

import numpy as np
from numba import njit

from ..draws import fill_normals, standard_gamma, standard_normal, stream_at, uniform
from ..linalg import backward_transpose, cholesky_forward
from ..pool import over_chains
from ..rowpass import linear_predictor, weighted_cross
from .latent import logistic_utility, polya_gamma, truncated_normal_above, truncated_normal_between

LOGIT, PROBIT = 0, 1


@njit(cache=True, error_model="numpy")
def utility_pass(y, link, eta, st, z, w):
    """Row by row from ``st``: the utility z_i given y_i and eta_i and, logistic, its precision w_i ~ PG(2, z_i -
    eta_i) (probit: w_i = 1).  Returns (max_{y=0} z_i, min_{y=1} z_i) (-inf / inf when there are none)."""
    lo = -np.inf
    hi = np.inf
    for i in range(eta.shape[0]):
        e = eta[i]
        if link == LOGIT:
            zi = logistic_utility(e, y[i], 1.0 - uniform(st))
            w[i] = polya_gamma(st, 2, zi - e)
        elif y[i] > 0:
            zi = e + truncated_normal_above(st, -e)
        else:
            zi = e - truncated_normal_above(st, e)
        z[i] = zi
        if y[i] > 0:
            hi = min(hi, zi)
        else:
            lo = max(lo, zi)
    return lo, hi


@njit(cache=True, nogil=True, error_model="numpy")
def _one_chain(c, X, y, link, Pt, Pcol, G0, d0, D0, beta_state, normal_streams, gamma_streams, n_iter, thin,
               out_start, out_beta):
    n, p = X.shape
    normal = stream_at(normal_streams, c)
    latent = stream_at(gamma_streams, c)
    store = out_beta.shape[1] > 0
    beta = beta_state[c].copy()
    eta = np.empty(n)
    z = np.zeros(n)
    w = np.ones(n)
    G = np.zeros((p, p))
    h = np.zeros(p)
    A = np.zeros((p, p))
    v = np.zeros(p)
    xi = np.zeros(p)
    inv_diag = np.zeros(p)
    gamma_sd = math.sqrt(G0 * (1.0 - G0 * Pcol[0]))
    shape = d0 + 0.5 * (n + 1)
    fixed_ok = True
    if link == PROBIT:  # Omega = I: X'X and the factor of A = Pt + X'X once per call
        weighted_cross(X, w, z, G, h)
        for a in range(p):
            for b in range(a + 1):
                A[a, b] = Pt[a, b] + G[a, b]
        fixed_ok = cholesky_forward(A, v, inv_diag, p)
    failed = 0
    countdown = thin
    for t in range(n_iter):
        linear_predictor(X, beta, eta)
        lo, hi = utility_pass(y, link, eta, latent, z, w)
        h[:] = 0.0
        if link == LOGIT:
            G[:, :] = 0.0
            weighted_cross(X, w, z, G, h)  # X' Omega X (lower) and X' Omega z; G[a, 0] = sum_i w_i x_ia
        else:
            for i in range(n):
                zi = z[i]
                for a in range(p):
                    h[a] += X[i, a] * zi
        szz = 0.0
        for i in range(n):
            szz += w[i] * z[i] * z[i]
        # working parameters from their prior given beta
        d_star = D0 / standard_gamma(latent, d0)
        pb = 0.0
        for a in range(p):
            pb += Pcol[a] * beta[a]
        r_star = math.sqrt(d_star)
        g_star = r_star * (-G0 * pb + gamma_sd * standard_normal(latent))
        # the expanded model's statistics: z~ = r* z + g*
        szz_t = d_star * szz + 2.0 * r_star * g_star * h[0] + g_star * g_star * G[0, 0]
        for a in range(p):
            v[a] = r_star * h[a] + g_star * G[a, 0]
        if link == LOGIT:
            for a in range(p):
                for b in range(a + 1):
                    A[a, b] = Pt[a, b] + G[a, b]
            ok = cholesky_forward(A, v, inv_diag, p)  # v <- L^{-1} h~
        else:
            ok = fixed_ok
            if ok:
                for a in range(p):
                    tt = v[a]
                    for k in range(a):
                        tt -= A[a, k] * v[k]
                    v[a] = tt * inv_diag[a]
        fill_normals(normal, xi, p)  # drawn even when the factorisation failed: the streams stay aligned
        if not ok:
            failed += 1
        else:
            quad = 0.0
            for a in range(p):
                quad += v[a] * v[a]
            S = max(szz_t - quad, 0.0)
            delta = (D0 + 0.5 * S + 0.5 * g_star * g_star / G0) / standard_gamma(latent, shape)
            sd = math.sqrt(delta * G0)
            gam = sd * truncated_normal_between(latent, (r_star * lo + g_star) / sd, (r_star * hi + g_star) / sd)
            r = math.sqrt(delta)
            for a in range(p):
                v[a] += r * xi[a]
            backward_transpose(A, v, inv_diag, p)
            v[0] -= gam
            for a in range(p):
                beta[a] = v[a] / r
        countdown -= 1
        if store and countdown == 0:
            countdown = thin
            k = out_start + (t + 1) // thin - 1
            for a in range(p):
                out_beta[c, k, a] = beta[a]
    beta_state[c, :] = beta
    return failed


def boost_gibbs(X, y, link, Pt, Pcol, G0, d0, D0, beta_state, normal_streams, gamma_streams, n_iter, thin,
                out_start, out_beta):
    """Run n_iter boosted sweeps of every chain (module docstring).  X (n, p) C-contiguous with the intercept
    column first, y (n,) int64 0/1, Pt (p, p) the expanded prior precision (lower triangle read), Pcol (p,)
    the prior precision's first column, G0, d0, D0 the working prior; the rest as binary_gibbs."""
    return over_chains(_one_chain, beta_state.shape[0], (
        X, y, link, Pt, Pcol, G0, d0, D0, beta_state, normal_streams, gamma_streams, n_iter, thin, out_start,
        out_beta))
