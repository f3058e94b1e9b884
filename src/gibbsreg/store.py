"""Where the draws live: memory (checked against what the machine has) or a disk store.

A disk store is a directory with one ``.npy`` file per variable, laid out draw-major
``(draws, chains, *shape)`` so that each chunk of draws is one contiguous append, plus
``posterior.npz`` (the run state, dims, coordinates and attributes, written atomically
after the draw files are synced: the checkpoint).  A Posterior backed by a store maps the
files lazily (``post["beta"]`` is a read-only ``(chains, draws, ...)`` view); summaries and
convergence checks read them in blocks of parameters, so memory stays bounded.
"""

from __future__ import annotations

import ast
import os
import resource
from pathlib import Path

import numpy as np

HEADER_BYTES = 256  # fixed .npy header (format 1.0, space-padded) so it can be rewritten in place
STATE_FILE = "posterior.npz"
MEMORY_FRACTION = 0.9  # refuse draw storage above this share of the memory available
SMALL_REQUEST = 32 << 20  # below this, check_memory does not read /proc (0.15 ms, as long as 10^3 flat draws)
SUMMARY_BUDGET = 1 << 28  # bytes of draws per block of parameters in blocked summaries (then ~6x temporaries)


# ---- memory ---------------------------------------------------------------------------------

