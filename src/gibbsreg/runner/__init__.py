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

The driver's modules: spec (the :class:`Converged` stop rule, :class:`ChainSpec`, the run options and
their validation), chunks (the chunk loop :func:`run_chains` with its helpers, the checkpoint writer and
the tuning constants such as ``SCRATCH_ELEMENTS``), maps (the element-wise maps to the posterior's
coordinates) and continuation (:func:`resume_run` and :func:`resume`).
"""

from .chunks import CheckpointWriter, new_state, run_chains
from .continuation import resume, resume_run
from .maps import affine_rows, copy_draws, map_diagonal_draws
from .spec import ChainSpec, Converged, RunOptions, run_options

__all__ = [
    "Converged",
    "ChainSpec",
    "RunOptions",
    "new_state",
    "run_chains",
    "CheckpointWriter",
    "affine_rows",
    "copy_draws",
    "map_diagonal_draws",
    "run_options",
    "resume_run",
    "resume",
]
