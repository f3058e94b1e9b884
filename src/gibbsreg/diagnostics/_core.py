"""The Python side every diagnostic shares: input handling, the blocks of parameters handed to
the Numba kernels (``gibbsreg.kernels.diagnostics``), the rank-score table and the quantile plan."""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from scipy import stats as _stats

from ..kernels import diagnostics as K
from ..kernels import warm

_MIN_DRAWS = 4
# A thread copies the draws of up to _CHUNK parameters (a cache line of a (chain, draw, P)
# array) and at most _BLOCK float64 values (16 MiB) to (parameter, chain, draw) at a time;
# a parameter with more draws is a chunk of its own.
_CHUNK = 8
_BLOCK = 1 << 21
# Threads, each with its own block and work buffers, are added while their memory stays within
# this many bytes or a quarter of the draws' (one thread always runs): a summary's peak is a
# bounded block, not a multiple of the draws, whatever their shape.
_MEMORY = 64 << 20
_DIAGNOSTICS = K.RANK_RHAT | K.SPLIT_RHAT | K.ESS_BULK | K.ESS_MEAN | K.ESS_SD

_SHARED_DOC = """
    Parameters
    ----------
    x : array_like, shape (chain, draw, *param_shape){extra}

    Returns
    -------
    numpy.ndarray, shape param_shape
"""
_PROB_DOC = "\n    prob : float in [0, 1]"


