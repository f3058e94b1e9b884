"""The Student-t regression: y = X beta + e, e_i ~ t_nu(0, sigma^2), nu fixed or learned (kind "robust")."""

from ...registry import ModelKind, register
from . import analysis, front
from .model import StudentTRegression, resume_robust, robust_spec
from .priors import Gamma, ResolvedStudentT

KIND = register(ModelKind(
    name="robust", model=StudentTRegression, needs="rows", data="X, y", resume=resume_robust,
    priors=(ResolvedStudentT,), rows=analysis.rows, predict=analysis.predict, prior_draws=analysis.prior_draws,
    front=front.FRONT))

__all__ = ["KIND", "Gamma", "ResolvedStudentT", "StudentTRegression", "robust_spec"]
