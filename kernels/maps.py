"""Maps of stored draws back to the original coordinates, in parallel over draws."""

from numba import njit, prange


@njit(cache=True, parallel=True)
def divide_add(src, scale, shift, dest):
    """dest[c, d, e] = src[c, d, e] / scale[e] + shift[e] for src, dest (chains, draws, m): the same two
    roundings as NumPy's divide then add, in one pass shared between threads."""
    C, n, m = src.shape
    for i in prange(C * n):
        c = i // n
        d = i % n
        for e in range(m):
            dest[c, d, e] = src[c, d, e] / scale[e] + shift[e]
