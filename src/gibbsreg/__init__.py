"""gibbsreg: Numba-accelerated Gibbs sampling for Bayesian linear and hierarchical regression.

Main entry points: :class:`LinearRegression` (Gibbs), :func:`fit_conjugate`
(closed form), the priors :class:`SemiConjugate` and :class:`NormalInverseGamma`,
the :class:`Posterior` container with :func:`load`, and :mod:`gibbsreg.diagnostics`.
"""

from . import datasets
from .conjugate import ConjugatePosterior, fit_conjugate
from .flat import LinearRegression
from .hierarchical import HierarchicalPrior, HierarchicalRegression, shrinkage
from .priors import HalfCauchy, InvGamma, InvWishart
from .posterior import Posterior, SummaryTable, load
from .priors import Exchangeable, NormalInverseGamma, SemiConjugate

__version__ = "0.1.0"

__all__ = [
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
    "shrinkage",
]
