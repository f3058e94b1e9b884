"""Random draws for the kernels, bit for bit NumPy's, made cheaper where a kernel draws the same shapes again.

NumPy's standard_gamma(a) for a > 1 (Marsaglia & Tsang 2000) computes b = a - 1/3 and c = 1/sqrt(9b)
at every draw; a kernel's gamma shapes are fixed for a whole call, so ``gamma_table`` computes them once
and ``fill_gammas`` runs NumPy's loop on the same stream (same normals, uniforms and roundings), at
about half the cost.  The compile options are explicit: without them these functions would inherit a
fast-math caller's, and contraction would change 1 + c x.  The loop is written inside ``fill_gammas``
(a buffer at a time): a separate per-draw function is not inlined and its calls cost as much as the draw.
"""

import numpy as np
from numba import njit


@njit(cache=True, fastmath=False, error_model="python")
def gamma_table(shapes):
    """(3, n) rows: the shapes a, then b = a - 1/3 and c = 1/sqrt(9b) where a > 1 (0 elsewhere)."""
    n = shapes.shape[0]
    table = np.zeros((3, n))
    for i in range(n):
        a = shapes[i]
        table[0, i] = a
        if a > 1.0:
            b = a - 1.0 / 3.0
            table[1, i] = b
            table[2, i] = 1.0 / np.sqrt(9 * b)
    return table


@njit(cache=True, fastmath=False, error_model="python")
def fill_gammas(rng, g, table):
    """g[i] = a Gamma(table[0, i], 1) draw from ``rng``, in order: equal to rng.standard_gamma(table[0])."""
    for i in range(table.shape[1]):
        a = table[0, i]
        if not a > 1.0:
            g[i] = rng.standard_gamma(a)
            continue
        b = table[1, i]
        c = table[2, i]
        while True:
            x = rng.standard_normal()
            v = 1.0 + c * x
            if v > 0.0:
                v = v * v * v
                u = rng.random()
                if u < 1.0 - 0.0331 * (x * x) * (x * x):
                    break
                if np.log(u) < 0.5 * x * x + b * (1.0 - v + np.log(v)):
                    break
        g[i] = b * v
