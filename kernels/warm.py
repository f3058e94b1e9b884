"""Kernels compiled in a second process while the first compiles another (a cold cache only).

On a fresh install the first run compiles its sampler (10-20 s) and then, for its summary and the
convergence check, the diagnostics kernels (about 12 s). Numba compiles one function at a time per
process, so the first sample call starts ``python -m gibbsreg.kernels.warm diagnostics`` once: it
compiles them on another core into the same cache, and the first diagnostics call waits for it and
then reads the cache. A caller that knows what comes next (``gibbsreg demo`` runs a hierarchical
model after the flat one) starts that target too. A marker file per target and kernel-source digest
says the work is done; with the marker (or ``GIBBSREG_NO_WARM=1``) nothing is started, and any
failure just leaves the compilation to the first call, as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TARGETS = ("diagnostics", "hierarchical")
_PROCESSES: dict = {}
_STARTED: set = set()


def _marker(target: str) -> Path:
    from numba.core import config

    from ._cache import kernels_digest, user_cache_dir

    base = Path(config.CACHE_DIR) if config.CACHE_DIR else user_cache_dir()
    return base / f"{target}-{kernels_digest(os.path.dirname(os.path.abspath(__file__)))[:16]}.compiled"


def start(target: str = "diagnostics") -> None:
    """Start compiling ``target``'s kernels in the background, once per process, if not compiled yet."""
    if target in _STARTED:
        return
    _STARTED.add(target)
    if os.environ.get("GIBBSREG_NO_WARM") or os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return
    try:
        if _marker(target).exists():
            return
        _PROCESSES[target] = subprocess.Popen(
            [sys.executable, "-m", "gibbsreg.kernels.warm", target], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, ValueError):  # no usable interpreter to start (embedded Python): compile in-process later
        pass


def wait(target: str = "diagnostics", timeout: float = 300.0) -> None:
    """Before ``target``'s first kernel call: let a background compilation finish (then its cache is read)."""
    process = _PROCESSES.pop(target, None)
    if process is not None:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def _compile(target: str) -> None:
    import warnings

    import numpy as np

    import gibbsreg as gr
    from gibbsreg.posterior import Posterior

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    if target == "diagnostics":
        post = Posterior({"a": rng.normal(size=(2, 40, 3)), "s": rng.normal(size=(2, 40))})
        post.summary()
        gr.Converged().check(post)
    elif target == "hierarchical":
        d = gr.datasets.synthetic_hierarchical(8, 5, 2, seed=0)
        gr.HierarchicalRegression().sample(d.X, d.y, d.groups, chains=2, draws=2, warmup=0, seed=0, progress=False)
    else:
        raise SystemExit(f"unknown target {target!r}; known: {TARGETS}")
    marker = _marker(target)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("compiled\n")


if __name__ == "__main__":
    os.environ["GIBBSREG_NO_WARM"] = "1"
    _compile(sys.argv[1] if len(sys.argv) > 1 else "diagnostics")
