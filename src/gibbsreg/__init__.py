"""gibbsreg: Numba-accelerated Gibbs sampling for Bayesian linear and hierarchical regression.

Main entry points: :class:`LinearRegression` (Gibbs), :func:`fit_conjugate`
(closed form), the priors :class:`SemiConjugate` and :class:`NormalInverseGamma`,
the :class:`Posterior` container with :func:`load`, and :mod:`gibbsreg.diagnostics`.
"""

from . import checks, datasets, diagnostics
from .checks import PPCResult, ppc
from .convergence import ConvergenceStudy, convergence_grid, convergence_study
from .conjugate import ConjugatePosterior, fit_conjugate
from .flat import LinearRegression
from .hierarchical import HierarchicalPrior, HierarchicalRegression, Shrinkage, shrinkage
from .ols import OLSComparison, compare_ols
from .priors import HalfCauchy, InvGamma, InvWishart
from .posterior import Posterior, SummaryTable, load
from .priors import Exchangeable, NormalInverseGamma, SemiConjugate
from .sensitivity import SensitivityTable, prior_grid, prior_sensitivity
from .sbc import SBCResult, sbc
from .io import FlatStats, GroupedStats, load_stats, merge, read_stats, sufficient_stats

__version__ = "0.1.0"

__all__ = [
    "ConvergenceStudy",
    "OLSComparison",
    "PPCResult",
    "SensitivityTable",
    "Shrinkage",
    "compare_ols",
    "convergence_grid",
    "convergence_study",
    "ppc",
    "prior_grid",
    "prior_sensitivity",
    "Exchangeable",
    "HalfCauchy",
    "HierarchicalPrior",
    "HierarchicalRegression",
    "InvGamma",
    "InvWishart",
    "ConjugatePosterior",
    "LinearRegression",
    "NormalInverseGamma",
    "Posterior",
    "SemiConjugate",
    "SummaryTable",
    "fit_conjugate",
    "FlatStats",
    "GroupedStats",
    "load",
    "load_stats",
    "merge",
    "read_stats",
    "SBCResult",
    "sbc",
    "sufficient_stats",
    "shrinkage",
]
