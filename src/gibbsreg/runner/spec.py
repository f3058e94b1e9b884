"""How a model runs under the driver, and the options of a run: the :class:`Converged` stop rule,
:class:`ChainSpec`, :class:`RunOptions` and their validation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np


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
        from ..store import summary_blocks

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
