"""What both backends of the wide model share: the codes of the prior and of the beta draw, and the gamma
shapes of one sweep in the gamma stream's order (plain Python, compiled inline into the kernel)."""

import numpy as np
from numba.extending import register_jitable

HORSESHOE, LASSO, REG_HORSESHOE = 0, 1, 2
CHOLESKY, BHATTACHARYA = 0, 1
N_MODEL_ARGS = 24
# the model arguments before the state arrays (the first state array is gamma (chains, p))
# The horseshoe's blocked tau step (Bhattacharya draw): a slice on log tau^2 stepping out by SLICE_WIDTH at most
# SLICE_STEPS times (so it can travel 60 units of log tau^2 in one sweep from a poor start), then at most
# SLICE_SHRINKS shrinkage proposals (the interval halves about every two: the cap is never reached in practice).
SLICE_WIDTH = 2.0
SLICE_STEPS = 30
SLICE_SHRINKS = 200


@register_jitable
def wide_gamma_shapes(prior_kind, p, sigma_shape, lasso_shape, slab_shape):
    """sigma^2's shape, then the horseshoe's p lambda_j^2 and p nu_j (shape 1 each: inverse-gamma mixture of
    Makalic & Schmidt 2016), tau^2 ((p + 1)/2) and xi (1), and for the regularised horseshoe the slab's c^2
    (slab_shape; the lambda_j^2, tau^2 and c^2 draws are then Metropolis proposals); or the lasso's lambda^2
    (p + r)."""
    if prior_kind != 1:
        n = 2 * p + 3
        if prior_kind == 2:
            n += 1
        shapes = np.ones(n)
        shapes[0] = sigma_shape
        shapes[2 * p + 1] = 0.5 * (p + 1.0)
        if prior_kind == 2:
            shapes[2 * p + 3] = slab_shape
        return shapes
    out = np.empty(2)
    out[0] = sigma_shape
    out[1] = lasso_shape
    return out
