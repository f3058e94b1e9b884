"""Pointwise Gaussian log-likelihood and linear predictor from stored draws, over a block of rows.

One kernel serves every model: a row i of group j = codes[i] has mean
x_v,i' beta_j + x_p,i' alpha and variance sigma2_j (or the shared sigma2), so the flat
model is the case J = 1, q = p, r = 0 (gibbsreg.analysis.loglik builds the arguments).
The draws are flattened to S = chains * draws; ``prange`` runs over draws, each draw
writing only its own row of ``out``, so there are no races and the result does not
depend on the thread count.  No floating-point shortcuts: the values are checked
against a direct NumPy computation to 1e-10.
"""

import math

from numba import njit, prange

LOG_2PI = math.log(2.0 * math.pi)

MODE_POINTWISE = 0  # out (S, m): log N(y_i | mean_i, s2)
MODE_GROUP_SUM = 1  # out (S, J): += sum over the block's rows of group j
MODE_MEAN = 2  # out (S, m): the linear predictor mean_i


@njit(cache=True, parallel=True, error_model="numpy")
def loglik_rows(Xv, Xp, y, codes, beta, alpha, sigma2, log_sigma2, mode, out):
    """Xv (m, q), Xp (m, r), y (m,), codes (m,) int64, beta (S, J, q), alpha (S, r), sigma2 (S, Js) with
    Js = 1 (shared) or J, and its logarithm log_sigma2 (S, Js) (taken once per draw, not per row);
    writes ``out`` as ``mode`` says (see the module constants)."""
    S = beta.shape[0]
    m = y.shape[0]
    q = Xv.shape[1]
    r = Xp.shape[1]
    shared = sigma2.shape[1] == 1
    for s in prange(S):
        for i in range(m):
            j = codes[i]
            mean = 0.0
            for k in range(q):
                mean += Xv[i, k] * beta[s, j, k]
            for k in range(r):
                mean += Xp[i, k] * alpha[s, k]
            if mode == MODE_MEAN:
                out[s, i] = mean
                continue
            js = 0 if shared else j
            d = y[i] - mean
            v = -0.5 * (LOG_2PI + log_sigma2[s, js]) - 0.5 * d * d / sigma2[s, js]
            if mode == MODE_POINTWISE:
                out[s, i] = v
            else:
                out[s, j] += v
