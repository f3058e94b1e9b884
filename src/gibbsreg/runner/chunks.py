"""The chunk loop: :func:`run_chains` runs warm-up and sampling in atomic chunks, checks convergence and
writes checkpoints between them; with its helpers, the checkpoint writer and the driver's tuning constants."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np

from .. import sampling
from ..kernels import warm
from ..runstate import RunState, capture_streams
from ..sampling import Progress, chunk_runner, no_huge_pages
from .spec import ChainSpec, Converged, RunOptions, _values

SCRATCH_ELEMENTS = 1 << 22  # bound on chains * kept draws per chunk * values per draw (the reused buffer)
DIAGNOSTIC_SHARE = 0.05
CHECKPOINT_SHARE = 0.03  # self-contained checkpoint files: writes stretch to keep below this share
MAX_GROWTH = 10  # until=: the next check waits until sampling time is this share's inverse times its cost

DEFAULT_CHUNK_SECONDS = sampling.TARGET_CHUNK_SECONDS  # the chunk time first_chunk is meant for


def new_state(spec: ChainSpec, streams, *, chains, warmup, draws, thin, seed, backend) -> RunState:
    from ..runstate import seed_label

    arrays = spec.init_state(streams)
    return RunState(spec.kind, chains, arrays, capture_streams(streams), warmup, 0, draws, 0, thin,
                    seed_label(seed), backend, spec.fingerprint, dict(spec.config))


def run_chains(spec: ChainSpec, state: RunState, streams, options: RunOptions, *, draws_more: int,
               previous=None, setup_seconds: float = 0.0):
    """Continue ``state`` (fresh or resumed) until ``draws_more`` more kept draws per chain (or the
    warm-up and the planned draws), or convergence with ``options.until``; returns a Posterior
    holding the previous draws (if any) followed by the new ones, and the final state (``state`` itself,
    updated in place: callers hand over a state of their own)."""
    from ..store import MemoryLimit, make_storage

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
    from ..store import MemoryStorage

    # in memory, a kernel whose outputs are the variables writes each draw once, into its final place
    direct = spec.direct_outputs and isinstance(storage, MemoryStorage)
    buffers = dict(scratch)
    if direct:
        buffers.update(_direct_buffers(spec, storage, order))
    if state.backend == "numba":
        warm.start()  # a cold cache: the diagnostics kernels compile on another core meanwhile
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

    first_call = [True]

    def atomic_chunk(run) -> float:
        """Seconds ``run()`` took; Ctrl-C during it restores the state and generators from before it."""
        snap = snapshot()
        try:
            t0 = time.perf_counter()
            if first_call[0]:  # where a cold cache compiles: the progress line says so
                first_call[0] = False
                with bar.first_call():
                    run()
            else:
                run()
            return time.perf_counter() - t0
        except KeyboardInterrupt:
            rollback(snap)
            raise

    def keep_chunk(n_keep):
        if direct:  # the kernel writes the kept draws into their final place
            run_chunk(n_keep * thin, True, state.draws_done)
        else:
            run_chunk(n_keep * thin, True, 0)
            storage.put(spec, scratch, state.draws_done, n_keep)

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
            dt = atomic_chunk(lambda: run_chunk(n_iter, False, 0))
            state.warmup_done += n_iter
            t_warm += dt
            done_iters += n_iter
            chunk = _next_chunk_for(chunk, n_iter, dt, cap, chunk_seconds)
            bar.update(done_iters, "warmup")
            maybe_checkpoint()
        while True:
            while state.draws_done < target:
                n_keep = max(1, min(max(chunk // thin, 1), target - state.draws_done, scratch_draws))
                dt = atomic_chunk(lambda: keep_chunk(n_keep))
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
    post = _posterior(spec, storage, state, stop=state.draws_done, final=True)
    if until is None and not interrupted and state.draws_done >= MIN_DRAWS_CHECKED:
        t0 = time.perf_counter()
        _warn_unconverged(post)
        t_diag += time.perf_counter() - t0
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


MIN_DRAWS_CHECKED = 4  # rank-normalised split R-hat needs at least two draws per half-chain


def _warn_unconverged(post) -> None:
    """One warning line when a finished run's population-level scalars miss R-hat <= 1.01 or bulk/tail
    ESS >= 400 (Vehtari et al. 2021), naming the worst; group-level values are left to post.summary()."""
    names = [n for n in post.names if not post.group_level(n)]
    rule = Converged(var_names=names)
    check = rule.check(post)
    if not check["failed"]:
        return

    def badness(item):  # how far a value is from the targets, in multiples of them (NaN: as bad as can be)
        r, eb, et = (np.nan_to_num(v, nan=np.inf if k == 0 else 0.0) for k, v in enumerate(item[1]))
        return max(r - 1.0, 0.0) / (rule.rhat - 1.0) + rule.ess_bulk / max(min(eb, et), 1e-9)

    worst, (r, eb, et) = max(check["failed"].items(), key=badness)
    others = len(check["failed"]) - 1
    warnings.warn(f"the chains have not converged: {worst} has R-hat {r:.3f}, ESS bulk {eb:.0f}, tail {et:.0f} "
                  f"(targets: R-hat <= {rule.rhat}, ESS >= {rule.ess_bulk:.0f})"
                  + (f"; {others} other population-level value{'s' if others > 1 else ''} too" if others else "")
                  + "; draw more (model.resume(post, ..., draws=N)) or use until=Converged()",
                  RuntimeWarning, stacklevel=4)


def _next_chunk_for(chunk, n_iter, seconds, cap, target_seconds):
    """sampling._next_chunk aiming at ``target_seconds`` (shorter than usual between close checkpoints)."""
    scale = sampling.TARGET_CHUNK_SECONDS / target_seconds if target_seconds > 0 else 1.0
    return sampling._next_chunk(chunk, n_iter, seconds * scale, cap)


def _posterior(spec: ChainSpec, storage, state: RunState, stop: int, final: bool = False):
    """The draws up to ``stop`` as a Posterior with the run's state: a copy of it, or, for the ``final``
    Posterior of a run (whose state run_chains's callers hand over and never reuse), the state itself."""
    from ..posterior import Posterior

    draws = storage.view(stop)
    attrs = dict(spec.attrs)
    attrs.update(draws=stop, warmup=state.warmup, thin=state.thin, chains=state.chains, backend=state.backend)
    post = Posterior(draws, dims={k: d for k, (_, d) in spec.variables.items()}, coords=spec.coords, attrs=attrs)
    post.state = state if final else state.copy()
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
        self.warned = False  # the single-file checkpoint grew too large to rewrite within ``every``: said once

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
        if self.path is not None and getattr(self.storage, "directory", None) is None and dt > self.every \
                and not self.warned:
            self.warned = True
            size = self.path.stat().st_size if self.path.exists() else 0
            warnings.warn(f"checkpoint {str(self.path)!r}: rewriting every draw so far ({size / 1e9:.2f} GB) took "
                          f"{dt:.1f} s, more than checkpoint_every = {self.every:g} s, so checkpoints now come every "
                          f"{self.interval:.0f} s; a disk store (store='run_dir', --store) writes only the new draws",
                          RuntimeWarning, stacklevel=4)


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
