"""The sweep of the one-factor hierarchical regression with Student-t errors (gibbsreg.models.robust.hier).

Row i of group j: y_i = x_vi' beta_j + x_pi' alpha + e_i, e_i | w_i ~ N(0, sigma^2 / w_i),
w_i ~ Gamma(nu/2, rate nu/2); beta_j ~ N(mu, Sigma) and the priors of mu, alpha and Sigma as in
kernels/rowhier/steps.py.  The rows come sorted by group (group j is rows start[j]:start[j + 1]), in the
original coordinates (the first q columns vary, the last r are pooled).

Per sweep and chain, in order:
0. with nu learned and sigma^2 ~ IG(a, b): (nu, sigma^2) | coefficients with the weights integrated out, by the
   flat model's joint independence Metropolis-Hastings move (kernels/robust/joint.py) on the residuals of the
   current coefficients (step 1 then draws the weights given the new pair: (nu, sigma^2, w) moves as a block);
1. eta = the group predictor; w_i | rest ~ Gamma((nu + 1)/2, rate (nu + (y_i - eta_i)^2 / sigma^2)/2), row by
   row (kernels/robust/sweep._weights, the flat model's pass; D = sum (w - log w - 1) for step 5);
2. per group G_j = X_j' diag(w / sigma^2) X_j and h_j = X_j' diag(w / sigma^2) y_j (kernels/rowpass.py);
3. beta_j, alpha, mu and Sigma (with the interweaving): kernels/rowhier/steps.hier_steps, the binary model's
   code, given the weights and sigma^2;
4. sigma^2 | rest: RSS_w = sum_i w_i (y_i - eta_i)^2 at the new coefficients (O(n p)); IG(sigma_shape,
   sigma_b + RSS_w / 2), with (sigma_shape, sigma_b) = (a + n/2, b) under sigma^2 ~ IG(a, b); under a
   half-normal, half-t or exponential prior on sigma the flat-prior conditional ((n - 1)/2, 0) is proposed and
   accepted on the prior's ratio (kernels/scales.noise_accept);
5. with nu learned under another prior on sigma (half-normal, half-t, exponential: step 0's move assumes the
   IG): nu | w by kernels/robust/nu.nu_step (the weights of step 1).

Streams, per sweep: gamma stream, with step 0 one gamma of shape T_DF/2 and one Exp(1) (as standard_gamma(1)),
then n gammas of shape (nu + 1)/2 (the weights, row order), the scale's gammas (hier_steps), one gamma of shape
sigma_shape (and an Exp(1) for the other sigma priors), then with step 5 one of shape T_DF/2 and one Exp(1);
normal stream, with step 0 two normals, then hier_steps's normals, then with step 5 one.  The weights are redrawn from the state first, so they are not state: a resumed run equals the
uninterrupted one bit for bit.  The NumPy twin is gibbsreg.models.robust.hier_reference.
"""

import numpy as np
from numba import njit

from ..draws import fill_gammas, gamma_table, standard_gamma, standard_normal, stream_at
from ..pool import over_chains
from ..rowhier.steps import group_predictor, hier_steps, hier_work, store_draw
from ..rowpass import weighted_cross
from ..scales import SIGMA_INVGAMMA, noise_accept
from .joint import joint_step
from .nu import T_DF, nu_step
from .sweep import _spread_shape, _weights


