"""Mergeable sufficient statistics (gibbsreg.io): exact merging, models from statistics, save/load,
sequential updating, and thread-safe kernel launches.

Deterministic checks; tolerances are relative and stated at each check.  "To rounding" for draws
means 1e-8 relative (the chains are contractive, so the ~1e-13 differences of the statistics do
not grow)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg.io import FlatStats, GroupedStats, memory_stats


def flat_data(n=600, seed=0, offset=(1.0, 100.0, -5.0)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.2] + offset
    y = 2.0 + X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=n)
    return X, y


def grouped_data(n=800, J=9, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) + [0.5, -1.0]
    g = rng.integers(0, J, n)
    b = rng.normal(size=(J, 3))
    y = b[g, 0] + np.einsum("ij,ij->i", X, b[g, 1:]) + 0.5 * rng.normal(size=n)
    return X, y, g


def chunks(n, sizes):
    out, start = [], 0
    for s in sizes:
        out.append(slice(start, min(n, start + s)))
        start += s
    if start < n:
        out.append(slice(start, n))
    return [s for s in out if s.stop > s.start]


def assert_flat_close(a: FlatStats, b: FlatStats, rtol=1e-12):
    """Every derived quantity equal to ``rtol`` relative (to the natural size of each)."""
    assert a.n == b.n and a.x_names == b.x_names and a.intercept == b.intercept
    sd = np.sqrt(np.diag(b.C) / b.n)
    np.testing.assert_allclose(a.x_mean, b.x_mean, rtol=0, atol=rtol * (np.abs(b.x_mean) + sd).max())
    np.testing.assert_allclose(a.C, b.C, rtol=0, atol=rtol * np.abs(b.C).max())
    assert a.y_mean == pytest.approx(b.y_mean, rel=rtol, abs=rtol * math.sqrt(b.y_var))
    assert a.y_var == pytest.approx(b.y_var, rel=rtol)
    assert a.rss_min() == pytest.approx(b.rss_min(), rel=10 * rtol)
    sa, sb = a.to_sufficient(), b.to_sufficient()
    np.testing.assert_allclose(sa.G, sb.G, rtol=0, atol=rtol * np.abs(sb.G).max())
    # the least-squares point, in units of its standard error
    se = np.sqrt(np.diag(np.linalg.pinv(sb.G)) * sb.rr / max(sb.n - sb.p, 1))
    np.testing.assert_allclose(sa.transform.gamma_ref, sb.transform.gamma_ref, rtol=0, atol=1e3 * rtol * se.max())


# --------------------------------------------------------------------------- merging


@pytest.mark.parametrize("sizes", [[1, 2, 3, 594], [100] * 6, [250, 7, 343], [599, 1]])
def test_merge_equals_one_shot(sizes):
    X, y = flat_data()
    whole = gr.sufficient_stats(X, y)
    parts = [gr.sufficient_stats(X[s], y[s]) for s in chunks(len(y), sizes)]
    left = parts[0]
    for s in parts[1:]:
        left = left + s
    assert_flat_close(left, whole)
    assert_flat_close(gr.merge(parts), whole)
    assert_flat_close(sum(parts), whole)


def test_merge_associative_and_order_free():
    X, y = flat_data(seed=3)
    a, b, c = (gr.sufficient_stats(X[s], y[s]) for s in chunks(len(y), [150, 200, 250]))
    assert_flat_close((a + b) + c, a + (b + c))
    assert_flat_close(c + a + b, (a + b) + c)
    perm = np.random.default_rng(0).permutation(len(y))
    shuffled = gr.merge([gr.sufficient_stats(X[perm][s], y[perm][s]) for s in chunks(len(y), [77] * 8)])
    assert_flat_close(shuffled, gr.sufficient_stats(X, y))


def test_grouped_merge_new_groups_append_and_shared_groups_merge():
    X, y, g = grouped_data()
    whole = gr.sufficient_stats(X, y, g)
    # the first half lacks groups 7 and 8; the second half holds every group
    first = g < 7
    idx1 = np.flatnonzero(first)[:300]
    rest = np.setdiff1d(np.arange(len(y)), idx1)
    a = gr.sufficient_stats(X[idx1], y[idx1], g[idx1])
    b = gr.sufficient_stats(X[rest], y[rest], g[rest])
    assert a.J == 7 and b.J == 9
    m = a + b
    assert m.labels.tolist() == whole.labels.tolist()
    np.testing.assert_array_equal(m.n, whole.n)
    np.testing.assert_allclose(m.C, whole.C, rtol=0, atol=1e-12 * np.abs(whole.C).max())
    np.testing.assert_allclose(m.x_mean, whole.x_mean, rtol=0, atol=1e-13 * (1 + np.abs(whole.x_mean).max()))
    order = np.array([0, 1, 2])
    ref = whole.pooled.to_sufficient().transform.beta_ref
    gm, gw = m.to_group_stats(order, ref), whole.to_group_stats(order, ref)
    np.testing.assert_allclose(gm.G, gw.G, rtol=0, atol=1e-12 * np.abs(gw.G).max())
    np.testing.assert_allclose(gm.rr, gw.rr, rtol=1e-11)
    np.testing.assert_allclose(gm.h, gw.h, rtol=0, atol=1e-12 * np.sqrt(np.abs(gw.G).max() * gw.rr.max()))
    assert_flat_close(m.pooled, whole.pooled)


def test_group_stats_match_a_direct_computation():
    """The per-group statistics derived from GroupedStats equal Z_j'Z_j, Z_j'r0_j, r0_j'r0_j, n_j computed
    group by group from the rows (Z = full design[:, order] / column rms, r0 = y - full @ ref)."""
    X, y, g = grouped_data(seed=4)
    full = np.hstack([np.ones((X.shape[0], 1)), X])
    order = np.array([1, 0, 2])
    ref = np.linalg.lstsq(full, y, rcond=None)[0]
    new = gr.sufficient_stats(X, y, g).to_group_stats(order, ref)
    rms = np.sqrt((full**2).mean(axis=0))[order]
    labels = np.unique(g)
    for j, lab in enumerate(labels):
        rows = g == lab
        Z = full[rows][:, order] / rms
        r0 = y[rows] - full[rows] @ ref
        expect = {"G": Z.T @ Z, "h": Z.T @ r0, "rr": r0 @ r0, "n": rows.sum()}
        for k, b in expect.items():
            a = getattr(new, k)[j]
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max(), err_msg=f"{k}[{lab}]")
    np.testing.assert_allclose(new.scale, rms, rtol=1e-12)
    np.testing.assert_allclose(new.theta_ref, ref[order], rtol=1e-12)


def test_merge_rejects_different_columns_or_intercept():
    X, y = flat_data()
    a = gr.sufficient_stats(X, y)
    with pytest.raises(ValueError, match="different columns"):
        a + gr.sufficient_stats(X[:, :2], y)
    with pytest.raises(ValueError, match="intercept"):
        a + gr.sufficient_stats(X, y, intercept=False)
    Xg, yg, g = grouped_data()
    with pytest.raises(ValueError, match="cannot merge"):
        gr.sufficient_stats(Xg, yg) + gr.sufficient_stats(Xg, yg, g)
    with pytest.raises(ValueError, match="kinds"):
        gr.sufficient_stats(Xg, yg, g) + gr.sufficient_stats(Xg, yg, g.astype(str))
    with pytest.raises(ValueError, match="intercept=False but the model"):
        gr.LinearRegression().sample(stats=gr.sufficient_stats(X, y, intercept=False), progress=False)
    with pytest.raises(ValueError, match="either data"):
        gr.fit_conjugate(X, y, stats=a)


# --------------------------------------------------------------------------- models from statistics


def test_models_from_stats_give_the_in_memory_draws():
    X, y = flat_data()
    kw = dict(chains=2, draws=300, warmup=100, seed=5, progress=False)
    s = gr.sufficient_stats(X, y)
    for prior in (None, gr.Exchangeable()):
        a = gr.LinearRegression(prior).sample(X, y, **kw)
        b = gr.LinearRegression(prior).sample(stats=s, **kw)
        np.testing.assert_array_equal(a["beta"], b["beta"])
        assert b.attrs["names"] == ["intercept", "x0", "x1", "x2"] and b.attrs["n"] == 600 and b.attrs["p"] == 4
        merged = gr.merge([gr.sufficient_stats(X[r], y[r]) for r in chunks(len(y), [123] * 5)])
        c = gr.LinearRegression(prior).sample(stats=merged, **kw)
        np.testing.assert_allclose(c["beta"], a["beta"], rtol=1e-8, atol=1e-8 * a["beta"].std())
        np.testing.assert_allclose(c["sigma2"], a["sigma2"], rtol=1e-8)
    ca, cb = gr.fit_conjugate(X, y), gr.fit_conjugate(stats=s)
    np.testing.assert_array_equal(ca.mean, cb.mean)
    assert ca.log_evidence == cb.log_evidence

    Xg, yg, g = grouped_data()
    gs = gr.sufficient_stats(Xg, yg, g)
    model = gr.HierarchicalRegression(varying=["intercept", "x0"])
    a = model.sample(Xg, yg, g, **kw)
    b = model.sample(stats=gs, **kw)
    np.testing.assert_array_equal(a["beta"], b["beta"])
    merged = gr.merge([gr.sufficient_stats(Xg[r], yg[r], g[r]) for r in chunks(len(yg), [90] * 9)])
    c = model.sample(stats=merged, **kw)
    for v in ("beta", "mu", "tau2", "alpha", "sigma2"):
        np.testing.assert_allclose(c[v], a[v], rtol=1e-8, atol=1e-8 * a[v].std(), err_msg=v)
    assert b.coords["group"] == a.coords["group"] and b.attrs["n"] == a.attrs["n"]


def test_save_load_roundtrip_identical_draws(tmp_path):
    X, y = flat_data()
    s = gr.sufficient_stats(X, y)
    s.save(tmp_path / "flat.npz")
    t = gr.load_stats(tmp_path / "flat.npz")
    assert t == s
    kw = dict(chains=2, draws=200, warmup=50, seed=9, progress=False)
    np.testing.assert_array_equal(gr.LinearRegression().sample(stats=t, **kw)["beta"],
                                  gr.LinearRegression().sample(X, y, **kw)["beta"])
    Xg, yg, g = grouped_data()
    for labels in (g, np.array([f"county {k}" for k in g])):
        gs = gr.sufficient_stats(Xg, yg, labels)
        gs.save(tmp_path / "g.npz")
        ht = gr.load_stats(tmp_path / "g.npz")
        assert ht == gs and ht.labels.tolist() == gs.labels.tolist()
        a = gr.HierarchicalRegression().sample(stats=ht, **kw)
        b = gr.HierarchicalRegression().sample(Xg, yg, labels, **kw)
        np.testing.assert_array_equal(a["mu"], b["mu"])
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a gibbsreg statistics file"):
        gr.load_stats(tmp_path / "other.npz")


# --------------------------------------------------------------------------- accuracy on merged statistics


def test_accuracy_near_noise_free_on_merged_stats():
    """The near-perfect-fit test of test_conjugate (60-digit reference) on statistics merged from 7 chunks."""
    import mpmath

    from test_conjugate import BN_RTOL, MEAN_RTOL, _near_collinear_problem, _reference_posterior_hp, assert_close, full_design

    X, y = _near_collinear_problem()
    prior = gr.NormalInverseGamma(mean=0.0, scale=1e6, a=2.0, b=1e-14)
    merged = gr.merge([gr.sufficient_stats(X[r], y[r]) for r in chunks(len(y), [1, 5, 94, 200, 300, 150])])
    post = gr.fit_conjugate(stats=merged, prior=prior)
    with mpmath.workdps(60):
        mn, bn = _reference_posterior_hp(full_design(X, True), y, np.eye(3) / 1e12, np.zeros(3), 1e-14)
    assert_close(post.mean, mn, MEAN_RTOL, "posterior mean", scale=np.abs(mn))
    assert post.b_n == pytest.approx(bn, rel=BN_RTOL)


def test_gibbs_scale_equivariance_on_merged_stats():
    """y -> 1e6 y + 1e6 with the default prior and the same seed transforms the draws exactly (1e-8),
    both runs from statistics merged over different chunkings."""
    X, y = flat_data(n=300, seed=8)
    c = d = 1e6
    kw = dict(chains=2, draws=200, warmup=50, seed=6, progress=False)
    s1 = gr.merge([gr.sufficient_stats(X[r], y[r]) for r in chunks(300, [50] * 6)])
    y2 = c * y + d
    s2 = gr.merge([gr.sufficient_stats(X[r], y2[r]) for r in chunks(300, [7, 93, 200])])
    a = gr.LinearRegression().sample(stats=s1, **kw)
    b = gr.LinearRegression().sample(stats=s2, **kw)
    shift = np.array([d, 0, 0, 0])
    np.testing.assert_allclose(b["beta"], c * a["beta"] + shift, rtol=1e-8, atol=1e-8 * c)
    np.testing.assert_allclose(b["sigma2"], c**2 * a["sigma2"], rtol=1e-8)


# --------------------------------------------------------------------------- sequential updating


@pytest.mark.parametrize("prior", [gr.NormalInverseGamma(mean=[1.0, 0.5, -1.0, 0.0], scale=[10.0, 2.0, 1.0, 5.0],
                                                         a=2.0, b=3.0), None], ids=["explicit", "default"])
def test_update_equals_batch(prior):
    X, y = flat_data(n=500, seed=11)
    fit = gr.fit_conjugate(X[:40], y[:40], prior)
    post = fit
    for r in chunks(500, [40, 1, 59, 250, 150])[1:]:
        post = post.update(X[r], y[r])
    if prior is None:  # the defaults were resolved on the first batch and stay fixed
        cov = np.linalg.inv(fit.prior.precision)
        prior = gr.NormalInverseGamma(mean=fit.prior.mean, cov=0.5 * (cov + cov.T), a=fit.prior.a, b=fit.prior.b)
    batch = gr.fit_conjugate(X, y, prior)
    rel = 1e-10
    size = np.abs(batch.mean) + np.sqrt(np.diag(batch.cov))
    assert (np.abs(post.mean - batch.mean) <= rel * size).all(), (post.mean - batch.mean) / size
    np.testing.assert_allclose(post.cov, batch.cov, rtol=0, atol=rel * np.abs(batch.cov).max())
    assert post.a_n == batch.a_n
    assert post.b_n == pytest.approx(batch.b_n, rel=rel)
    assert post.log_evidence == pytest.approx(batch.log_evidence, rel=rel)
    assert post.n == 500
    via_stats = fit.update(stats=gr.sufficient_stats(X[40:], y[40:]))
    assert via_stats.b_n == pytest.approx(batch.b_n, rel=rel)


def test_update_is_the_posterior_as_prior():
    """The update equals literally refitting the new rows under NIG(m_n, V_n, a_n, b_n), and its log
    evidence adds log p(y_new | y_old) (1e-9 relative on a well-conditioned problem)."""
    X, y = flat_data(n=200, seed=12, offset=(0.0, 0.0, 0.0))
    first = gr.fit_conjugate(X[:80], y[:80], gr.NormalInverseGamma(scale=5.0, a=2.0, b=2.0))
    as_prior = gr.NormalInverseGamma(mean=first.mean, cov=first.V_n, a=first.a_n, b=first.b_n)
    literal = gr.fit_conjugate(X[80:], y[80:], as_prior)
    upd = first.update(X[80:], y[80:])
    np.testing.assert_allclose(upd.mean, literal.mean, rtol=1e-9)
    np.testing.assert_allclose(upd.cov, literal.cov, rtol=1e-9)
    assert upd.b_n == pytest.approx(literal.b_n, rel=1e-9)
    assert upd.log_evidence == pytest.approx(first.log_evidence + literal.log_evidence, rel=1e-9)


# --------------------------------------------------------------------------- bad input


def test_bad_input_errors():
    X, y = flat_data()
    X = X.copy()
    X[17, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN at row 17, column 1 \('x1'\)"):
        gr.sufficient_stats(X, y)
    Xg, yg, g = grouped_data()
    labels = g.astype(float)
    labels[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gr.sufficient_stats(Xg, yg, labels)
    with pytest.raises(ValueError, match="GroupedStats"):
        gr.HierarchicalRegression().sample(stats=gr.sufficient_stats(Xg, yg), progress=False)


# --------------------------------------------------------------------------- threads


def test_concurrent_sampling_under_the_workqueue_layer():
    """Four Python threads sampling at once under Numba's workqueue layer (which aborts the process on
    concurrent launches without the launch lock) finish, with the draws of sequential runs."""
    code = textwrap.dedent("""
        import threading
        import numpy as np
        import numba
        import gibbsreg as gr
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 3)); y = X @ [1., 2., 3.] + rng.normal(size=200)
        kw = dict(chains=4, draws=300, warmup=100, progress=False)
        res = {}
        def run(k):
            res[k] = gr.LinearRegression().sample(X, y, seed=k, **kw)["beta"]
        ts = [threading.Thread(target=run, args=(k,)) for k in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
        assert numba.threading_layer() == "workqueue", numba.threading_layer()
        for k in range(4):
            np.testing.assert_array_equal(res[k], gr.LinearRegression().sample(X, y, seed=k, **kw)["beta"])
        print("ok")
    """)
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr[-2000:]


def test_memory_stats_chunking_does_not_matter(monkeypatch):
    """The in-memory pass in small chunks gives the one-chunk statistics (1e-12)."""
    import gibbsreg.data as data

    X, y = flat_data(n=1000, seed=2)
    one = memory_stats(X, y)
    monkeypatch.setattr(data, "ROW_CHUNK_ELEMENTS", 300)
    many = memory_stats(X, y)
    assert_flat_close(many, one)
    Xg, yg, g = grouped_data()
    a = memory_stats(Xg, yg, g)
    monkeypatch.setattr(data, "ROW_CHUNK_ELEMENTS", 7)
    b = memory_stats(Xg, yg, g)
    assert isinstance(b, GroupedStats) and b.labels.tolist() == a.labels.tolist()
    np.testing.assert_allclose(b.C, a.C, rtol=0, atol=1e-12 * np.abs(a.C).max())


# --------------------------------------------------------------------------- several grouping factors (cells)


def factor_data(n=900, seed=5, offset=(1.0, 100.0)):
    """Rows with three crossed factors: integer labels a (whose text order is not their numeric order),
    string labels b of several widths, and a two-level factor c; predictors far from 0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [1.0, 3.0] + offset
    a = rng.choice([3, 10, 100, 25, 7, 200], n)
    b = rng.choice(np.array(["s", "tt", "longer-label", "u", "v" * 9]), n)
    c = rng.integers(0, 2, n)
    ea = dict(zip([3, 10, 100, 25, 7, 200], rng.normal(size=6)))
    y = 2.0 + X @ [1.0, -2.0] + np.array([ea[v] for v in a]) + 0.5 * (b == "tt") + 0.3 * c + rng.normal(size=n)
    return X, y, {"a": a, "b": b, "c": c}


def direct_cells(X, y, groups, ref, names=None):
    """Per-cell Z_c'Z_c, Z_c'r0_c, r0_c'r0_c, n_c with Z = [1, X] / rms, r0 = y - [1, X] ref, computed cell by
    cell with a NumPy loop; cells ordered by the mixed-radix key of their sorted-level codes (factor 0 the
    least significant digit), as the crossed model's cell statistics were built before gibbsreg.io did it."""
    names = list(groups) if names is None else names
    full = np.hstack([np.ones((X.shape[0], 1)), X])
    rms = np.sqrt((full**2).mean(axis=0))
    levels, codes = zip(*(np.unique(np.asarray(groups[k]), return_inverse=True) for k in names))
    codes = np.stack(codes, axis=1)
    radix = np.cumprod([1] + [len(lv) for lv in levels[:-1]])
    keys = codes @ radix
    out = {"G": [], "h": [], "rr": [], "n": [], "level": []}
    for key in np.unique(keys):
        rows = keys == key
        Z = full[rows] / rms
        r0 = y[rows] - full[rows] @ ref
        out["G"].append(Z.T @ Z)
        out["h"].append(Z.T @ r0)
        out["rr"].append(r0 @ r0)
        out["n"].append(rows.sum())
        out["level"].append(codes[rows][0])
    return {k: np.array(v) for k, v in out.items()}, list(levels), rms


def assert_cells_close(cs, expect, rtol=1e-10):
    np.testing.assert_array_equal(cs.level, expect["level"])
    np.testing.assert_array_equal(cs.n, expect["n"])
    np.testing.assert_allclose(cs.G, expect["G"], rtol=rtol, atol=rtol * np.abs(expect["G"]).max())
    np.testing.assert_allclose(cs.rr, expect["rr"], rtol=rtol)
    size = np.sqrt(np.abs(expect["G"]).max() * expect["rr"].max())
    np.testing.assert_allclose(cs.h, expect["h"], rtol=0, atol=rtol * size)


def test_cell_stats_match_a_direct_computation():
    """The cell statistics of GroupedStats of several factors equal Z_c'Z_c, Z_c'r0_c, r0_c'r0_c, n_c computed cell
    by cell from the rows (1e-10 relative; measured 5e-16 for G, 2e-14 for h, 4e-14 for rr), in the crossed
    model's cell order, with each factor's levels sorted (numbers numerically)."""
    X, y, groups = factor_data()
    s = gr.sufficient_stats(X, y, groups=groups)
    assert isinstance(s, GroupedStats) and s.factors == ["a", "b", "c"] and s.n_rows == len(y)
    assert s.labels.dtype["a"].kind == "i" and s.labels.dtype["b"].kind == "U"
    full = np.hstack([np.ones((X.shape[0], 1)), X])
    ref = np.linalg.lstsq(full, y, rcond=None)[0]
    for names in (["a", "b", "c"], ["c", "a", "b"]):
        cs = s.to_cell_stats(ref, factors=names)
        expect, levels, rms = direct_cells(X, y, groups, ref, names)
        assert_cells_close(cs, expect)
        for got, lv in zip(cs.levels, levels):
            assert got.tolist() == lv.tolist()
        np.testing.assert_allclose(cs.scale, rms, rtol=1e-12)
        np.testing.assert_allclose(cs.ref, ref, rtol=1e-12)
    assert cs.levels[1].tolist() == [3, 7, 10, 25, 100, 200]  # numeric order, not text order
    levels, codes = s.factor_levels()
    assert [lv.tolist() for lv in levels] == [sorted(set(groups[k].tolist())) for k in ("a", "b", "c")]
    assert codes.shape == (s.J, 3) and codes.dtype == np.int64
    # a given level order (e.g. a Categorical's) re-codes the levels and reorders the cells by the new codes
    order_a = np.array([200, 100, 25, 10, 7, 3])
    cs_given = s.to_cell_stats(ref, levels=[order_a, None, None][:1] + [levels[1], levels[2]])
    assert cs_given.levels[0].tolist() == order_a.tolist()
    recoded = {"a": 5 - np.unique(groups["a"], return_inverse=True)[1], "b": groups["b"], "c": groups["c"]}
    assert_cells_close(cs_given, direct_cells(X, y, recoded, ref)[0])
    with pytest.raises(ValueError, match="not the statistics' levels"):
        s.to_cell_stats(ref, levels=[order_a[:-1], levels[1], levels[2]])
    with pytest.raises(ValueError, match="grouped by the factors"):
        s.to_cell_stats(ref, factors=["a", "b"])
    with pytest.raises(ValueError, match="one grouping factor"):
        gr.sufficient_stats(X, y, groups["a"]).to_cell_stats(ref)


def test_cell_stats_from_frames_dicts_and_categoricals():
    """A pandas DataFrame of label columns (str / object / Categorical / int) gives the dict's statistics; text
    columns become fixed-width unicode fields, numbers stay numbers."""
    import pandas as pd

    X, y, groups = factor_data(n=300, seed=6)
    frame = pd.DataFrame({"a": groups["a"], "b": pd.Series(groups["b"], dtype=object),
                          "c": pd.Categorical(np.where(groups["c"] == 1, "yes", "no"))})
    a = gr.sufficient_stats(X, y, frame)
    b = gr.sufficient_stats(X, y, {"a": groups["a"], "b": groups["b"].tolist(),
                                    "c": np.where(groups["c"] == 1, "yes", "no")})
    assert a == b
    assert a.labels.dtype["b"].kind == "U" and a.labels.dtype["c"].kind == "U" and a.labels.dtype["a"].kind == "i"
    one = gr.sufficient_stats(X, y, {"a": groups["a"]})
    assert one.factors == ["a"] and one.J == len(set(groups["a"].tolist()))
    with pytest.raises(ValueError, match="NaN"):
        gr.sufficient_stats(X, y, {"a": np.where(np.arange(300) == 4, np.nan, 1.0), "b": groups["b"]})
    with pytest.raises(ValueError, match="labels but X has"):
        gr.sufficient_stats(X, y, {"a": groups["a"][:-1], "b": groups["b"]})
    with pytest.raises(ValueError, match="no rows"):
        gr.sufficient_stats(X, y, {"a": pd.Categorical(groups["a"], categories=[3, 7, 10, 25, 100, 200, 9]),
                                   "b": groups["b"]})


def test_cell_stats_merge_in_any_order():
    """Chunks holding different cells (and string labels of different widths) merge to the one-shot statistics in
    any order and grouping: the same cells, n exactly, the cell statistics to 1e-12 relative."""
    X, y, groups = factor_data(seed=7)
    whole = gr.sufficient_stats(X, y, groups=groups)
    # uneven chunks; the first ones hold only short b labels and some a levels (field widths differ)
    short = np.isin(groups["b"], ["s", "u"]) & (groups["a"] < 50)
    first = np.flatnonzero(short)
    rest = np.flatnonzero(~short)
    parts_idx = [first[:40], first[40:], rest[:1], rest[1:333], rest[333:]]
    parts = [gr.sufficient_stats(X[i], y[i], groups={k: v[i].tolist() for k, v in groups.items()})  # own widths
             for i in parts_idx]
    assert parts[0].labels.dtype["b"].itemsize < whole.labels.dtype["b"].itemsize
    ref = whole.pooled.to_sufficient().transform.beta_ref
    expect = whole.to_cell_stats(ref)
    rng = np.random.default_rng(0)
    orders = [list(range(5)), list(range(5))[::-1]] + [rng.permutation(5).tolist() for _ in range(3)]
    for order in orders:
        seq = [parts[k] for k in order]
        left = seq[0]
        for s in seq[1:]:
            left = left + s
        for merged in (left, gr.merge(seq), sum(seq)):
            assert merged.labels.tolist() == whole.labels.tolist()
            assert merged.labels.dtype == whole.labels.dtype
            np.testing.assert_array_equal(merged.n, whole.n)
            assert_flat_close(merged.pooled, whole.pooled)
            cs = merged.to_cell_stats(ref)
            assert_cells_close(cs, {"G": expect.G, "h": expect.h, "rr": expect.rr, "n": expect.n,
                                    "level": expect.level}, rtol=1e-12)
    # the fields may come in another order: matched by name
    swapped = gr.sufficient_stats(X[rest], y[rest], groups={k: groups[k][rest] for k in ("c", "b", "a")})
    m = parts[0] + parts[1] + swapped
    assert m.factors == ["a", "b", "c"] and m.labels.tolist() == whole.labels.tolist()


def test_cell_stats_save_load_roundtrip_and_bad_merges(tmp_path):
    X, y, groups = factor_data(n=400, seed=8)
    s = gr.sufficient_stats(X, y, groups=groups)
    s.save(tmp_path / "cells.npz")
    t = gr.load_stats(tmp_path / "cells.npz")
    assert t == s and t.factors == s.factors and t.labels.dtype == s.labels.dtype
    assert t.labels.tolist() == s.labels.tolist()
    with np.load(tmp_path / "cells.npz") as z:
        assert '"version": 2' in str(z["meta"])
    gr.sufficient_stats(X, y, groups["a"]).save(tmp_path / "one.npz")  # one factor: still version 1
    with np.load(tmp_path / "one.npz") as z:
        assert '"version": 1' in str(z["meta"])
    with pytest.raises(ValueError, match="one grouping factor with statistics of the factors"):
        s + gr.sufficient_stats(X, y, groups["a"])
    with pytest.raises(ValueError, match="different factors"):
        s + gr.sufficient_stats(X, y, groups={"a": groups["a"], "b": groups["b"]})
    with pytest.raises(ValueError, match="different kinds"):
        s + gr.sufficient_stats(X, y, groups={"a": groups["a"].astype(str), "b": groups["b"], "c": groups["c"]})
    with pytest.raises(ValueError, match="several grouping factors"):
        gr.HierarchicalRegression().sample(stats=s, progress=False)
    with pytest.raises(ValueError, match="several grouping factors"):
        gr.HierarchicalRegression().sample(X, y, groups, progress=False)


def test_integer_labels_by_counting_equal_numpy_unique():
    from gibbsreg.io.groups import unique_codes

    rng = np.random.default_rng(0)
    cases = [rng.integers(-50, 10_000, 5000), rng.integers(0, 7, 100).astype(np.uint8), np.array([5]),
             rng.integers(0, 1 << 40, 1000), rng.integers(0, 3, 50).astype(np.int32), np.array(["b", "a", "b"])]
    for g in cases:
        levels, codes = unique_codes(g)
        want_levels, want_codes = np.unique(g, return_inverse=True)
        assert levels.dtype == want_levels.dtype
        np.testing.assert_array_equal(levels, want_levels)
        np.testing.assert_array_equal(codes, want_codes.reshape(-1))
        assert codes.dtype == np.int64
