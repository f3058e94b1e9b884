"""Statistics from Dask arrays / DataFrames, Parquet folders and CSV files, on the local scheduler and
on a real distributed.LocalCluster (2 worker processes on loopback, started and closed here).

Statistics are compared with the in-memory ones at 1e-12 relative (helper assert_flat_close);
posterior draws "to rounding" at 1e-8 relative."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import gibbsreg as gr
from test_io_stats import assert_flat_close

KW = dict(chains=2, draws=200, warmup=50, seed=4, progress=False)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(21)
    n = 3000
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [3.0, -50.0, 1e3]
    g = rng.integers(0, 11, n)
    y = 1.0 + X @ np.array([0.5, -1.0, 2.0]) + rng.normal(size=(11,))[g] + rng.normal(size=n)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["y"] = y
    df["g"] = np.array([f"g{k:02d}" for k in g])
    return df


def assert_grouped_close(a, b, rtol=1e-12):
    assert a.labels.tolist() == b.labels.tolist()
    np.testing.assert_array_equal(a.n, b.n)
    np.testing.assert_allclose(a.C, b.C, rtol=0, atol=rtol * np.abs(b.C).max())
    np.testing.assert_allclose(a.x_mean, b.x_mean, rtol=0, atol=rtol * np.abs(b.x_mean).max())
    assert_flat_close(a.pooled, b.pooled, rtol)
    order = np.arange(b.p)
    ref = b.pooled.to_sufficient().transform.beta_ref
    ga, gb = a.to_group_stats(order, ref), b.to_group_stats(order, ref)
    np.testing.assert_allclose(ga.rr, gb.rr, rtol=1e-10)


def assert_draws_close(a, b):
    for v in a.names:
        np.testing.assert_allclose(a[v], b[v], rtol=1e-8, atol=1e-8 * np.abs(b[v]).max(), err_msg=v)


def test_dask_array_and_dataframe_equal_in_memory(frame):
    X, y = frame[["a", "b", "c"]].to_numpy(), frame["y"].to_numpy()
    mem = gr.sufficient_stats(X, y)
    with dask.config.set(scheduler="threads"):
        arr = gr.sufficient_stats(da.from_array(X, chunks=(400, 2)), da.from_array(y, chunks=700))
        assert_flat_close(arr, mem)
        ddf = dd.from_pandas(frame, npartitions=7)
        fs = gr.sufficient_stats(ddf[["a", "b", "c"]], ddf["y"])
        assert fs.x_names == ["a", "b", "c"]
        assert_flat_close(fs, gr.sufficient_stats(frame[["a", "b", "c"]], frame["y"]))
        # sample and fit_conjugate take the Dask objects directly
        post = gr.LinearRegression().sample(ddf[["a", "b", "c"]], ddf["y"], **KW)
        assert_draws_close(post, gr.LinearRegression().sample(frame[["a", "b", "c"]], frame["y"], **KW))
        fit = gr.fit_conjugate(da.from_array(X, chunks=(999, 3)), da.from_array(y, chunks=999))
        np.testing.assert_allclose(fit.mean, gr.fit_conjugate(X, y).mean, rtol=1e-11)
        gd = gr.sufficient_stats(ddf[["a", "b", "c"]], ddf["y"], ddf["g"])
        gm = gr.sufficient_stats(frame[["a", "b", "c"]], frame["y"], frame["g"])
        assert_grouped_close(gd, gm)
        hd = gr.HierarchicalRegression().sample(ddf[["a", "b", "c"]], ddf["y"], ddf["g"], **KW)
        assert_draws_close(hd, gr.HierarchicalRegression().sample(frame[["a", "b", "c"]], frame["y"], frame["g"], **KW))


def test_partition_order_and_sizes_do_not_matter(frame):
    mem = gr.sufficient_stats(frame[["a", "b", "c"]], frame["y"], frame["g"])
    perm = np.random.default_rng(3).permutation(len(frame))
    for nparts in (1, 4, 13):
        ddf = dd.from_pandas(frame.iloc[perm].reset_index(drop=True), npartitions=nparts)
        assert_grouped_close(gr.sufficient_stats(ddf[["a", "b", "c"]], ddf["y"], ddf["g"]), mem)


def test_parquet_folder_and_csv(frame, tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    bounds = [0, 500, 501, 1700, 3000]
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        frame.iloc[lo:hi].to_parquet(folder / f"part{i}.parquet")
    frame.iloc[:0].to_parquet(folder / "part9_empty.parquet")  # an empty file is fine
    mem = gr.sufficient_stats(frame[["a", "b", "c"]], frame["y"], frame["g"])
    s = gr.read_stats(str(folder), y="y", x=["a", "b", "c"], groups="g")
    assert_grouped_close(s, mem)
    s2 = gr.read_stats(str(folder / "*.parquet"), y="y", x=["a", "b", "c"])
    assert_flat_close(s2, mem.pooled)
    csv = tmp_path / "big.csv"
    frame.to_csv(csv, index=False)
    s3 = gr.read_stats(str(csv), y="y", x=["a", "b", "c"], groups="g", blocksize=20_000)  # several partitions
    assert_grouped_close(s3, mem)
    kw = dict(KW)
    assert_draws_close(gr.HierarchicalRegression().sample(stats=s3, **kw),
                       gr.HierarchicalRegression().sample(frame[["a", "b", "c"]], frame["y"], frame["g"], **kw))
    # x=None takes every other column (g is the group column)
    assert gr.read_stats(str(csv), y="y", groups="g").x_names == ["a", "b", "c"]


def test_file_errors(frame, tmp_path):
    bad = frame.copy()
    bad.loc[1234, "b"] = np.nan
    folder = tmp_path / "bad"
    folder.mkdir()
    frame.iloc[:1000].to_parquet(folder / "a.parquet")
    bad.iloc[1000:].to_parquet(folder / "b.parquet")
    with pytest.raises(ValueError, match=r"NaN at row 234, column 1 \('b'\) in file .*b\.parquet, row group 0"):
        gr.read_stats(str(folder), y="y", x=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"column\(s\) \['zz'\] not found .*columns are \['a', 'b', 'c', 'y', 'g'\]"):
        gr.read_stats(str(folder), y="y", x=["a", "zz"])
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    frame.iloc[:100].to_parquet(mixed / "a.parquet")
    frame.iloc[100:200].rename(columns={"c": "cc"}).to_parquet(mixed / "b.parquet")
    with pytest.raises(ValueError, match="schemas disagree.*b.parquet lacks column"):
        gr.read_stats(str(mixed), y="y", x=["a", "c"])
    other = tmp_path / "types"
    other.mkdir()
    frame.iloc[:100].to_parquet(other / "a.parquet")
    frame.iloc[100:200].assign(g=np.arange(100)).to_parquet(other / "b.parquet")
    with pytest.raises(ValueError, match="schemas disagree on column 'g'"):
        gr.read_stats(str(other), y="y", x=["a"], groups="g")
    nan_groups = frame.copy()
    nan_groups["g"] = nan_groups["g"].where(nan_groups.index != 77, None)
    csv = tmp_path / "g.csv"
    nan_groups.to_csv(csv, index=False)
    with pytest.raises(ValueError, match="missing .*label at row 77"):
        gr.read_stats(str(csv), y="y", x=["a"], groups="g")
    with pytest.raises(ValueError, match="no files match"):
        gr.read_stats(str(tmp_path / "nothing*.parquet"), y="y")
    # NaN in a Dask array names the partition
    X = frame[["a", "b", "c"]].to_numpy().copy()
    X[2500, 2] = np.inf
    with pytest.raises(ValueError, match=r"inf at row 100, column 2 \('x2'\) in partition 4"):
        gr.sufficient_stats(da.from_array(X, chunks=(600, 3)), da.from_array(frame["y"].to_numpy(), chunks=600))


def test_empty_partitions_are_fine(frame):
    ddf = dd.from_pandas(frame, npartitions=4)
    filtered = ddf[ddf["a"] > 3.0]  # some rows removed, partitions of varying size (possibly empty)
    empty = ddf[ddf["a"] > 1e9]
    both = dd.concat([filtered, empty])
    sub = frame[frame["a"] > 3.0]
    assert_flat_close(gr.sufficient_stats(both[["a", "b", "c"]], both["y"]),
                      gr.sufficient_stats(sub[["a", "b", "c"]], sub["y"]))
    with pytest.raises(ValueError, match="no rows"):
        gr.sufficient_stats(empty[["a", "b"]], empty["y"])


def test_core_import_does_not_import_dask():
    code = "import sys, gibbsreg; assert not any(m == 'dask' or m.startswith('dask.') for m in sys.modules); print('ok')"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr


def test_lazy_synthetic_same_data_whatever_scheduler():
    a = gr.datasets.synthetic_regression(n=10_000, p=6, chunks=1_500, seed=17)
    assert isinstance(a.X, da.Array) and a.X.shape == (10_000, 5) and a.truth["beta"].shape == (6,)
    b = gr.datasets.synthetic_regression(n=10_000, p=6, chunks=1_500, seed=17)
    Xa = a.X.compute(scheduler="threads")
    np.testing.assert_array_equal(Xa, b.X.compute(scheduler="sync"))
    np.testing.assert_array_equal(a.y.compute(scheduler="sync"), b.y.compute(scheduler="threads"))
    # a single chunk is the same as any slice of the whole
    np.testing.assert_array_equal(a.X[3000:4500].compute(), Xa[3000:4500])
    s = gr.sufficient_stats(a.X, a.y)
    assert_flat_close(s, gr.sufficient_stats(Xa, a.y.compute()))
    fit = gr.fit_conjugate(stats=s)
    z = (fit.mean - a.truth["beta"]) / np.sqrt(np.diag(fit.cov))
    assert np.abs(z).max() < 5  # 6 coefficients within 5 posterior sds of the truth (p ~ 3e-6 each)
    h = gr.datasets.synthetic_hierarchical(J=30, group_size=40, p=3, seed=5, chunks=250)
    gs = gr.sufficient_stats(h.X, h.y, h.groups)
    assert gs.J == 30 and gs.pooled.n == 1200
    hm = gr.datasets.synthetic_hierarchical(J=30, group_size=40, p=3, seed=5, chunks=250)
    np.testing.assert_array_equal(hm.groups.compute(), h.groups.compute())


# --------------------------------------------------------------------------- several grouping factors


XS = ["a", "b", "c"]
FACTORS = ["g", "h", "k"]


def with_factors(frame):
    """The frame plus an integer factor h (numeric level order) and a string factor k of several widths."""
    rng = np.random.default_rng(4)
    return frame.assign(h=rng.choice([5, 20, 100], len(frame)), k=rng.choice(["p", "qq", "rrrr"], len(frame)))


def assert_cells_close(a, b, rtol=1e-12):
    """Same cells (labels, field types, n) and cell statistics equal to ``rtol`` relative."""
    assert a.factors == b.factors
    assert a.labels.tolist() == b.labels.tolist()
    assert [a.labels.dtype[k].kind for k in a.factors] == [b.labels.dtype[k].kind for k in b.factors]
    np.testing.assert_array_equal(a.n, b.n)
    assert_flat_close(a.pooled, b.pooled, rtol)
    ref = b.pooled.to_sufficient().transform.beta_ref
    ca, cb = a.to_cell_stats(ref), b.to_cell_stats(ref)
    np.testing.assert_array_equal(ca.level, cb.level)
    np.testing.assert_allclose(ca.G, cb.G, rtol=0, atol=rtol * np.abs(cb.G).max())
    np.testing.assert_allclose(ca.rr, cb.rr, rtol=100 * rtol)
    np.testing.assert_allclose(ca.h, cb.h, rtol=0, atol=rtol * np.sqrt(np.abs(cb.G).max() * cb.rr.max()))


def test_dask_several_factors_equal_in_memory(frame):
    """A Dask DataFrame with a frame (or dict) of label columns, and Dask arrays with a dict of label arrays, give
    the in-memory cell statistics; the crossed model samples the Dask collections directly."""
    df = with_factors(frame)
    mem = gr.sufficient_stats(df[XS], df["y"], df[FACTORS])
    assert mem.factors == FACTORS and mem.labels.dtype["h"].kind == "i"
    X, y = df[XS].to_numpy(), df["y"].to_numpy()
    with dask.config.set(scheduler="threads"):
        ddf = dd.from_pandas(df, npartitions=6)
        assert_cells_close(gr.sufficient_stats(ddf[XS], ddf["y"], ddf[FACTORS]), mem)
        assert_cells_close(gr.sufficient_stats(ddf[XS], ddf["y"], {k: ddf[k] for k in FACTORS}), mem)
        labels = {k: da.from_array(df[k].to_numpy(dtype=str if k != "h" else np.int64), chunks=500) for k in FACTORS}
        sa = gr.sufficient_stats(da.from_array(X, chunks=(700, 3)), da.from_array(y, chunks=700), labels)
        assert_cells_close(sa, gr.sufficient_stats(X, y, {k: df[k].to_numpy() for k in FACTORS}))
        model = gr.CrossedRegression([gr.Factor("g"), gr.Factor("k", ["intercept", "a"])])
        post = model.sample(ddf[XS], ddf["y"], ddf[["g", "k"]], **KW)
        assert post.data is None  # Dask rows are not remembered
        assert_draws_close(post, model.sample(df[XS], df["y"], df[["g", "k"]], **KW))
        with pytest.raises(ValueError, match="same frame"):
            gr.sufficient_stats(ddf[XS], ddf["y"], {"g": ddf["g"], "h": df["h"]})


def test_read_stats_several_group_columns(frame, tmp_path):
    """read_stats(..., groups=[columns]) on a Parquet folder (and a CSV file, whose labels are read as text) gives
    the in-memory cell statistics, and CrossedRegression(stats=...) the in-memory draws."""
    df = with_factors(frame)
    folder = tmp_path / "pq"
    folder.mkdir()
    bounds = [0, 700, 701, 2000, 3000]
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        df.iloc[lo:hi].to_parquet(folder / f"part{i}.parquet")
    mem = gr.sufficient_stats(df[XS], df["y"], df[FACTORS])
    s = gr.read_stats(str(folder), y="y", x=XS, groups=FACTORS)
    assert_cells_close(s, mem)
    assert gr.read_stats(str(folder), y="y", groups=["g", "k"]).x_names == ["a", "b", "c", "h"]
    with dask.config.set(scheduler="threads"):  # a data frame as the source: pandas, or Dask (one selection)
        ddf = dd.from_pandas(df, npartitions=4)
        assert_cells_close(gr.read_stats(ddf, y="y", x=XS, groups=FACTORS), mem)
        assert_grouped_close(gr.read_stats(ddf, y="y", x=XS, groups="g"),
                             gr.sufficient_stats(df[XS], df["y"], df["g"]))
    assert gr.read_stats(df, y="y", x=XS, groups=FACTORS) == mem
    model = gr.CrossedRegression([gr.Factor("g"), gr.Factor("h"), gr.Factor("k")])
    assert_draws_close(model.sample(stats=s, **KW), model.sample(df[XS], df["y"], df[FACTORS], **KW))
    csv = tmp_path / "f.csv"
    df.to_csv(csv, index=False)
    s3 = gr.read_stats(str(csv), y="y", x=XS, groups=["g", "k"], blocksize=20_000)
    assert_cells_close(s3, gr.sufficient_stats(df[XS], df["y"], df[["g", "k"]]))
    with pytest.raises(ValueError, match="group column"):
        gr.read_stats(str(folder), y="y", x=XS, groups=["g", "nope"])
    with pytest.raises(ValueError, match="both predictors"):
        gr.read_stats(str(folder), y="y", x=XS, groups=["g", "a"])


# --------------------------------------------------------------------------- distributed


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=":0", silence_logs=40)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_local_cluster_same_stats_and_draws(client, frame, tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    for i in range(3):
        frame.iloc[i * 1000:(i + 1) * 1000].to_parquet(folder / f"p{i}.parquet")
    mem = gr.sufficient_stats(frame[["a", "b", "c"]], frame["y"], frame["g"])
    s = gr.read_stats(str(folder), y="y", x=["a", "b", "c"], groups="g")  # the Client is the default scheduler
    assert_grouped_close(s, mem)
    X, y = frame[["a", "b", "c"]].to_numpy(), frame["y"].to_numpy()
    sa = gr.sufficient_stats(da.from_array(X, chunks=(250, 3)), da.from_array(y, chunks=250))
    assert_flat_close(sa, gr.sufficient_stats(X, y))
    assert_draws_close(gr.LinearRegression().sample(stats=sa, **KW), gr.LinearRegression().sample(X, y, **KW))
    # a weights column read by the workers (docs/weights.md): the statistics of memory
    w = 1.0 + (np.arange(len(frame)) % 3)
    frame.assign(w=w).to_parquet(folder / "p0.parquet")
    for i in (1, 2):
        (folder / f"p{i}.parquet").unlink()
    sw = gr.read_stats(str(folder), y="y", x=["a", "b", "c"], groups="g", weights="w")
    assert_grouped_close(sw, gr.sufficient_stats(frame[["a", "b", "c"]], frame["y"], frame["g"], weights=w))


def test_worker_killed_mid_pass_same_stats(client):
    """SIGKILL one of the two worker processes while the statistics pass runs: the nanny restarts it,
    Dask recomputes the lost tasks, and the statistics are those of the in-memory pass."""
    data = gr.datasets.synthetic_regression(n=300_000, p=5, chunks=2_000, seed=2)  # 150 partitions
    X, y = dask.compute(data.X, data.y, scheduler="threads")
    mem = gr.sufficient_stats(X, y)
    pids = client.run(os.getpid)
    result = {}

    def run():
        result["stats"] = gr.sufficient_stats(data.X, data.y)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.time() + 60
    while time.time() < deadline and not any(client.processing().values()):
        time.sleep(0.01)
    time.sleep(0.2)
    killed_mid_pass = t.is_alive()
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    t.join(timeout=300)
    assert not t.is_alive()
    assert killed_mid_pass, "the pass ended before the worker was killed (make it longer)"
    assert_flat_close(result["stats"], mem)


def test_sbc_on_cluster_equals_local(client):
    model = gr.LinearRegression(gr.SemiConjugate(mean=[0.0, 1.0], scale=[1.0, 0.5], a=3.0, b=2.0))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15, 1))
    local = gr.sbc(model, X, n_sims=40, draws=49, thin=2, warmup=20, seed=8, progress=False)
    remote = gr.sbc(model, X, n_sims=40, draws=49, thin=2, warmup=20, seed=8, client=client, progress=False)
    np.testing.assert_array_equal(local.ranks, remote.ranks)
    assert local.ranks.shape == (40, 3)


def test_prior_sensitivity_on_cluster_equals_local(client):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = 1.0 + X @ [0.5, -0.3] + rng.normal(size=60)
    priors = gr.prior_grid("SemiConjugate", scale=[1.0, 10.0]) | gr.prior_grid("NIG", scale=[1.0, 10.0])
    kw = dict(chains=2, draws=200, warmup=50, seed=3)
    local = gr.prior_sensitivity(X, y, priors, **kw)
    remote = gr.prior_sensitivity(X, y, priors, client=client, **kw)
    np.testing.assert_array_equal(local.values, remote.values)
    assert remote.methods == local.methods


def test_convergence_study_on_cluster_equals_local(client):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    y = 1.0 + X @ [0.5, -0.3] + rng.normal(size=80)
    kw = dict(chains=(4, 8, 12), draws=(20, 50), warmup=10, seed=5)
    local = gr.convergence_study(gr.LinearRegression(), X, y, **kw)
    remote = gr.convergence_study(gr.LinearRegression(), X, y, client=client, chains_per_task=5, **kw)
    np.testing.assert_array_equal(remote.posterior["beta"], local.posterior["beta"])
    np.testing.assert_array_equal(remote.rhat, local.rhat)
    np.testing.assert_array_equal(remote.nested_rhat, local.nested_rhat)
    h = gr.datasets.synthetic_hierarchical(J=6, group_size=15, p=2, seed=1)
    hkw = dict(chains=(4, 8), draws=(20,), warmup=10, seed=7, shared_init=False)
    a = gr.convergence_study(gr.HierarchicalRegression(), h.X, h.y, h.groups, **hkw)
    b = gr.convergence_study(gr.HierarchicalRegression(), h.X, h.y, h.groups, client=client, chains_per_task=3, **hkw)
    np.testing.assert_array_equal(a.posterior["mu"], b.posterior["mu"])


def test_local_cluster_several_factors(client, frame, tmp_path):
    """Statistics of several factors from a Dask DataFrame and from Parquet files on the two-process cluster equal
    the in-memory ones."""
    df = with_factors(frame)
    mem = gr.sufficient_stats(df[XS], df["y"], df[FACTORS])
    ddf = dd.from_pandas(df, npartitions=5)
    assert_cells_close(gr.sufficient_stats(ddf[XS], ddf["y"], ddf[FACTORS]), mem)
    folder = tmp_path / "pq"
    folder.mkdir()
    for i in range(3):
        df.iloc[i * 1000:(i + 1) * 1000].to_parquet(folder / f"p{i}.parquet")
    assert_cells_close(gr.read_stats(str(folder), y="y", x=XS, groups=FACTORS), mem)
