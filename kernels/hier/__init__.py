"""Gibbs kernel of the hierarchical regression (centred parameterisation).

Coordinates: the first q coefficients vary by group (beta_j), the last r are
pooled (alpha).  Per-group sufficient statistics G[j] (p, p), h[j] (p,),
rr[j], n[j] with p = q + r, so RSS_j = rr_j - 2 theta_j'h_j + theta_j'G_j theta_j
for theta_j = (beta_j, alpha).

Per iteration and chain the normal stream gives, in order: J*q values for the
beta_j, r for alpha, q for mu, q(q-1)/2 Bartlett off-diagonals (Inverse-Wishart
and Huang-Wand only), then with interweaving q for the location step and, for a diagonal
Sigma, q for the scale step; the gamma stream gives the tau^2 (or Bartlett)
gammas (q; for the half-normal and exponential tau the flat-prior proposals), q exponentials for the
scale step (diagonal Sigma), the half-t lambdas, the half-normal and exponential steps' acceptance
exponentials or the Huang-Wand a_k (q), then the sigma^2 gammas (1, or J with per-group variances) and,
under a prior on sigma, its acceptance exponential (kernels/scales.py, docs/scale-priors.md).  The NumPy
reference consumes the same streams in the same order.

Each sweep passes over the groups three times (beta draws with the sums for alpha and mu; the
spread about mu with the interweaving sums; the interweaving move with RSS and sigma_j^2), in fixed
blocks of up to MAX_BLOCK groups (group_blocks: they depend on J alone).  Within a block the groups
sit side by side, one per vector lane: the kernels take G, h and beta lane-major (GT (p, p, J),
hT (p, J), betaT (C, q, J)), and every step of a group's update is a loop over the block's lanes,
which the compiler vectorises.  Every sum over groups is formed per
block and the block sums are added in block order, so a chain's draws are the same whether its
blocks run one after another on one thread (hier_gibbs_chains, threads over chains) or on several
(hier_gibbs_groups, when there are fewer chains than threads).

The kernel's modules: layout (prior kinds, blocks, sweep_layout, lane sums), stages (the three passes over
a block), steps (the per-sweep hyperparameter steps), chains (hier_gibbs_chains), groups (hier_gibbs_groups
and its task sharing), sync (the atomics its workers pass the phases with) and dispatch (hier_gibbs, which
picks one of the two).
"""

from .dispatch import HierInputs, hier_gibbs

__all__ = ["hier_gibbs"]
