"""Gibbs kernel of the crossed/nested model for the families that need a latent variable per row: binary
(probit by Albert & Chib, logistic by Polya-Gamma) and Student-t errors (models/crossedrows).

Given the latents, each family's likelihood is Gaussian in the linear predictor with per-row weights w_i and
working response u_i, so the Gaussian crossed sweep (kernels/crossed) runs unchanged on the weighted cell
statistics G_c = Z_c' W_c Z_c, h_c = Z_c' W_c u_c, rr_c = u_c' W_c u_c:

* logistic: w_i = omega_i ~ PG(n_i, eta_i), w_i u_i = kappa_i = y_i - n_i / 2 (h fixed, G redrawn);
* probit: the sum s_i of row i's n_i truncated-normal latents, w_i = n_i, w_i u_i = s_i (G fixed, h redrawn);
* Student-t: w_i ~ Gamma((nu + 1)/2, rate (nu + r_i^2 / sigma^2)/2), u_i = r0_i (both redrawn), then sigma^2
  from the weighted RSS and (learned) nu | w by kernels/robust/nu.py.

The binary families fix sigma^2 = 1.  Cost per sweep and chain: eta (O(n p)), the latents (O(sum n_i) or
O(n)), the cell statistics (logistic and Student-t O(n p^2 / 2), probit O(n p)), then the Gaussian sweep on
the cells (O(C p^2 + sum_f J_f q_f^3), as kernels/crossed).

Streams per sweep and chain, in order: the gamma stream carries the latents (kernels/binary/flat._latent_pass,
row order: the rows sorted by cell) or the n weight gammas (kernels/robust/sweep); then the normal and gamma
streams give exactly the Gaussian crossed sweep's numbers (kernels/crossed/__init__), whose sigma^2 gamma the
binary families draw and do not use; then, Student-t with nu learned, one normal and the gammas of shape
T_DF / 2 and 1 of the nu step.  The NumPy twin (gibbsreg.models.crossedrows.reference) runs the Gaussian
crossed reference sweep per chain and sweep, so both consume the same numbers.

Modules: stats (the linear predictor per row, the weighted cell statistics and their per-level sums), chains
(crossed_rows_gibbs and a chain's sweeps).
"""

from .chains import STUDENT, RowsInputs, crossed_rows_gibbs

__all__ = ["STUDENT", "RowsInputs", "crossed_rows_gibbs"]
