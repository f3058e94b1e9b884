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
