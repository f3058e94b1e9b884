"""crossed_rows_gibbs: the row-weighted crossed sweep (binary and Student-t families), the chains shared out
between threads (kernels/pool.py).  The stream order is in this package's docstring."""

from typing import NamedTuple

import numpy as np
from numba import njit

from ..binary.flat import LOGIT, PROBIT, _latent_pass
from ..crossed.chains import _scale_list
from ..crossed.interweave import _interweave_scales
from ..crossed.nested import _effects_joint
from ..crossed.sweep import _effects_blocked, _effects_plain, _factor_scales, _residual_ss, _shift_moves, _store_draw
from ..draws import fill_gammas, gamma_table, standard_gamma, standard_normal, stream_at
from ..pool import over_chains
from ..robust.joint import joint_step as nu_sigma_step
from ..robust.nu import T_DF, nu_step
from ..robust.sweep import _spread_shape, _weights
from ..scales import SIGMA_INVGAMMA, noise_accept
from .stats import cell_cross, cell_linear, cell_linear_predictor, child_sums, level_sums

STUDENT = 2  # the family codes: LOGIT (0) and PROBIT (1) as kernels/binary/flat.py, STUDENT


class RowsInputs(NamedTuple):
    """The row-weighted crossed model's inputs to both backends, by name (models/crossedrows/problem.py):
    the family, the rows sorted by cell (Z, y, trials, r0, start), the fixed half of the binary statistics
    (Gfix: probit's Z_c' diag(n) Z_c; hfix: logistic's Z_c' kappa_c), the crossed layout and priors (as
    kernels/crossed.CrossedInputs: level, nc, J, ..., blocked, interweave, the joint nested update's
    joint, joint_parent, joint_scales, joint_step; its per-child sums are rebuilt each sweep), nu's prior
    (Student-t), and
    ``restat``, the NumPy twin's builder of the Gaussian reference's inputs from cell statistics (unused here)."""

    family: object
    Z: object
    y: object
    trials: object
    r0: object
    start: object
    Gfix: object
    hfix: object
    level: object
    nc: object
    J: object
    q: object
    vidx: object
    pidx: object
    b_off: object
    lv_off: object
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
    joint_scales: object
    joint_step: object
    learn_nu: object
    nu_a: object
    nu_b: object
    restat: object


def crossed_rows_gibbs(inputs, b, alpha, mu, Sinv, lam, sigma2, nu, normal_streams, gamma_streams, n_iter, thin,
                       out_start, out_b, out_alpha, out_mu, out_Sigma, out_sigma2, out_nu):
    """Run n_iter sweeps of every chain (the package docstring); returns the number of failed factorisations.
    State: the crossed model's (b, alpha, mu, Sinv, lam, sigma2; sigma2 stays 1 for the binary families) and
    nu (Student-t; unused otherwise)."""
    i = inputs
    tf, tk = _scale_list(i.tau_kind, i.q)
    return over_chains(_one_chain, b.shape[0], (
        i.family, i.Z, i.y, i.trials, i.r0, i.start, i.Gfix, i.hfix, i.level, float(i.nc.sum()), i.J, i.q, i.vidx,
        i.pidx, i.b_off, i.lv_off, i.S0inv, i.S0inv_mu0, i.Sainv, i.Sainv_a0, i.tau_kind, i.tau_a, i.tau_b,
        i.hc_inv_scale2, i.iw_df, i.iw_Psi, i.shift_target, i.parent_of, i.n_children, i.sigma_a, i.sigma_b,
        i.sigma_kind, i.sigma_par, i.blocked, i.interweave, i.joint, i.joint_parent, i.joint_scales, i.joint_step,
        i.learn_nu, i.nu_a, i.nu_b, tf, tk, b, alpha, mu, Sinv,
        lam, sigma2, nu, normal_streams, gamma_streams, n_iter, thin, out_start, out_b, out_alpha, out_mu, out_Sigma,
        out_sigma2, out_nu))


