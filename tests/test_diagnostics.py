"""Tests of gibbsreg.diagnostics: agreement with ArviZ 0.23 and edge cases."""

import warnings

import numpy as np
import pytest
from scipy import signal

from gibbsreg import diagnostics as dg

RTOL = 1e-12  # agreement with ArviZ: rounding only


# ----------------------------------------------------------------------------
# draws
# ----------------------------------------------------------------------------
def ar1(rng, shape, rho, loc=0.0):
    """Stationary AR(1) chains along axis 1 with unit marginal variance."""
    e = rng.standard_normal(shape) * np.sqrt(1.0 - rho**2)
    e[:, 0] /= np.sqrt(1.0 - rho**2)
    zi = np.zeros((shape[0], 1) + tuple(shape[2:]))
    x, _ = signal.lfilter([1.0], [1.0, -rho], e, axis=1, zi=zi)
    return x + loc


def make_draws(kind, shape, seed):
    rng = np.random.default_rng(seed)
    if kind == "iid":
        return rng.standard_normal(shape)
    if kind == "ar1":
        return ar1(rng, shape, 0.9)
    if kind == "student_t":
        return rng.standard_t(2, shape)
    if kind == "shifted":  # non-converged: every chain has its own mean
        offsets = np.linspace(0.0, 1.5, shape[0]).reshape((-1,) + (1,) * (len(shape) - 1))
        return ar1(rng, shape, 0.5) + offsets
    raise ValueError(kind)


KINDS = ["iid", "ar1", "student_t", "shifted"]
SHAPES = [(4, 500), (4, 500, 3), (8, 200, 2, 3), (1, 400), (3, 101, 2)]


# ----------------------------------------------------------------------------
# ArviZ reference
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def az():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz

    # ArviZ's numba code path computes variances with a one-pass formula and
    # its mcse(method="sd") fails under numpy >= 2.4 (float() of a 1-element
    # array); the pure-numpy path is the reference implementation.
    flag = arviz.Numba.numba_flag
    arviz.Numba.disable_numba()
    yield arviz
    if flag:
        arviz.Numba.enable_numba()


