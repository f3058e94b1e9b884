r"""MCMC convergence diagnostics: R-hat, effective sample size and Monte Carlo error.

All functions take posterior draws shaped ``(chain, draw, *param_shape)`` and
return an ``np.ndarray`` of shape ``param_shape`` per diagnostic (a 0-d array for
``(chain, draw)`` input), in float64.  The work runs in Numba kernels
(``gibbsreg.kernels.diagnostics``), one pass per parameter, with threads (``numba.set_num_threads``)
taking chunks of parameters: a bucket sort of the split draws (linear time, exact
order and ties) gives the quantiles and both rank normalisations (the folded order
is a merge of the two sides of the median), and Geyer's ESS sums autocovariance
lags only as far as the truncation of its sequence needs (an FFT takes over past
64 lags).  :func:`summary_stats` gets every statistic from that one pass; on
1,024 chains x 200 draws a parameter costs a few milliseconds.

Memory is a bounded block, not a multiple of the draws: a thread holds the float64 copy of up
to 8 parameters' draws (at most 16 MiB unless one parameter has more) and work rows of about 44
bytes per draw of one parameter, and threads are added only while their total stays within
max(64 MiB, a quarter of the draws' bytes); the draws themselves are never copied whole (float32
draws are converted a block at a time; a memory-mapped store is read a block at a time).

The estimators follow

    Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021). "Rank-normalization,
    folding, and localization: An improved R-hat for assessing convergence of
    MCMC". Bayesian Analysis 16(2), 667-718. doi:10.1214/20-BA1221

and reproduce ArviZ 0.23 (``az.rhat``, ``az.ess``, ``az.mcse``) to floating-point
rounding, with the exceptions listed below.  Nested R-hat follows Margossian,
Hoffman, Sountsov, Riou-Durand, Vehtari & Gelman (2024), "Nested R-hat:
assessing the convergence of Markov chain Monte Carlo when running many short
chains", Bayesian Analysis, doi:10.1214/24-BA1453.

Conventions shared with ArviZ:

* "split" chains: each chain of ``D`` draws is cut into its first ``D // 2``
  and last ``D // 2`` draws (the middle draw is dropped when ``D`` is odd),
  giving ``M = 2 * chains`` chains of ``n = D // 2`` draws.
* Rank normalisation: average ranks ``r`` (ties share their mean rank) are
  taken jointly over all (split) chains and mapped to
  ``z = Phi^{-1}((r - 3/8) / (S + 1/4))`` where ``S`` is the number of draws
  (Blom offsets).
* Parameters whose draws contain NaN, or inputs with fewer than 4 draws per
  chain, give NaN (``nested_rhat`` has no minimum).  Draws that are all
  (numerically) equal give ``ESS = S`` (the number of split draws) and
  ``R-hat = NaN``, as in ArviZ; chains that are each constant but differ give
  ``R-hat = inf``.

Differences from ArviZ (deliberate):

* With a single chain, :func:`rhat` and :func:`split_rhat` are computed from
  the two halves of the chain (ArviZ returns NaN for fewer than 2 chains).
* Arrays of any parameter shape are accepted directly (ArviZ needs an
  ``xarray`` dataset for more than one parameter dimension).
* Variances are accumulated relative to the first draw of each chain, so
  constant draws give exactly zero variance: ``split_rhat`` is NaN and
  ``mcse_mean`` is 0 for any constant value (ArviZ returns rounding noise,
  e.g. ``split`` R-hat 0.99 for draws all equal to 3.3).
* ``summary_stats`` reports :func:`rhat` (``az.rhat``).  For an odd number of
  draws ``az.summary`` folds around the median of all draws rather than of
  the split draws, so its ``r_hat`` can differ in the last digits.
"""

from .ess import (
    autocorrelation,
    autocovariance,
    ess_bulk,
    ess_mean,
    ess_quantile,
    ess_sd,
    ess_tail,
)
from .mcse import mcse_mean, mcse_quantile, mcse_sd
from .rhats import nested_rhat, rhat, split_rhat
from .summary import summary_stats

__all__ = [
    "autocovariance",
    "autocorrelation",
    "split_rhat",
    "rhat",
    "nested_rhat",
    "ess_bulk",
    "ess_tail",
    "ess_mean",
    "ess_sd",
    "ess_quantile",
    "mcse_mean",
    "mcse_sd",
    "mcse_quantile",
    "summary_stats",
]
