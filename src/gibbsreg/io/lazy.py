"""Lazy synthetic designs as Dask arrays, generated chunk by chunk from per-chunk SeedSequence children.

Chunk i of a data set is drawn from the i-th child of one SeedSequence, so the values depend only
on (seed, n, p, chunks) — never on the scheduler, the number of workers or the order chunks are
computed in — and no chunk needs another one.  Nothing is materialised until computed.
"""

from __future__ import annotations

import numpy as np

from .dask import require_dask


def _chunk_sizes(n: int, chunks) -> list[int]:
    if isinstance(chunks, (int, np.integer)):
        if chunks < 1:
            raise ValueError(f"chunks must be a positive number of rows, got {chunks}")
        sizes = [int(chunks)] * (n // int(chunks))
        if n % int(chunks):
            sizes.append(n % int(chunks))
        return sizes
    sizes = [int(c) for c in chunks]
    if sum(sizes) != n or min(sizes) < 1:
        raise ValueError(f"chunks must be positive row counts adding up to n = {n}")
    return sizes


def _normals(rng, shape) -> np.ndarray:
    """``rng.standard_normal(shape)`` bit for bit, drawn by the kernels' inlined ziggurat on the generator's own
    PCG64 stream (gibbsreg.kernels.draws.fill_normals: about 2.6 ns a number against NumPy's 10-20), and the
    generator advanced past them."""
    from ..kernels.draws import fill_normals, set_stream_state, stream_state

    out = np.empty(shape)
    st = stream_state(rng)
    fill_normals(st, out.reshape(-1), out.size)
    set_stream_state(rng, st)
    return out


def _flat_chunk(ss, m, px, beta, sigma, intercept):
    rng = np.random.default_rng(ss)
    X = _normals(rng, (m, px))
    y = X @ beta[int(intercept):] + (0.0 + sigma * _normals(rng, m))  # = rng.normal(0.0, sigma, m)
    if intercept:
        y += beta[0]
    return X, y


def _hier_chunk(ss, m, px, J, beta, sig2, intercept):
    rng = np.random.default_rng(ss)
    codes = rng.integers(0, J, m)
    X = _normals(rng, (m, px))
    full = np.hstack([np.ones((m, 1)), X]) if intercept else X
    y = np.einsum("ij,ij->i", full, beta[codes]) + np.sqrt(sig2[codes]) * _normals(rng, m)
    return X, y, codes


def _assemble(parts, sizes, px, with_groups):
    import dask.array as da

    Xs = [da.from_delayed(d[0], shape=(m, px), dtype=float) for d, m in zip(parts, sizes)]
    ys = [da.from_delayed(d[1], shape=(m,), dtype=float) for d, m in zip(parts, sizes)]
    X, y = da.concatenate(Xs, axis=0), da.concatenate(ys)
    if not with_groups:
        return X, y, None
    gs = [da.from_delayed(d[2], shape=(m,), dtype=np.int64) for d, m in zip(parts, sizes)]
    return X, y, da.concatenate(gs)


def lazy_regression(n, p, *, sigma=1.0, intercept=True, seed=None, chunks=1 << 17):
    """Dask X (n, p - intercept) standard normal, y = X beta + N(0, sigma^2); truth: beta (p,), sigma2."""
    require_dask("synthetic_regression(chunks=...)")
    import dask

    if n < 1 or p < 1:
        raise ValueError(f"need n >= 1 and p >= 1, got n={n}, p={p}")
    root = np.random.SeedSequence(seed)
    truth_ss, data_ss = root.spawn(2)
    beta = np.random.default_rng(truth_ss).normal(0.0, 1.0, size=p)
    px = p - int(intercept)
    sizes = _chunk_sizes(int(n), chunks)
    gen = dask.delayed(_flat_chunk, pure=True, nout=2)
    parts = [gen(ss, m, px, beta, float(sigma), bool(intercept)) for ss, m in zip(data_ss.spawn(len(sizes)), sizes)]
    X, y, _ = _assemble(parts, sizes, px, False)
    return X, y, {"beta": beta, "sigma2": float(sigma) ** 2}


def lazy_hierarchical(J, group_size, p, *, tau=1.0, sigma=1.0, mu=None, intercept=True, group_variance=False,
                      seed=None, chunks=1 << 17):
    """Dask X, y and group codes (0..J-1, each row's group uniform at random); n = J * group_size rows.

    truth: beta (J, p), mu (p,), tau2 (p,), sigma2 (scalar or (J,)).
    """
    require_dask("synthetic_hierarchical(chunks=...)")
    import dask

    if not isinstance(group_size, (int, np.integer)) or group_size < 1:
        raise ValueError("with chunks=, group_size must be a positive int (the expected rows per group)")
    root = np.random.SeedSequence(seed)
    truth_ss, data_ss = root.spawn(2)
    rng = np.random.default_rng(truth_ss)
    px = p - int(intercept)
    mu = rng.normal(0.0, 1.0, p) if mu is None else np.broadcast_to(np.asarray(mu, float), (p,)).copy()
    tau2 = np.broadcast_to(np.asarray(tau, float) ** 2, (p,)).copy()
    beta = mu + np.sqrt(tau2) * rng.standard_normal((J, p))
    sig2 = sigma**2 * np.exp(0.5 * rng.standard_normal(J)) if group_variance else np.full(J, float(sigma) ** 2)
    n = int(J) * int(group_size)
    sizes = _chunk_sizes(n, chunks)
    gen = dask.delayed(_hier_chunk, pure=True, nout=3)
    parts = [gen(ss, m, px, int(J), beta, sig2, bool(intercept)) for ss, m in zip(data_ss.spawn(len(sizes)), sizes)]
    X, y, g = _assemble(parts, sizes, px, True)
    truth = {"beta": beta, "mu": mu, "tau2": tau2, "sigma2": sig2 if group_variance else float(sigma) ** 2}
    return X, y, g, truth
