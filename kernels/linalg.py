"""Small dense linear algebra for use inside @njit code, allocation-free (compiled without Numba's runtime:
see the package docstring).

Hand-written loops beat LAPACK calls for the small systems (p up to ~50) a
Gibbs iteration solves, because they avoid call overhead and copies.
"""

import math

from numba import njit

# Explicit compile options: a callee without them inherits its first caller's (Numba passes fastmath and
# error_model down), and the first caller's version is then cached and shared by every kernel, so the
# roundings of the flat, hierarchical and crossed kernels would depend on which one compiled first.
# Contraction to fused multiply-adds but no reassociation: the same operations in the same order wherever
# these functions are inlined.
EXACT = {"contract"}

# Not cholesky_forward_affine with v unused: that one keeps 1/sqrt(d) and stores 1/(1/sqrt(d)), which rounds
# differently from sqrt(d), and the solves below divide by L[i, i] where the _forward/_transpose pair multiplies.
@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
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


@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
def forward_solve(L, b, p):
    """In place: b <- L^{-1} b for lower-triangular L."""
    for i in range(p):
        t = b[i]
        for k in range(i):
            t -= L[i, k] * b[k]
        b[i] = t / L[i, i]


@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
def backward_solve_transpose(L, b, p):
    """In place: b <- L^{-T} b for lower-triangular L."""
    for i in range(p - 1, -1, -1):
        t = b[i]
        for k in range(i + 1, p):
            t -= L[k, i] * b[k]
        b[i] = t / L[i, i]


@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
def cholesky_inverse_column(L, col, b, p):
    """col <- column b of (L L')^{-1} for lower-triangular L (as cholesky_lower leaves it): e_b solved forward
    then backward."""
    for a in range(p):
        col[a] = 1.0 if a == b else 0.0
    forward_solve(L, col, p)
    backward_solve_transpose(L, col, p)


@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
def cholesky_forward(A, v, inv_diag, p):
    """In place, row by row: A's lower triangle becomes L (L L' = A), v <- L^{-1} v, inv_diag <- 1/diag(L).

    Returns False when A is not numerically positive definite.
    """
    return cholesky_forward_affine(A, A, 0.0, v, v, A, v, inv_diag, p)


@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
def backward_transpose(L, v, inv_diag, p):
    """In place: v <- L^{-T} v, reading L by rows (with inv_diag = 1/diag(L))."""
    for i in range(p - 1, -1, -1):
        vi = v[i] * inv_diag[i]
        v[i] = vi
        for k in range(i):
            v[k] -= L[i, k] * vi


@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
def symmetric_quadratic_form(x, M, p):
    """x' M x for symmetric M, reading only its lower triangle."""
    total = 0.0
    for i in range(p):
        xi = x[i]
        row = 0.0
        for j in range(i):
            row += M[i, j] * x[j]
        total += xi * (2.0 * row + M[i, i] * xi)
    return total


@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
def cholesky_forward_affine(P, G, s, Pv, hv, L, v, inv_diag, p):
    """Cholesky factor of A = P + s G and forward solve of Pv + s hv, in one pass over the rows.

    L receives the factor (lower triangle; it may alias P), v the solve L^{-1}(Pv + s hv) (it may
    alias Pv), inv_diag the reciprocals of diag(L), which replace divisions in the solves.
    Returns False when A is not numerically positive definite.
    """
    for i in range(p):
        for j in range(i):
            t = P[i, j] + G[i, j] * s
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t * inv_diag[j]
        d = P[i, i] + G[i, i] * s
        t = Pv[i] + hv[i] * s
        for k in range(i):
            d -= L[i, k] * L[i, k]
            t -= L[i, k] * v[k]
        if not d > 0.0:
            return False
        r = 1.0 / math.sqrt(d)
        L[i, i] = 1.0 / r
        inv_diag[i] = r
        v[i] = t * r
    return True


@njit(cache=True, fastmath=EXACT, error_model="numpy", _nrt=False)
def bartlett_precision(L, B, W, acc, out, p):
    """out <- F B B' F' with F = L^{-T} (L lower, L L' = M; B lower with B_aa^2 ~ chi2(df - a) and N(0, 1)
    below): a Wishart(df, M^{-1}) draw, the precision of an Inverse-Wishart(df, M) draw (Bartlett)."""
    for b in range(p):
        for a in range(p):
            acc[a] = B[a, b]
        backward_solve_transpose(L, acc, p)
        for a in range(p):
            W[a, b] = acc[a]
    for a in range(p):
        for b in range(p):
            s = 0.0
            for k in range(p):
                s += W[a, k] * W[b, k]
            out[a, b] = s
