"""What a diagnostics call computes (bits of ``want``), the columns of its output and the sizes of its
work buffers."""

from __future__ import annotations

import numpy as np

# np.finfo(float).resolution: the range below which ArviZ calls draws constant (ESS = S).
RESOLUTION = float(np.finfo(np.float64).resolution)

# what a call computes (bits of ``want``)
MOMENTS = 1  # mean and sd over all draws
RANK_RHAT = 2  # rank-normalised split R-hat: max of the bulk and folded ones
SPLIT_RHAT = 4  # classic split R-hat
ESS_BULK = 8  # split ESS of the rank-normal scores
ESS_MEAN = 16  # split ESS of the draws
ESS_SD = 32  # split ESS of the centred squares, with their first two moments

# columns of a result row; quantile k is column QUANT + k, the ESS of its indicator
# column QUANT + n_probs + k
MEAN, SD, RHAT, SPLIT, BULK, ESSMEAN, ESSSD, SQMEAN, SQ2MEAN, QUANT = range(10)

# per-thread work buffers: float rows of length chains x draws (the split draws, written only for
# an odd number of draws: with an even number the split chains are the chains, in place; the sorted
# draws; the sort's scratch, then the autocovariance's deviations, then the folded scores; the
# rank-normal scores, then the tail indicators) and int rows of that length + 1 (int32 below 2^31
# draws: the sorted draws' positions, the sort's scratch, its buckets); and the bucket counts,
# count_size.  Few and narrow rows keep one parameter's working set small (32 bytes a draw, was 72).
F_SPLIT, F_SORTED, F_TEMP, F_BULK = range(4)
F_DEV = F_TEMP
N_FLOAT = 4
I_INDEX, I_TEMP, I_BUCKET = range(3)
N_INT = 3
# and short float rows (chain means and variances, lags, FFT buffers)
S_MEANS, S_VARS, S_ACOV, S_RHO = range(4)
N_SMALL = 4

_INSERTION = 16  # segments this short are insertion-sorted
_TOP_BUCKETS = 1024  # buckets of the first level of the sort
_MAX_BUCKETS = 1 << 16  # buckets of any level (bounds the counts: 512 KiB)
_MAX_DEPTH = 12  # bucket levels before a segment is handed to a comparison sort
_DIRECT_LAGS = 64  # lags summed directly before the FFT computes all of them
_SUM_BLOCK = 1024  # block of the two-level sums
_REASSOC = {"reassoc", "contract"}  # fastmath flags of the vectorised reductions


def count_size(size):
    """Length of the sort's bucket counts for ``size`` values."""
    return min(2 * size, _MAX_BUCKETS) + 2


def stack_rows(size):
    """Rows of the sort's stack of pending segments for ``size`` values."""
    return size // _INSERTION + 2


def fft_size(n):
    """Power of two >= 2 n - 1: zero padding for the lags of chains of ``n`` draws."""
    return 1 << max(1, (2 * n - 2).bit_length())


def small_size(n_chain, n_draw):
    """Length of the short work rows for ``n_chain`` chains of ``n_draw`` draws (the FFT's rows,
    twice a chain's length, are allocated only for a parameter whose chains mix so slowly that its
    ESS needs them)."""
    return max(2 * n_chain, n_draw // 2 + 4)
