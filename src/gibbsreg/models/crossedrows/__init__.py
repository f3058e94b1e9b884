"""Crossed and nested random effects for the families whose sweep reads every row (a latent variable per row,
redrawn each sweep): binary and binomial outcomes (CrossedBinaryRegression, kind "binary_crossed") and Student-t
errors (CrossedStudentTRegression, kind "robust_crossed").

Given the latents each family is a weighted Gaussian model, so one sweep (kernels/crossedrows) redraws them,
rebuilds the cells' weighted statistics from the rows and runs the Gaussian crossed sweep (kernels/crossed)
on them.  Importing this subpackage registers both kinds (gibbsreg.models imports it); docs/crossed-rows.md.
"""

from ...registry import ModelKind, register
from . import binary, front, student
from .binary import CrossedBinaryRegression, ResolvedCrossedBinaryPrior
from .student import CrossedStudentTRegression, ResolvedCrossedStudentT

BINARY_KIND = register(ModelKind(
    name="binary_crossed", model=CrossedBinaryRegression, needs="rows", data="X, y, groups (and trials)",
    resume=binary.resume, priors=(ResolvedCrossedBinaryPrior,), rows=binary.rows, predict=binary.predict,
    prior_draws=binary.prior_draws, front=front.BINARY_FRONT))
STUDENT_KIND = register(ModelKind(
    name="robust_crossed", model=CrossedStudentTRegression, needs="rows", data="X, y, groups",
    resume=student.resume, priors=(ResolvedCrossedStudentT,), rows=student.rows, predict=student.predict,
    prior_draws=student.prior_draws, front=front.STUDENT_FRONT))
KINDS = (BINARY_KIND, STUDENT_KIND)

__all__ = ["BINARY_KIND", "KINDS", "STUDENT_KIND", "CrossedBinaryRegression", "CrossedStudentTRegression",
           "ResolvedCrossedBinaryPrior", "ResolvedCrossedStudentT"]
