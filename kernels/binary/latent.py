"""The latent draws of the binary models: a standard normal truncated to [a, inf) and Polya-Gamma PG(b, c).

Both are rejection samplers: the count of numbers a draw takes from its stream depends on the draw.  Every
number comes from one stream through ``draws.uniform`` (= ``rng.random()``), ``draws.standard_exponential``
and ``draws.standard_normal``, one call per number, never ahead, so the NumPy twin
(``gibbsreg.models.binary.reference``), which calls the same Generator methods in the same order, draws the
same numbers.  The arithmetic that decides nothing random (the series coefficients, the mixture weight) is
``register_jitable``: one definition, run compiled here and as plain Python by the twin.

Truncated normal (Robert 1995): for a <= 0, standard normals until one is >= a (acceptance >= 1/2); for
a > 0, x = a + E / lam with E ~ Exp(1), lam = (a + sqrt(a^2 + 4)) / 2, accepted when U <= exp(-(x - lam)^2/2)
(acceptance >= 0.76 at a = 0, -> 1 as a grows; exact and stable at any a: no CDF is evaluated).

Polya-Gamma PG(1, c) (Devroye's alternating-series method as in Polson, Scott & Windle 2013, appendix, and
Windle's BayesLogit): PG(1, c) = J*(1, z) / 4 with z = |c| / 2.  The proposal mixes an exponential on
(t, inf) and an inverse Gaussian IG(1/z, 1) truncated to (0, t), t = 0.64, in proportion to their masses;
the alternating series of J*'s density decides acceptance (about 1 proposal in 10^3 is rejected), in ratio
form (pg_accept: one exp per term).  PG(b, c) for an integer b >= 0 is the sum of b PG(1, c) draws with the
proposal's constants computed once: O(b) per row (docs/binary.md).  Cost on the AMD EPYC test machine: about
80 ns per PG(1, c) draw at |c| < 4 (30 of them for the mixture weight: two erfc, two exp), 45 ns per unit of
b for PG(b, c), b >= 5.
"""

import math

from numba import njit
from numba.extending import register_jitable

from ..draws import standard_exponential, standard_normal, uniform

TRUNC = 0.64  # t: the two proposals' split point (Devroye's choice, optimal for z = 0)
EXACT = {"fastmath": False, "error_model": "numpy"}
LOG_HALF_PI = math.log(0.5 * math.pi)
PI2_8 = 0.125 * math.pi * math.pi
LOG_4_PI = math.log(4.0 / math.pi)
FOUR_PI = 4.0 / math.pi
HALF_PI2 = 0.5 * math.pi * math.pi
SQRT_HALF_OVER_T = math.sqrt(0.5 / TRUNC)  # Phi(v / sqrt(t)) = erfc(-v sqrt(1 / (2 t))) / 2
DIRECT_MASS_Z = 12.0  # below: the mass without logs (e^{f_z t} <= e^{47}, e^z Phi(a) > 1e-25: no overflow)


@register_jitable
def log_norm_cdf(x):
    """log Phi(x): erfc where it does not underflow, else the asymptotic series (x < -30: relative error
    below 1e-14)."""
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2.0)))
    r = 1.0 / (x * x)
    series = 1.0 - r * (1.0 - r * (3.0 - r * (15.0 - r * (105.0 - r * 945.0))))
    return -0.5 * x * x - math.log(-x) - 0.5 * math.log(2.0 * math.pi) + math.log(series)


@register_jitable
def pg_series_term(n, x):
    """The n-th coefficient a_n(x) of J*(1, 0)'s density as an alternating series (the piecewise form:
    the left one below t, the right one above)."""
    k = (n + 0.5) * math.pi
    if x > TRUNC:
        return k * math.exp(-0.5 * k * k * x)
    if x > 0.0:
        return math.exp(-1.5 * (LOG_HALF_PI + math.log(x)) + math.log(k) - 2.0 * (n + 0.5) * (n + 0.5) / x)
    return 0.0


