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
from .runner import Converged, resume
from .priors import Exchangeable, NormalInverseGamma, SemiConjugate
from .sensitivity import SensitivityTable, prior_grid, prior_sensitivity

__version__ = "0.1.0"

__all__ = [
    "ConvergenceStudy",
    "Converged",
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
    "load",
    "resume",
    "shrinkage",
]
