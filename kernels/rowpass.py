"""The row pass of the models whose sweep reads every row (Student-t errors, probit, logistic).

Such a sweep redraws a latent variable per row (a weight, a truncated normal, a Polya-Gamma draw), so the
weighted statistics of beta's full conditional are rebuilt each sweep:

    G = X' diag(w) X   (p, p)      h = X' (w * u)   (p,)

for rows X (n, p), per-row weights w (n,) and a working response u (n,).  ``weighted_cross`` adds them into
caller-provided arrays in O(n p^2 / 2) multiply-adds (the lower triangle of G only: ``mirror_lower`` copies
it up when a caller wants the full matrix); ``linear_predictor`` gives eta = X beta in O(n p).

Layout and speed: X is read once, row-major, ``ROW_BLOCK`` (4) rows at a time: each G[a, b] (b <= a) gets
the four rows' terms in one update, so G, which stays in L1 (3.2 KiB at p = 20), is loaded and stored once
per four rows, and the inner loop over b is contiguous in X and G (vectorised).  Measured on this machine
(one thread, n = 5000, p = 20): 179 us against 204 us for NumPy's ``X.T @ (w[:, None] * X), X.T @ (w * u)``
(ratio 0.88; 0.56 at n = 10^5, 0.86 at p = 50, 0.70 at p = 5); a plain per-row rank-one update takes 275 us
and a transposed-block scheme with long dot products 511 us.  tests/test_rowpass.py re-measures the ratio.

Determinism: the sum order depends only on n and p, never on threads or on the caller, so the same inputs
give the same bits; against NumPy's BLAS the results agree to rounding only.  Everything here is compiled
with explicit options so that a caller's fast-math cannot change them.
"""

from numba import njit

ROW_BLOCK = 4  # rows per update of G: a quarter of the loads and stores of G a per-row update makes
ROWPASS = {"reassoc", "contract"}  # lets LLVM vectorise the loop over b and fuse the multiply-adds


@njit(cache=True, fastmath=ROWPASS, error_model="numpy", _nrt=False)
def weighted_cross(X, w, u, G, h):
    """Add X' diag(w) X to G's lower triangle (entries G[a, b], b <= a) and X' (w * u) to h.

    X (n, p) C-contiguous float64, w and u (n,), G (p, p), h (p,).  G's upper triangle is not touched; zero
    G and h first for the statistics of these rows alone (adding lets a caller sum over partitions, groups
    or row ranges).
    """
    n, p = X.shape
    n4 = n - n % ROW_BLOCK
    for i in range(0, n4, ROW_BLOCK):
        w0 = w[i]
        w1 = w[i + 1]
        w2 = w[i + 2]
        w3 = w[i + 3]
        u0 = u[i]
        u1 = u[i + 1]
        u2 = u[i + 2]
        u3 = u[i + 3]
        for a in range(p):
            x0 = w0 * X[i, a]
            x1 = w1 * X[i + 1, a]
            x2 = w2 * X[i + 2, a]
            x3 = w3 * X[i + 3, a]
            h[a] += x0 * u0 + x1 * u1 + x2 * u2 + x3 * u3
            for b in range(a + 1):
                G[a, b] += x0 * X[i, b] + x1 * X[i + 1, b] + x2 * X[i + 2, b] + x3 * X[i + 3, b]
    for i in range(n4, n):
        wi = w[i]
        ui = u[i]
        for a in range(p):
            xa = wi * X[i, a]
            h[a] += xa * ui
            for b in range(a + 1):
                G[a, b] += xa * X[i, b]


@njit(cache=True, fastmath=ROWPASS, error_model="numpy", _nrt=False)
def mirror_lower(G, p):
    """Copy G's lower triangle onto its upper one (G symmetric afterwards)."""
    for a in range(p):
        for b in range(a):
            G[b, a] = G[a, b]


@njit(cache=True, fastmath={"contract"}, error_model="numpy", _nrt=False)
def linear_predictor(X, beta, eta):
    """eta[i] = sum_j X[i, j] beta[j] (ascending j) for X (n, p), beta (p,), eta (n,)."""
    n, p = X.shape
    for i in range(n):
        s = 0.0
        for j in range(p):
            s += X[i, j] * beta[j]
        eta[i] = s
