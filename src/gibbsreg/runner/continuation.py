"""Continuing a run: :func:`resume_run` (a model's ``resume``) and :func:`resume` (from a Posterior, a
saved file or a store directory)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .. import registry
from .chunks import run_chains
from .spec import ChainSpec, Converged, run_options


def resume_run(post, spec: ChainSpec, *, draws=None, until=None, checkpoint=None, checkpoint_every=60.0, store=None,
               backend=None, progress=True, setup_seconds=0.0):
    """Continue ``post``'s run with the model ``spec`` built from the same data (checked by fingerprint)."""
    from ..runstate import check_fingerprint, restore_streams
    from ..sampling import BACKENDS

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
           progress: bool = True, weights=None, trials=None):
    """Continue a run from a Posterior, a saved posterior or checkpoint file, or a store directory.

    The run's model settings and resolved prior are in the file; the data are not, so pass the
    same ``X, y`` (and ``groups`` for a hierarchical model): their statistics are checked
    against the run's fingerprint (or pass their ``stats=``, e.g. from :func:`gibbsreg.read_stats`).
    ``model`` (optional) checks its prior too.  ``draws=None``
    finishes the planned run (``until=`` continues a convergence rule); ``draws=N`` adds N.
    A run read from a checkpoint file keeps checkpointing to it (``checkpoint=False`` stops).
    The result equals, bit for bit, an uninterrupted run with the same seed.  ``weights`` (the Gaussian
    models' known precisions) and ``trials`` (binomial counts; a flat binomial run also saves its own) go to
    the kind's resume as the run's data did.
    """
    from ..posterior import Posterior, load

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
    kind = registry.get(state.kind)
    if model is not None and not isinstance(model, kind.model):
        raise ValueError(f"this is a {kind.model.__name__} run; got a {type(model).__name__} model")
    if (X is None or y is None) and stats is None:
        raise ValueError(f"resume needs the data the run was made with: resume(source, {kind.data})"
                         " (the checkpoint holds the statistics' fingerprint, not the rows)")
    cfg = state.config
    if checkpoint is None and path is not None and cfg.get("checkpoint") and not path.is_dir():
        checkpoint = str(path)
    if checkpoint is False:
        checkpoint = None
    if checkpoint_every is None:
        checkpoint_every = float(cfg.get("checkpoint_every", 60.0))
    data = {k: v for k, v in (("weights", weights), ("trials", trials)) if v is not None}
    return kind.resume(post, X, y, groups, stats=stats, model=model, draws=draws, until=until, checkpoint=checkpoint,
                       checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress, **data)
