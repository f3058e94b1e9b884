"""Small dense linear algebra for use inside @njit code, allocation-free.

Hand-written loops beat LAPACK calls for the small systems (p up to ~50) a
Gibbs iteration solves, because they avoid call overhead and copies.
"""

import math

from numba import njit


@njit(cache=True, inline="always")
def cholesky_lower(A, p):
    """In place: the lower triangle of A (p, p) becomes L with L L' = A.

    Returns False when A is not numerically positive definite.
    """
    for j in range(p):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if not s > 0.0:
            return False
        d = math.sqrt(s)
        A[j, j] = d
        inv = 1.0 / d
        for i in range(j + 1, p):
            t = A[i, j]
            for k in range(j):
                t -= A[i, k] * A[j, k]
            A[i, j] = t * inv
    return True


@njit(cache=True, inline="always")
def forward_solve(L, b, p):
    """In place: b <- L^{-1} b for lower-triangular L."""
    for i in range(p):
        t = b[i]
        for k in range(i):
            t -= L[i, k] * b[k]
        b[i] = t / L[i, i]


@njit(cache=True, inline="always")
def backward_solve_transpose(L, b, p):
    """In place: b <- L^{-T} b for lower-triangular L."""
    for i in range(p - 1, -1, -1):
        t = b[i]
        for k in range(i + 1, p):
            t -= L[k, i] * b[k]
        b[i] = t / L[i, i]


@njit(cache=True, inline="always")
def quadratic_form(x, M, p):
    """x' M x for symmetric M, reading the full matrix."""
    total = 0.0
    for i in range(p):
        row = 0.0
        for j in range(p):
            row += M[i, j] * x[j]
        total += x[i] * row
    return total
