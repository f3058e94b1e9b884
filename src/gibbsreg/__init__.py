"""gibbsreg: Numba-accelerated Gibbs sampling for Bayesian linear and hierarchical regression.

Main entry points: :func:`model` (a formula on a DataFrame), :class:`LinearRegression` (Gibbs), :func:`fit_conjugate`
(closed form), the priors :class:`SemiConjugate` and :class:`NormalInverseGamma`,
the :class:`Posterior` container with :func:`load`, and :mod:`gibbsreg.diagnostics`.
"""

from . import analysis, checks, datasets, diagnostics
from .analysis import compare, exact_loo, loo
from .checks import PPCResult, ppc
from .convergence import ConvergenceStudy, convergence_grid, convergence_study
from .models.conjugate import ConjugatePosterior, fit_conjugate
from .models.crossed import CrossedPrior, CrossedRegression, Factor, interaction_labels, plot_forest_factors
from .models.binary import BinaryRegression, HierarchicalBinaryPrior, HierarchicalBinaryRegression, predict_proba
from .models.binary import Flat as BinaryFlat, Normal as BinaryNormal
from .models.flat import LinearRegression
from .models.robust import Gamma, HierarchicalStudentTRegression, StudentTRegression
from .models.crossedrows import CrossedBinaryRegression, CrossedStudentTRegression
from .models.wide import BayesianLasso, Horseshoe, RegularizedHorseshoe, plot_shrinkage, shrinkage_summary
from .formula import FormulaModel, model
from .models.hierarchical import HierarchicalPrior, HierarchicalRegression, Shrinkage, shrinkage
from .ols import OLSComparison, compare_ols
from .priors import Exponential, HalfCauchy, HalfNormal, HalfStudentT, HuangWand, InvGamma, InvWishart
from .posterior import Posterior, SummaryTable, load
from .runner import Converged, resume
from .priors import Exchangeable, NormalInverseGamma, SemiConjugate
from .sensitivity import SensitivityTable, prior_grid, prior_sensitivity
from .sbc import SBCResult, sbc
from .io import FlatStats, GroupedStats, load_stats, merge, read_stats, sufficient_stats

__version__ = "0.1.0"

__all__ = [
    "ConvergenceStudy",
    "CrossedBinaryRegression",
    "CrossedPrior",
    "CrossedRegression",
    "CrossedStudentTRegression",
    "Factor",
    "interaction_labels",
    "plot_forest_factors",
    "Converged",
    "OLSComparison",
    "PPCResult",
    "SensitivityTable",
    "Shrinkage",
    "compare",
    "compare_ols",
    "exact_loo",
    "loo",
    "convergence_grid",
    "convergence_study",
    "ppc",
    "prior_grid",
    "prior_sensitivity",
    "Exchangeable",
    "Exponential",
    "HalfCauchy",
    "HalfNormal",
    "HalfStudentT",
    "HuangWand",
    "HierarchicalPrior",
    "HierarchicalRegression",
    "InvGamma",
    "InvWishart",
    "ConjugatePosterior",
    "FormulaModel",
    "LinearRegression",
    "NormalInverseGamma",
    "Posterior",
    "SemiConjugate",
    "SummaryTable",
    "fit_conjugate",
    "FlatStats",
    "GroupedStats",
    "load",
    "model",
    "load_stats",
    "merge",
    "read_stats",
    "SBCResult",
    "sbc",
    "sufficient_stats",
    "resume",
    "shrinkage",
    "Gamma",
    "StudentTRegression",
    "HierarchicalStudentTRegression",
    "BinaryFlat",
    "BinaryNormal",
    "BinaryRegression",
    "HierarchicalBinaryPrior",
    "HierarchicalBinaryRegression",
    "predict_proba",
    "BayesianLasso",
    "Horseshoe",
    "RegularizedHorseshoe",
    "plot_shrinkage",
    "shrinkage_summary",
]
