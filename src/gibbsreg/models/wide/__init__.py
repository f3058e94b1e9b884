"""Wide designs (p up to >> n): LinearRegression under Horseshoe, RegularizedHorseshoe or BayesianLasso priors (kind "wide").

``LinearRegression(prior=Horseshoe()).sample(X, y)`` runs here: the beta draw is Cholesky on X'X when
p <= n - r and Bhattacharya, Chakraborty & Mallick (2016) otherwise (``attrs["beta_draw"]``).
See docs/wide.md.
"""

from ...registry import ModelKind, register
from ..flat.model import LinearRegression
from . import analysis
from .analysis import shrinkage, shrinkage_summary
from .model import resume_wide, sample_wide, wide_spec
from .priors import BayesianLasso, Horseshoe, RegularizedHorseshoe
from .resolved import ResolvedShrinkage

KIND = register(ModelKind(
    name="wide", model=LinearRegression, needs="rows", data="X, y", resume=resume_wide,
    priors=(ResolvedShrinkage,), rows=analysis.rows, predict=analysis.predict, prior_draws=analysis.prior_draws))

__all__ = ["BayesianLasso", "Horseshoe", "KIND", "RegularizedHorseshoe", "ResolvedShrinkage", "sample_wide", "shrinkage",
           "shrinkage_summary", "wide_spec"]
