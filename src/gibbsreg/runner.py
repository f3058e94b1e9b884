"""One driver for long runs: chunks of iterations that hand an explicit :class:`RunState` on.

Every model (flat, exchangeable, hierarchical) describes itself by a :class:`ChainSpec`
(kernel, NumPy twin, state arrays, kept outputs and the map from the kernel's
coordinates to the posterior's).  :func:`run_chains` then runs warm-up and sampling
in chunks, and between chunks it can

* stop and hand the state on (Ctrl-C, ``draws`` reached): ``model.resume`` continues it;
* check convergence (``until=Converged(...)``) at geometrically growing intervals;
* write a crash-safe checkpoint (``checkpoint=``, ``store=``).

Each chunk is atomic: the state and the generators are snapshot before it and restored if
it is interrupted, so a stopped run always continues exactly as an uninterrupted one.
The kernels write a chunk of draws into a reused scratch buffer; the map to the
posterior's coordinates is element-wise (the same numbers whatever the chunking) and
writes into the final storage, in memory or on disk (:mod:`gibbsreg.store`).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import sampling
from .runstate import RunState, capture_streams
from .sampling import Progress, chunk_runner, no_huge_pages

SCRATCH_ELEMENTS = 1 << 22  # bound on chains * kept draws per chunk * values per draw (the reused buffer)
DIAGNOSTIC_SHARE = 0.05
CHECKPOINT_SHARE = 0.03  # self-contained checkpoint files: writes stretch to keep below this share
MAX_GROWTH = 10  # until=: the next check waits until sampling time is this share's inverse times its cost


@dataclass
class Converged:
    """Stop rule for ``sample(..., until=Converged(...))``: every scalar parameter has rank R-hat
    <= ``rhat``, bulk ESS >= ``ess_bulk`` and tail ESS >= ``ess_tail`` (Vehtari et al. 2021),
    or ``max_draws`` draws per chain are kept (then a warning names the parameters that failed).

    The diagnostics are computed over the kept draws at geometrically growing intervals
    (at least ``growth`` times more draws, and enough sampling time that the checks take
    about 5% of the run); ``var_names`` restricts the check to some variables.  Beyond
    ``check_draws`` draws per chain (raised to 2 x the ESS targets / chains if that is more)
    the check uses every k-th draw, so a check's cost stops growing; thinning does not raise
    the ESS of a chain, so the ESS targets then hold for the full draws too (conservatively).
    """

    rhat: float = 1.01
    ess_bulk: float = 400.0
    ess_tail: float = 400.0
    max_draws: int = 100_000
    var_names: list | None = None
    growth: float = 1.5
    check_draws: int = 1000

    def __post_init__(self):
        if not (self.rhat >= 1.0):
            raise ValueError(f"Converged: rhat must be >= 1, got {self.rhat}")
        for name in ("ess_bulk", "ess_tail"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"Converged: {name} must be >= 0, got {getattr(self, name)}")
        if isinstance(self.max_draws, bool) or not isinstance(self.max_draws, (int, np.integer)) or self.max_draws < 4:
            raise ValueError(f"Converged: max_draws must be an integer >= 4, got {self.max_draws!r}")
        if not self.growth > 1.0:
            raise ValueError(f"Converged: growth must exceed 1, got {self.growth}")
        if isinstance(self.var_names, str):
            self.var_names = [self.var_names]

    def to_dict(self) -> dict:
        return {"rhat": self.rhat, "ess_bulk": self.ess_bulk, "ess_tail": self.ess_tail,
                "max_draws": int(self.max_draws), "var_names": self.var_names, "growth": self.growth,
                "check_draws": int(self.check_draws)}

    @classmethod
    def from_dict(cls, d: dict) -> "Converged":
        return cls(**d)

    def check(self, post) -> dict:
        """Worst R-hat, smallest bulk and tail ESS and the failing parameters of a Posterior."""
        from .store import summary_blocks

        names = post.names if self.var_names is None else list(self.var_names)
        worst = {"rhat": 1.0, "ess_bulk": math.inf, "ess_tail": math.inf, "failed": {}}
        keep = max(self.check_draws, 4, math.ceil(2 * max(self.ess_bulk, self.ess_tail) / post.nchains))
        step = max(1, -(-post.ndraws // keep))
        for name, labels, stats in summary_blocks(post, names, diagnostics_only=True, step=step):
            r, eb, et = stats["rhat"], stats["ess_bulk"], stats["ess_tail"]
            with np.errstate(invalid="ignore"):
                bad = (r > self.rhat) | (eb < self.ess_bulk) | (et < self.ess_tail)
            if np.isfinite(r).any():
                worst["rhat"] = max(worst["rhat"], float(np.nanmax(r)))
            if np.isfinite(eb).any():
                worst["ess_bulk"] = min(worst["ess_bulk"], float(np.nanmin(eb)))
            if np.isfinite(et).any():
                worst["ess_tail"] = min(worst["ess_tail"], float(np.nanmin(et)))
            for i in np.flatnonzero(bad):
                worst["failed"][labels[i]] = (float(r[i]), float(eb[i]), float(et[i]))
        return worst


DEFAULT_CHUNK_SECONDS = sampling.TARGET_CHUNK_SECONDS  # the chunk time first_chunk is meant for


@dataclass
class ChainSpec:
    """How one model runs under the driver.

    ``state_names`` order the state arrays in the kernel's argument list; ``outputs`` maps
    each kernel output buffer (in argument order) to (per-draw shape, kept?) (buffers not kept
    get no draws); ``variables`` maps each posterior variable to
    (per-draw shape, dims); ``map_draws(bufs, dest)`` fills ``dest[name][:, :n]`` from the
    kernel's ``bufs[name][:, :n]`` element-wise; ``init_state(streams)`` gives fresh state
    arrays; ``adopt_state(arrays)`` checks (and if needed converts) saved ones.
    """

    kind: str
    load_kernel: Callable
    reference_fn: Callable
    kernel_args: tuple
    state_names: tuple
    outputs: dict
    variables: dict
    map_draws: Callable
    init_state: Callable
    fingerprint: object
    config: dict
    coords: dict
    attrs: dict
    failure_message: str
    numpy_iter_values: int  # values touched per chain-iteration by the NumPy twin (chunk cap)
    numpy_max_elements: int = 1 << 22
    adopt_state: Callable | None = None
    draws_dtype: np.dtype = np.dtype(np.float64)  # the stored draws' type (float32: opt-in, flat model)
    direct_outputs: bool = False  # the kernel's kept outputs are the variables: written straight into memory
    threads_per_chain: int = 1  # > 1: the kernel also shares each chain's work (groups) between threads
    first_chunk: int = 16  # iterations of the first kernel call (later ones follow the measured rate)


@dataclass
class RunOptions:
    until: Converged | None = None
    checkpoint: str | None = None
    checkpoint_every: float = 60.0
    store: str | None = None
    progress: bool = True


def _values(shape) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def draw_bytes(spec: ChainSpec, chains: int, draws: int) -> int:
    """Bytes the posterior's draws take: chains * draws * values per draw * 8."""
    return 8 * chains * draws * sum(_values(s) for s, _ in spec.variables.values())


