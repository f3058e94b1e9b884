"""Independent runs, locally or spread over a Dask distributed.Client (one task per batch of runs).

Each run is a pure function of its arguments (its randomness comes from its own SeedSequence
child), so the results do not depend on where, in which order or on how many workers it ran.
"""

from __future__ import annotations

from .sampling import Progress


def run_map(fn, items, *, client=None, progress: bool = False, label: str = "runs", batch: int = 1):
    """[fn(item) for item in items], locally or on ``client``'s workers, in the order of ``items``.

    ``batch`` runs share one task on a cluster (amortising the scheduling overhead of short runs).
    A progress line counts finished runs.
    """
    items = list(items)
    bar = Progress(len(items), progress, label)
    if client is None:
        out = []
        for k, item in enumerate(items):
            out.append(fn(item))
            bar.update(k + 1, "")
        bar.close()
        return out
    try:
        from distributed import as_completed
    except ImportError:
        raise ValueError('client= needs Dask distributed; install it with pip install "gibbsreg[dask]"') from None
    batch = max(1, int(batch))
    groups = [items[i:i + batch] for i in range(0, len(items), batch)]
    futures = client.map(_run_batch, [fn] * len(groups), groups, pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    results = [None] * len(groups)
    done = 0
    try:
        for fut in as_completed(futures):
            results[index[fut.key]] = fut.result()
            done += len(groups[index[fut.key]])
            bar.update(done, "")
    finally:
        bar.close()
    return [r for group in results for r in group]


def _run_batch(fn, items):
    return [fn(item) for item in items]