def az_ref(az, func, x, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = az.convert_to_dataset(np.asarray(x))
        return np.asarray(func(ds, **kwargs)["x"].values, dtype=float)


def az_split_rhat_one_chain(x, rank):
    """ArviZ's R-hat kernels applied to the two halves of a single chain
    (public ``az.rhat`` returns NaN for one chain; we compare both halves)."""
    from arviz.stats.diagnostics import _rhat, _split_chains, _z_scale

    def one(c):
        s = _split_chains(c)
        if not rank:
            return _rhat(s)
        folded = np.abs(s - np.median(s))
        return max(_rhat(_z_scale(s)), _rhat(_z_scale(folded)))

    flat = x.reshape(x.shape[0], x.shape[1], -1)
    out = np.array([one(flat[:, :, j]) for j in range(flat.shape[2])])
    return out.reshape(x.shape[2:])


def assert_close(actual, expected, rtol=RTOL):
    actual = np.asarray(actual)
    assert isinstance(actual, np.ndarray)
    assert actual.shape == np.shape(expected)
    assert actual.dtype == np.float64
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


# ----------------------------------------------------------------------------
# comparisons with ArviZ
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_matches_arviz(az, kind, shape):
    x = make_draws(kind, shape, seed=100 * KINDS.index(kind) + SHAPES.index(shape))
    checks = {
        "ess_bulk": (dg.ess_bulk(x), az_ref(az, az.ess, x, method="bulk")),
        "ess_tail": (dg.ess_tail(x), az_ref(az, az.ess, x, method="tail")),
        "ess_mean": (dg.ess_mean(x), az_ref(az, az.ess, x, method="mean")),
        "ess_sd": (dg.ess_sd(x), az_ref(az, az.ess, x, method="sd")),
        "ess_q": (dg.ess_quantile(x, 0.3), az_ref(az, az.ess, x, method="quantile", prob=0.3)),
        "mcse_mean": (dg.mcse_mean(x), az_ref(az, az.mcse, x, method="mean")),
        "mcse_sd": (dg.mcse_sd(x), az_ref(az, az.mcse, x, method="sd")),
        "mcse_q": (
            dg.mcse_quantile(x, 0.8),
            az_ref(az, az.mcse, x, method="quantile", prob=0.8),
        ),
    }
    if shape[0] > 1:
        checks["rhat"] = (dg.rhat(x), az_ref(az, az.rhat, x, method="rank"))
        checks["split_rhat"] = (dg.split_rhat(x), az_ref(az, az.rhat, x, method="split"))
    else:
        checks["rhat"] = (dg.rhat(x), az_split_rhat_one_chain(x, rank=True))
        checks["split_rhat"] = (dg.split_rhat(x), az_split_rhat_one_chain(x, rank=False))
    for name, (ours, ref) in checks.items():
        assert np.all(np.isfinite(ref)), name
        try:
            assert_close(ours, ref)
        except AssertionError as err:
            raise AssertionError(f"{name}: {err}") from None


def test_short_chains_match_arviz(az):
    """Geyer truncation edge cases: very short chains, negative autocorrelation."""
    rng = np.random.default_rng(8)
    for n_draw in range(4, 14):
        for n_chain in (1, 3):
            for rho in (-0.7, 0.9):
                x = ar1(rng, (n_chain, n_draw, 2), rho)
                assert_close(dg.ess_mean(x), az_ref(az, az.ess, x, method="mean"))
                assert_close(dg.ess_bulk(x), az_ref(az, az.ess, x, method="bulk"))
                assert_close(dg.ess_tail(x), az_ref(az, az.ess, x, method="tail"))


@pytest.mark.parametrize("shape", [(4, 500), (3, 101, 2), (1, 64)], ids=str)
def test_autocorrelation_matches_arviz(az, shape):
    x = make_draws("ar1", shape, seed=3)
    acov = dg.autocovariance(x)
    acor = dg.autocorrelation(x)
    assert acov.shape == acor.shape == x.shape
    np.testing.assert_allclose(acov, az.autocov(x, axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(acor, az.autocorr(x, axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(acor[:, 0], 1.0)


def test_ties_match_arviz(az):
    rng = np.random.default_rng(11)
    x = rng.integers(0, 6, size=(4, 300)).astype(float)  # many ties
    assert_close(dg.rhat(x), az_ref(az, az.rhat, x))
    assert_close(dg.ess_bulk(x), az_ref(az, az.ess, x))
    assert_close(dg.ess_tail(x), az_ref(az, az.ess, x, method="tail"))
    assert_close(dg.mcse_quantile(x, 0.5), az_ref(az, az.mcse, x, method="quantile", prob=0.5))


def test_long_chains_match_arviz(az):
    """Many rank/FFT work blocks and sort-key collisions on a long input."""
    x = make_draws("ar1", (2, 150_001), seed=5)  # odd draw count: middle draw dropped
    assert_close(dg.rhat(x), az_ref(az, az.rhat, x))
    assert_close(dg.ess_bulk(x), az_ref(az, az.ess, x))
    assert_close(dg.ess_mean(x), az_ref(az, az.ess, x, method="mean"))


def test_summary_stats_matches_arviz_summary(az):
    x = make_draws("shifted", (4, 300, 2), seed=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = az.summary(az.convert_to_dataset(x), round_to="none", kind="all")
    ours = dg.summary_stats(x)
    for col, key in [("mean", "mean"), ("sd", "sd"), ("mcse_mean", "mcse_mean"),
                     ("ess_bulk", "ess_bulk"), ("ess_tail", "ess_tail"), ("r_hat", "rhat")]:
        assert_close(ours[key], ref[col].to_numpy())


def test_constant_draws_follow_arviz(az):
    x = np.ones((4, 100))
    for method in ("bulk", "tail", "mean", "sd"):
        ref = az_ref(az, az.ess, x, method=method)
        assert ref == 400
    assert np.isnan(az_ref(az, az.rhat, x))
    assert dg.ess_bulk(x) == 400 and dg.ess_tail(x) == 400
    assert dg.ess_mean(x) == 400 and dg.ess_sd(x) == 400
    assert dg.ess_quantile(x, 0.3) == 400
    assert np.isnan(dg.rhat(x)) and np.isnan(dg.split_rhat(x))
    assert dg.mcse_mean(x) == 0.0 and dg.mcse_quantile(x, 0.3) == 0.0
    assert np.isnan(dg.mcse_sd(x))
    # a constant value that is not exactly representable gives the same answers
    y = np.full((4, 100, 2), 3.3)
    assert np.all(np.isnan(dg.rhat(y))) and np.all(np.isnan(dg.split_rhat(y)))
    assert np.all(dg.mcse_mean(y) == 0.0)


# ----------------------------------------------------------------------------
# behaviour
# ----------------------------------------------------------------------------
def test_rhat_flags_non_converged_chains():
    rng = np.random.default_rng(42)
    good = ar1(rng, (4, 1000), 0.5)
    assert dg.rhat(good) < 1.01
    assert dg.split_rhat(good) < 1.01
    bad = good.copy()
    bad[2] += 1.0  # one chain stuck elsewhere
    assert dg.rhat(bad) > 1.05
    assert dg.split_rhat(bad) > 1.05
    # a scale difference only shows up in the folded (tail) R-hat
    scale = good.copy()
    scale[0] *= 3.0
    assert dg.rhat(scale) > 1.05
    # trend within a single chain is caught by splitting it
    trend = rng.standard_normal((1, 1000)) + np.linspace(0.0, 2.0, 1000)
    assert dg.rhat(trend) > 1.1


def test_output_types_and_shapes():
    rng = np.random.default_rng(0)
    x2 = rng.standard_normal((4, 50))
    for f in (dg.rhat, dg.split_rhat, dg.ess_bulk, dg.ess_tail, dg.ess_mean,
              dg.ess_sd, dg.mcse_mean, dg.mcse_sd):
        r = f(x2)
        assert isinstance(r, np.ndarray) and r.shape == () and r.dtype == np.float64
        assert f(rng.standard_normal((2, 30, 2, 3))).shape == (2, 3)
        assert f(np.zeros((2, 30, 0))).shape == (0,)
    for f in (dg.ess_quantile, dg.mcse_quantile):
        assert f(x2, 0.2).shape == ()
    assert dg.nested_rhat(rng.standard_normal((4, 10)), 2).shape == ()
    s = dg.summary_stats(x2)
    assert all(isinstance(v, np.ndarray) and v.shape == () for v in s.values())
    # integer and boolean draws are accepted
    assert np.isfinite(dg.rhat(rng.integers(0, 100, (4, 50))))
    assert np.isfinite(dg.ess_bulk(rng.random((4, 50)) < 0.5))


def test_input_layouts_and_no_mutation():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 2, 101, 4))[:, 1]  # non-contiguous
    x.setflags(write=False)
    before = x.copy()
    ref = np.ascontiguousarray(x)
    fortran = np.asfortranarray(ref)
    for f in (dg.rhat, dg.split_rhat, dg.ess_bulk, dg.ess_tail, dg.ess_sd, dg.mcse_sd,
              dg.autocovariance):
        expected = f(ref)
        np.testing.assert_allclose(f(x), expected, rtol=1e-12)
        np.testing.assert_allclose(f(fortran), expected, rtol=1e-12)
    dg.summary_stats(x)
    np.testing.assert_array_equal(x, before)


def test_invalid_shapes():
    for bad in (np.ones(10), np.float64(1.0), [1.0, 2.0]):
        with pytest.raises(ValueError, match=r"\(chain, draw"):
            dg.rhat(bad)
    with pytest.raises(ValueError, match=r"\(chain, draw"):
        dg.summary_stats(np.ones(5))
    with pytest.raises(ValueError, match=r"\(chain, draw"):
        dg.autocorrelation(np.ones(5))
    with pytest.raises(ValueError):
        dg.ess_bulk(np.ones((0, 10)))
    with pytest.raises(ValueError):
        dg.ess_quantile(np.ones((2, 10)), 1.5)
    with pytest.raises(ValueError):
        dg.summary_stats(np.ones((2, 10)), prob=1.0)


def test_few_draws_and_nan_give_nan():
    rng = np.random.default_rng(1)
    short = rng.standard_normal((4, 3, 2))
    for f in (dg.rhat, dg.split_rhat, dg.ess_bulk, dg.ess_tail, dg.ess_mean,
              dg.ess_sd, dg.mcse_mean, dg.mcse_sd):
        assert np.all(np.isnan(f(short)))
    s = dg.summary_stats(short)
    assert np.all(np.isnan(s["rhat"])) and np.all(np.isfinite(s["mean"]))
    assert np.isfinite(dg.rhat(rng.standard_normal((2, 4))))

    x = rng.standard_normal((4, 100, 3))
    x[1, 7, 1] = np.nan
    x[2, 3, 2] = np.inf  # inf is a valid (extreme) draw for rank diagnostics
    for f in (dg.rhat, dg.ess_bulk, dg.ess_tail, dg.mcse_mean):
        r = f(x)
        assert np.isnan(r[1]) and np.isfinite(r[0]), f.__name__
    assert np.isfinite(dg.rhat(x)[2]) and np.isfinite(dg.ess_bulk(x)[2])
    s = dg.summary_stats(x)
    assert all(np.isnan(v[1]) for v in s.values())


def test_blocked_paths_agree(monkeypatch):
    """Results do not depend on the block of parameters (one per block vs all in one) nor on
    the number of threads sharing the parameters."""
    import numba

    x = make_draws("student_t", (6, 301, 5), seed=9)
    x[:, :, 1] = np.round(x[:, :, 1], 1)  # ties
    funcs = (dg.rhat, dg.split_rhat, dg.ess_bulk, dg.ess_tail, dg.mcse_sd, dg.summary_stats,
             lambda x: dg.nested_rhat(x, 3))
    ref = [f(x) for f in funcs]
    ref_acov = dg.autocovariance(x)
    monkeypatch.setattr(dg._core, "_BLOCK", 37)  # the block constant lives in diagnostics._core
    threads = numba.get_num_threads()
    try:
        for n in sorted({1, threads}):
            numba.set_num_threads(n)
            for f, r in zip(funcs, ref):
                if isinstance(r, dict):
                    for k in r:
                        np.testing.assert_array_equal(f(x)[k], r[k])
                else:
                    np.testing.assert_array_equal(f(x), r)
            np.testing.assert_array_equal(dg.autocovariance(x), ref_acov)
    finally:
        numba.set_num_threads(threads)


def test_summary_stats_consistent():
    x = make_draws("shifted", (4, 300, 2), seed=4)
    s = dg.summary_stats(x, prob=0.95)
    assert list(s) == ["mean", "sd", "q2.5", "q97.5", "mcse_mean", "ess_bulk", "ess_tail", "rhat"]
    flat = x.reshape(-1, 2)
    np.testing.assert_allclose(s["mean"], flat.mean(0), rtol=1e-12)
    np.testing.assert_allclose(s["sd"], flat.std(0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(s["q2.5"], np.quantile(flat, 0.025, axis=0), rtol=1e-12)
    np.testing.assert_allclose(s["q97.5"], np.quantile(flat, 0.975, axis=0), rtol=1e-12)
    np.testing.assert_allclose(s["mcse_mean"], dg.mcse_mean(x), rtol=1e-12)
    np.testing.assert_allclose(s["ess_bulk"], dg.ess_bulk(x), rtol=1e-12)
    np.testing.assert_allclose(s["ess_tail"], dg.ess_tail(x), rtol=1e-12)
    np.testing.assert_allclose(s["rhat"], dg.rhat(x), rtol=1e-12)
    assert set(dg.summary_stats(x, prob=0.9)) >= {"q5", "q95"}
    assert set(dg.summary_stats(x, prob=0.89)) >= {"q5.5", "q94.5"}


# ----------------------------------------------------------------------------
# nested R-hat
# ----------------------------------------------------------------------------
def nested_rhat_reference(x, k):
    """Direct transcription of Margossian et al. (2024), one parameter."""
    c, n = x.shape
    m = c // k
    groups = x.reshape(k, m, n)
    chain_mean = groups.mean(axis=2)
    super_mean = chain_mean.mean(axis=1)
    b_nu = np.sum((super_mean - super_mean.mean()) ** 2) / (k - 1)
    b_k = chain_mean.var(axis=1, ddof=1) if m > 1 else np.zeros(k)
    w_k = groups.var(axis=2, ddof=1).mean(axis=1) if n > 1 else np.zeros(k)
    return np.sqrt(1.0 + b_nu / np.mean(b_k + w_k))


def test_nested_rhat_formula():
    rng = np.random.default_rng(7)
    for shape, k in [((12, 40), 3), ((12, 1), 4), ((6, 25), 6), ((8, 10), 2)]:
        x = rng.standard_normal(shape) + rng.standard_normal((shape[0], 1))
        np.testing.assert_allclose(dg.nested_rhat(x, k), nested_rhat_reference(x, k), rtol=1e-12)
    x = rng.standard_normal((8, 20, 2, 3))
    ours = dg.nested_rhat(x, 4)
    assert ours.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            ref = nested_rhat_reference(x[:, :, i, j], 4)
            np.testing.assert_allclose(ours[i, j], ref, rtol=1e-12)


def test_nested_rhat_converged_and_not():
    rng = np.random.default_rng(2024)
    x = ar1(rng, (256, 200), 0.9)  # stationary starts: converged
    assert dg.nested_rhat(x, 8) < 1.01
    offsets = np.repeat(np.linspace(-1.0, 1.0, 8), 32)[:, None]  # superchain-level offsets
    assert dg.nested_rhat(x + offsets, 8) > 1.1


def test_nested_rhat_validation():
    x = np.random.default_rng(0).standard_normal((8, 10))
    with pytest.raises(ValueError, match="at least 2"):
        dg.nested_rhat(x, 1)
    with pytest.raises(ValueError, match="divisible"):
        dg.nested_rhat(x, 3)
    with pytest.raises(ValueError):
        dg.nested_rhat(x, 2.0)
    with pytest.raises(ValueError, match="undefined"):
        dg.nested_rhat(x[:, :1], 8)  # one chain per superchain and one draw
    with pytest.raises(ValueError, match=r"\(chain, draw"):
        dg.nested_rhat(np.ones(8), 2)
    assert np.isfinite(dg.nested_rhat(x, 8))  # one chain per superchain is fine


# ----------------------------------------------------------------------------
# the one-pass kernels on many chains: equal to ArviZ to 1e-12
# ----------------------------------------------------------------------------
def many_chain_draws(seed, n_chain=64, n_draw=50, n_par=20):
    """AR(1) draws of several mixings and scales, a heavy-tailed parameter, a constant one,
    one with many (NaN-free) ties and one shifted chain by chain."""
    rng = np.random.default_rng(seed)
    x = np.empty((n_chain, n_draw, n_par))
    rhos = np.linspace(-0.3, 0.95, n_par)
    for j in range(n_par):
        x[:, :, j] = ar1(rng, (n_chain, n_draw), rhos[j]) * 10.0 ** (j % 5 - 2) + j
    x[:, :, 0] = 3.3  # constant
    x[:, :, 1] = rng.integers(0, 4, (n_chain, n_draw))  # ties everywhere
    x[:, :, 2] = rng.standard_cauchy((n_chain, n_draw))  # heavy tails: nested buckets
    x[:, :, 3] += np.linspace(0.0, 2.0, n_chain)[:, None]  # not converged
    return x


def arviz_all(az, x):
    ref = {
        "ess_bulk": az_ref(az, az.ess, x, method="bulk"),
        "ess_tail": az_ref(az, az.ess, x, method="tail"),
        "ess_mean": az_ref(az, az.ess, x, method="mean"),
        "ess_sd": az_ref(az, az.ess, x, method="sd"),
        "ess_q": az_ref(az, az.ess, x, method="quantile", prob=0.3),
        "mcse_mean": az_ref(az, az.mcse, x, method="mean"),
        "mcse_sd": az_ref(az, az.mcse, x, method="sd"),
        "mcse_q": az_ref(az, az.mcse, x, method="quantile", prob=0.8),
        "rhat": az_ref(az, az.rhat, x, method="rank"),
        "split_rhat": az_ref(az, az.rhat, x, method="split"),
    }
    ours = {
        "ess_bulk": dg.ess_bulk(x), "ess_tail": dg.ess_tail(x), "ess_mean": dg.ess_mean(x),
        "ess_sd": dg.ess_sd(x), "ess_q": dg.ess_quantile(x, 0.3), "mcse_mean": dg.mcse_mean(x),
        "mcse_sd": dg.mcse_sd(x), "mcse_q": dg.mcse_quantile(x, 0.8), "rhat": dg.rhat(x),
        "split_rhat": dg.split_rhat(x),
    }
    return ours, ref


@pytest.mark.parametrize("n_draw", [50, 51])
def test_many_chains_match_arviz(az, n_draw):
    """64 chains x 50 (and 51: middle draws dropped) draws x 20 parameters, every diagnostic."""
    x = many_chain_draws(seed=29 + n_draw, n_draw=n_draw)
    ours, ref = arviz_all(az, x)
    size = 64 * (n_draw // 2) * 2
    for name in ours:
        value, expected = ours[name], ref[name]
        if name in ("rhat", "split_rhat"):  # constant draws: NaN here, rounding noise in ArviZ
            assert np.isnan(value[0]), name
            value, expected = value[1:], expected[1:]
        elif name.startswith("ess"):
            assert value[0] == size and expected[0] == size, name
        elif name in ("mcse_mean", "mcse_q"):
            assert value[0] == 0.0, name
            value, expected = value[1:], expected[1:]
        elif name == "mcse_sd":  # 0 / 0 for constant draws
            value, expected = value[1:], expected[1:]
        try:
            assert_close(value, expected)
        except AssertionError as err:
            raise AssertionError(f"{name}: {err}") from None


@pytest.mark.parametrize("n_draw", [50, 51])
def test_many_chains_summary_matches_arviz(az, n_draw):
    x = many_chain_draws(seed=7 + n_draw, n_draw=n_draw)[:, :, 1:]  # no constant parameter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = az.summary(az.convert_to_dataset(x), round_to="none", kind="all", hdi_prob=0.9)
    ours = dg.summary_stats(x, prob=0.9)
    for col, key in [("mean", "mean"), ("sd", "sd"), ("mcse_mean", "mcse_mean"),
                     ("ess_bulk", "ess_bulk"), ("ess_tail", "ess_tail")]:
        assert_close(ours[key], ref[col].to_numpy())
    # az.summary folds odd chains around the median of all draws, az.rhat (ours) of the split ones
    assert_close(ours["rhat"], az_ref(az, az.rhat, x, method="rank"))
    flat = x.reshape(-1, x.shape[2])
    assert_close(ours["q5"], np.quantile(flat, 0.05, axis=0))
    assert_close(ours["q95"], np.quantile(flat, 0.95, axis=0))


def test_slowly_mixing_chains_match_arviz(az):
    """Geyer's sequence past the directly summed lags: the FFT takes over."""
    rng = np.random.default_rng(31)
    x = ar1(rng, (4, 3000, 2), 0.995)
    assert dg.ess_mean(x).max() < 200  # hundreds of lags before the truncation
    assert_close(dg.ess_mean(x), az_ref(az, az.ess, x, method="mean"))
    assert_close(dg.ess_bulk(x), az_ref(az, az.ess, x, method="bulk"))
    assert_close(dg.ess_tail(x), az_ref(az, az.ess, x, method="tail"))
    assert_close(dg.mcse_sd(x), az_ref(az, az.mcse, x, method="sd"))


def test_rank_scores_of_awkward_values_match_arviz(az):
    """Ranks of values the buckets must nest deeply for or cannot split (infinite range,
    magnitudes over hundreds of binades, signed zeros, near-ties one ulp apart)."""
    rng = np.random.default_rng(5)
    shape = (8, 40)
    cases = [
        2.0 ** rng.integers(-900, 900, shape) * rng.choice([-1.0, 1.0], shape),
        np.where(rng.random(shape) < 0.1, np.inf, rng.standard_normal(shape)),
        np.where(rng.random(shape) < 0.5, 0.0, -0.0) + np.where(rng.random(shape) < 0.2, 1e-300, 0.0),
        1.0 + rng.integers(0, 3, shape) * np.finfo(float).eps,
        np.exp(30 * rng.standard_normal(shape)),
    ]
    for x in cases:
        assert_close(dg.ess_bulk(x), az_ref(az, az.ess, x, method="bulk"))
        assert_close(dg.rhat(x), az_ref(az, az.rhat, x, method="rank"))


def test_summary_blocks_diagnostics_only():
    """store.summary_blocks: the same keys for every variable; diagnostics-only variables have
    the same R-hat and ESS and NaN moments; stored draws summarised in blocks agree."""
    from gibbsreg.posterior import Posterior
    from gibbsreg.store import summary_blocks

    rng = np.random.default_rng(3)
    draws = {"a": rng.standard_normal((16, 40, 3)), "b": rng.standard_normal((16, 40, 4, 2)),
             "c": rng.standard_normal((16, 40)).astype(np.float32)}
    post = Posterior(draws, dims={"b": ["group", "coef"]})
    full = {name: stats for name, _, stats in summary_blocks(post, ["a", "b", "c"])}
    part = {name: stats for name, _, stats in summary_blocks(post, ["a", "b", "c"], diagnostics_only=["b"])}
    for name in "abc":
        assert list(part[name]) == list(full[name])
        ref = dg.summary_stats(np.asarray(draws[name], dtype=np.float64))
        for k, v in ref.items():
            np.testing.assert_array_equal(full[name][k], v.reshape(-1))
    for k in ("rhat", "ess_bulk", "ess_tail", "q2.5", "q97.5"):
        np.testing.assert_array_equal(part["b"][k], full["b"][k])
    for k in ("mean", "sd", "mcse_mean"):
        assert np.isnan(part["b"][k]).all()
        np.testing.assert_array_equal(part["a"][k], full["a"][k])



def test_summary_blocks_of_stored_draws(tmp_path, monkeypatch):
    """Draws in a store file are read and summarised a block of parameters at a time."""
    from gibbsreg import store
    from gibbsreg.posterior import Posterior

    x = many_chain_draws(seed=4, n_chain=16, n_draw=41, n_par=300)
    path = tmp_path / "x.npy"
    with open(path, "wb") as fh:
        fh.write(store._header((41, 16, 300)))
        np.ascontiguousarray(np.swapaxes(x, 0, 1)).tofile(fh)
    post = Posterior({"x": store.StoredDraws(path, 16, 41, (300,))})
    monkeypatch.setattr(store, "available_memory", lambda: 32 << 20)  # 1 MiB blocks: 2 of them
    (_, labels, stats), = store.summary_blocks(post, ["x"])
    assert len(labels) == 300
    ref = dg.summary_stats(x)
    for k, v in ref.items():
        np.testing.assert_array_equal(stats[k], v)


def test_a_posterior_computes_its_summary_once():
    """print(post) after post.summary() reuses the table; another prob or var_names is its own table."""
    import gibbsreg as gr

    d = gr.datasets.synthetic_regression(200, 3, seed=1)
    post = gr.LinearRegression().sample(d.X, d.y, chains=2, draws=100, warmup=50, seed=1, progress=False)
    first = post.summary()
    assert post.summary() is first
    assert str(post).startswith(str(first))
    assert post.summary(prob=0.9) is not first and post.summary(var_names="sigma2") is not first


def test_a_posterior_summarises_again_after_draws_are_appended():
    """The table cache follows the draws' shapes: appended draws (a resumed store) give a new table."""
    from gibbsreg.posterior import Posterior

    rng = np.random.default_rng(8)
    post = Posterior({"a": rng.standard_normal((2, 50, 3))})
    first = post.summary()
    assert post.summary() is first
    post._draws["a"] = np.concatenate([post["a"], rng.standard_normal((2, 30, 3))], axis=1)
    again = post.summary()
    assert again is not first and "2 chains x 80 draws" in again.header
    np.testing.assert_allclose(again["mean"], post["a"].mean(axis=(0, 1)), rtol=1e-12)
