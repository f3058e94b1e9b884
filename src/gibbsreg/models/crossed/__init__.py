"""Several grouping factors (crossed or nested random effects), Gibbs on cell statistics.

Model (lme4-style; docs/maths.md, "Several grouping factors"):

    y_i = x_i' beta_i + eps_i,  eps_i ~ N(0, sigma^2),
    beta_i = fixed + sum_f E_f b_f[g_f(i)],

with factor 1's effects centred at the population means, b_1,j ~ N(mu, Sigma_1), and every
later factor's effects centred at zero, b_f,j ~ N(0, Sigma_f) (f >= 2).  Every column of X
has one population-level coefficient: ``mu_k`` when column k varies in factor 1, ``alpha_k``
otherwise (a pooled coefficient, which later factors may perturb by zero-mean deviations).
E_f embeds the q_f varying columns of factor f into the p columns.

The sampler keeps, for each non-empty combination of levels (a *cell*), the cross-moments
Z_c'Z_c, Z_c'r0_c, r0_c'r0_c, n_c in scaled coordinates around the complete-pooling least-squares
point, so one sweep costs O(sum_f J_f q_f^3 + cells p^2), never O(n).  ``sampler="blocked"``
draws (mu, alpha) with the first factor's effects integrated out and then those
effects (one exact block, the collapsed update of Papaspiliopoulos, Roberts & Zanella 2020 for
the population coefficients), and adds, for every later factor, an exact Gibbs draw along the
direction the likelihood cannot see (b_f,. - c, with mu or alpha + c, and b_1,. + c); together
they remove the slow mixing of plain block Gibbs between the population coefficients and the
factors' means.  ``sampler="asis"`` (default) adds an interweaving step (Yu & Meng 2011) that
redraws every diagonal factor scale in the non-centred parameterisation, which fixes the slow
mixing of a factor variance near zero (docs/maths.md section 12.6).
"""

from ...registry import ModelKind, register
from . import front
from .cells import CellStats, encode_factor, interaction_labels
from .model import CrossedRegression, resume_crossed
from .predict import plot_forest_factors, predict_crossed
from .priors import CrossedPrior, Factor, ResolvedCrossedPrior, resolve_crossed_prior
from .problem import CrossedProblem, crossed_problem
from .rows import crossed_rows

KIND = register(ModelKind(
    name="crossed", model=CrossedRegression, needs="cells", data="X, y, groups", resume=resume_crossed,
    priors=(ResolvedCrossedPrior,), rows=crossed_rows, predict=predict_crossed, front=front.FRONT))

__all__ = ["KIND", "CellStats", "CrossedPrior", "CrossedProblem", "CrossedRegression", "Factor", "ResolvedCrossedPrior",
           "crossed_problem", "encode_factor", "interaction_labels",
           "plot_forest_factors", "predict_crossed", "resolve_crossed_prior"]
