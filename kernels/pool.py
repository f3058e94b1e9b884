"""Chains shared out between Python threads, each thread running a nogil kernel one chain at a time.

A ``prange`` over chains compiles the whole per-chain sweep a second and third time (Numba outlines
the loop body into a parallel gufunc and re-optimises everything it calls there): 13 of the
hierarchical kernel's 36 s of cold compilation.  The chains are independent, so plain threads that
each call the compiled one-chain kernel (which releases the GIL) do the same work with the same
draws, and compile once.  Worker w takes chains w, w + W, w + 2W, ... as a static prange split would.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numba
import numpy as np

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < workers:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gibbsreg-chains")
            _POOL_SIZE = workers
        return _POOL


def over_chains(one_chain, n_chains: int, args: tuple) -> int:
    """sum over chains c of ``one_chain(c, *args)`` (a nogil kernel returning its failure count), on
    min(n_chains, numba.get_num_threads()) threads.  Every worker finishes before this returns, even on
    Ctrl-C (the caller then restores the chains' state, which no thread may still be writing)."""
    workers = max(1, min(n_chains, numba.get_num_threads()))

    def work(w):
        failed = 0
        for c in range(w, n_chains, workers):
            failed += int(one_chain(np.int64(c), *args))
        return failed

    if workers == 1:
        return work(0)
    futures = [_pool(workers).submit(work, w) for w in range(1, workers)]
    try:
        failed = work(0)  # the calling thread is worker 0
    finally:
        wait(futures)
    return failed + sum(f.result() for f in futures)
