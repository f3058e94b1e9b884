"""Parquet files read without Dask or pandas (io/files._parquet_local): the same statistics as the Dask path and
as memory, errors naming the file, row group and column."""

import numpy as np
import pyarrow as pa  # the test extra brings pyarrow and dask
import pyarrow.parquet as pq
import pytest

import gibbsreg as gr


def _close(a, b, rtol=1e-10):
    pa_, pb = getattr(a, "pooled", a), getattr(b, "pooled", b)
    assert pa_.n == pb.n
    np.testing.assert_allclose(pa_.C, pb.C, rtol=rtol, atol=1e-9)
    np.testing.assert_allclose(pa_.x_mean, pb.x_mean, rtol=rtol, atol=1e-12)
    assert abs(pa_.y_var - pb.y_var) <= rtol * pb.y_var
    if hasattr(a, "labels"):
        assert list(a.labels) == list(b.labels)
        np.testing.assert_allclose(a.C, b.C, rtol=rtol, atol=1e-9)
        # h and rr depend on each group's anchor (merges move it to the group's own slopes); the residual sum
        # of squares at the group's least-squares slopes does not
        def rss_min(s):
            return s.rr - np.einsum("ji,ji->j", s.h, np.linalg.solve(s.C, s.h[..., None])[..., 0])

        np.testing.assert_allclose(rss_min(a), rss_min(b), rtol=1e-8)


def test_row_groups_of_unequal_files_give_the_statistics_of_memory(tmp_path):
    rng = np.random.default_rng(0)
    sizes = [3000, 17, 5200, 800]
    frames = []
    for k, n in enumerate(sizes):
        x1 = rng.normal(size=n)
        x2 = rng.integers(-5, 5, n)  # an integer column: cast to float
        g = rng.choice(["a", "b", "c", "d"], n)
        y = 1 + 2 * x1 - 0.5 * x2 + rng.normal(size=n)
        frames.append((x1, x2, g, y))
        table = pa.table({"x1": x1, "x2": x2, "g": g, "y": y})
        pq.write_table(table, tmp_path / f"part{k}.parquet", row_group_size=1000)
    X = np.column_stack([np.concatenate([f[0] for f in frames]), np.concatenate([f[1] for f in frames])])
    y = np.concatenate([f[3] for f in frames])
    g = np.concatenate([f[2] for f in frames])
    from gibbsreg.cli.tables import NamedColumns

    ref_flat = gr.sufficient_stats(NamedColumns(X, ["x1", "x2"]), y)
    ref_grouped = gr.sufficient_stats(NamedColumns(X, ["x1", "x2"]), y, g)
    _close(gr.read_stats(str(tmp_path), y="y", x=["x1", "x2"]), ref_flat)
    _close(gr.read_stats(str(tmp_path), y="y", x=["x1", "x2"], groups="g"), ref_grouped)


def test_a_null_is_named_by_file_row_group_and_column(tmp_path):
    x = pa.array([1.0, 2.0, None, 4.0] * 600)
    y = pa.array(np.arange(2400, dtype=float))
    pq.write_table(pa.table({"x": x, "y": y}), tmp_path / "nulls.parquet", row_group_size=1000)
    with pytest.raises(ValueError, match=r"NaN at row 2, column 0 \('x'\) in file .*nulls\.parquet, row group 0"):
        gr.read_stats(str(tmp_path / "nulls.parquet"), y="y")
    xi = pa.array([1, 2, 3, None] * 10, type=pa.int64())  # integer nulls too
    pq.write_table(pa.table({"x": xi, "y": pa.array(np.ones(40))}), tmp_path / "ints.parquet")
    with pytest.raises(ValueError, match=r"NaN at row 3, column 0 \('x'\).*ints\.parquet, row group 0"):
        gr.read_stats(str(tmp_path / "ints.parquet"), y="y")


def _unequal_folder(tmp_path, sizes=(11721, 1282, 300, 4000, 97, 2500, 13003), wide=12):
    """Seven Parquet files of unequal sizes, a response, one narrow and many wide columns, a group column."""
    rng = np.random.default_rng(4)
    parts = []
    for k, n in enumerate(sizes):
        cols = {f"w{j}": rng.normal(size=n) for j in range(wide)}
        cols["x1"] = rng.normal(size=n)
        cols["g"] = rng.choice(["a", "b", "c"], n)
        cols["y"] = 2.0 * cols["x1"] + cols["w0"] + rng.normal(size=n)
        pq.write_table(pa.table(cols), tmp_path / f"part{k}.parquet")
        parts.append(cols)
    return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


@pytest.mark.filterwarnings("ignore:the chains have not converged")
def test_dask_read_parquet_narrow_and_wide_selections_of_unequal_files(tmp_path):
    """Issue 30 item 4: X, y and groups selected from one dd.read_parquet frame cannot be partitioned apart by
    Dask's optimiser (it combines small files by the selected columns' size): they are joined partition-wise."""
    import dask.dataframe as dd
    from gibbsreg.cli.tables import NamedColumns

    data = _unequal_folder(tmp_path)
    ddf = dd.read_parquet(str(tmp_path))
    wide = [f"w{j}" for j in range(12)] + ["x1"]
    for cols in (["x1"], wide):
        ref = gr.sufficient_stats(NamedColumns(np.column_stack([data[c] for c in cols]), cols), data["y"],
                                  data["g"])
        _close(gr.sufficient_stats(ddf[cols], ddf["y"]), ref.pooled)
        _close(gr.sufficient_stats(ddf[cols], ddf["y"], ddf["g"]), ref)
    post = gr.LinearRegression().sample(ddf[["x1"]], ddf["y"], chains=1, draws=5, warmup=5, seed=1, progress=False)
    assert post["beta"].shape == (1, 5, 2)


def test_csv_read_by_pyarrow_equals_memory_and_names_bad_values(tmp_path):
    import pandas as pd
    from gibbsreg.io import files

    data = _unequal_folder(tmp_path, sizes=(3000, 700), wide=2)
    frame = pd.DataFrame(data)
    csv = tmp_path / "all.csv"
    frame.to_csv(csv, index=False)
    cols = ["w0", "w1", "x1"]
    from gibbsreg.cli.tables import NamedColumns

    ref = gr.sufficient_stats(NamedColumns(frame[cols].to_numpy(), cols), data["y"], data["g"])
    small = files.CSV_BLOCK_BYTES
    try:
        files.CSV_BLOCK_BYTES = 20_000  # several blocks
        _close(gr.read_stats(str(csv), y="y", x=cols, groups="g"), ref)
        bad = frame.copy()
        bad.loc[2345, "w1"] = np.nan
        bad.to_csv(tmp_path / "bad.csv", index=False)
        with pytest.raises(ValueError, match=r"NaN at row \d+, column 1 \('w1'\) in file .*bad\.csv, block [1-9]"):
            gr.read_stats(str(tmp_path / "bad.csv"), y="y", x=cols)
    finally:
        files.CSV_BLOCK_BYTES = small
    text = frame.astype({"w1": object})
    text.loc[10, "w1"] = "n/a?"
    text.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(ValueError, match=r"column 'w1' of .*text\.csv is not numeric: 'n/a\?'"):
        gr.read_stats(str(tmp_path / "text.csv"), y="y", x=cols)
