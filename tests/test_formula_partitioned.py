"""Formulas on data beyond memory: Parquet/CSV files, folders and Dask DataFrames give the statistics, and
so the draws, of the same formula on the whole pandas frame (gibbsreg.formula.partitioned)."""

import dask.dataframe as dd  # the test extra brings dask, pyarrow, pandas and formulaic
import numpy as np
import pandas as pd
import pytest

import gibbsreg as gr

SMALL = dict(chains=2, draws=60, warmup=30, seed=4, progress=False)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(11)
    n = 900
    df = pd.DataFrame({
        "x": rng.normal(size=n),
        "c": rng.choice(["lo", "mid", "hi"], size=n),
        "g": rng.choice([f"g{k}" for k in range(12)], size=n),
        "h": rng.integers(0, 4, size=n),
    })
    # a level of c that only the last rows hold: the encoding must be learned from every partition
    df.loc[df.index[-5:], "c"] = "rare"
    effect = {"lo": -1.0, "mid": 0.0, "hi": 1.0, "rare": 2.0}
    df["y"] = 1 + 0.5 * df["x"] + df["c"].map(effect) + 0.3 * df["h"] + rng.normal(size=n)
    return df


def _same_stats(a, b, rtol=1e-10):
    pa, pb = getattr(a, "pooled", a), getattr(b, "pooled", b)
    assert pa.n == pb.n and list(pa.x_names) == list(pb.x_names)
    np.testing.assert_allclose(pa.x_mean, pb.x_mean, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(pa.C, pb.C, rtol=rtol, atol=1e-9)
    assert abs(pa.y_var - pb.y_var) <= rtol * pb.y_var


@pytest.mark.parametrize("formula", ["y ~ x + C(c)", "y ~ x + C(c) + (1 + x | g)", "y ~ x + (1 | g) + (1 | h)"])
def test_dask_frame_gives_the_pandas_statistics_and_draws(frame, formula):
    whole = gr.model(formula, frame)
    parts = gr.model(formula, dd.from_pandas(frame, npartitions=5))
    assert parts.kind == whole.kind and parts.design.names == whole.design.names
    assert parts.design.spec == whole.design.spec  # the same encoding, learned from every partition
    from gibbsreg.io import sufficient_stats

    groups = whole.groups
    ref = sufficient_stats(whole.X, whole.y, groups, intercept=whole.design.intercept)
    _same_stats(parts.design.stats, ref)
    a = whole.sample(**SMALL)
    b = parts.sample(**SMALL)
    for name in a.names:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-8, atol=1e-10)


def test_parquet_folder_and_csv_files(frame, tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    for k, start in enumerate(range(0, len(frame), 250)):
        frame.iloc[start:start + 250].to_parquet(folder / f"part{k}.parquet")
        frame.iloc[start:start + 250].to_csv(tmp_path / f"part{k}.csv", index=False)
    formula = "y ~ x + C(c) + (1 | g)"
    ref = gr.model(formula, frame).sample(**SMALL)
    for source in (str(folder), str(tmp_path / "part*.csv"), [str(p) for p in sorted(folder.iterdir())]):
        post = gr.model(formula, source).sample(**SMALL)
        np.testing.assert_allclose(post["mu"], ref["mu"], rtol=1e-8, atol=1e-10)
        assert post.attrs["formula"]["encoder_state"] == ref.attrs["formula"]["encoder_state"]
    # the saved spec predicts on new pandas rows, seen and unseen groups
    post = gr.model(formula, str(folder)).sample(**SMALL)
    pred = post.predict(newdata=frame.iloc[:4].assign(g=["g1", "g2", "new", "g3"]), seed=1)
    assert np.all(np.isfinite(np.asarray(pred.mean))) and np.asarray(pred.mean).shape[-1] == 4


def test_partitioned_errors_name_the_problem(frame, tmp_path):
    ddf = dd.from_pandas(frame, npartitions=3)
    with pytest.raises(ValueError, match="column 'z'"):
        gr.model("y ~ x + z", ddf)
    with pytest.raises(ValueError, match="stateful transform"):
        gr.model("y ~ center(x)", ddf)
    bad = frame.copy()
    bad.loc[bad.index[700], "x"] = np.nan
    with pytest.raises(ValueError, match="missing value"):
        gr.model("y ~ x", dd.from_pandas(bad, npartitions=3))
    with pytest.raises(ValueError, match="no such file"):
        gr.model("y ~ x", str(tmp_path / "absent.parquet"))


def test_command_line_formula_on_a_parquet_folder(frame, tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "pq"
    folder.mkdir()
    for k, start in enumerate(range(0, len(frame), 300)):
        frame.iloc[start:start + 300].to_parquet(folder / f"part{k}.parquet")
    out = tmp_path / "post.npz"
    proc = subprocess.run([sys.executable, "-m", "gibbsreg", "sample", str(folder), "--formula", "y ~ x + C(c) + (1 | g)",
                           "--draws", "40", "--warmup", "20", "--chains", "2", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    post = gr.load(out)
    assert "mu" in post.names and post.attrs["formula"]["formula"] == "y ~ x + C(c) + (1 | g)"