@njit(cache=True, error_model="numpy")
def weighted_rss(y, eta, w):
    """sum_i w_i (y_i - eta_i)^2."""
    total = 0.0
    for i in range(y.shape[0]):
        d = y[i] - eta[i]
        total += w[i] * d * d
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _one_chain(c, X, y, start, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df,
               iw_Psi, asis, sigma_shape, sigma_b, sigma_kind, sigma_par, learn_nu, nu_a, nu_b, beta_state,
               alpha_state, mu_state, Sinv_state, lam_state, sigma2_state, nu_state, normal_streams, gamma_streams,
               n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma, out_sigma2, out_nu):
    n, p = X.shape
    r = p - q
    J = start.shape[0] - 1
    normal = stream_at(normal_streams, c)
    latent = stream_at(gamma_streams, c)
    store = out_mu.shape[1] > 0
    beta = beta_state[c].copy()
    alpha = alpha_state[c].copy()
    mu = mu_state[c].copy()
    Sinv = Sinv_state[c].copy()
    lam = lam_state[c].copy()
    s2 = sigma2_state[c]
    nu = nu_state[c]
    eta = np.empty(n)
    w = np.empty(n)
    ws = np.empty(n)
    table = np.empty((3, n))
    table_nu = -1.0
    G = np.zeros((J, p, p))
    h = np.zeros((J, p))
    work = hier_work(q, r)
    tau2 = np.zeros(q)
    Sigma = np.zeros((q, q))
    n_real = float(n)
    joint = learn_nu and sigma_kind == SIGMA_INVGAMMA
    nu_by_w = learn_nu and not joint
    r2 = np.empty(n if joint else 0)
    sigma_a = sigma_shape - 0.5 * n_real  # sigma^2 ~ IG(sigma_a, sigma_b) a priori (step 0)
    failed = 0
    countdown = thin
    for t in range(n_iter):
        group_predictor(X, start, q, beta, alpha, eta)
        if joint:
            for i in range(n):
                d = y[i] - eta[i]
                r2[i] = d * d
            z1 = standard_normal(normal)
            z2 = standard_normal(normal)
            gt = standard_gamma(latent, 0.5 * T_DF)
            nu, s2 = joint_step(r2, n_real, nu, s2, nu_a, nu_b, sigma_a, sigma_b, z1, z2, gt,
                                standard_gamma(latent, 1.0))
        if nu != table_nu:  # the Marsaglia-Tsang constants of shape (nu + 1)/2, for every row
            _spread_shape(table, gamma_table(np.array([0.5 * (nu + 1.0)])))
            table_nu = nu
        fill_gammas(latent, w, table)
        inv_s2 = 1.0 / s2
        D = _weights(y, eta, w, nu, inv_s2, nu_by_w)[1]
        for i in range(n):
            ws[i] = w[i] * inv_s2
        for j in range(J):
            lo, hi = start[j], start[j + 1]
            G[j] = 0.0
            h[j] = 0.0
            weighted_cross(X[lo:hi], ws[lo:hi], y[lo:hi], G[j], h[j])
        failed += hier_steps(G, h, q, r, J, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                             iw_df, iw_Psi, asis, beta, alpha, mu, Sinv, lam, tau2, Sigma, normal, latent, work)
        group_predictor(X, start, q, beta, alpha, eta)
        proposal = (sigma_b + 0.5 * weighted_rss(y, eta, w)) / standard_gamma(latent, sigma_shape)
        if sigma_kind == SIGMA_INVGAMMA or noise_accept(sigma_kind, sigma_par, proposal, s2,
                                                        standard_gamma(latent, 1.0)):
            s2 = proposal
        if nu_by_w:
            zn = standard_normal(normal)
            gt = standard_gamma(latent, 0.5 * T_DF)
            nu = nu_step(nu, n_real, D, nu_a, nu_b, zn, gt, standard_gamma(latent, 1.0))
        countdown -= 1
        if store and countdown == 0:
            countdown = thin
            k = out_start + (t + 1) // thin - 1
            store_draw(c, k, q, r, J, beta, alpha, mu, Sigma, out_beta, out_alpha, out_mu, out_Sigma)
            out_sigma2[c, k] = s2
            if learn_nu:
                out_nu[c, k] = nu
    beta_state[c] = beta
    alpha_state[c] = alpha
    mu_state[c] = mu
    Sinv_state[c] = Sinv
    lam_state[c] = lam
    sigma2_state[c] = s2
    nu_state[c] = nu
    return failed


def robust_hier_gibbs(X, y, start, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2,
                      iw_df, iw_Psi, asis, sigma_shape, sigma_b, sigma_kind, sigma_par, learn_nu, nu_a, nu_b, beta,
                      alpha, mu, Sinv, lam, sigma2, nu, normal_streams, gamma_streams, n_iter, thin, out_start,
                      out_beta, out_alpha, out_mu, out_Sigma, out_sigma2, out_nu):
    """n_iter sweeps of every chain (module docstring), the chains shared out between threads; draws of beta
    (chains, draws, J, q), alpha (r,), mu (q,), Sigma (q, q), sigma2 and nu (when learned) from out_start.
    Returns the failed factorisations."""
    return over_chains(_one_chain, beta.shape[0], (
        X, y, start, q, S0inv, S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi,
        asis, sigma_shape, sigma_b, sigma_kind, sigma_par, learn_nu, nu_a, nu_b, beta, alpha, mu, Sinv, lam, sigma2,
        nu, normal_streams, gamma_streams, n_iter, thin, out_start, out_beta, out_alpha, out_mu, out_Sigma,
        out_sigma2, out_nu))
