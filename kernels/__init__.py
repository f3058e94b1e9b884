"""Numba kernels of gibbsreg: small dense linear algebra and one module per sampler.

A kernel takes plain arrays (sufficient statistics, prior arrays, per-chain
state, per-chain generators, output buffers), runs a chunk of iterations for
every chain in parallel and writes its results in place.

Helpers that allocate nothing (the linear algebra, the random-number fills,
the hierarchical stages and steps, the crossed kernel's steps) are compiled
with ``_nrt=False``, Numba's own option for such functions (its string
helpers use it): their array arguments and views are borrowed from the
caller, which holds them for the call, instead of each costing an atomic
reference count up and down per call.  The hierarchical sweep makes about a
hundred such calls; without the counts W3b's kernel runs 8% faster.
"""

from ._cache import install as _install_cache_locator

_install_cache_locator()
