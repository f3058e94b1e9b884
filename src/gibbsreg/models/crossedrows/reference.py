"""NumPy twin of gibbsreg.kernels.crossedrows.crossed_rows_gibbs: the same arguments (Generators in place of
stream addresses), the same streams in the same order.  Per chain and sweep: the latent (or weight) pass, the
cell statistics in NumPy, then one sweep of the Gaussian crossed reference (models/crossed/reference.py) on
them; the draws are stored here."""

from __future__ import annotations

import numpy as np

from ...kernels.binary.flat import LOGIT
from ...kernels.crossedrows.chains import STUDENT
from ...kernels.robust.joint import joint_step
from ...kernels.robust.nu import T_DF, nu_step
from ...kernels.robust.sweep import MIN_WEIGHT
from ...kernels.scales import SIGMA_INVGAMMA
from ..binary.reference import latent_pass
from ..crossed.reference import _theta_cells, crossed_gibbs_reference
from .problem import cell_sums


def crossed_rows_reference(inputs, b, alpha, mu, Sinv, lam, sigma2, nu, normal_gens, gamma_gens, n_iter, thin,
                           out_start, out_b, out_alpha, out_mu, out_Sigma, out_sigma2, out_nu):
    """n_iter sweeps of every chain, one chain after another (see the kernel); returns 0."""
    i = inputs
    Z, start, n = i.Z, i.start, i.Z.shape[0]
    q = i.q
    p = Z.shape[1]
    K = len(q)
    store = out_mu.shape[1] > 0
    none = {k: np.empty((1, 0) + a.shape[2:]) for k, a in
            (("b", out_b), ("alpha", out_alpha), ("mu", out_mu), ("Sigma", out_Sigma), ("sigma2", out_sigma2))}
    cell_of_row = np.repeat(np.arange(start.shape[0] - 1), np.diff(start))
    nu_joint = i.family == STUDENT and i.learn_nu and i.sigma_kind == SIGMA_INVGAMMA
    for c in range(b.shape[0]):
        gens = ([normal_gens[c]], [gamma_gens[c]])
        state = [b[c:c + 1], alpha[c:c + 1], mu[c:c + 1], Sinv[c:c + 1], lam[c:c + 1], sigma2[c:c + 1]]
        nu_c = float(nu[c])
        for t in range(n_iter):
            b_list = [b[c:c + 1, i.b_off[f]: i.b_off[f + 1]].reshape(1, int(i.J[f]), int(q[f])) for f in range(K)]
            theta = _theta_cells(i.level, i.vidx, q, b_list, alpha[c:c + 1], i.pidx, p)[0]  # (C, p)
            eta = np.einsum("ia,ia->i", Z, theta[cell_of_row])
            if nu_joint:  # the kernel's joint (nu, sigma^2) move, the weights integrated out
                r = i.r0 - eta
                z1, z2 = normal_gens[c].standard_normal(), normal_gens[c].standard_normal()
                gt, e = gamma_gens[c].standard_gamma(0.5 * T_DF), gamma_gens[c].standard_gamma(1.0)
                nu_c, sigma2[c] = joint_step(r * r, float(n), nu_c, float(sigma2[c]), i.nu_a, i.nu_b, i.sigma_a,
                                             i.sigma_b, z1, z2, gt, e)
            if i.family == STUDENT:
                g = gamma_gens[c].standard_gamma(0.5 * (nu_c + 1.0), n)
                r = i.r0 - eta
                w = np.maximum(2.0 * g / (nu_c + r * r / sigma2[c]), MIN_WEIGHT)
                G, h, rr = cell_sums(Z, w, i.r0, start)
            else:
                w, s = latent_pass(Z, i.y, i.trials, i.family, eta, gamma_gens[c])
                if i.family == LOGIT:
                    G, h, rr = cell_sums(Z, w, np.zeros(n), start)[0], i.hfix, i.nc
                else:
                    G, h, rr = i.Gfix, cell_sums(Z, np.ones(n), s, start)[1], i.nc
            crossed_gibbs_reference(i.restat(G, h, rr), *state, *gens, 1, 1, 0, *none.values())
            if i.family != STUDENT:
                sigma2[c] = 1.0
            elif i.learn_nu and not nu_joint:
                D = float(np.sum(w - np.log(w) - 1.0))
                zn = normal_gens[c].standard_normal()
                gt = gamma_gens[c].standard_gamma(0.5 * T_DF)
                e = gamma_gens[c].standard_gamma(1.0)
                nu_c = nu_step(nu_c, float(n), D, i.nu_a, i.nu_b, zn, gt, e)
            if store and (t + 1) % thin == 0:
                k = out_start + (t + 1) // thin - 1
                out_b[c, k], out_alpha[c, k], out_mu[c, k], out_sigma2[c, k] = b[c], alpha[c], mu[c], sigma2[c]
                for f in range(K):
                    qf = int(q[f])
                    out_Sigma[c, k, f, :qf, :qf] = np.linalg.inv(Sinv[c, f, :qf, :qf])
                if i.learn_nu:
                    out_nu[c, k] = nu_c
        nu[c] = nu_c
    return 0
