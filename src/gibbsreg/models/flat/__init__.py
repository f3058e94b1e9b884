"""The flat model: y = X beta + eps under a SemiConjugate, NormalInverseGamma or Exchangeable prior."""

from ...priors import ResolvedExchangeable, ResolvedPrior
from ...registry import ModelKind, register
from . import analysis, front
from .model import LinearRegression, flat_problem, flat_spec, resume_flat

KIND = register(ModelKind(
    name="flat", model=LinearRegression, needs="flat", data="X, y", resume=resume_flat,
    priors=(ResolvedPrior, ResolvedExchangeable), rows=analysis.rows, predict=analysis.predict,
    prior_draws=analysis.prior_draws, front=front.FRONT))

__all__ = ["KIND", "LinearRegression", "flat_problem", "flat_spec"]
