"""Shrinkage priors on beta for LinearRegression: Horseshoe and BayesianLasso, and their resolved form.

Both scale the penalised coefficients by sigma (Carvalho, Polson & Scott 2010; Park & Casella 2008) and
act on standardised predictors (``standardize=True``: column j of the design, after the unpenalised columns
are projected out, scaled to ||x_j||^2 = m, m = n - r): gamma_j = s_j beta_j.  Unpenalised columns (the
intercept, a constant column when intercept=False, and those named in ``unpenalized``) have a flat prior.
sigma^2 has Jeffreys' prior 1/sigma^2 (``sigma=None``) or ``gibbsreg.InvGamma(a, b)``.

``sigma_scaled=False`` takes sigma out of the prior on gamma (the "independent" form: gamma_j | scales ~
N(0, D_j)); then the scales are in units of y (defaults: global_scale sd(y), or p0 / (p - p0) sd(y) / sqrt(m)
from p0; the slab's scale 2 sd(y); the lasso's rate var(y)), and sigma^2 | beta is drawn after beta instead
of in one block with it.  With p >> n the sigma-scaled default lets many tiny coefficients absorb the noise
(sigma underestimated; docs/wide.md).  Defaults when scaled: global_scale 1 (or p0 / (p - p0) / sqrt(m)),
slab_scale 2, lasso rate 1.
"""

from __future__ import annotations

import math

import numpy as np

BETA_DRAWS = ("auto", "cholesky", "bhattacharya")