def _quiet(func):
    """Silence floating-point warnings: NaN/inf results are the documented
    outcome for degenerate inputs (constant draws, NaN, inf)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return func(*args, **kwargs)

    return wrapper


def _diagnostic(func=None, *, prob=False):
    """A per-parameter diagnostic: quiet about floating-point warnings, its docstring
    completed with the shared Parameters and Returns sections."""

    def wrap(f):
        f.__doc__ = (f.__doc__ or "").rstrip() + "\n" + _SHARED_DOC.format(extra=_PROB_DOC if prob else "")
        return _quiet(f)

    return wrap if func is None else wrap(func)


# ----------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------
def _as_draws(x):
    """Return ``(a, param_shape)`` with ``a`` a (chain, draw, P) view: float32 and float64
    draws as they are (converted block by block), anything else as float64."""
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    if a.ndim < 2:
        raise ValueError(
            "draws must be an array shaped (chain, draw, *param_shape); "
            f"got an array with shape {a.shape}"
        )
    n_chain, n_draw = a.shape[:2]
    if n_chain < 1 or n_draw < 1:
        raise ValueError(
            "draws shaped (chain, draw, *param_shape) need at least one chain "
            f"and one draw; got shape {a.shape}"
        )
    param_shape = a.shape[2:]
    return a.reshape(n_chain, n_draw, math.prod(param_shape)), param_shape


def _result(values, param_shape):
    return np.asarray(values, dtype=np.float64).reshape(param_shape)


def _flat(a):
    """(C, D, P) -> (C * D, P)."""
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2])


def _check_prob(prob, name="prob"):
    prob = float(prob)
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {prob}")
    return prob


def _blockwise(a, make_state, work, state_bytes=0):
    """Run ``work(state, block, lo, hi)`` over chunks of parameters ``[lo, hi)`` of ``a``
    (chain, draw, P), ``block`` the float64 (hi - lo, chain, draw) copy of their draws.

    Threads (Numba's thread count, ``numba.set_num_threads``; the kernels release the GIL)
    take the next chunk as they finish one: no thread waits for another until the end.  Each
    thread makes its ``state = make_state()`` (work buffers of ``state_bytes``: fresh memory
    costs a page fault per 4 KiB, so they are allocated once) and its block buffer; the
    threads' memory stays within max(_MEMORY, a quarter of the draws' bytes) when one
    thread's does.  The same path serves draws in memory and mapped from a disk store.
    """
    warm.wait()  # a first run's background compilation of these kernels (gibbsreg.kernels.warm)
    n_chain, n_draw, n_par = a.shape
    width = max(1, min(n_par, _CHUNK, _BLOCK // (n_chain * n_draw)))
    n_chunks = -(-n_par // width)
    a = np.asarray(a)  # a memory map as a plain array
    chunks = iter(range(n_chunks))  # next() is atomic under the GIL

    def worker():
        state = make_state()
        block = np.empty((width, n_chain, n_draw))
        for i in chunks:
            lo, hi = i * width, min(n_par, (i + 1) * width)
            K.gather(a, lo, hi, block)
            work(state, block[: hi - lo], lo, hi)

    per_thread = state_bytes + 8 * width * n_chain * n_draw
    budget = max(_MEMORY, a.size * a.itemsize // 4)
    n_threads = max(1, min(n_chunks, numba.get_num_threads(), budget // max(per_thread, 1)))
    if n_threads == 1:
        worker()
        return
    with ThreadPoolExecutor(n_threads - 1) as pool:
        futures = [pool.submit(worker) for _ in range(n_threads - 1)]
        worker()
        for f in futures:
            f.result()


# ----------------------------------------------------------------------------
# the shared pass
# ----------------------------------------------------------------------------
def _rank_table(size):
    """Rank-normal score of every mean rank of ``size`` draws: entry ``h`` is
    ``Phi^{-1}((r - 3/8) / (size + 1/4))`` for ``r = (h + 2) / 2``, computed exactly as ArviZ
    does (``scipy.stats.norm.ppf`` of the back-transformed average rank).  Tables up to 16 MB are
    kept for the next call; larger ones (16 bytes a draw) are not held after the summary."""
    return _cached_rank_table(size) if size <= _CACHED_TABLE else _make_rank_table(size)


def _make_rank_table(size):
    table = np.empty(2 * size - 1)
    for lo in range(0, table.size, 1 << 16):  # in pieces: norm.ppf's temporaries stay small
        rank = (np.arange(lo, min(table.size, lo + (1 << 16))) + 2.0) / 2.0
        table[lo : lo + rank.size] = _stats.norm.ppf((rank - 3 / 8) / (size - 2 * (3 / 8) + 1))
    return table


_CACHED_TABLE = 1 << 20
_cached_rank_table = functools.lru_cache(maxsize=4)(_make_rank_table)


@functools.lru_cache(maxsize=4)
def _twiddles(n):
    """FFT twiddles ``exp(-2 pi i k / N)``, ``k < N / 2``, for the lags of chains of ``n``
    draws (``N`` the power of two >= 2 n - 1)."""
    size = K.fft_size(n)
    angle = -2.0 * np.pi * np.arange(size // 2) / size
    return np.cos(angle), np.sin(angle)


def _quantile_plan(n, probs):
    """Type-7 quantiles (exactly as scipy.stats.mstats.mquantiles used by ArviZ) of ``n``
    sorted values: quantile ``p`` is ``(1 - g) s[k - 1] + g s[k]``."""
    ks, gs = [], []
    for p in probs:
        p = float(p)
        aleph = n * p + (1.0 + p * (1.0 - 1.0 - 1.0))
        k = int(np.floor(np.clip(aleph, 1, n - 1)))
        ks.append(k)
        gs.append(float(np.clip(aleph - k, 0.0, 1.0)))
    return np.array(ks, dtype=np.int64), np.array(gs, dtype=np.float64)


def _columns(x, want, probs=(), indicators=()):
    """The shared pass: statistics of every parameter of draws ``x`` (chain, draw, *shape).

    ``want`` combines the bits of ``kernels.diagnostics`` (MOMENTS, RANK_RHAT, ...); ``probs`` are type-7
    quantiles to compute and ``indicators`` (booleans, one per prob) say which of them also get
    the split ESS of ``x <= quantile``.  Returns ``(rows, param_shape)`` with ``rows`` (P,
    columns) indexed by the ``kernels.diagnostics`` column constants; statistics not asked for, and
    every diagnostic with fewer than 4 draws per chain or of a parameter with a NaN draw, are NaN.
    """
    a, param_shape = _as_draws(x)
    n_chain, n_draw, n_par = a.shape
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    indicators = np.zeros(probs.size, dtype=bool) | np.asarray(indicators, dtype=bool)
    if n_draw < _MIN_DRAWS:
        want &= ~_DIAGNOSTICS
        indicators[:] = False
    half = n_draw // 2
    n_split = 2 * n_chain * half
    table = _rank_table(n_split) if want & (K.RANK_RHAT | K.ESS_BULK) else np.zeros(1)
    twr, twi = _twiddles(max(half, 2))
    qk, qg = _quantile_plan(n_chain * n_draw, probs)
    rows = np.full((n_par, K.QUANT + 2 * probs.size), np.nan)
    size = n_chain * n_draw

    # positions as int32 while they fit: the per-parameter working set stays in cache
    index = np.int32 if size < 2**31 else np.int64

    def buffers():
        return (np.empty((K.N_FLOAT, size)), np.empty((K.N_INT, size + 1), dtype=index),
                np.empty(K.count_size(size), dtype=np.int64), np.empty((K.stack_rows(size), 3), dtype=np.int64),
                np.empty((K.N_SMALL, K.small_size(n_chain, n_draw))))

    def work(state, block, lo, hi):
        K.block_stats(block, want, qk, qg, indicators, table, twr, twi, *state, rows[lo:hi])

    state_bytes = (8 * K.N_FLOAT + np.dtype(index).itemsize * K.N_INT) * size
    _blockwise(a, buffers, work, state_bytes)
    return rows, param_shape


def _column(x, want, column):
    """One statistic per parameter, shaped param_shape."""
    rows, param_shape = _columns(x, want)
    return _result(rows[:, column], param_shape)


def _indicator_ess(x, probs):
    """(ESS of ``x <= q_p`` for each p in ``probs`` (P, len(probs)), quantiles, param_shape)."""
    rows, param_shape = _columns(x, 0, probs, [True] * len(probs))
    n = len(probs)
    return rows[:, K.QUANT + n : K.QUANT + 2 * n], rows[:, K.QUANT : K.QUANT + n], param_shape


def _chain_moments(a):
    """Per-chain mean and variance (P, C) of the unsplit chains of ``a`` (chain, draw, P)."""
    n_chain, n_draw, n_par = a.shape
    mean = np.empty((n_par, n_chain))
    var = np.empty((n_par, n_chain))
    _blockwise(a, lambda: None, lambda state, block, lo, hi: K.block_chain_moments(block, mean[lo:hi], var[lo:hi]))
    return mean, var
