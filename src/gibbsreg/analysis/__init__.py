"""Analysis of fitted posteriors: pointwise log-likelihood, InferenceData export, LOO and model comparison."""

from .comparison import compare, exact_loo, loo
from .inference import prior_draws, to_inference_data
from .loglik import TooLargeError, pointwise_loglik, posterior_predictive_draws

__all__ = ["TooLargeError", "compare", "exact_loo", "loo", "pointwise_loglik", "posterior_predictive_draws",
           "prior_draws", "to_inference_data"]
