"""The hierarchical Student-t model's ModelKind ("robust_hier"), registered by the subpackage's __init__."""

from ...registry import ModelKind
from . import hier_analysis
from .front import HIER_FRONT
from .hier import HierarchicalStudentTRegression, ResolvedStudentTHier, resume_robust_hier

HIER_KIND = ModelKind(
    name="robust_hier", model=HierarchicalStudentTRegression, needs="rows", data="X, y, groups",
    resume=resume_robust_hier, priors=(ResolvedStudentTHier,), rows=hier_analysis.rows,
    predict=hier_analysis.predict, prior_draws=hier_analysis.prior_draws, front=HIER_FRONT)
