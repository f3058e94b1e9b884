"""The fused statistics pass (gibbsreg.io.stats.fused, kernels/statpass.py): exact against a two-pass reference
per group, the same bits at any number of threads, and accurate for data far from the origin."""

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg.io.stats import fused


def _reference(X, y, anchor):
    """Two-pass centred statistics of one set of rows at ``anchor`` (long double sums)."""
    Xl, yl = X.astype(np.longdouble), y.astype(np.longdouble)
    xm, ym = Xl.mean(axis=0), yl.mean()
    Xc, yc = Xl - xm, yl - ym
    r = yc - Xc @ anchor.astype(np.longdouble)
    return (float(len(y)), xm.astype(float), float(ym), (Xc.T @ Xc).astype(float), (Xc.T @ r).astype(float),
            float(r @ r))


def _close(a, b, rtol, scale=None):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.max(np.abs(b)) if scale is None else scale
    assert np.max(np.abs(a - b)) <= rtol * max(scale, 1e-300), (a, b)


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_groups_match_a_two_pass_reference(offset):
    rng = np.random.default_rng(3)
    n, p, J = 3000, 4, 37
    X = rng.normal(size=(n, p)) + offset
    y = X @ rng.normal(size=p) * 1e3 + 1e6 + rng.normal(size=n)
    codes = rng.integers(0, J, n)
    pooled = fused.flat_arrays(X, y)
    anchor = pooled[4][0]
    nk, xm, ym, C, b, h, rr = fused.grouped_arrays(X, y, codes, J, anchor)
    for g in range(J):
        rows = codes == g
        ref = _reference(X[rows], y[rows], anchor)
        assert nk[g] == ref[0]
        _close(xm[g], ref[1], 1e-14, scale=np.sqrt(ref[3].diagonal().max() / ref[0]) + np.abs(ref[1]).max())
        _close(ym[g], ref[2], 1e-14)
        _close(C[g], ref[3], 1e-10)
        # h and r'r are differences of numbers of the size of y: rounding of y itself bounds them
        _close(h[g], ref[4], 1e-12, scale=np.sqrt(ref[3].diagonal().max() * max(ref[5], 1.0)) + 1e-9 * abs(offset))
        _close(rr[g], ref[5], 1e-9)
    assert np.array_equal(b, np.broadcast_to(anchor, b.shape))


def test_same_bits_at_any_number_of_threads(monkeypatch):
    rng = np.random.default_rng(4)
    n, p = 3 * fused.SEGMENT_ROWS + 1234, 3
    X = rng.normal(size=(n, p))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=n)
    codes = rng.integers(0, 50, n)
    runs = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(fused, "_threads", lambda rows, t=threads: t)
        flat = fused.flat_arrays(X, y)
        grouped = fused.grouped_arrays(X, y, codes, 50, flat[4][0])
        runs.append(flat + grouped)
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert np.array_equal(a, b)


def test_nan_is_found_and_named_by_the_pass():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(10_000, 3))
    y = rng.normal(size=10_000)
    X[7777, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN at row 7777, column 2"):
        gr.sufficient_stats(X, y)
    with pytest.raises(ValueError, match=r"NaN at row 7777"):
        gr.sufficient_stats(X, y, rng.integers(0, 5, 10_000))
    y[123] = np.inf
    X[7777, 2] = 0.0
    with pytest.raises(ValueError, match=r"y contains inf at row 123"):
        gr.sufficient_stats(X, y)


def test_column_major_rows_give_the_row_major_statistics():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5000, 6)) * [1, 10, 100, 1e3, 1e4, 1e5] + 50
    y = X @ rng.normal(size=6) + rng.normal(size=5000)
    a = fused.flat_arrays(X, y)
    b = fused.flat_arrays(np.asfortranarray(X), y)
    n, xm, ym, C, anchor, h, rr = a
    for k in (0, 1, 2, 3, 4, 6):
        np.testing.assert_allclose(b[k], a[k], rtol=1e-12)
    # h is X'r at the least-squares slopes: zero up to rounding, on the scale sqrt(x'x r'r)
    assert np.all(np.abs(b[5] - h) <= 1e-12 * np.sqrt(np.diagonal(C[0]) * rr[0]))


def test_lazy_chunks_are_numpys_draws_bit_for_bit():
    """The lazy designs draw their normals with the kernels' ziggurat: the same numbers as NumPy's Generator."""
    from gibbsreg.io.lazy import _flat_chunk, _hier_chunk

    beta = np.array([0.5, 1.0, -2.0, 3.0])
    ss = np.random.SeedSequence(42)
    X, y = _flat_chunk(ss, 1000, 3, beta, 1.7, True)
    rng = np.random.default_rng(ss)
    X_ref = rng.standard_normal((1000, 3))
    y_ref = X_ref @ beta[1:] + rng.normal(0.0, 1.7, 1000) + beta[0]
    assert np.array_equal(X, X_ref) and np.array_equal(y, y_ref)
    J = 7
    betas = np.random.default_rng(1).normal(size=(J, 4))
    sig2 = np.full(J, 0.8)
    X, y, codes = _hier_chunk(ss, 500, 3, J, betas, sig2, True)
    rng = np.random.default_rng(ss)
    c_ref = rng.integers(0, J, 500)
    X_ref = rng.standard_normal((500, 3))
    full = np.hstack([np.ones((500, 1)), X_ref])
    y_ref = np.einsum("ij,ij->i", full, betas[c_ref]) + np.sqrt(sig2[c_ref]) * rng.standard_normal(500)
    assert np.array_equal(codes, c_ref) and np.array_equal(X, X_ref) and np.array_equal(y, y_ref)
