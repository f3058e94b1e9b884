"""NumPy twins of the binary models' latent draws (gibbsreg.kernels.binary.latent), one scalar at a time.

Each function is the kernel's line for line, with ``rng.random()``, ``rng.standard_exponential()`` and
``rng.standard_normal()`` in place of the kernel's stream calls, in the same order; the arithmetic that
decides nothing random is the kernel's own (``register_jitable``, run here as Python).  Same seed, same
draws (tests/test_binary_latent.py checks them bit for bit).
"""

from __future__ import annotations

import math

from ...kernels.binary.latent import TRUNC, PI2_8, pg_accept, pg_exponential_mass, tn_between_constants


def truncated_normal_above(rng, a: float) -> float:
    """One N(0, 1) draw truncated to [a, inf) (Robert 1995; the kernel's truncated_normal_above)."""
    if a <= 0.0:
        while True:
            x = rng.standard_normal()
            if x >= a:
                return x
    lam = 0.5 * (a + math.sqrt(a * a + 4.0))
    while True:
        x = a + rng.standard_exponential() / lam
        d = x - lam
        if rng.random() <= math.exp(-0.5 * d * d):
            return x


def _truncated_inverse_gaussian(rng, z: float) -> float:
    if z < 1.0 / TRUNC:
        while True:
            e1 = rng.standard_exponential()
            e2 = rng.standard_exponential()
            while e1 * e1 > 2.0 * e2 / TRUNC:
                e1 = rng.standard_exponential()
                e2 = rng.standard_exponential()
            s = 1.0 + e1 * TRUNC
            x = TRUNC / (s * s)
            if rng.random() <= math.exp(-0.5 * z * z * x):
                return x
    mu = 1.0 / z
    x = TRUNC + 1.0
    while x > TRUNC:
        y = rng.standard_normal()
        y *= y
        half_mu = 0.5 * mu
        mu_y = mu * y
        x = mu + half_mu * mu_y - half_mu * math.sqrt(4.0 * mu_y + mu_y * mu_y)
        if rng.random() > mu / (mu + x):
            x = mu * mu / x if x > 0.0 else math.inf
    return x


def _polya_gamma_z(rng, z: float, fz: float, mass: float) -> float:
    while True:
        if rng.random() < mass:
            x = TRUNC + rng.standard_exponential() / fz
        else:
            x = _truncated_inverse_gaussian(rng, z)
        if pg_accept(x, rng.random()):
            return 0.25 * x


def polya_gamma_1(rng, c: float) -> float:
    """One PG(1, c) draw (Devroye's method; the kernel's polya_gamma_1)."""
    z = 0.5 * abs(c)
    return _polya_gamma_z(rng, z, PI2_8 + 0.5 * z * z, pg_exponential_mass(z))


def polya_gamma(rng, b: int, c: float) -> float:
    """PG(b, c) for an integer b >= 0: the sum of b PG(1, c) draws (the constants once per call)."""
    total = 0.0
    if b <= 0:
        return total
    z = 0.5 * abs(c)
    fz = PI2_8 + 0.5 * z * z
    mass = pg_exponential_mass(z)
    for _ in range(int(b)):
        total += _polya_gamma_z(rng, z, fz, mass)
    return total


def truncated_normal_between(rng, a: float, b: float) -> float:
    """One N(0, 1) draw truncated to [a, b] (the kernel's truncated_normal_between)."""
    if a < 0.0 < b:
        if b - a < 2.5:
            while True:
                x = a + (b - a) * rng.random()
                if rng.random() <= math.exp(-0.5 * x * x):
                    return x
        while True:
            x = rng.standard_normal()
            if a <= x <= b:
                return x
    sign = 1.0
    if b <= 0.0:
        a, b, sign = -b, -a, -1.0
    lam, peak, mass = tn_between_constants(a, b)
    while True:
        x = a - math.log1p(-rng.random() * mass) / lam
        d = x - lam
        e = peak - lam
        if x <= b and rng.random() <= math.exp(-0.5 * (d * d - e * e)):
            return sign * x
