"""The hierarchical model: one grouping factor, beta_j ~ N(mu, Sigma_beta), pooled coefficients alpha."""

from ...registry import ModelKind, register
from . import analysis, front
from .model import (HierarchicalPrior, HierarchicalRegression, ResolvedHierarchicalPrior, Shrinkage, hier_spec,
                    resume_hierarchical, shrinkage)

KIND = register(ModelKind(
    name="hierarchical", model=HierarchicalRegression, needs="grouped", data="X, y, groups",
    resume=resume_hierarchical, priors=(ResolvedHierarchicalPrior,), rows=analysis.rows, predict=analysis.predict,
    prior_draws=analysis.prior_draws, front=front.FRONT))

__all__ = ["KIND", "HierarchicalPrior", "HierarchicalRegression", "ResolvedHierarchicalPrior", "Shrinkage",
           "hier_spec", "shrinkage"]
