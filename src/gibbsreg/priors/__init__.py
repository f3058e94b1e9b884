"""Priors of the flat regression models and their data-scaled defaults.

Defaults (any argument left as None), in the spirit of rstanarm's autoscaling,
so one call behaves the same whatever the units of y and X:

* slope k:      beta_k ~ N(0, (2.5 sd(y) / sd(x_k))^2)
* intercept:    placed on the intercept at the centred predictors,
                beta_0 + sum_k mean(x_k) beta_k ~ N(mean(y), (2.5 sd(y))^2),
                which is a full (non-diagonal) Gaussian on beta
* noise:        sigma^2 ~ IG(1, var(y) / 2)   (mode var(y)/4, median ~0.72 var(y))

For the conjugate NormalInverseGamma prior the covariance is divided by the
prior's typical noise variance b/a, so that sigma^2 V0 has the scale above.
A scale of ``np.inf`` gives a flat (improper) prior on that coefficient.

The package: ``beta`` (the flat models' coefficient and noise priors), ``scales`` (tau and sigma), ``exchangeable``,
``_checks`` (shared validation).
"""

from ._checks import _broadcast, _finite_array, _fmt, _positive_scalar, _positive_vector, _vec, validate_cov
from .beta import (DEFAULT_A, DEFAULT_B_FRACTION, SLOPE_SCALE, NormalInverseGamma, ResolvedPrior, SemiConjugate,
                   _GaussianIGPrior)
from .exchangeable import Exchangeable, ResolvedExchangeable
from .scales import (SCALE_PRIORS, Exponential, HalfCauchy, HalfNormal, HalfStudentT, HuangWand, InvGamma, InvWishart,
                     _scale_prior_fields, noise_prior_text, resolve_group_scale, resolve_noise_scale, scale2_draws,
                     scale_prior_text)

__all__ = ["DEFAULT_A", "DEFAULT_B_FRACTION", "SCALE_PRIORS", "SLOPE_SCALE", "Exchangeable", "Exponential", "HalfCauchy",
           "HalfNormal", "HalfStudentT", "HuangWand", "InvGamma", "InvWishart", "NormalInverseGamma",
           "ResolvedExchangeable", "ResolvedPrior", "SemiConjugate", "noise_prior_text", "resolve_group_scale",
           "resolve_noise_scale", "scale2_draws", "scale_prior_text", "validate_cov", "_GaussianIGPrior",
           "_broadcast", "_finite_array", "_fmt", "_positive_scalar", "_positive_vector", "_scale_prior_fields",
           "_vec"]