def new_state(spec: ChainSpec, streams, *, chains, warmup, draws, thin, seed, backend) -> RunState:
    from .runstate import seed_label

    arrays = spec.init_state(streams)
    return RunState(spec.kind, chains, arrays, capture_streams(streams), warmup, 0, draws, 0, thin,
                    seed_label(seed), backend, spec.fingerprint, dict(spec.config))


def run_chains(spec: ChainSpec, state: RunState, streams, options: RunOptions, *, draws_more: int,
               previous=None, setup_seconds: float = 0.0):
    """Continue ``state`` (fresh or resumed) until ``draws_more`` more kept draws per chain (or the
    warm-up and the planned draws), or convergence with ``options.until``; returns a Posterior
    holding the previous draws (if any) followed by the new ones, and the final state."""
    from .posterior import Posterior
    from .store import MemoryLimit, make_storage

    chains = state.chains
    thin = state.thin
    until = options.until
    start_kept = state.draws_done
    target = start_kept + draws_more
    if until is not None:
        if target > until.max_draws:
            raise ValueError(f"until=Converged(max_draws={until.max_draws}) is below the first batch of "
                             f"{target} draws per chain; raise max_draws or lower draws")
    capacity = target  # until= grows the storage as it extends (storage.ensure)
    state.draws_target = target
    if until is not None:
        state.config["until"] = until.to_dict()
    if options.checkpoint is not None:
        state.config.update(checkpoint=options.checkpoint, checkpoint_every=options.checkpoint_every)
    storage = make_storage(spec, chains, capacity, previous, start_kept, options.store)

    order = tuple(spec.outputs)
    per_draw_out = sum(_values(s) for s, kept in spec.outputs.values() if kept)
    scratch_draws = max(1, SCRATCH_ELEMENTS // max(1, chains * per_draw_out))
    with no_huge_pages():
        scratch = {k: np.empty((chains, scratch_draws if kept else 0) + tuple(s))
                   for k, (s, kept) in spec.outputs.items()}
    arrays = state.arrays
    state_tuple = tuple(arrays[n] for n in spec.state_names)
    from .store import MemoryStorage

    # in memory, a kernel whose outputs are the variables writes each draw once, into its final place
    direct = spec.direct_outputs and isinstance(storage, MemoryStorage)
    buffers = dict(scratch)
    if direct:
        buffers.update(_direct_buffers(spec, storage, order))
    run_chunk = chunk_runner(state.backend, spec.load_kernel, spec.reference_fn, spec.kernel_args, state_tuple,
                             streams, buffers, order, thin, spec.failure_message,
                             parallel_items=chains * spec.threads_per_chain)
    cap = 1 << 30
    if state.backend == "numpy":
        cap = max(1, spec.numpy_max_elements // (chains * max(spec.numpy_iter_values, 1) + 1))
    chunk_seconds = sampling.TARGET_CHUNK_SECONDS
    writer = None
    if options.checkpoint is not None or options.store is not None:
        writer = CheckpointWriter(options.checkpoint, options.checkpoint_every, storage)
        chunk_seconds = min(chunk_seconds, max(options.checkpoint_every / 2.0, 1e-3))

    bar = Progress(state.warmup - state.warmup_done + (target - start_kept) * thin, options.progress)
    # the spec's first chunk suits the usual chunk time; shorter targets (close checkpoints) shorten it to 16
    first = spec.first_chunk * min(1.0, chunk_seconds / DEFAULT_CHUNK_SECONDS) if state.backend == "numba" else 16
    chunk = max(1, min(cap, max(16, int(first))))
    t_warm = t_samp = t_diag = t_ckpt = 0.0
    interrupted = False
    last_check = None
    checked_at = -1
    next_check = target
    status = ""
    done_iters = 0

    def partial_posterior():
        return _posterior(spec, storage, state, stop=state.draws_done)

    def snapshot():
        return ({k: v.copy() for k, v in arrays.items()},
                [(n.bit_generator.state, g.bit_generator.state) for n, g in zip(streams.normal, streams.gamma)])

    def rollback(snap):
        for k, v in snap[0].items():
            arrays[k][...] = v
        for (sn, sg), n, g in zip(snap[1], streams.normal, streams.gamma):
            n.bit_generator.state = sn
            g.bit_generator.state = sg

    def sync_rng():
        state.rng = capture_streams(streams)

    def maybe_checkpoint(force=False):
        nonlocal t_ckpt
        if writer is None:
            return
        if force or writer.due():
            t0 = time.perf_counter()
            sync_rng()
            writer.write(partial_posterior())
            t_ckpt += time.perf_counter() - t0

    try:
        while state.warmup_done < state.warmup:
            n_iter = min(chunk, state.warmup - state.warmup_done)
            snap = snapshot()
            try:
                t0 = time.perf_counter()
                run_chunk(n_iter, False, 0)
                dt = time.perf_counter() - t0
            except KeyboardInterrupt:
                rollback(snap)
                raise
            state.warmup_done += n_iter
            t_warm += dt
            done_iters += n_iter
            chunk = _next_chunk_for(chunk, n_iter, dt, cap, chunk_seconds)
            bar.update(done_iters, "warmup")
            maybe_checkpoint()
        while True:
            while state.draws_done < target:
                n_keep = max(1, min(max(chunk // thin, 1), target - state.draws_done, scratch_draws))
                snap = snapshot()
                try:
                    t0 = time.perf_counter()
                    if direct:
                        run_chunk(n_keep * thin, True, state.draws_done)
                    else:
                        run_chunk(n_keep * thin, True, 0)
                        storage.put(spec, scratch, state.draws_done, n_keep)
                    dt = time.perf_counter() - t0
                except KeyboardInterrupt:
                    rollback(snap)
                    raise
                state.draws_done += n_keep
                t_samp += dt
                done_iters += n_keep * thin
                chunk = _next_chunk_for(chunk, n_keep * thin, dt, cap, chunk_seconds)
                bar.update(done_iters, "sampling" + status)
                maybe_checkpoint()
            if until is None or state.draws_done >= until.max_draws:
                break
            t0 = time.perf_counter()
            last_check = until.check(partial_posterior())
            checked_at = state.draws_done
            cost = time.perf_counter() - t0
            t_diag += cost
            status = (f" R-hat {last_check['rhat']:.3f} ESS {last_check['ess_bulk']:.0f}/"
                      f"{last_check['ess_tail']:.0f}")
            if not last_check["failed"]:
                break
            kept = state.draws_done
            rate = kept / max(t_samp, 1e-9)  # kept draws per second of sampling
            by_time = kept + int(math.ceil(rate * cost / DIAGNOSTIC_SHARE))
            by_growth = int(math.ceil(kept * until.growth))
            need = kept
            if math.isfinite(last_check["ess_bulk"]) and last_check["ess_bulk"] > 0:
                short = max(until.ess_bulk / last_check["ess_bulk"], until.ess_tail / max(last_check["ess_tail"], 1e-9))
                need = int(math.ceil(kept * min(short, 4.0)))
            # at most MAX_GROWTH-fold per check: a fast sampler with costly diagnostics would otherwise
            # overshoot the draws it needs by far (in time that is cheap, in memory it is not)
            target = min(max(by_time, by_growth, need), kept * MAX_GROWTH)
            if target * until.growth > until.max_draws:
                target = until.max_draws  # one last check at max_draws rather than two close ones
            target = min(until.max_draws, target)
            try:
                storage.ensure(target)
                if direct:  # the storage may have grown into new arrays: the kernel writes there now
                    buffers.update(_direct_buffers(spec, storage, order))
            except MemoryLimit as exc:
                warnings.warn(f"until=: stopping at {kept} draws per chain, more would not fit in memory ({exc})",
                              RuntimeWarning, stacklevel=3)
                break
            next_check = target
            state.draws_target = target
            bar.total = max(bar.total, done_iters + (target - kept) * thin)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    sync_rng()
    if until is not None:
        state.draws_target = state.draws_done if not interrupted else max(target, state.draws_done)
    if interrupted:
        warnings.warn(
            f"sampling interrupted: keeping {state.draws_done} of {target} draws per chain"
            + (" (interrupted during warm-up)" if state.warmup_done < state.warmup else "")
            + "; model.resume(post, ...) continues the run exactly",
            RuntimeWarning, stacklevel=3)
    elif until is not None:
        if checked_at != state.draws_done and state.draws_done >= until.max_draws:
            t0 = time.perf_counter()
            last_check = until.check(partial_posterior())
            t_diag += time.perf_counter() - t0
        if last_check is not None and last_check["failed"]:
            failed = last_check["failed"]
            shown = ", ".join(f"{k} (R-hat {v[0]:.3f}, ESS bulk {v[1]:.0f}, tail {v[2]:.0f})"
                              for k, v in list(failed.items())[:10])
            more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
            warnings.warn(f"not converged after max_draws = {until.max_draws} draws per chain: {shown}{more} "
                          f"miss R-hat <= {until.rhat}, ESS >= {until.ess_bulk} (bulk) / {until.ess_tail} (tail)",
                          RuntimeWarning, stacklevel=3)
    storage.finish(state.draws_done)
    post = _posterior(spec, storage, state, stop=state.draws_done)
    post.attrs.update(setup_seconds=setup_seconds, warmup_seconds=t_warm, sampling_seconds=t_samp,
                      diagnostics_seconds=t_diag, checkpoint_seconds=t_ckpt, interrupted=interrupted)
    if last_check is not None:
        post.attrs["until"] = {"rhat": last_check["rhat"], "ess_bulk": last_check["ess_bulk"],
                               "ess_tail": last_check["ess_tail"], "converged": not last_check["failed"],
                               "failed": sorted(last_check["failed"])[:100]}
    if writer is not None:
        t0 = time.perf_counter()
        writer.write(post)
        post.attrs["checkpoint_seconds"] = t_ckpt + time.perf_counter() - t0
    return post


def _next_chunk_for(chunk, n_iter, seconds, cap, target_seconds):
    """sampling._next_chunk aiming at ``target_seconds`` (shorter than usual between close checkpoints)."""
    scale = sampling.TARGET_CHUNK_SECONDS / target_seconds if target_seconds > 0 else 1.0
    return sampling._next_chunk(chunk, n_iter, seconds * scale, cap)


def _posterior(spec: ChainSpec, storage, state: RunState, stop: int):
    from .posterior import Posterior

    draws = storage.view(stop)
    attrs = dict(spec.attrs)
    attrs.update(draws=stop, warmup=state.warmup, thin=state.thin, chains=state.chains, backend=state.backend)
    post = Posterior(draws, dims={k: d for k, (_, d) in spec.variables.items()}, coords=spec.coords, attrs=attrs)
    post.state = state.copy()
    if getattr(storage, "directory", None) is not None:
        post.store = storage
    return post


class CheckpointWriter:
    """Writes the partial posterior and state every ``every`` seconds, atomically.

    A self-contained .npz rewrites every draw so far, so the interval stretches to 32 times the
    last write's duration (writes take ~3% of the run however large the file grows).
    With a disk store only the state and the store's index are written (the draws already are).
    """

    def __init__(self, path, every, storage):
        if not (isinstance(every, (int, float)) and every > 0 and math.isfinite(every)):
            raise ValueError(f"checkpoint_every must be a positive number of seconds, got {every!r}")
        self.path = None if path is None else Path(path)
        self.every = float(every)
        self.storage = storage
        self.last = time.perf_counter()
        self.interval = self.every

    def due(self) -> bool:
        return time.perf_counter() - self.last >= self.interval

    def write(self, post) -> None:
        t0 = time.perf_counter()
        if getattr(self.storage, "directory", None) is not None:
            self.storage.checkpoint(post)
        if self.path is not None:
            post.save(self.path)
        dt = time.perf_counter() - t0
        self.last = time.perf_counter()
        self.interval = max(self.every, dt / CHECKPOINT_SHARE - dt)


# ---- element-wise maps (the same numbers for a draw whatever the chunk it is in) ---------------

_MAP_BLOCK = 1 << 15


def affine_rows(src: np.ndarray, M: np.ndarray, ref: np.ndarray, dest: np.ndarray) -> None:
    """dest[..., i] = (sum_k M[i, k] src[..., k]) + ref[i], summed in the order k = 0, 1, ...

    Element-wise NumPy passes over blocks of draws, so each draw's result does not depend
    on how many draws are mapped at once (a matrix product's blocking could change the
    rounding, and with it the bitwise identity of resumed and uninterrupted runs).
    """
    C, n, p = src.shape
    if n == 0:
        return
    step = max(1, _MAP_BLOCK // max(1, C * p))
    tmp = np.empty((C, min(step, n), p))
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        u = src[:, r0:r1]
        acc = dest[:, r0:r1]
        t = tmp[:, : r1 - r0]
        np.multiply(u[..., 0:1], M[:, 0], out=acc)
        for k in range(1, p):
            np.multiply(u[..., k:k + 1], M[:, k], out=t)
            np.add(acc, t, out=acc)
        np.add(acc, ref, out=acc)


def copy_draws(src: np.ndarray, dest: np.ndarray) -> None:
    dest[...] = src


def _direct_buffers(spec: ChainSpec, storage, order) -> dict:
    """The kernel's outputs as views of the variables' arrays (chains, capacity, *shape), each in its
    output's shape (same values, e.g. tau2 (q,) as (q, 1)); reshaping raises rather than copies."""
    out = {}
    for k in order:
        shape, kept = spec.outputs[k]
        if k in storage.arrays:
            view = storage.arrays[k].view()
            view.shape = view.shape[:2] + tuple(shape)
            out[k] = view
        elif kept and _values(shape) == 0:  # e.g. no pooled coefficients: written at the storage's draw index
            out[k] = np.empty((storage.chains, storage.capacity) + tuple(shape))
    return out


def run_options(until, checkpoint, checkpoint_every, store, progress) -> RunOptions:
    """Validate the long-run options before any data is read."""
    if until is not None and not isinstance(until, Converged):
        raise ValueError(f"until must be a gibbsreg.Converged(...) rule, got {type(until).__name__}")
    if not (isinstance(checkpoint_every, (int, float)) and not isinstance(checkpoint_every, bool)
            and math.isfinite(checkpoint_every) and checkpoint_every > 0):
        raise ValueError(f"checkpoint_every must be a positive number of seconds, got {checkpoint_every!r}")
    if checkpoint is not None:
        cp = Path(checkpoint)
        if cp.is_dir():
            raise ValueError(f"checkpoint={str(checkpoint)!r} is a directory; give a file name such as 'run.npz'")
        if not cp.parent.exists() and str(cp.parent):
            raise ValueError(f"checkpoint={str(checkpoint)!r}: the directory {str(cp.parent)!r} does not exist")
    if store is not None and Path(store).exists() and not Path(store).is_dir():
        raise ValueError(f"store={str(store)!r} exists and is not a directory; the store is a directory")
    return RunOptions(until, None if checkpoint is None else str(checkpoint), float(checkpoint_every),
                      None if store is None else str(store), progress)


def resume_run(post, spec: ChainSpec, *, draws=None, until=None, checkpoint=None, checkpoint_every=60.0, store=None,
               backend=None, progress=True, setup_seconds=0.0):
    """Continue ``post``'s run with the model ``spec`` built from the same data (checked by fingerprint)."""
    from .runstate import check_fingerprint, restore_streams
    from .sampling import BACKENDS

    state = getattr(post, "state", None)
    if state is None:
        raise ValueError("this posterior carries no sampler state (made by an older gibbsreg, or by a function "
                         "that does not keep one), so it cannot be resumed")
    if state.kind != spec.kind:
        raise ValueError(f"cannot resume a {state.kind} run with a {spec.kind} model")
    if state.config.get("model") != spec.config.get("model"):
        raise ValueError(f"cannot resume a {state.config.get('model')} run with a {spec.config.get('model')}")
    if not check_fingerprint(state.fingerprint, spec.fingerprint):
        warnings.warn("the data's statistics equal the saved run's only up to rounding (recomputed on another "
                      "machine or library?); the continued draws can differ from an uninterrupted run in the last "
                      "digits", RuntimeWarning, stacklevel=3)
    if post.ndraws != state.draws_done:
        raise ValueError(f"the posterior holds {post.ndraws} draws but its state says {state.draws_done}")
    state = state.copy()
    if backend is not None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        state.backend = backend
    if draws is None:
        if until is None and "until" in state.config and state.draws_target > state.draws_done:
            until = Converged.from_dict(state.config["until"])
        remaining = state.draws_target - state.draws_done
        if remaining <= 0 and state.warmup_done >= state.warmup and until is None:
            raise ValueError(f"the run is complete ({state.draws_done} draws per chain); pass draws=N to extend it")
        draws = max(remaining, 0)
    elif isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 0:
        raise ValueError(f"draws must be a non-negative integer, got {draws!r}")
    if until is not None and draws == 0:
        draws = 1
    if store is None and getattr(post, "store", None) is not None:
        store = str(post.store.directory)
    options = run_options(until, checkpoint, checkpoint_every, store, progress)
    streams = restore_streams(state.rng)
    if spec.adopt_state is not None:
        spec.adopt_state(state.arrays, state.config)
    config = dict(spec.config)
    config.update({k: v for k, v in state.config.items()
                   if k in ("init_superchains", "until", "checkpoint", "checkpoint_every")})
    state.config = config
    spec.attrs["seed"] = post.attrs.get("seed")
    return run_chains(spec, state, streams, options, draws_more=int(draws), previous=post,
                      setup_seconds=setup_seconds)


def resume(source, X=None, y=None, groups=None, *, stats=None, model=None, draws: int | None = None, until=None,
           checkpoint=None, checkpoint_every: float | None = None, store=None, backend: str | None = None,
           progress: bool = True):
    """Continue a run from a Posterior, a saved posterior or checkpoint file, or a store directory.

    The run's model settings and resolved prior are in the file; the data are not, so pass the
    same ``X, y`` (and ``groups`` for a hierarchical model): their statistics are checked
    against the run's fingerprint (or pass their ``stats=``, e.g. from :func:`gibbsreg.read_stats`).
    ``model`` (optional) checks its prior too.  ``draws=None``
    finishes the planned run (``until=`` continues a convergence rule); ``draws=N`` adds N.
    A run read from a checkpoint file keeps checkpointing to it (``checkpoint=False`` stops).
    The result equals, bit for bit, an uninterrupted run with the same seed.
    """
    from .posterior import Posterior, load

    path = None
    if isinstance(source, Posterior):
        post = source
    else:
        path = Path(source)
        post = load(path)
    state = post.state
    if state is None:
        raise ValueError(f"{'this posterior' if path is None else repr(str(path))} carries no sampler state, "
                         "so it cannot be resumed")
    if (X is None or y is None) and stats is None:
        raise ValueError("resume needs the data the run was made with: resume(source, X, y"
                         + (", groups)" if state.kind == "hierarchical" else ")")
                         + " (the checkpoint holds the statistics' fingerprint, not the rows)")
    cfg = state.config
    if checkpoint is None and path is not None and cfg.get("checkpoint") and not path.is_dir():
        checkpoint = str(path)
    if checkpoint is False:
        checkpoint = None
    if checkpoint_every is None:
        checkpoint_every = float(cfg.get("checkpoint_every", 60.0))
    kw = dict(draws=draws, until=until, checkpoint=checkpoint, checkpoint_every=checkpoint_every, store=store,
              backend=backend, progress=progress)
    if state.kind == "conjugate":
        from .conjugate import ConjugatePosterior
        from .io.api import model_stats, remembered_rows

        if draws is None:
            raise ValueError("the exact sampler's runs are always complete; pass draws=N to add N draws per chain")
        source = model_stats(X, y, stats=stats, intercept=bool(post.attrs.get("intercept", True)), who="resume")
        cp = ConjugatePosterior(source, source.to_sufficient(), post.attrs["prior"], remembered_rows(X, y))
        return cp.resume(post, draws=draws)
    if state.kind == "flat":
        from .flat import LinearRegression, flat_spec
        from .io.api import model_stats, remembered_rows
        from .priors import ResolvedExchangeable

        if model is not None:
            if not isinstance(model, LinearRegression):
                raise ValueError(f"this is a LinearRegression run; got a {type(model).__name__} model")
            return model.resume(post, X, y, stats=stats, **kw)
        prior = post.attrs["prior"]
        source = model_stats(X, y, stats=stats, intercept=bool(cfg.get("intercept", True)), who="resume")
        stats = source.to_sufficient(center=not isinstance(prior, ResolvedExchangeable))
        spec = flat_spec(stats, prior, source.names, source.n, bool(cfg.get("intercept", True)), None,
                         cfg.get("init_superchains"), cfg.get("dtype", "float64"))
        resumed = resume_run(post, spec, **kw)
        resumed.data = remembered_rows(X, y)
        return resumed
    if state.kind == "crossed":
        from .factors import CrossedRegression

        if not isinstance(model, CrossedRegression):
            raise ValueError("resuming a CrossedRegression run needs its model: resume(source, X, y, groups, "
                             "model=CrossedRegression([...factors...]))")
        if stats is not None:
            raise ValueError("the crossed model runs on its cell statistics from the rows: pass X, y and groups")
        return model.resume(post, X, y, groups, **kw)
    from .hierarchical import HierarchicalRegression, hier_spec

    if model is not None:
        if not isinstance(model, HierarchicalRegression):
            raise ValueError(f"this is a HierarchicalRegression run; got a {type(model).__name__} model")
        return model.resume(post, X, y, groups, stats=stats, **kw)
    if groups is None and stats is None:
        raise ValueError("resuming a hierarchical run needs groups: resume(source, X, y, groups)")
    rebuilt = HierarchicalRegression(varying=cfg["varying"], intercept=cfg["intercept"], sampler=cfg["sampler"])
    design, labels, vi, pi, flat_stats, gs = rebuilt._entry(X, y, groups, stats, who="resume")
    spec = hier_spec(gs, post.attrs["prior"], design, labels, vi, pi, cfg["sampler"], cfg["store_beta"], None,
                     cfg.get("init_superchains"))
    resumed = resume_run(post, spec, **kw)
    from .io.api import remembered_rows

    resumed.data = remembered_rows(X, y, groups, labels.tolist())
    return resumed
