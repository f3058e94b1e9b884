"""Gibbs kernel of the wide model (gibbsreg.models.wide): linear regression under a horseshoe or Bayesian lasso
prior on the penalised coefficients, for any shape, p << n to p >> n.

The kernel sees the problem after the unpenalised columns are projected out (Householder) and the
penalised ones standardised: y* (m,) = X* gamma + e, e ~ N(0, sigma^2 I_m), gamma_j ~ N(0, sigma^2 D_j) given
the scales (D_j = tau^2 lambda_j^2 for the horseshoe, tau_j^2 for the lasso).  ``sweep.py`` holds one chain's
sweep; ``wide_gibbs`` runs the chains on Python threads (kernels/pool.py), each chain calling the nogil
one-chain kernel: its hot loop is BLAS (np.dot), so a prange would only add compile time.

Per sweep and chain, the normal stream gives, in order: for the sigma-scaled horseshoe under Bhattacharya's
draw the uniforms of its slice step on log tau^2 (a variable number: the level, the interval's offset and
split, one per shrinkage proposal; see sweep.py), the beta draw's normals (p for the Cholesky draw,
p + m for Bhattacharya's: u then delta), for the lasso p normals then p uniforms (the inverse-Gaussian
draws, Michael-Schucany-Haas), for the regularised horseshoe p + 2 uniforms (its Metropolis steps), then r
normals for the unpenalised coefficients.  The gamma stream gives, at the sweep's start, ``wide_gamma_shapes``
(one definition for both backends): sigma^2 (drawn with beta integrated out), then for the horseshoes
lambda_j^2 (p), nu_j (p), tau^2 and xi (and c^2), for the lasso lambda^2.
"""

from ..pool import over_chains
from .blas import blas_threads
from .shapes import BHATTACHARYA, CHOLESKY, HORSESHOE, LASSO, N_MODEL_ARGS, wide_gamma_shapes
from .sweep import one_chain


def wide_gibbs(*args):
    """All chains' sweeps (the calling convention of docs/kernels.md, the first model argument dsyrk's
    address); returns the number of failed factorisations.  One BLAS thread per chain's thread."""
    with blas_threads(1):
        return over_chains(one_chain, args[N_MODEL_ARGS].shape[0], args)


__all__ = ["BHATTACHARYA", "CHOLESKY", "HORSESHOE", "LASSO", "N_MODEL_ARGS", "one_chain", "wide_gamma_shapes",
           "wide_gibbs"]
