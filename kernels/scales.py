"""The scale priors of Stan practice on a group scale tau or on sigma, shared by the hierarchical and crossed
kernels: their codes and log densities (docs/scale-priors.md).

Half-normal and exponential scales, and every new prior on sigma, are sampled by an independence Metropolis
step whose proposal is the full conditional under a flat prior on the scale (one gamma of a fixed shape) and
whose acceptance ratio is the prior ratio below (one standard exponential): the counts of random numbers stay
fixed.  The half-Student-t tau is the inverse-gamma mixture (the half-Cauchy kind with nu general).

No fast-math here, stated (a callee that sets none would take its first caller's): the hierarchical kernel
contracts, the crossed one does not, and both must round these alike.
"""

import math

from numba import njit

TAU_HALFNORMAL = 3  # tau ~ N+(0, s^2): c = 1/(2 s^2)
TAU_EXPONENTIAL = 4  # tau ~ Exp(rate): c = rate
SIGMA_INVGAMMA = 0  # sigma^2 ~ IG(a, b): the conjugate draw
SIGMA_HALFNORMAL = 1  # sigma ~ N+(0, s^2): par = (1/(2 s^2), 0)
SIGMA_HALFT = 2  # sigma ~ t+_nu(0, s): par = (nu, nu s^2)
SIGMA_EXPONENTIAL = 3  # sigma ~ Exp(rate): par = (rate, 0)

OPTIONS = {"cache": True, "fastmath": False, "error_model": "numpy", "_nrt": False}


@njit(**OPTIONS)
def scale_log_ratio(tau_kind, c, tau2_new, tau2_old):
    """log p(tau_new) - log p(tau_old) at tau^2 = tau2_new, tau2_old: half-normal (c = 1/(2 s^2)) or
    exponential (c = rate)."""
    if tau_kind == TAU_HALFNORMAL:
        return -c * (tau2_new - tau2_old)
    return -c * (math.sqrt(tau2_new) - math.sqrt(tau2_old))


@njit(**OPTIONS)
def noise_log_prior(sigma_kind, sigma_par, s2):
    """log p(sigma) up to a constant at sigma^2 = s2: half-normal, half-t or exponential (par as above)."""
    if sigma_kind == SIGMA_HALFNORMAL:
        return -sigma_par[0] * s2
    if sigma_kind == SIGMA_EXPONENTIAL:
        return -sigma_par[0] * math.sqrt(s2)
    return -0.5 * (sigma_par[0] + 1.0) * math.log1p(s2 / sigma_par[1])


@njit(**OPTIONS)
def noise_accept(sigma_kind, sigma_par, s2_new, s2_old, e):
    """The independence Metropolis step's decision for sigma^2 (proposal s2_new from the flat-prior conditional),
    with the standard exponential e: accept when the log prior ratio is >= -e."""
    return noise_log_prior(sigma_kind, sigma_par, s2_new) - noise_log_prior(sigma_kind, sigma_par, s2_old) >= -e
