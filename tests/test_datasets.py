"""Real data sets shipped in gibbsreg/data: shapes, provenance, licences, no network, with and without pandas."""

import json
import socket
from importlib import resources

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg import datasets

import pandas as pd  # a test extra; the no-pandas path is tested by simulating pandas away below

SHAPES = {"boston": (506, 13), "radon": (919, 4), "kidiq": (434, 3), "earnings": (1192, 3), "pilots": (40, 3),
          "radon_all": (12573, 4)}


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a data set loader tried to open a network socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def no_pandas(monkeypatch):
    monkeypatch.setattr(datasets, "_pandas", lambda: None)


def test_available():
    assert datasets.available() == sorted(SHAPES)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_dataframe_shapes_and_attrs(name, no_network):
    df = getattr(datasets, name)()
    assert isinstance(df, pd.DataFrame)
    assert df.shape == SHAPES[name]
    assert np.isfinite(df.drop(columns=df.attrs["missing_columns"]).to_numpy(dtype=float)).all()
    desc = df.attrs["description"]
    assert desc == datasets.describe(name)
    assert "Licence" in desc and "Provenance" in desc
    assert df.attrs["license"] and df.attrs["source"]


def test_boston_columns_censoring_and_missing_b():
    df = datasets.boston()
    assert list(df.columns) == ["crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax",
                                "ptratio", "lstat", "medv"]
    assert "B" not in df.columns and "b" not in df.columns
    assert int((df["medv"] == 50.0).sum()) == 16 and df["medv"].max() == 50.0
    desc = datasets.describe("boston")
    assert "censored at 50" in desc and "16 rows" in desc
    assert "B = 1000 (Bk - 0.63)^2" in desc and "racist" in desc
    assert "Harrison" in desc and "ISLP" in desc and "LICENSE-ISLP.txt" in desc
    # the shipped file is the ISLP csv, unchanged; the licence sits beside it
    shipped = resources.files("gibbsreg") / "datafiles"
    assert (shipped / "LICENSE-ISLP.txt").read_text().startswith("License of the ISLP 0.6.0 package")
    assert datasets.license_text("boston") == (shipped / "LICENSE-ISLP.txt").read_text()


def test_radon_groups_and_values():
    df = datasets.radon()
    assert list(df.columns) == ["log_radon", "floor_measure", "county", "log_uppm"]
    assert df["county"].nunique() == 85 and df["county"].min() == 1 and df["county"].max() == 85
    assert set(df["floor_measure"].unique()) == {0, 1}
    # log_uppm is a county-level predictor
    assert (df.groupby("county")["log_uppm"].nunique() == 1).all()
    raw = json.loads((resources.files("gibbsreg") / "datafiles" / "radon_mn.json").read_text())
    np.testing.assert_array_equal(df["log_radon"].to_numpy(), raw["log_radon"])
    np.testing.assert_array_equal(df["county"].to_numpy(), raw["county_idx"])


def test_kidiq_and_earnings_columns():
    k = datasets.kidiq()
    assert list(k.columns) == ["kid_score", "mom_hs", "mom_iq"]
    assert k.attrs["prediction_inputs"] == {"mom_hs_new": 1, "mom_iq_new": 100}
    e = datasets.earnings()
    assert list(e.columns) == ["earn", "height", "male"]
    assert (e["earn"] > 0).all()


@pytest.mark.parametrize("name", ["radon", "kidiq", "earnings", "pilots", "radon_all"])
def test_posteriordb_notice(name):
    desc = datasets.describe(name)
    assert "posteriordb" in desc and "28f8d3d6e975315f42aa274a8399f21e07a43b30" in desc
    assert "Copyright (c) 2011-2024, Stan Developers and their Assignees" in desc
    assert "Gelman" in desc
    text = datasets.license_text(name)
    assert "BSD 3-Clause License" in text
    assert "Copyright (c) 2011-2024, Stan Developers and their Assignees" in text
    assert "Neither the name of the copyright holder" in text  # the full licence, not a pointer


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_without_pandas(name, no_pandas, no_network):
    ds = getattr(datasets, name)()
    assert isinstance(ds, datasets.Dataset)
    assert ds.shape == SHAPES[name] and len(ds) == SHAPES[name][0]
    assert len(ds.columns) == SHAPES[name][1] and set(ds.data) == set(ds.columns)
    assert all(isinstance(v, np.ndarray) and v.shape == (len(ds),) for v in ds.data.values())
    assert ds.description == datasets.describe(name)
    assert ds.attrs["description"] == ds.description
    with pytest.raises(ImportError, match="pandas"):
        datasets.load(name, as_frame=True)
    with pytest.raises(ImportError, match="pandas"):
        ds.to_pandas()


def test_dataset_matches_dataframe_and_to_arrays(no_pandas):
    ds = datasets.boston()
    assert isinstance(ds, datasets.Dataset)
    X, y = ds.to_arrays(y="medv")
    assert X.shape == (506, 12) and y.shape == (506,) and X.dtype == np.float64
    X2, y2 = ds.to_arrays(y="medv", x=["rm", "lstat"])
    np.testing.assert_array_equal(X2, np.column_stack([ds["rm"], ds["lstat"]]))
    r = datasets.radon()
    Xr, yr, g = r.to_arrays(y="log_radon", x="floor_measure", groups="county")
    assert Xr.shape == (919, 1) and len(np.unique(g)) == 85
    with pytest.raises(KeyError, match="no column 'B'"):
        ds.to_arrays(y="medv", x=["B"])


def test_same_values_with_and_without_pandas(monkeypatch):
    for name in SHAPES:
        df = datasets.load(name)
        ds = datasets.load(name, as_frame=False)
        assert list(df.columns) == ds.columns
        for c in ds.columns:
            np.testing.assert_array_equal(df[c].to_numpy(), ds[c])
        Xa, ya = datasets.to_arrays(df, y=ds.columns[0])
        Xb, yb = ds.to_arrays(y=ds.columns[0])
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown data set"):
        datasets.load("mtcars")


def test_dataframe_feeds_the_models():
    df = datasets.kidiq()
    fit = gr.fit_conjugate(df[["mom_hs", "mom_iq"]], df["kid_score"])
    assert fit.names == ["intercept", "mom_hs", "mom_iq"]


def test_synthetic_generators_still_work():
    s = datasets.synthetic_regression(n=50, p=3, seed=1)
    assert s.X.shape == (50, 2)
    h = datasets.synthetic_hierarchical(J=5, group_size="poisson:4", p=2, seed=1)
    assert h.groups.shape == h.y.shape and len(np.unique(h.groups)) == 5


def test_radon_all_missing_floor_code_and_merged_counties():
    raw = json.loads((resources.files("gibbsreg") / "datafiles" / "radon_all.json").read_text())
    df = datasets.radon_all()
    code = np.asarray(raw["floor_measure"])
    assert (code == 9).sum() == 284
    assert df["floor_measure"].isna().sum() == 284 and np.isnan(df["floor_measure"].to_numpy()[code == 9]).all()
    assert set(df["floor_measure"].dropna().unique()) == {0.0, 1.0, 2.0, 3.0}
    assert df["county"].nunique() == 386
    assert "NAME" in datasets.describe("radon_all") and "missing code" in datasets.describe("radon_all")


def test_pilots_fully_crossed():
    df = datasets.pilots()
    counts = df.groupby(["treatment", "airport"]).size()
    assert len(counts) == 40 and (counts == 1).all()
    assert df["treatment"].nunique() == 5 and df["airport"].nunique() == 8