@njit(cache=True, nogil=True, error_model="numpy")
def _one_chain(ch, family, Z, y, trials, r0, start, Gfix, hfix, level, n_total, J, q, vidx, pidx, b_off, lv_off, S0inv,
               S0inv_mu0, Sainv, Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi, shift_target,
               parent_of, n_children, sigma_a, sigma_b, sigma_kind, sigma_par, blocked, interweave, joint, joint_parent,
               joint_scales, joint_step, learn_nu, nu_a, nu_b, tf, tk, b, alpha, mu, Sinv, lam, sigma2, nu_state,
               normal_streams, gamma_streams, n_iter, thin,
               out_start, out_b, out_alpha, out_mu, out_Sigma, out_sigma2, out_nu):
    """Chain ch's sweeps on workspaces of its own: the latent (or weight) pass, the cell statistics, then the
    Gaussian crossed sweep's blocks given them; returns its number of failed factorisations."""
    n, p = Z.shape
    C = start.shape[0] - 1
    K = J.shape[0]
    r = pidx.shape[0]
    qmax = vidx.shape[1]
    nlev = lv_off[K]
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
    # the per-sweep statistics
    eta = np.zeros(n)
    w = np.zeros(n)
    # nu learned under sigma^2 ~ IG: (nu, sigma^2) drawn jointly with the weights integrated out (robust/joint.py)
    nu_joint = family == STUDENT and learn_nu and sigma_kind == SIGMA_INVGAMMA
    r2 = np.zeros(n if nu_joint else 0)
    s = np.zeros(n)
    zero = np.zeros(n)
    G = np.zeros((C, p, p))
    h = np.zeros((C, p))
    rr = np.zeros(C)
    h_unused = np.zeros((C, p))
    rr_unused = np.zeros(C)
    Gsum = np.zeros((nlev, qmax, qmax))
    hsum = np.zeros((nlev, qmax))
    Gfp = np.zeros((nlev, qmax, r))
    Gpp = np.zeros((r, r))
    hp = np.zeros(r)
    if family == LOGIT:  # h fixed (Z_c' kappa_c), G redrawn
        h[:, :] = hfix
        level_sums(G, h, level, J, q, vidx, pidx, lv_off, Gsum, hsum, Gfp, Gpp, hp, False, True)
    elif family == PROBIT:  # G fixed (Z_c' diag(n) Z_c), h redrawn
        G[:, :, :] = Gfix
        level_sums(G, h, level, J, q, vidx, pidx, lv_off, Gsum, hsum, Gfp, Gpp, hp, True, False)
    nu = nu_state[ch]
    table = np.zeros((3, n if family == STUDENT else 0))
    table_nu = -1.0
    # the Gaussian sweep's workspaces (kernels/crossed/chains.py)
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
    tau_old, itau, tau_new, eta_s, bt = scales[0], scales[1], scales[2], scales[3], scales[4]
    tcol = np.zeros(n_scales, dtype=np.int64)
    theta_base = np.zeros(p)
    rc = np.zeros(p)
    Qt = np.zeros((n_scales, n_scales))
    # the joint update of a factor nested in the first (kernels/crossed/nested.py; chains._one_chain's workspaces)
    jf = joint if joint >= 0 else 0
    nj = J[jf] if joint >= 0 else 0
    Gchild = np.zeros((nj, p, p))
    hchild = np.zeros((nj, p))
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
        # 1. the latents (or weights) given the state, then the cell statistics they change
        cell_linear_predictor(Z, start, level, vidx, q, pidx, b_off, bc, al, theta, eta)
        D_nu = 0.0
        if nu_joint:
            for k in range(n):
                d = r0[k] - eta[k]
                r2[k] = d * d
            z1 = standard_normal(normal)
            z2 = standard_normal(normal)
            gt = standard_gamma(gamma_rng, 0.5 * T_DF)
            e = standard_gamma(gamma_rng, 1.0)
            nu, sigma2[ch] = nu_sigma_step(r2, float(n), nu, sigma2[ch], nu_a, nu_b, sigma_a, sigma_b, z1, z2, gt, e)
            inv = 1.0 / sigma2[ch]
        if family == STUDENT:
            if nu != table_nu:
                _spread_shape(table, gamma_table(np.array([0.5 * (nu + 1.0)])))
                table_nu = nu
            fill_gammas(gamma_rng, w, table)
            D_nu = _weights(r0, eta, w, nu, inv, learn_nu and not nu_joint)[1]
            cell_cross(Z, w, r0, start, G, h, rr)
            level_sums(G, h, level, J, q, vidx, pidx, lv_off, Gsum, hsum, Gfp, Gpp, hp, True, True)
        else:
            _latent_pass(Z, y, trials, family, eta, gamma_rng, w, s)
            if family == LOGIT:
                cell_cross(Z, w, zero, start, G, h_unused, rr_unused)
                level_sums(G, h, level, J, q, vidx, pidx, lv_off, Gsum, hsum, Gfp, Gpp, hp, True, False)
            else:
                cell_linear(Z, s, start, h)
                level_sums(G, h, level, J, q, vidx, pidx, lv_off, Gsum, hsum, Gfp, Gpp, hp, False, True)
        # 2. the Gaussian crossed sweep given them (kernels/crossed/chains._one_chain's blocks, in its order)
        if not blocked:
            nfail += _effects_plain(G, level, J, q, vidx, b_off, lv_off, hsum, Gfp, Gsum, Gpp, hp, S0inv, S0inv_mu0,
                                    Sainv, Sainv_a0, r, Sinv_c, bc, al, mc, inv, lev, A, v, acc, inv_diag, Sm, normal)
        elif joint >= 0:
            child_sums(G, h, level, joint, Gchild, hchild)
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
        rss_known = interweave and n_scales > 0
        total = 0.0
        if rss_known:
            total = _interweave_scales(G, h, rr, level, J, q, vidx, pidx, b_off, tau_kind, tau_a, tau_b,
                                       hc_inv_scale2, lam_c, bc, al, mc, Sinv_c, inv, tf, tk, tcol, tau_old, itau,
                                       tau_new, eta_s, theta_base, theta, rc, Qt, bt, normal, gamma_rng)
        if blocked:
            nfail += _shift_moves(J, q, b_off, lv_off, S0inv, S0inv_mu0, Sainv, Sainv_a0, shift_target, parent_of,
                                  n_children, Sinv_c, bc, al, mc, A, v, acc, inv_diag, childsum, cvals, normal)
        # 3. sigma^2 (Student-t) from the weighted RSS; the binary families' sigma^2 is 1, and the Gaussian
        # reference sweep the NumPy twin reuses draws its gamma all the same: drawn here too, and unused
        if family != STUDENT:
            standard_gamma(gamma_rng, sigma_a + 0.5 * n_total)
        else:
            if not rss_known:
                rr_total = 0.0
                for c in range(C):
                    rr_total += rr[c]
                total = _residual_ss(G, level, J, q, vidx, pidx, b_off, lv_off, hsum, hp, rr_total, bc, al, theta)
            if total < 0.0:
                total = 0.0
            s2 = (sigma_b + 0.5 * total) / standard_gamma(gamma_rng, sigma_a + 0.5 * n_total)
            if sigma_kind == SIGMA_INVGAMMA or noise_accept(sigma_kind, sigma_par, s2, sigma2[ch],
                                                            standard_gamma(gamma_rng, 1.0)):
                sigma2[ch] = s2
            # 4. nu | w (kernels/robust/nu.py), when the joint move did not open the sweep
            if learn_nu and not nu_joint:
                zn = standard_normal(normal)
                gt = standard_gamma(gamma_rng, 0.5 * T_DF)
                e = standard_gamma(gamma_rng, 1.0)
                nu = nu_step(nu, float(n), D_nu, nu_a, nu_b, zn, gt, e)
        countdown -= 1
        if store and countdown == 0:
            countdown = thin
            kk = out_start + (t + 1) // thin - 1
            _store_draw(ch, kk, q, r, bc, al, mc, Sinv_c, sigma2[ch], M, acc, out_b, out_alpha, out_mu, out_Sigma,
                        out_sigma2)
            if learn_nu:
                out_nu[ch, kk] = nu
    nu_state[ch] = nu
    return nfail
