"""What every run shares below the driver (gibbsreg.runner): randomness (one seed -> per-chain streams), the
sampling arguments' validation, the progress line, the thread count of a kernel call and the chunk runner
that calls a kernel or its NumPy twin.  The chunk loop itself is gibbsreg.runner.chunks.run_chains.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

BACKENDS = ("numba", "numpy")
TARGET_CHUNK_SECONDS = 0.25


@dataclass
class ChainStreams:
    """Per-chain generators: ``normal`` for Gaussian draws, ``gamma`` for gamma draws, ``init`` for start values.

    Chain k's three generators come from SeedSequence(seed).spawn(chains)[k],
    so they do not depend on how many chains run.
    """

    normal: list
    gamma: list
    init: list

    def addresses(self):
        """The kernels' view of the normal and gamma streams: two (chains,) uint64 arrays of addresses of
        PCG64 states (gibbsreg.kernels.draws.stream_at), and ``after_call()`` to run after each kernel
        call.  Where NumPy's layout allows, the addresses are the generators' own states, which the
        kernels then advance in place; otherwise they point into copies, written back by after_call."""
        from .kernels.draws import native_address, set_stream_state, stream_state

        gens = list(self.normal) + list(self.gamma)
        native = [native_address(g) for g in gens]
        in_place = all(a is not None for a in native)
        views = [] if in_place else [stream_state(g) for g in gens]

        def after_call():
            # (the closure keeps the generators, whose memory the kernels use, and the copies alive)
            if not in_place:
                for g, v in zip(gens, views):
                    set_stream_state(g, v)

        address = np.array(native if in_place else [v.ctypes.data for v in views], dtype=np.uint64)
        C = len(self.normal)
        return address[:C], address[C:], after_call


def chain_streams(seed, chains: int, init_superchains: int | None = None) -> ChainStreams:
    """Independent streams for each chain from one seed (int, SeedSequence or None).

    With ``init_superchains = S``, chain k draws its start values from chain (k mod S)'s
    init stream, so the chains of a superchain share a starting point (nested R-hat,
    Margossian et al. 2024); the normal and gamma streams stay per chain.
    """
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if init_superchains is not None and (isinstance(init_superchains, bool) or int(init_superchains) < 1):
        raise ValueError(f"init_superchains must be a positive integer, got {init_superchains!r}")
    normal, gamma, init_seeds = [], [], []
    for child in root.spawn(chains):
        a, b, c = child.spawn(3)
        normal.append(np.random.Generator(np.random.PCG64(a)))
        gamma.append(np.random.Generator(np.random.PCG64(b)))
        init_seeds.append(c)
    S = chains if init_superchains is None else int(init_superchains)
    init = [np.random.Generator(np.random.PCG64(init_seeds[k % S])) for k in range(chains)]
    return ChainStreams(normal, gamma, init)


def check_sampling_args(chains, draws, warmup, thin, backend) -> tuple[int, int, int, int, str]:
    """Validate the sampling arguments with clear messages."""
    def as_int(value, name, minimum):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
        return int(value)

    chains = as_int(chains, "chains", 1)
    draws = as_int(draws, "draws", 1)
    warmup = as_int(warmup, "warmup", 0)
    thin = as_int(thin, "thin", 1)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return chains, draws, warmup, thin, backend


def check_draws_dtype(dtype) -> np.dtype:
    """The stored draws' type: float64 (default) or float32 (the chains still run in float64)."""
    try:
        dt = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        dt = None
    if dt is None or dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be numpy.float64 or numpy.float32 (the stored draws' type), got {dtype!r}")
    return dt


class Progress:
    """A one-line progress bar on stderr; silent when disabled or not a terminal."""

    def __init__(self, total: int, enabled: bool, label: str = "sampling"):
        self.total = max(total, 1)
        self.enabled = bool(enabled) and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.label = label
        self.start = time.perf_counter()

    def update(self, done: int, phase: str) -> None:
        if not self.enabled:
            return
        frac = min(done / self.total, 1.0)
        bar = "#" * int(30 * frac)
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}% {phase:<8} {elapsed:7.1f} s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def first_call(self, after: float = 1.0):
        """Context manager around a run's first kernel call: when it lasts more than ``after`` seconds (Numba is
        compiling the kernels on a cold cache), the line says so and counts the seconds until it returns."""
        return _Compiling(self, after)


