"""The shared row pass (kernels/rowpass.py): G = X' diag(w) X, h = X'(w u) and eta = X beta."""

import time

import numpy as np
import pytest

from gibbsreg.kernels.rowpass import linear_predictor, mirror_lower, weighted_cross


@pytest.mark.parametrize("n, p", [(0, 3), (1, 1), (3, 2), (7, 5), (1001, 20)])
def test_weighted_cross_is_numpys(n, p):
    rng = np.random.default_rng(n + p)
    X = rng.standard_normal((n, p))
    w, u = rng.random(n), rng.standard_normal(n)
    G, h = np.full((p, p), 7.0), np.ones(p)  # adds into what is there; the upper triangle is left alone
    weighted_cross(X, w, u, G, h)
    want = X.T @ (w[:, None] * X)
    np.testing.assert_allclose(np.tril(G), np.tril(want + 7.0), rtol=1e-12, atol=1e-12 * max(n, 1))
    np.testing.assert_array_equal(np.triu(G, 1), np.triu(np.full((p, p), 7.0), 1))
    np.testing.assert_allclose(h, X.T @ (w * u) + 1.0, rtol=1e-12, atol=1e-12 * max(n, 1))
    mirror_lower(G, p)
    np.testing.assert_array_equal(G, G.T)


def test_row_ranges_add_up_and_the_pass_is_deterministic():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((103, 6))
    w, u = rng.random(103), rng.standard_normal(103)
    G1, h1 = np.zeros((6, 6)), np.zeros(6)
    weighted_cross(X, w, u, G1, h1)
    G2, h2 = np.zeros((6, 6)), np.zeros(6)
    weighted_cross(X, w, u, G2, h2)
    np.testing.assert_array_equal(G1, G2)
    np.testing.assert_array_equal(h1, h2)
    G3, h3 = np.zeros((6, 6)), np.zeros(6)
    for lo, hi in [(0, 50), (50, 51), (51, 103)]:
        weighted_cross(np.ascontiguousarray(X[lo:hi]), w[lo:hi], u[lo:hi], G3, h3)
    np.testing.assert_allclose(G3, G1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h3, h1, rtol=1e-12, atol=1e-12)


def test_linear_predictor():
    rng = np.random.default_rng(2)
    X, beta = rng.standard_normal((37, 4)), rng.standard_normal(4)
    eta = np.empty(37)
    linear_predictor(X, beta, eta)
    np.testing.assert_allclose(eta, X @ beta, rtol=1e-13, atol=1e-13)


def test_row_pass_speed_against_numpy():
    """The measured ratio at the benchmark's shape (n = 5000, p = 20); a loose bound on a shared machine."""
    rng = np.random.default_rng(3)
    n, p = 5000, 20
    X = rng.standard_normal((n, p))
    w, u = rng.random(n), rng.standard_normal(n)
    G, h = np.zeros((p, p)), np.zeros(p)
    weighted_cross(X, w, u, G, h)

    def best(f, k=20):
        out = np.inf
        for _ in range(k):
            t = time.perf_counter()
            f()
            out = min(out, time.perf_counter() - t)
        return out

    ours = best(lambda: weighted_cross(X, w, u, G, h))
    numpy = best(lambda: (X.T @ (w[:, None] * X), X.T @ (w * u)))
    print(f"row pass {ours * 1e6:.0f} us, NumPy {numpy * 1e6:.0f} us, ratio {ours / numpy:.2f}")
    assert ours < 3.0 * numpy
