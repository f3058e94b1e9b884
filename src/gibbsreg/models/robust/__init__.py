"""The Student-t regression: y = X beta + e, e_i ~ t_nu(0, sigma^2), nu fixed or learned (kind "robust"), and
its one-factor hierarchical form (kind "robust_hier")."""

from ...registry import ModelKind, register
from . import analysis, front
from .hier import HierarchicalStudentTRegression, ResolvedStudentTHier
from .hier_kind import HIER_KIND as _HIER_KIND
from .model import StudentTRegression, resume_robust, robust_spec
from .priors import Gamma, ResolvedStudentT

KIND = register(ModelKind(
    name="robust", model=StudentTRegression, needs="rows", data="X, y", resume=resume_robust,
    priors=(ResolvedStudentT,), rows=analysis.rows, predict=analysis.predict, prior_draws=analysis.prior_draws,
    front=front.FRONT))
HIER_KIND = register(_HIER_KIND)

__all__ = ["HIER_KIND", "KIND", "Gamma", "HierarchicalStudentTRegression", "ResolvedStudentT", "ResolvedStudentTHier",
           "StudentTRegression", "robust_spec"]