class _Compiling:
    MESSAGE = "compiling kernels (first run only, cached afterwards)"

    def __init__(self, bar: Progress, after: float):
        self.bar, self.after = bar, after
        self.done = threading.Event()
        self.shown = False

    def _watch(self):
        t0 = time.perf_counter()
        if self.done.wait(self.after):
            return
        while not self.done.is_set():
            self.shown = True
            sys.stderr.write(f"\r{self.bar.label}: {self.MESSAGE} {time.perf_counter() - t0 + self.after:5.0f} s")
            sys.stderr.flush()
            self.done.wait(0.5)

    def __enter__(self):
        self.thread = None
        if self.bar.enabled:
            self.thread = threading.Thread(target=self._watch, name="gibbsreg-compiling", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        if self.thread is not None:
            self.thread.join()
            if self.shown:  # clear the message before the bar redraws
                sys.stderr.write("\r" + " " * (len(self.bar.label) + len(self.MESSAGE) + 12) + "\r")
                sys.stderr.flush()
        return False


class kernel_threads:
    """Context manager: run a parallel kernel on min(chains, available) threads.

    With fewer chains than threads the idle workers only add synchronisation cost
    (a single chain on a busy machine slowed from ~1 ms to ~30 ms per call).
    """

    def __init__(self, chains: int):
        self.chains = chains

    def __enter__(self):
        import numba

        self.before = numba.get_num_threads()
        numba.set_num_threads(max(1, min(self.chains, self.before)))
        return self

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self.before)
        return False


class no_huge_pages:
    """Context manager: NumPy allocations inside it get no transparent-huge-page advice.

    NumPy advises huge pages for arrays of 4 MB or more; with the kernel's defrag setting at
    "madvise" the first touch of each 2 MB page may stall on compaction, which made the flat
    sampler (tens of millions of draws per second) several times slower and erratic.  The
    samplers allocate their draw buffers and the mapped-back draws inside this context; NumPy's
    setting is restored on exit (allocations made meanwhile by other threads are affected too).
    """

    def __enter__(self):
        try:
            from numpy._core.multiarray import _set_madvise_hugepage
        except ImportError:  # pragma: no cover - other NumPy versions: nothing to change
            self._set = None
            return self
        self._set = _set_madvise_hugepage
        self._previous = _set_madvise_hugepage(False)
        return self

    def __exit__(self, *exc):
        if self._set is not None:
            self._set(self._previous)
        return False


_LAUNCH_LOCK = threading.Lock()
_THREAD_SAFE_LAYER = None  # None: not known yet


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def launch_lock():
    """A lock around parallel kernel launches unless Numba's threading layer is known to be thread-safe.

    Numba's "workqueue" layer (its fallback when neither OpenMP nor TBB is available) aborts the
    process when two Python threads launch parallel kernels at once; OpenMP and TBB allow it.
    Until the layer is known (it is chosen at the first launch) launches are serialised too.
    """
    global _THREAD_SAFE_LAYER
    if _THREAD_SAFE_LAYER is None:
        import numba

        try:
            _THREAD_SAFE_LAYER = numba.threading_layer() in ("omp", "tbb")
        except ValueError:  # not initialised yet: serialise this first launch
            return _LAUNCH_LOCK
    return _NoLock() if _THREAD_SAFE_LAYER else _LAUNCH_LOCK


def chunk_runner(backend, load_kernel, reference_fn, args, state, streams, out, order, thin, failure_message,
                 parallel_items=None):
    """``run_chunk(n_iter, store, out_start)`` for either backend.

    Kernels and their NumPy twins share one calling convention: model arguments, state arrays,
    the chains' normal and gamma streams, n_iter, thin, out_start, then the output buffers
    in ``order`` (buffers with no draws when ``store`` is False).  The NumPy twins take the
    generators; the kernels take the addresses of their PCG64 states (ChainStreams.addresses), so
    after every call the generators hold where the chains stopped.  The kernel runs on at most
    ``parallel_items`` threads (default: one per chain; a kernel that also splits groups
    across threads says how many pieces it has).
    """
    chains = len(streams.normal)
    empty = {k: np.empty((chains, 0) + v.shape[2:]) for k, v in out.items()}
    if backend == "numba":
        kernel = load_kernel()
        normal, gamma, after_call = streams.addresses()

        def run_chunk(n_iter, store, out_start):
            bufs = out if store else empty
            with launch_lock(), kernel_threads(chains if parallel_items is None else parallel_items):
                failures = kernel(*args, *state, normal, gamma, n_iter, thin, out_start, *(bufs[k] for k in order))
            after_call()
            if failures:
                raise FloatingPointError(failure_message)
    else:
        def run_chunk(n_iter, store, out_start):
            bufs = out if store else empty
            reference_fn(*args, *state, streams.normal, streams.gamma, n_iter, thin, out_start,
                         *(bufs[k] for k in order))
    return run_chunk


CHUNK_GROWTH = 64  # at most this factor from one chunk to the next


def _next_chunk(chunk: int, n_iter: int, seconds: float, cap: int) -> int:
    """The next chunk's iterations, about TARGET_CHUNK_SECONDS at the rate just measured.

    A Gibbs iteration's cost does not change along a run, and a short chunk's rate is an underestimate
    (each call has a fixed cost, 50 us for W1), so the chunks may grow fast."""
    if seconds <= 0:
        return min(cap, chunk * 4)
    rate = n_iter / seconds
    target = int(rate * TARGET_CHUNK_SECONDS)
    return int(max(1, min(cap, max(target, 1), chunk * CHUNK_GROWTH)))
