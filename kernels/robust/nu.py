"""The degrees-of-freedom step of the Student-t model: an exact independence Metropolis-Hastings move.

Given the weights w (n,), nu's full conditional depends on them through D = sum_i (w_i - log w_i - 1) >= 0 only:

    log p(nu | w) = n [x log x - lgamma(x) - x] - x D + (a - 1) log nu - b nu + const,   x = nu / 2,

under nu ~ Gamma(a, rate b).  It is log-concave in nu.  On phi = log nu (Jacobian + phi) the target is
h(phi) = n [x log x - lgamma(x) - x] - x D + a phi - b nu.  The proposal is a Student t (T_DF degrees of
freedom, heavier tails than the target's so the importance ratio stays bounded) centred at h's mode with the
scale 1/sqrt(-h'') there: a function of w alone (the Newton search starts from a point computed from (n, D),
never from the current nu), so the move is an exact independence sampler.  It uses one standard normal and
one Gamma(T_DF / 2) for the proposal and one Gamma(1) (an exponential E) to accept: log alpha >= -E.

These functions are plain Python (``register_jitable``): the Numba kernel compiles them in, and the NumPy
twin calls the same source, so both take the same steps.
"""

import math

from numba.extending import register_jitable

T_DF = 8.0  # the proposal's degrees of freedom
NEWTON_STEPS = 60
PHI_MIN = math.log(1e-4)  # Newton stays in 1e-4 <= nu <= 1e8 (the mode is far inside for any real data)
PHI_MAX = math.log(1e8)


@register_jitable
def log_minus_digamma(x):
    """log(x) - digamma(x) for x > 0: recurrence up to x >= 10, then the asymptotic series (relative error ~1e-15)."""
    acc = 0.0
    y = x
    while y < 10.0:
        acc += 1.0 / y
        y += 1.0
    t = 1.0 / (y * y)
    tail = 1.0 / 240.0 - t * (1.0 / 132.0 - t * 691.0 / 32760.0)
    series = 0.5 / y + t * (1.0 / 12.0 - t * (1.0 / 120.0 - t * (1.0 / 252.0 - t * tail)))
    return series + acc - math.log(y / x)


@register_jitable
def trigamma(x):
    """psi'(x) for x > 0: recurrence up to x >= 10, then the asymptotic series."""
    acc = 0.0
    y = x
    while y < 10.0:
        acc += 1.0 / (y * y)
        y += 1.0
    t = 1.0 / (y * y)
    tail = 1.0 / 42.0 - t * (1.0 / 30.0 - t * 5.0 / 66.0)
    series = 1.0 / y + 0.5 * t + t / y * (1.0 / 6.0 - t * (1.0 / 30.0 - t * tail))
    return acc + series


@register_jitable
def nu_log_target(phi, n, D, a, b):
    """h(phi): log p(nu = exp(phi) | w) + phi, up to a constant (module docstring)."""
    nu = math.exp(phi)
    x = 0.5 * nu
    return n * (x * math.log(x) - math.lgamma(x) - x) - x * D + a * phi - b * nu


@register_jitable
def nu_slopes(phi, n, D, a, b):
    """(h'(phi), h''(phi))."""
    nu = math.exp(phi)
    x = 0.5 * nu
    d1 = x * (n * log_minus_digamma(x) - D) - b * nu + a
    d2 = (d1 - a) + n * x * (1.0 - x * trigamma(x))
    return d1, d2


@register_jitable
def nu_proposal(n, D, a, b):
    """(centre, scale) of the t proposal on log nu: h's mode by safeguarded Newton, and 1/sqrt(-h'') there.

    The start, nu0 = (n/2 + a) / (D/2 + b), solves h' = 0 with log x - digamma(x) ~ 1/(2x)."""
    nu0 = (0.5 * n + a) / (0.5 * D + b)
    phi = math.log(min(max(nu0, 1e-3), 1e6))
    for _ in range(NEWTON_STEPS):
        d1, d2 = nu_slopes(phi, n, D, a, b)
        if d2 < 0.0:
            step = -d1 / d2
        else:
            step = 1.0 if d1 > 0.0 else -1.0
        step = min(max(step, -1.0), 1.0)
        phi = min(max(phi + step, PHI_MIN), PHI_MAX)
        if abs(step) < 1e-10:
            break
    d1, d2 = nu_slopes(phi, n, D, a, b)
    scale = 1.0 / math.sqrt(-d2) if d2 < 0.0 else 1.0
    return phi, scale


@register_jitable
def _t_log_density(phi, centre, scale):
    u = (phi - centre) / scale
    return -0.5 * (T_DF + 1.0) * math.log1p(u * u / T_DF)


@register_jitable
def nu_step(nu, n, D, a, b, z, g, e):
    """nu after one independence Metropolis-Hastings move: z ~ N(0, 1), g ~ Gamma(T_DF / 2), e ~ Exp(1)."""
    centre, scale = nu_proposal(n, D, a, b)
    phi_new = centre + scale * z / math.sqrt(g / (0.5 * T_DF))
    if not (PHI_MIN - 20.0 < phi_new < PHI_MAX + 20.0):
        return nu
    phi_old = math.log(nu)
    log_alpha = (nu_log_target(phi_new, n, D, a, b) - nu_log_target(phi_old, n, D, a, b)
                 + _t_log_density(phi_old, centre, scale) - _t_log_density(phi_new, centre, scale))
    if log_alpha >= -e:  # False for NaN: rejected
        return math.exp(phi_new)
    return nu
