"""The flat binary sweep: latent draws row by row, then beta | latent from one Gaussian (kernels/binary/__init__
for the streams).

Probit (Albert & Chib 1993), row i with n_i trials of which y_i succeeded: each trial has a latent
z ~ N(eta_i, 1), eta_i = x_i' beta, truncated to z > 0 for the first y_i trials and z <= 0 for the others;
then beta | z ~ N(A^{-1} b, A^{-1}), A = A0 = B0^{-1} + X' diag(n) X (fixed, factorised once per call) and
b = b0 + X' s with s_i the sum of row i's latents and b0 = B0^{-1} m0.

Logistic (Polson, Scott & Windle 2013): omega_i ~ PG(n_i, eta_i); then A = A0 + X' Omega X with
A0 = B0^{-1}, and b = b0 fixed, b0 = B0^{-1} m0 + X' kappa, kappa_i = y_i - n_i / 2.

Cost per sweep and chain: eta = X beta (n p), the latent draws (sum_i n_i draws, ~80 ns each for PG(1, c), kernels/binary/latent.py),
the row pass X' Omega X (n p^2 / 2, logistic only; kernels/rowpass.py) or X' s (n p, probit), a Cholesky
factorisation (p^3 / 6, logistic only) and two triangular solves (p^2).
"""

import numpy as np
from numba import njit

from ..draws import fill_normals, stream_at
from ..linalg import backward_transpose, cholesky_forward
from ..pool import over_chains
from ..rowpass import linear_predictor, weighted_cross
from .latent import polya_gamma, truncated_normal_above
from .mh import laplace_step

LOGIT, PROBIT = 0, 1


@njit(cache=True, error_model="numpy")
def _latent_pass(X, y, trials, link, eta, st, w, s):
    """Row by row from stream ``st``: logistic, w_i = omega_i ~ PG(n_i, eta_i); probit, s_i = the sum of the
    row's truncated-normal latents (successes first, then failures)."""
    n = X.shape[0]
    for i in range(n):
        if link == LOGIT:
            w[i] = polya_gamma(st, trials[i], eta[i])
        else:
            e = eta[i]
            total = 0.0
            for k in range(trials[i]):
                if k < y[i]:
                    total += e + truncated_normal_above(st, -e)
                else:
                    total += e - truncated_normal_above(st, e)
            s[i] = total


@njit(cache=True, nogil=True, error_model="numpy")
def _one_chain(c, X, y, trials, link, A0, b0, P, Pm, mode, Lm, df, beta_state, normal_streams, gamma_streams, n_iter,
               thin, out_start, out_beta):
    n, p = X.shape
    normal = stream_at(normal_streams, c)
    latent = stream_at(gamma_streams, c)
    store = out_beta.shape[1] > 0
    beta = beta_state[c].copy()
    eta = np.empty(n)
    w = np.zeros(n)
    s = np.zeros(n)
    zero_u = np.zeros(n)
    G = np.zeros((p, p))
    h = np.zeros(p)
    A = np.zeros((p, p))
    v = np.zeros(p)
    z = np.zeros(p)
    inv_diag = np.zeros(p)
    L0 = A0.copy()
    v0 = np.zeros(p)
    inv0 = np.zeros(p)
    fixed_ok = True
    if link == PROBIT:  # A = A0 every sweep: factorised once
        fixed_ok = cholesky_forward(L0, v0, inv0, p)
    failed = 0
    countdown = thin
    for t in range(n_iter):
        linear_predictor(X, beta, eta)
        _latent_pass(X, y, trials, link, eta, latent, w, s)
        if link == LOGIT:
            G[:, :] = 0.0
            weighted_cross(X, w, zero_u, G, h)
            for a in range(p):
                for b in range(a + 1):
                    A[a, b] = A0[a, b] + G[a, b]
                v[a] = b0[a]
            ok = cholesky_forward(A, v, inv_diag, p)
            L = A
            inv = inv_diag
        else:
            for a in range(p):
                v[a] = b0[a]
            for i in range(n):
                si = s[i]
                for a in range(p):
                    v[a] += X[i, a] * si
            ok = fixed_ok
            L = L0
            inv = inv0
            if ok:  # v <- L^{-1} v (cholesky_forward did this for the logistic A)
                for a in range(p):
                    tt = v[a]
                    for k in range(a):
                        tt -= L[a, k] * v[k]
                    v[a] = tt * inv[a]
        fill_normals(normal, z, p)  # drawn even when the factorisation failed: the streams stay aligned
        if ok:
            for a in range(p):
                v[a] += z[a]
            backward_transpose(L, v, inv, p)
            for a in range(p):
                beta[a] = v[a]
        else:
            failed += 1
        if df > 0.0:  # the independence Metropolis-Hastings step (kernels/binary/mh.py)
            laplace_step(X, y, trials, link, P, Pm, mode, Lm, df, beta, eta, v, z, normal, latent)
        countdown -= 1
        if store and countdown == 0:
            countdown = thin
            k = out_start + (t + 1) // thin - 1
            for a in range(p):
                out_beta[c, k, a] = beta[a]
    beta_state[c, :] = beta
    return failed


def binary_gibbs(X, y, trials, link, A0, b0, P, Pm, mode, Lm, df, beta_state, normal_streams, gamma_streams, n_iter,
                 thin, out_start, out_beta):
    """Run n_iter sweeps of every chain (module docstring), writing every thin-th beta to out_beta
    (chains, draws, p) from out_start; the chains shared out between threads.  X (n, p) C-contiguous,
    y and trials (n,) int64, A0 (p, p) (lower triangle read), b0 (p,), beta_state (chains, p).  df > 0 adds the
    independence Metropolis-Hastings step of kernels/binary/mh.py after each sweep (prior precision P (p, p),
    P m0 (p,), the posterior mode (p,) and the lower Cholesky factor Lm of its precision); df = 0: none (the
    four arrays are not read).  Returns the number of failed factorisations."""
    return over_chains(_one_chain, beta_state.shape[0], (
        X, y, trials, link, A0, b0, P, Pm, mode, Lm, df, beta_state, normal_streams, gamma_streams, n_iter, thin,
        out_start, out_beta))
