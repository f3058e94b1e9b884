"""Binary and binomial outcomes: probit (Albert & Chib) and logistic (Polya-Gamma) regression, flat and with one
grouping factor.

Importing this subpackage registers the kinds ``"binary"`` and ``"binary_hier"``.
"""

from ...registry import ModelKind, register
from . import analysis
from .analysis import predict_proba
from .front import BINOMIAL_FLAT_FRONT, BINOMIAL_HIER_FRONT, FLAT_FRONT, HIER_FRONT
from .hier import (HierarchicalBinaryPrior, HierarchicalBinaryRegression, ResolvedBinaryHierPrior,
                   resume_binary_hier)
from .model import BinaryRegression, binary_data, binary_spec, resume_binary
from .priors import Flat, Normal, ResolvedBinaryPrior

KIND = register(ModelKind(
    name="binary", model=BinaryRegression, needs="rows", data="X, y (and trials, as the third argument)",
    resume=resume_binary, priors=(ResolvedBinaryPrior,), rows=analysis.rows, predict=analysis.predict,
    prior_draws=analysis.prior_draws, front=FLAT_FRONT, fronts=(BINOMIAL_FLAT_FRONT,)))
HIER_KIND = register(ModelKind(
    name="binary_hier", model=HierarchicalBinaryRegression, needs="rows", data="X, y, groups",
    resume=resume_binary_hier, priors=(ResolvedBinaryHierPrior,), rows=analysis.hier_rows, predict=analysis.predict,
    prior_draws=analysis.hier_prior_draws, front=HIER_FRONT, fronts=(BINOMIAL_HIER_FRONT,)))

__all__ = ["KIND", "HIER_KIND", "BinaryRegression", "HierarchicalBinaryPrior", "HierarchicalBinaryRegression", "Flat",
           "Normal", "ResolvedBinaryPrior", "binary_data", "binary_spec", "predict_proba"]