def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes this process can still allocate: MemAvailable (or sysconf), the cgroup's limit and
    RLIMIT_AS, whichever is smallest; None when nothing is known."""
    known = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                known.append(int(line.split()[1]) * 1024)
                break
    except OSError:
        try:
            known.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    limit, current = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if limit is not None and current is not None:
        known.append(max(limit - current, 0))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        vm = 0
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmSize:"):
                    vm = int(line.split()[1]) * 1024
        except OSError:
            pass
        known.append(max(soft - vm, 0))
    return min(known) if known else None


def check_memory(nbytes: int, chains: int, draws: int, values: int, extra: int = 0) -> None:
    """A clear ValueError, before allocating, when the draws would not fit in memory."""
    if nbytes + extra < SMALL_REQUEST:
        return
    avail = available_memory()
    if avail is None or nbytes + extra <= MEMORY_FRACTION * avail:
        return
    gib = 1 << 30
    raise ValueError(
        f"the draws need {nbytes / gib:.2f} GiB ({chains} chains x {draws} draws x {values} values)"
        + (f" besides {extra / gib:.2f} GiB already held" if extra else "")
        + f" but only about {avail / gib:.2f} GiB of memory is available; keep fewer draws (draws=), "
        "keep every k-th draw (thin=k), or write the draws to disk with store='run_dir'")


class MemoryLimit(Exception):
    """Raised by a memory store that cannot grow (until= then stops extending)."""


# ---- storage ------------------------------------------------------------------------------

def make_storage(spec, chains: int, capacity: int, previous, start: int, store):
    if store is not None:
        return DiskStore.for_run(spec, chains, capacity, previous, start, store)
    return MemoryStorage(spec, chains, capacity, previous, start)


class MemoryStorage:
    directory = None

    def __init__(self, spec, chains, capacity, previous, start):
        from .sampling import no_huge_pages

        self.spec, self.chains = spec, chains
        values = sum(_values(s) for s, _ in spec.variables.values())
        held = 0
        if previous is not None and getattr(previous, "store", None) is None:
            held = sum(previous[k].nbytes for k in spec.variables if k in previous)
        itemsize = np.dtype(spec.draws_dtype).itemsize
        check_memory(itemsize * chains * capacity * values, chains, capacity, values, extra=held)
        with no_huge_pages():
            self.arrays = {k: np.empty((chains, capacity) + tuple(s), dtype=spec.draws_dtype)
                           for k, (s, _) in spec.variables.items()}
        if previous is not None and start:
            from .npzfile import copy_out

            for k in spec.variables:  # a loaded run's draws are mapped: copied a chain at a time
                copy_out(previous[k][:, :start], self.arrays[k][:, :start])

    @property
    def capacity(self) -> int:
        return next(iter(self.arrays.values())).shape[1]

    def ensure(self, capacity: int) -> None:
        if capacity <= self.capacity:
            return
        from .sampling import no_huge_pages

        values = sum(_values(s) for s, _ in self.spec.variables.values())
        try:
            check_memory(8 * self.chains * capacity * values, self.chains, capacity, values,
                         extra=8 * self.chains * self.capacity * values)
        except ValueError as exc:
            raise MemoryLimit(str(exc)) from None
        with no_huge_pages():
            grown = {k: np.empty((self.chains, capacity) + v.shape[2:], dtype=v.dtype) for k, v in self.arrays.items()}
        for k, v in self.arrays.items():
            grown[k][:, : v.shape[1]] = v
        self.arrays = grown

    def put(self, spec, scratch, start, n):
        spec.map_draws({k: v[:, :n] for k, v in scratch.items()},
                       {k: v[:, start:start + n] for k, v in self.arrays.items()})

    def view(self, stop):
        return {k: v[:, :stop] for k, v in self.arrays.items()}

    def finish(self, stop):
        pass


def _values(shape) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def _header(shape) -> bytes:
    d = "{'descr': '<f8', 'fortran_order': False, 'shape': %r, }" % (tuple(int(v) for v in shape),)
    body_len = HEADER_BYTES - 10
    text = d.ljust(body_len - 1) + "\n"
    if len(text) != body_len:
        raise ValueError(f"array shape {shape} too long for the store's header")
    return b"\x93NUMPY\x01\x00" + body_len.to_bytes(2, "little") + text.encode("latin1")


def _read_header(path: Path):
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    if len(head) < HEADER_BYTES or head[:8] != b"\x93NUMPY\x01\x00":
        raise ValueError(f"{path} is not a gibbsreg store file (bad header)")
    d = ast.literal_eval(head[10:].decode("latin1").strip())
    return tuple(d["shape"])


class StoredDraws:
    """Draws of one variable in a store file: shape (chains, draws, *shape), mapped on access."""

    lazy_draws = True

    def __init__(self, path, chains, draws, shape):
        self.path = Path(path)
        self.chains, self.draws, self.param_shape = chains, draws, tuple(shape)
        self.shape = (chains, draws) + self.param_shape
        self.ndim = len(self.shape)
        self.dtype = np.dtype(np.float64)
        self.nbytes = 8 * int(np.prod(self.shape))

    def array(self) -> np.ndarray:
        """A read-only (chains, draws, ...) view of the file (memory-mapped)."""
        if self.draws == 0:
            return np.empty(self.shape)
        m = np.memmap(self.path, dtype=np.float64, mode="r", offset=HEADER_BYTES,
                      shape=(self.draws, self.chains) + self.param_shape)
        return np.swapaxes(m, 0, 1)

    def __array__(self, dtype=None, copy=None):
        a = np.asarray(self.array())
        return a.astype(dtype) if dtype is not None else a

    def read_params(self, lo: int, hi: int, budget: int = SUMMARY_BUDGET) -> np.ndarray:
        """Parameters [lo, hi) of the flattened per-draw shape as a (chains, draws, hi - lo) array,
        read with bounded buffers (no mapping of the whole file)."""
        per_draw = self.chains * _values(self.param_shape)
        out = np.empty((self.chains, self.draws, hi - lo))
        rows = max(1, budget // (8 * per_draw * 4))
        with open(self.path, "rb") as fh:
            for d0 in range(0, self.draws, rows):
                d1 = min(self.draws, d0 + rows)
                fh.seek(HEADER_BYTES + 8 * d0 * per_draw)
                block = np.fromfile(fh, dtype=np.float64, count=(d1 - d0) * per_draw)
                if block.size != (d1 - d0) * per_draw:
                    raise ValueError(f"{self.path} is truncated: it holds fewer than {self.draws} draws")
                block = block.reshape(d1 - d0, self.chains, -1)
                out[:, d0:d1] = np.swapaxes(block[:, :, lo:hi], 0, 1)
        return out


class DiskStore:
    """Draw files of one run in ``directory``; the run's state is its checkpoint."""

    def __init__(self, directory, spec, chains):
        self.directory = Path(directory)
        self.spec, self.chains = spec, chains
        self.files = {}
        self.written = 0

    @classmethod
    def for_run(cls, spec, chains, capacity, previous, start, directory):
        if np.dtype(spec.draws_dtype) != np.float64:
            raise ValueError("the disk store writes float64 draws; use dtype=np.float64 with store=, or keep "
                             "float32 draws in memory")
        directory = Path(directory)
        store = cls(directory, spec, chains)
        prev_store = getattr(previous, "store", None) if previous is not None else None
        same = prev_store is not None and Path(prev_store.directory).resolve() == directory.resolve()
        if not same:
            if directory.exists() and (directory / STATE_FILE).exists():
                raise ValueError(f"the store {str(directory)!r} already holds a run; continue it with "
                                 "gibbsreg.resume(directory, ...) or choose another directory")
            directory.mkdir(parents=True, exist_ok=True)
        free = _free_disk(directory)
        need = 8 * chains * capacity * sum(_values(s) for s, _ in spec.variables.values())
        if free is not None and need > free:
            raise ValueError(f"the store needs {need / (1 << 30):.2f} GiB but {str(directory)!r} has only "
                             f"{free / (1 << 30):.2f} GiB free; keep fewer draws or thin them (thin=)")
        for k, (s, _) in spec.variables.items():
            path = directory / f"{k}.npy"
            if same:
                fh = open(path, "r+b")
            else:
                fh = open(path, "w+b")
                fh.write(_header((0, chains) + tuple(s)))
            store.files[k] = fh
        if previous is not None and start and not same:
            for k in spec.variables:
                src = previous[k][:, :start]
                store._write(k, np.asarray(src), 0)
        store.written = start
        return store

    def ensure(self, capacity):
        pass

    def _write(self, name, chunk, start):
        fh = self.files[name]
        row = self.chains * (_values(chunk.shape[2:]))
        fh.seek(HEADER_BYTES + 8 * start * row)
        np.ascontiguousarray(np.swapaxes(chunk, 0, 1)).tofile(fh)

    def put(self, spec, scratch, start, n):
        dest = {k: np.empty((self.chains, n) + tuple(s)) for k, (s, _) in spec.variables.items()}
        spec.map_draws({k: v[:, :n] for k, v in scratch.items()}, dest)
        for k, v in dest.items():
            self._write(k, v, start)
        self.written = start + n

    def view(self, stop):
        return {k: StoredDraws(self.directory / f"{k}.npy", self.chains, stop, s)
                for k, (s, _) in self.spec.variables.items()}

    def sync(self, stop):
        """Headers say ``stop`` draws; every byte is on disk before the state names it."""
        for k, fh in self.files.items():
            s = self.spec.variables[k][0]
            fh.flush()
            os.fsync(fh.fileno())
            fh.seek(0)
            fh.write(_header((stop, self.chains) + tuple(s)))
            fh.flush()
            os.fsync(fh.fileno())

    def checkpoint(self, post):
        self.sync(post.ndraws)
        post._save_meta_only(self.directory / STATE_FILE)

    def finish(self, stop):
        self.sync(stop)


