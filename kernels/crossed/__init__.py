"""Gibbs kernel of the regression with several grouping factors, on cell statistics.

Coordinates are scaled (gibbsreg.crossed): cell c has G[c] = Z_c'Z_c (p, p), h[c] = Z_c'r0_c,
rr[c], n[c] and level[c, f], its level of factor f.  Factor f's effects live in the flat
per-chain vector b at b_off[f] + j * q[f] + a (level j, coefficient a, column vidx[f, a]);
the pooled coefficients alpha sit at the columns pidx.  The coefficient vector of cell c is
theta_c = alpha (at pidx) + sum_f b_f[level[c, f]] (at vidx[f]), so
RSS_c = rr_c - 2 theta_c'h_c + theta_c'G_c theta_c.

Per iteration and chain the normal stream gives, in order: with sampler "plain", sum_f J_f q_f
values for the effects (factor by factor, level by level), r for alpha, q_1 for mu; with sampler
"blocked", the effects of factors 2..K, q_1 + r for (mu, alpha) drawn with the first factor's
effects integrated out, then J_1 q_1 for the first factor's effects; with the joint update of a factor f
nested in the first (kernels/crossed/nested.py), the effects of the factors other than 1 and f, T per
Metropolis step on the two factors' T diagonal scales, then q_1 + r for (mu, alpha), J_1 q_1 for b_1 and J_f
q_f for b_f; then the Bartlett
off-diagonals of every inverse-Wishart factor, (interweave) one per diagonal scale, and ("blocked")
q_f for the shift move of every factor f >= 2, followed, when factor f is nested in the first, by
|V_f and V_1| per level of the first factor for the per-parent shift; the gamma stream gives (joint update) one exponential per Metropolis step on the scales, then per
factor, the tau^2 (or Bartlett) gammas and the half-t lambdas (the Huang-Wand a_k after the Bartlett
gammas; for the half-normal and exponential, q_f flat-prior proposals then q_f acceptance exponentials),
(interweave) one exponential per diagonal scale and one lambda per half-t scale, then one for sigma^2 and,
under a prior on sigma, its acceptance exponential (kernels/scales.py, docs/scale-priors.md).  Sampler "asis" =
blocked + interweave.  The NumPy reference
(gibbsreg.crossed.crossed_gibbs_reference) consumes the same streams in the same order.

The kernel's modules: layout (prior kinds, a cell's coefficient vector, the end of a Gaussian draw), steps
(the per-factor updates: a factor's level sums and draws, the pooled coefficients' sums, a common shift's
draw, the per-parent shift of a nested factor), nested (the joint parent-children update of a factor nested
in the first and its scales' Metropolis steps with the effects integrated out, docs/maths.md §14), sweep (the blocks of one chain's sweep: effects plain or
blocked, the factors' Sigma_f, the shift moves, the RSS, the store of a draw), interweave (the interweaving
move for the diagonal scales) and chains (crossed_gibbs, the chains shared out between threads, and
_one_chain, a chain's workspaces and sweeps).
"""

from .chains import CrossedInputs, crossed_gibbs

__all__ = ["CrossedInputs", "crossed_gibbs"]