def _positive(value, name, who):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: {name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{who}: {name} must be a positive finite number, got {value!r}")
    return v


def _sigma_prior(sigma, who):
    """(a, b) of sigma^2 ~ IG(a, b); (0, 0) is Jeffreys' 1/sigma^2."""
    if sigma is None or (isinstance(sigma, str) and sigma.lower() == "jeffreys"):
        return 0.0, 0.0
    a, b = getattr(sigma, "a", None), getattr(sigma, "b", None)
    if a is None or b is None or np.size(a) != 1 or np.size(b) != 1:
        raise ValueError(f"{who}: sigma must be None / 'jeffreys' or gibbsreg.InvGamma(a, b) with scalar a, b, "
                         f"got {sigma!r}")
    return _positive(np.ravel(a)[0], "sigma's a", who), _positive(np.ravel(b)[0], "sigma's b", who)


class _Shrinkage:
    """What Horseshoe and BayesianLasso share: sigma's prior, the unpenalised columns and the run options."""

    def __init__(self, sigma, unpenalized, standardize, beta_draw, keep, sigma_scaled=True):
        who = type(self).__name__
        self.sigma_scaled = bool(sigma_scaled)
        self.sigma_a, self.sigma_b = _sigma_prior(sigma, who)
        if isinstance(unpenalized, str):
            unpenalized = [unpenalized]
        self.unpenalized = [str(u) for u in (unpenalized or ())]
        self.standardize = bool(standardize)
        if beta_draw not in BETA_DRAWS:
            raise ValueError(f"{who}: beta_draw must be one of {BETA_DRAWS}, got {beta_draw!r}")
        self.beta_draw = beta_draw
        if isinstance(keep, str):
            keep = [keep]
        self.keep = None if keep is None else [str(k) for k in keep]

    def sample_regression(self, model, X, y, **options):
        """LinearRegression.sample under this prior (gibbsreg.models.wide.model.sample_wide)."""
        from .model import sample_wide

        return sample_wide(X, y, self, intercept=model.intercept, **options)

    def resume_regression(self, model, post, X, y, **options):
        from .model import resume_wide

        return resume_wide(post, X, y, **options)


class Horseshoe(_Shrinkage):
    """Horseshoe prior (Carvalho, Polson & Scott 2010): gamma_j | lambda_j, tau, sigma ~ N(0, sigma^2 tau^2
    lambda_j^2), lambda_j ~ C+(0, 1), tau ~ C+(0, global_scale).

    ``global_scale`` defaults to 1, or to p0 / (p - p0) / sqrt(m) when ``p0`` (a prior guess of the number of
    non-zero coefficients, Piironen & Vehtari 2017) is given.  Sampled by the inverse-gamma mixture of
    Makalic & Schmidt (2016).  ``beta_draw``: "auto" (Cholesky when p <= m, else Bhattacharya et al. 2016),
    "cholesky" or "bhattacharya".  ``keep``: the variables to store (default: every one when p <= 1000,
    else beta, sigma2 and tau2; the local scales lambda2 are p values per draw).
    """

    kind = "Horseshoe"

    def __init__(self, global_scale=None, p0=None, sigma=None, unpenalized=(), standardize=True,
                 beta_draw="auto", keep=None, sigma_scaled=True):
        super().__init__(sigma, unpenalized, standardize, beta_draw, keep, sigma_scaled)
        if global_scale is not None and p0 is not None:
            raise ValueError("Horseshoe: give global_scale or p0, not both")
        self.global_scale = None if global_scale is None else _positive(global_scale, "global_scale", "Horseshoe")
        self.p0 = None if p0 is None else _positive(p0, "p0", "Horseshoe")

    def __repr__(self):
        return f"Horseshoe(global_scale={self.global_scale}, p0={self.p0})"


class BayesianLasso(_Shrinkage):
    """Bayesian lasso (Park & Casella 2008): gamma_j | tau_j^2, sigma ~ N(0, sigma^2 tau_j^2),
    tau_j^2 ~ Exp(lambda^2 / 2) (so gamma_j / sigma is Laplace with rate lambda), lambda^2 ~ Gamma(shape, rate).

    1/tau_j^2 is drawn from its inverse-Gaussian conditional, lambda^2 from its gamma conditional.
    ``beta_draw`` and ``keep`` as for :class:`Horseshoe` (the local scales are ``tau2``, the penalty
    ``lambda2``)."""

    kind = "BayesianLasso"

    def __init__(self, shape=1.0, rate=None, sigma=None, unpenalized=(), standardize=True, beta_draw="auto",
                 keep=None, sigma_scaled=True):
        super().__init__(sigma, unpenalized, standardize, beta_draw, keep, sigma_scaled)
        self.shape = _positive(shape, "shape", "BayesianLasso")
        self.rate = None if rate is None else _positive(rate, "rate", "BayesianLasso")

    def __repr__(self):
        return f"BayesianLasso(shape={self.shape}, rate={self.rate})"


class RegularizedHorseshoe(Horseshoe):
    """Regularised horseshoe (Piironen & Vehtari 2017): gamma_j | lambda_j, tau, c, sigma ~ N(0, sigma^2 tau^2
    lambda~_j^2), lambda~_j^2 = c^2 lambda_j^2 / (c^2 + tau^2 lambda_j^2), lambda_j ~ C+(0, 1),
    tau ~ C+(0, global_scale) (or from ``p0``), c^2 ~ IG(slab_df / 2, slab_df slab_scale^2 / 2): a horseshoe
    whose large coefficients are regularised by a Student-t slab of scale ``slab_scale``, in units of sigma on
    the standardised predictors.  lambda_j^2, tau^2 and c^2 are exact Metropolis-within-Gibbs steps (the
    horseshoe's conditionals as proposals); the Posterior adds ``c2``."""

    kind = "RegularizedHorseshoe"

    def __init__(self, slab_scale=None, slab_df=4.0, global_scale=None, p0=None, sigma=None, unpenalized=(),
                 standardize=True, beta_draw="auto", keep=None, sigma_scaled=True):
        super().__init__(global_scale, p0, sigma, unpenalized, standardize, beta_draw, keep, sigma_scaled)
        self.slab_scale = None if slab_scale is None else _positive(slab_scale, "slab_scale", "RegularizedHorseshoe")
        self.slab_df = _positive(slab_df, "slab_df", "RegularizedHorseshoe")

    def __repr__(self):
        return (f"RegularizedHorseshoe(slab_scale={self.slab_scale}, slab_df={self.slab_df}, "
                f"global_scale={self.global_scale}, p0={self.p0})")
