"""Data in and statistics out: mergeable sufficient statistics, Dask collections, Parquet / CSV files.

The statistics are the hub (docs/scale-out.md): every input path ends in a
:class:`FlatStats` or :class:`GroupedStats` value, and every model can start from one.
Dask is imported only when a Dask object or a file is given.
"""

from .api import memory_stats, model_stats, sufficient_stats
from .stats import FlatStats, GroupedStats, load_stats, merge


def read_stats(source, y, x=None, groups=None, *, intercept=True, blocksize="64MiB", weights=None):
    """See :func:`gibbsreg.io.files.read_stats` (imported lazily: Dask only when needed)."""
    from .files import read_stats as _read

    return _read(source, y, x, groups, intercept=intercept, blocksize=blocksize, weights=weights)


__all__ = ["FlatStats", "GroupedStats", "load_stats", "merge", "model_stats", "read_stats", "sufficient_stats",
           "memory_stats"]
