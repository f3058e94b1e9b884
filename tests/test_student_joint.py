"""The Student-t model's joint (nu, sigma^2) move with the weights integrated out (kernels/robust/joint.py):
its derivatives against finite differences, and its stationary law against a 2-D quadrature of the target."""

import math

import numpy as np

from gibbsreg.kernels.robust import joint

PRIOR = (2.0, 0.1, 1.0, 1.0)  # nu ~ Gamma(2, rate 0.1), sigma^2 ~ IG(1, 1)


def _residuals(n=200, seed=1):
    r = np.random.default_rng(seed).standard_t(4, n) * 1.5
    return r * r


def test_derivatives_match_finite_differences():
    r2, n = _residuals(), 200.0
    f = lambda a, b: joint.joint_log_target(r2, n, a, b, *PRIOR)  # noqa: E731
    phi, s, eps = math.log(5.0), math.log(2.0), 1e-5
    _, d_phi, d_s, h_pp, h_ps, h_ss = joint._derivatives(r2, n, phi, s, *PRIOR)
    assert math.isclose(d_phi, (f(phi + eps, s) - f(phi - eps, s)) / (2 * eps), rel_tol=1e-7)
    assert math.isclose(d_s, (f(phi, s + eps) - f(phi, s - eps)) / (2 * eps), rel_tol=1e-7)
    e = 1e-4
    assert math.isclose(h_pp, (f(phi + e, s) - 2 * f(phi, s) + f(phi - e, s)) / e**2, rel_tol=1e-4)
    assert math.isclose(h_ss, (f(phi, s + e) - 2 * f(phi, s) + f(phi, s - e)) / e**2, rel_tol=1e-4)
    cross = (f(phi + e, s + e) - f(phi + e, s - e) - f(phi - e, s + e) + f(phi - e, s - e)) / (4 * e * e)
    assert math.isclose(h_ps, cross, rel_tol=1e-4)


def test_the_move_leaves_the_quadrature_posterior_invariant():
    """Posterior means of nu and sigma^2 from 20,000 moves (near-independent draws: the acceptance rate is
    about 0.9) within 4 Monte-Carlo standard errors of a 400 x 400 grid on (log nu, log sigma^2)."""
    r2, n = _residuals(), 200.0
    P, S = np.meshgrid(np.linspace(-1.0, 5.0, 400), np.linspace(-1.5, 2.5, 400), indexing="ij")
    L = np.array([[joint.joint_log_target(r2, n, a, b, *PRIOR) for a, b in zip(pr, sr)] for pr, sr in zip(P, S)])
    W = np.exp(L - L.max())
    W /= W.sum()
    exact = {"nu": (W * np.exp(P)).sum(), "s2": (W * np.exp(S)).sum()}
    rng = np.random.default_rng(7)
    nu, s2, draws, moved = 3.0, 1.0, [], 0
    for _ in range(20_000):
        z1, z2 = rng.standard_normal(2)
        new = joint.joint_step(r2, n, nu, s2, *PRIOR, z1, z2, rng.standard_gamma(0.5 * joint.T_DF),
                               rng.standard_exponential())
        moved += new[0] != nu
        nu, s2 = new
        draws.append((nu, s2))
    d = np.array(draws)[1000:]
    assert moved / 20_000 > 0.8
    for k, col in (("nu", 0), ("s2", 1)):
        x = d[:, col]
        rho = np.corrcoef(x[:-1], x[1:])[0, 1]  # an AR(1) MCSE: sd sqrt((1 + rho) / ((1 - rho) N))
        mcse = x.std() * math.sqrt((1 + rho) / ((1 - rho) * len(x)))
        assert abs(x.mean() - exact[k]) < 4 * mcse, (k, x.mean(), exact[k], mcse)
