"""The closed-form Normal-Inverse-Gamma posterior and its exact iid sampler.

Its draws are a flat model's (``attrs["model_kind"] == "flat"``: the flat kind's rows, prediction and
prior draws apply); its run state is of kind ``"conjugate"``, which resumes by more exact draws.
"""

from ...priors import ResolvedPrior
from ...registry import ModelKind, register
from .model import ConjugatePosterior, fit_conjugate, resume_conjugate

KIND = register(ModelKind(name="conjugate", model=ConjugatePosterior, needs="flat", data="X, y",
                          resume=resume_conjugate, priors=(ResolvedPrior,)))

__all__ = ["KIND", "ConjugatePosterior", "fit_conjugate"]