@register_jitable
def pg_exponential_mass(z):
    """p / (p + q): the probability that a proposal of J*(1, z) comes from the exponential tail (x > t).

    q / p = (4 / pi) f_z e^{f_z t} (e^{-z} Phi(b) + e^{z} Phi(a)), f_z = pi^2 / 8 + z^2 / 2,
    b = (t z - 1) / sqrt(t), a = -(t z + 1) / sqrt(t).  Below z = DIRECT_MASS_Z it is evaluated as written
    (two erfc, two exp: the common case of a logistic regression); above, in logs, so that neither
    backend overflows (log(q / p) grows like z^2 t / 2 and the mass -> 0)."""
    fz = PI2_8 + 0.5 * z * z
    if z < DIRECT_MASS_Z:
        ez = math.exp(z)
        phi_b = 0.5 * math.erfc(-SQRT_HALF_OVER_T * (TRUNC * z - 1.0))
        phi_a = 0.5 * math.erfc(SQRT_HALF_OVER_T * (TRUNC * z + 1.0))
        q_over_p = FOUR_PI * fz * math.exp(fz * TRUNC) * (phi_b / ez + phi_a * ez)
        return 1.0 / (1.0 + q_over_p)
    b = math.sqrt(1.0 / TRUNC) * (TRUNC * z - 1.0)
    a = -math.sqrt(1.0 / TRUNC) * (TRUNC * z + 1.0)
    x0 = math.log(fz) + fz * TRUNC
    xb = x0 - z + log_norm_cdf(b)
    xa = x0 + z + log_norm_cdf(a)
    top = max(xa, xb)
    log_q_over_p = LOG_4_PI + top + math.log(math.exp(xb - top) + math.exp(xa - top))
    if log_q_over_p > 0.0:
        e = math.exp(-log_q_over_p)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(log_q_over_p))


@register_jitable
def pg_accept(x, u):
    """Devroye's alternating-series test of a J*(1, z) proposal x with the uniform u: whether u a_0(x) lies
    below J*'s density, decided by the partial sums S_n = sum_{k <= n} (-1)^k a_k(x) (S_1 <= f <= S_0,
    S_2 >= f, ...).  Divided through by a_0, the ratios are r_n = a_n / a_0 = (2n + 1) e^{-2 n (n + 1) / x}
    left of t and (2n + 1) e^{-pi^2 n (n + 1) x / 2} right of it: one exp per term, none for a_0
    (the same test as comparing u a_0 with S_n, with a_n from pg_series_term)."""
    if x <= 0.0:
        return True
    left = x <= TRUNC
    s = 1.0
    n = 0
    while True:
        n += 1
        m = n * (n + 1.0)
        r = (2.0 * n + 1.0) * math.exp(-2.0 * m / x if left else -HALF_PI2 * m * x)
        if n % 2 == 1:
            s -= r
            if u <= s:
                return True
        else:
            s += r
            if u > s:
                return False


@njit(cache=True, **EXACT)
def truncated_normal_above(st, a):
    """One N(0, 1) draw truncated to [a, inf) from stream ``st`` (module docstring: Robert 1995)."""
    if a <= 0.0:
        while True:
            x = standard_normal(st)
            if x >= a:
                return x
    lam = 0.5 * (a + math.sqrt(a * a + 4.0))
    while True:
        x = a + standard_exponential(st) / lam
        d = x - lam
        if uniform(st) <= math.exp(-0.5 * d * d):
            return x


@njit(cache=True, **EXACT)
def _truncated_inverse_gaussian(st, z):
    """IG(mu = 1/z, shape 1) truncated to (0, t): for mu > t from 1/chi^2_1 truncated, by exponentials and an
    acceptance of exp(-z^2 x / 2); otherwise the Michael-Schucany-Haas draw repeated until below t."""
    if z < 1.0 / TRUNC:
        while True:
            e1 = standard_exponential(st)
            e2 = standard_exponential(st)
            while e1 * e1 > 2.0 * e2 / TRUNC:
                e1 = standard_exponential(st)
                e2 = standard_exponential(st)
            s = 1.0 + e1 * TRUNC
            x = TRUNC / (s * s)
            if uniform(st) <= math.exp(-0.5 * z * z * x):
                return x
    mu = 1.0 / z
    x = TRUNC + 1.0
    while x > TRUNC:
        y = standard_normal(st)
        y *= y
        half_mu = 0.5 * mu
        mu_y = mu * y
        x = mu + half_mu * mu_y - half_mu * math.sqrt(4.0 * mu_y + mu_y * mu_y)
        if uniform(st) > mu / (mu + x):
            x = mu * mu / x
    return x


