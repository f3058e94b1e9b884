"""Wide designs (p up to >> n): LinearRegression under Horseshoe, RegularizedHorseshoe or BayesianLasso priors
(kind "wide").

``LinearRegression(prior=Horseshoe()).sample(X, y)`` runs here: the beta draw is Cholesky on X'X when
p <= n - r and Bhattacharya, Chakraborty & Mallick (2016) otherwise (``attrs["beta_draw"]``).
See docs/wide.md.
"""

from ...registry import ModelKind, get, register
from . import analysis, front
from .analysis import plot_shrinkage, shrinkage, shrinkage_summary
from .model import resume_wide, sample_wide, wide_spec
from .priors import BayesianLasso, Horseshoe, RegularizedHorseshoe
from .resolved import ResolvedShrinkage

# the user-facing class is the flat kind's LinearRegression (its prior routes here), asked of the registry
# rather than imported: a model subpackage imports no other model (tests/test_layers.py)
KIND = register(ModelKind(
    name="wide", model=get("flat").model, needs="rows", data="X, y", resume=resume_wide,
    priors=(ResolvedShrinkage,), rows=analysis.rows, predict=analysis.predict, prior_draws=analysis.prior_draws,
    front=front.FRONT))

__all__ = ["BayesianLasso", "Horseshoe", "KIND", "RegularizedHorseshoe", "plot_shrinkage", "ResolvedShrinkage",
           "sample_wide", "shrinkage", "shrinkage_summary", "wide_spec"]
