"""Binary and binomial outcomes: probit (Albert & Chib) and logistic (Polya-Gamma) regression, flat.

Importing this subpackage registers the kind ``"binary"``.
"""

from ...registry import ModelKind, register
from . import analysis
from .analysis import predict_proba
from .model import BinaryRegression, binary_data, binary_spec, resume_binary
from .priors import Flat, Normal, ResolvedBinaryPrior

KIND = register(ModelKind(
    name="binary", model=BinaryRegression, needs="rows", data="X, y (and trials, as the third argument)",
    resume=resume_binary, priors=(ResolvedBinaryPrior,), rows=analysis.rows, predict=analysis.predict,
    prior_draws=analysis.prior_draws))

__all__ = ["KIND", "BinaryRegression", "Flat", "Normal", "ResolvedBinaryPrior", "binary_data", "binary_spec",
           "predict_proba"]
