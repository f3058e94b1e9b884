"""Numba kernels of gibbsreg: small dense linear algebra and one module per sampler.

A kernel takes plain arrays (sufficient statistics, prior arrays, per-chain
state, per-chain generators, output buffers), runs a chunk of iterations for
every chain in parallel and writes its results in place.
"""

from ._cache import install as _install_cache_locator

_install_cache_locator()