@njit(inline="always", **EXACT)
def _polya_gamma_z(st, z, fz, mass):
    """One J*(1, z) / 4 = PG(1, 2z) draw given the proposal's constants f_z and the mixture weight."""
    while True:
        if uniform(st) < mass:
            x = TRUNC + standard_exponential(st) / fz
        else:
            x = _truncated_inverse_gaussian(st, z)
        if pg_accept(x, uniform(st)):
            return 0.25 * x


@njit(cache=True, **EXACT)
def polya_gamma_1(st, c):
    """One PG(1, c) draw from stream ``st`` (module docstring: Devroye's method)."""
    z = 0.5 * abs(c)
    return _polya_gamma_z(st, z, PI2_8 + 0.5 * z * z, pg_exponential_mass(z))


@njit(cache=True, **EXACT)
def polya_gamma(st, b, c):
    """PG(b, c) for an integer b >= 0 as the sum of b PG(1, c) draws (PG(0, c) = 0); the proposal's constants
    are computed once per call."""
    total = 0.0
    if b <= 0:
        return total
    z = 0.5 * abs(c)
    fz = PI2_8 + 0.5 * z * z
    mass = pg_exponential_mass(z)
    for _ in range(b):
        total += _polya_gamma_z(st, z, fz, mass)
    return total


@njit(cache=True, **EXACT)
def fill_polya_gamma(st, b, c, out):
    """out[i] <- PG(b[i], c[i]) in order from stream ``st`` (for tests and benchmarks)."""
    for i in range(out.shape[0]):
        out[i] = polya_gamma(st, b[i], c[i])


@njit(cache=True, **EXACT)
def fill_truncated_normal(st, a, out):
    """out[i] <- N(0, 1) truncated to [a[i], inf), in order from stream ``st`` (for tests and benchmarks)."""
    for i in range(out.shape[0]):
        out[i] = truncated_normal_above(st, a[i])


@register_jitable
def tn_between_constants(a, b):
    """The proposal of :func:`truncated_normal_between` on [a, b], a >= 0: the rate lam of Robert's
    exponential (its peak clamped to b) and the truncated exponential's mass 1 - e^{-lam (b - a)}."""
    lam = 0.5 * (a + math.sqrt(a * a + 4.0))
    peak = min(lam, b)
    return lam, peak, -math.expm1(-lam * (b - a))


@njit(cache=True, **EXACT)
def truncated_normal_between(st, a, b):
    """One N(0, 1) draw truncated to [a, b] (a < b; either may be infinite).  Across 0 and narrower than 2.5:
    uniform proposals accepted with e^{-x^2/2}; across 0 and wider: normals until inside; on one side of 0
    (reflected to a >= 0): Robert's exponential with rate lam truncated to [a, b], accepted with
    e^{-((x - lam)^2 - (peak - lam)^2)/2} (narrow tail intervals accept almost always)."""
    if a < 0.0 < b:
        if b - a < 2.5:
            while True:
                x = a + (b - a) * uniform(st)
                if uniform(st) <= math.exp(-0.5 * x * x):
                    return x
        while True:
            x = standard_normal(st)
            if a <= x <= b:
                return x
    sign = 1.0
    if b <= 0.0:
        a, b, sign = -b, -a, -1.0
    lam, peak, mass = tn_between_constants(a, b)
    while True:
        x = a - math.log1p(-uniform(st) * mass) / lam
        d = x - lam
        e = peak - lam
        if x <= b and uniform(st) <= math.exp(-0.5 * (d * d - e * e)):
            return sign * x


@register_jitable
def logistic_utility(eta, y, w):
    """The utility z ~ Logistic(eta, 1) truncated to z > 0 (y = 1) or z <= 0 (y = 0) by the inverse CDF at the
    uniform 1 - w, w in (0, 1]: with p0 = F(0) = 1 / (1 + e^eta) and p1 = 1 - p0, z = eta + log(V) - log(1 - V),
    each side formed without cancellation."""
    p0 = 1.0 / (1.0 + math.exp(eta))
    p1 = 1.0 / (1.0 + math.exp(-eta))
    if y > 0:
        return eta + math.log(p0 + (1.0 - w) * p1) - math.log(w * p1)
    return eta + math.log(w * p0) - math.log(p1 + (1.0 - w) * p0)