def _free_disk(directory: Path) -> int | None:
    try:
        st = os.statvfs(directory)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def open_store(directory, meta, chains, draws):
    """The lazily mapped draws of a store described by a saved posterior's meta."""
    directory = Path(directory)
    out = {}
    for k, shape in meta.items():
        path = directory / f"{k}.npy"
        if not path.exists():
            raise ValueError(f"the store {str(directory)!r} lacks the draw file {path.name}")
        head = _read_header(path)
        if tuple(head[1:]) != (chains,) + tuple(shape):
            raise ValueError(f"{path} holds draws shaped {head[1:]} per draw, not {(chains,) + tuple(shape)}")
        size = path.stat().st_size
        if size < HEADER_BYTES + 8 * draws * chains * _values(shape):
            raise ValueError(f"{path} is truncated: it holds fewer than the {draws} draws its checkpoint names")
        out[k] = StoredDraws(path, chains, draws, shape)
    return out


# ---- summaries in blocks --------------------------------------------------------------------

def summary_blocks(post, names, diagnostics_only=False, prob=0.95, step=1):
    """Yield (name, labels, stats) per variable, stats = summary_stats flattened to (P,) arrays.

    Each variable is summarised in one pass over its draws (gibbsreg.diagnostics: one sort per
    parameter gives the interval, both rank normalisations and the tail indicators); draws kept
    as float32 are converted a block of parameters at a time.  In-memory variables are
    summarised whole; stored ones in blocks of parameters whose draws take at most
    SUMMARY_BUDGET bytes (each block read from the file in bounded pieces).  ``step`` > 1
    summarises every step-th draw (until='s checks of long runs).

    ``diagnostics_only``: True, or the names of the variables, for which only ``rhat``,
    ``ess_bulk`` and ``ess_tail`` are computed (what convergence checks and the collapsed
    group-level lines read); their other statistics are NaN, so every variable yields the
    same keys.
    """
    from .diagnostics.summary import _summary_columns

    for name in names:
        raw = post._draws[name]
        labels = post.labels(name)
        only = diagnostics_only if isinstance(diagnostics_only, bool) else name in diagnostics_only
        if getattr(raw, "lazy_draws", False):
            P = _values(raw.param_shape)
            per_param = 8 * raw.chains * raw.draws
            avail = available_memory()
            budget = SUMMARY_BUDGET if avail is None else max(1 << 20, min(SUMMARY_BUDGET, avail // 32))
            if per_param > budget * 4:
                raise ValueError(f"one parameter of {name} has {per_param / (1 << 30):.2f} GiB of draws, more than "
                                 "a bounded-memory summary can hold; summarise a thinned copy (post[name][:, ::k])")
            width = max(1, budget // max(per_param, 1))
            parts = [_summary_columns(raw.read_params(lo, min(P, lo + width), budget)[:, ::step], prob, only)[0]
                     for lo in range(0, P, width)]
            stats = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        else:
            stats, _ = _summary_columns(raw[:, ::step] if step > 1 else raw, prob, only)
        yield name, labels, {k: np.asarray(v, dtype=float).reshape(-1) for k, v in stats.items()}
