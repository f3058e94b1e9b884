"""NumPy twin of the Student-t kernel (gibbsreg.kernels.robust.sweep.robust_gibbs): same arguments, same
streams in the same order (that module's docstring), the same joint (nu, sigma^2) move (kernels/robust/joint.py:
its row sums in NumPy here, the rest the same Python); a loop over chains and sweeps with NumPy over the rows."""

from __future__ import annotations

import numpy as np

from ...kernels.robust.joint import joint_step
from ...kernels.robust.nu import T_DF
from ...reference import gaussian_draw

MIN_WEIGHT = 1e-300  # as the kernel's


def robust_gibbs(Z, r0, P, Pm, sigma_shape, b0, learn_nu, nu_a, nu_b, out_map, out_ref,
                 gamma_state, sigma2_state, nu_state, normal_gens, gamma_gens,
                 n_iter, thin, out_start, out_beta, out_sigma2, out_nu):
    """n_iter sweeps for every chain (see the kernel); returns 0 (a failed factorisation raises)."""
    n, p = Z.shape
    store = out_beta.shape[1] > 0
    rr0 = r0 * r0
    s_a = sigma_shape - 0.5 * n  # sigma^2 ~ IG(s_a, b0) a priori
    for c in range(gamma_state.shape[0]):
        normal, gam = normal_gens[c], gamma_gens[c]
        g = gamma_state[c].copy()
        s2 = float(sigma2_state[c])
        nu = float(nu_state[c])
        for t in range(n_iter):
            r = r0 - Z @ g
            if learn_nu:
                z1, z2 = normal.standard_normal(), normal.standard_normal()
                gt = gam.standard_gamma(0.5 * T_DF)
                e = gam.standard_gamma(1.0)
                nu, s2 = joint_step(r * r, float(n), nu, s2, nu_a, nu_b, s_a, b0, z1, z2, gt, e)
            w = gam.standard_gamma(0.5 * (nu + 1.0), n)
            inv_s2 = 1.0 / s2
            w = np.maximum(2.0 * w / (nu + r * r * inv_s2), MIN_WEIGHT)
            G = Z.T @ (w[:, None] * Z)
            h = Z.T @ (w * r0)
            rr = float(w @ rr0)
            z = normal.standard_normal(p)
            g = gaussian_draw(P + G * inv_s2, Pm + h * inv_s2, z)
            rss = max(rr - 2.0 * float(h @ g) + float(g @ G @ g), 0.0)
            s2 = (b0 + 0.5 * rss) / gam.standard_gamma(sigma_shape)
            if store and (t + 1) % thin == 0:
                k = out_start + (t + 1) // thin - 1
                out_beta[c, k] = out_map @ g + out_ref
                out_sigma2[c, k] = s2
                if learn_nu:
                    out_nu[c, k] = nu
        gamma_state[c] = g
        sigma2_state[c] = s2
        nu_state[c] = nu
    return 0
