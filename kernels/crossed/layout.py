"""Layout of a crossed sweep: the prior kinds, a cell's coefficient vector and the end of a Gaussian draw."""

from numba import njit

from ..draws import standard_normal
from ..linalg import backward_transpose, cholesky_forward

TAU_INVGAMMA = 0
TAU_HALFCAUCHY = 1
TAU_INVWISHART = 2
# half-normal and exponential scales: kernels/scales.py (TAU_HALFNORMAL, TAU_EXPONENTIAL, the priors on sigma);
# half-Student-t is TAU_HALFCAUCHY with tau_a = nu


@njit(cache=True, _nrt=False)
def _cell_theta(c, theta, b, alpha, level, vidx, q, pidx, b_off, skip, with_alpha):
    """theta <- the coefficient vector of cell c, leaving out factor ``skip`` (and alpha unless with_alpha)."""
    for m in range(theta.shape[0]):
        theta[m] = 0.0
    if with_alpha:
        for a in range(pidx.shape[0]):
            theta[pidx[a]] = alpha[a]
    for f in range(q.shape[0]):
        if f == skip:
            continue
        base = b_off[f] + level[c, f] * q[f]
        for a in range(q[f]):
            theta[vidx[f, a]] += b[base + a]


@njit(cache=True, _nrt=False)
def _finish_draw(L, v, inv_diag, normal, n):
    """v <- L^{-T}(v + z), z n normals from the stream: with L and v = L^{-1} b from a factorisation and forward
    solve of A, a draw of N(A^{-1} b, A^{-1})."""
    for i in range(n):
        v[i] += standard_normal(normal)
    backward_transpose(L, v, inv_diag, n)


@njit(cache=True, _nrt=False)
def _draw(A, v, inv_diag, normal, n):
    """v <- a draw of N(A^{-1} v, A^{-1}), A's lower triangle overwritten by its factor; False, drawing
    nothing, when A fails to factorise."""
    if not cholesky_forward(A, v, inv_diag, n):
        return False
    _finish_draw(A, v, inv_diag, normal, n)
    return True

