"""Datasets: seeded synthetic generators for the flat and hierarchical models, and real data.

Synthetic: :func:`synthetic_regression`, :func:`synthetic_hierarchical`.

Real data shipped inside the package (``gibbsreg/datafiles/``, read with
``importlib.resources``, no network): :func:`boston`, :func:`radon`,
:func:`kidiq`, :func:`earnings`, :func:`pilots` (crossed factors),
:func:`radon_all` (all-state radon).  Each returns a pandas DataFrame (with
``.attrs["description"]``) when pandas is installed, otherwise a
:class:`Dataset`; :func:`describe` prints a data set's description, sources
and licence, :func:`to_arrays` turns either form into NumPy arrays.
"""

from __future__ import annotations

import csv as _csv
import io as _io
import json as _json
from dataclasses import dataclass, field
from importlib import resources as _resources

import numpy as np


@dataclass
class Synthetic:
    """Simulated data with the true parameters that generated them."""

    X: np.ndarray
    y: np.ndarray
    truth: dict = field(default_factory=dict)
    groups: np.ndarray | None = None


def synthetic_regression(n: int = 1000, p: int = 10, *, sigma: float = 1.0, intercept: bool = True,
                         seed=None, chunk_rows: int = 1 << 16, chunks=None) -> Synthetic:
    """y = X beta + N(0, sigma^2) with X (n, p - intercept) standard normal columns.

    ``p`` counts the intercept when ``intercept`` is True.  Rows are generated in
    chunks, so n = 10^7 needs only the output arrays.  truth: beta (p,), sigma2.
    ``chunks`` (rows per chunk) returns lazy Dask arrays instead, never materialised, chunk i
    drawn from the i-th SeedSequence child of ``seed`` (gibbsreg.io.lazy; other numbers than
    the eager path, the same for a seed and chunk size on any scheduler).
    """
    if chunks is not None:
        from .io.lazy import lazy_regression

        X, y, truth = lazy_regression(n, p, sigma=sigma, intercept=intercept, seed=seed, chunks=chunks)
        return Synthetic(X, y, truth)
    if n < 1 or p < 1:
        raise ValueError(f"need n >= 1 and p >= 1, got n={n}, p={p}")
    rng = np.random.default_rng(seed)
    px = p - int(intercept)
    beta = rng.normal(0.0, 1.0, size=p)
    X = np.empty((n, px))
    y = np.empty(n)
    for start in range(0, n, chunk_rows):
        stop = min(n, start + chunk_rows)
        X[start:stop] = rng.standard_normal((stop - start, px))
        y[start:stop] = X[start:stop] @ beta[int(intercept):] + rng.normal(0.0, sigma, stop - start)
    if intercept:
        y += beta[0]
    return Synthetic(X, y, {"beta": beta, "sigma2": sigma**2})


def synthetic_hierarchical(J: int = 100, group_size=50, p: int = 5, *, tau=1.0, sigma: float = 1.0, mu=None,
                           intercept: bool = True, group_variance: bool = False, seed=None, chunks=None) -> Synthetic:
    """Grouped data y_ij = x_ij' beta_j + eps_ij with beta_j ~ N(mu, diag(tau^2)).

    ``group_size`` is an int (equal groups), an array of J sizes, or "poisson:m"
    for sizes 1 + Poisson(m - 1).  ``p`` counts the intercept.  All coefficients
    vary.  truth: beta (J, p), mu (p,), tau2 (p,), sigma2 (scalar or (J,)).
    Groups are returned in shuffled row order with integer labels 0..J-1.
    ``chunks`` (rows per chunk) returns lazy Dask arrays X, y, groups (n = J * group_size rows,
    each row's group uniform at random, so sizes vary), as for :func:`synthetic_regression`.
    """
    if chunks is not None:
        from .io.lazy import lazy_hierarchical

        X, y, g, truth = lazy_hierarchical(J, group_size, p, tau=tau, sigma=sigma, mu=mu, intercept=intercept,
                                           group_variance=group_variance, seed=seed, chunks=chunks)
        return Synthetic(X, y, truth, g)
    rng = np.random.default_rng(seed)
    if isinstance(group_size, str) and group_size.startswith("poisson:"):
        m = float(group_size.split(":", 1)[1])
        sizes = 1 + rng.poisson(max(m - 1.0, 0.0), J)
    else:
        sizes = np.broadcast_to(np.asarray(group_size, dtype=np.int64), (J,)).copy()
    if (sizes < 1).any():
        raise ValueError("every group needs at least one row")
    px = p - int(intercept)
    mu = rng.normal(0.0, 1.0, p) if mu is None else np.broadcast_to(np.asarray(mu, float), (p,)).copy()
    tau2 = np.broadcast_to(np.asarray(tau, float) ** 2, (p,)).copy()
    beta = mu + np.sqrt(tau2) * rng.standard_normal((J, p))
    sig2 = sigma**2 * np.exp(0.5 * rng.standard_normal(J)) if group_variance else np.full(J, sigma**2)
    codes = np.repeat(np.arange(J), sizes)
    n = codes.shape[0]
    X = rng.standard_normal((n, px))
    full = np.hstack([np.ones((n, 1)), X]) if intercept else X
    y = np.einsum("ij,ij->i", full, beta[codes]) + np.sqrt(sig2[codes]) * rng.standard_normal(n)
    perm = rng.permutation(n)
    truth = {"beta": beta, "mu": mu, "tau2": tau2, "sigma2": sig2 if group_variance else sigma**2, "sizes": sizes}
    return Synthetic(X[perm], y[perm], truth, codes[perm])


# ---------------------------------------------------------------------------------------------
# Real data sets shipped with the package (gibbsreg/datafiles/, see datafiles/README.md there)

_POSTERIORDB = ("stan-dev/posteriordb (https://github.com/stan-dev/posteriordb), commit "
                "28f8d3d6e975315f42aa274a8399f21e07a43b30 (2025-04-29), file "
                "posterior_database/data/data/{file}.zip, unzipped and unchanged")
_POSTERIORDB_LICENCE = ("BSD 3-Clause, \"Copyright (c) 2011-2024, Stan Developers and their Assignees\"; "
                        "the full notice is in gibbsreg/datafiles/NOTICE-posteriordb.txt "
                        "(gibbsreg.datasets.license_text(name) returns it)")
_ARM = ("Gelman, A. and Hill, J. (2007), Data Analysis Using Regression and Multilevel/Hierarchical "
        "Models (the ARM book), {chapter}, and its public website, which states no explicit licence")


def _pandas():
    """The pandas module, or None when it is not installed (tests monkeypatch this)."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _data_path(filename: str):
    return _resources.files(__name__.rpartition(".")[0]) / "datafiles" / filename


def _read_text(filename: str) -> str:
    return _data_path(filename).read_text(encoding="utf-8")


class _Text(str):
    """A str that displays as plain text (so a REPL shows line breaks)."""

    def __repr__(self) -> str:
        return str(self)


class Dataset:
    """A small column table used when pandas is not installed.

    ``data`` maps column names to 1-D NumPy arrays of equal length, ``columns``
    lists them in order, ``description`` holds the provenance, licence and
    caveats, ``attrs`` the same metadata as a pandas DataFrame's ``.attrs``.
    ``ds["col"]`` is a column; :meth:`to_arrays` gives (X, y[, groups]).
    """

    def __init__(self, name: str, data: dict, description: str = "", attrs: dict | None = None):
        self.name = name
        self.data = {str(k): np.asarray(v) for k, v in data.items()}
        lengths = {v.shape[0] for v in self.data.values()}
        if len(lengths) > 1 or any(v.ndim != 1 for v in self.data.values()):
            raise ValueError(f"Dataset {name!r}: columns must be 1-D arrays of one length, got lengths {sorted(lengths)}")
        self.description = _Text(description)
        self.attrs = dict(attrs or {})
        self.attrs.setdefault("description", str(description))

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), len(self.data))

    def __len__(self) -> int:
        return next(iter(self.data.values())).shape[0] if self.data else 0

    def __getitem__(self, column: str) -> np.ndarray:
        try:
            return self.data[column]
        except KeyError:
            raise KeyError(f"no column {column!r}; columns are {self.columns}") from None

    def __contains__(self, column) -> bool:
        return column in self.data

    def to_arrays(self, y: str, x=None, groups: str | None = None):
        """(X, y) as float arrays, X (n, k) with the columns ``x`` (default: all but y and groups);
        (X, y, groups) when ``groups`` names a column."""
        return to_arrays(self, y=y, x=x, groups=groups)

    def to_pandas(self):
        pd = _pandas()
        if pd is None:
            raise ImportError("to_pandas() needs pandas (pip install pandas)")
        df = pd.DataFrame(self.data, columns=self.columns)
        df.attrs.update(self.attrs)
        return df

    def __repr__(self) -> str:
        cols = ", ".join(self.columns)
        return f"<Dataset {self.name!r}: {len(self)} rows x {len(self.data)} columns ({cols})>"


def to_arrays(data, y: str, x=None, groups: str | None = None):
    """NumPy arrays from a data set (pandas DataFrame, :class:`Dataset` or dict of columns).

    Returns ``(X, y)``: X (n, k) float64 with the columns ``x`` in the given order
    (a name or a list; default every column except ``y`` and ``groups``) and y (n,)
    float64; with ``groups`` a column name, ``(X, y, groups)``.  A DataFrame can
    also be passed to the models directly (``df[x]``), which keeps the column
    names as coefficient names.
    """
    columns = list(data.columns) if hasattr(data, "columns") else list(data)

    def column(name):
        if name not in columns:
            raise KeyError(f"no column {name!r}; columns are {columns}")
        col = data[name]
        return np.asarray(col.to_numpy() if hasattr(col, "to_numpy") else col)

    if x is None:
        x = [c for c in columns if c not in (y, groups)]
    elif isinstance(x, str):
        x = [x]
    else:
        x = list(x)
    if not x:
        raise ValueError("to_arrays: no predictor columns selected")
    X = np.column_stack([column(c).astype(np.float64) for c in x])
    yv = column(y).astype(np.float64)
    if groups is None:
        return X, yv
    return X, yv, column(groups)


# ---- loaders -------------------------------------------------------------------------------


def _boston_columns() -> dict:
    text = _read_text("boston.csv")
    rows = list(_csv.reader(_io.StringIO(text)))
    header, body = rows[0], [r for r in rows[1:] if r]
    out = {}
    for k, name in enumerate(header):
        tokens = [r[k] for r in body]
        try:
            out[name] = np.array([int(t) for t in tokens], dtype=np.int64)
        except ValueError:
            out[name] = np.array([float(t) for t in tokens], dtype=np.float64)
    return out


def _posteriordb(filename: str) -> dict:
    return _json.loads(_read_text(filename))


def _radon_columns() -> dict:
    d = _posteriordb("radon_mn.json")
    return {
        "log_radon": np.asarray(d["log_radon"], dtype=np.float64),
        "floor_measure": np.asarray(d["floor_measure"], dtype=np.int64),
        "county": np.asarray(d["county_idx"], dtype=np.int64),
        "log_uppm": np.asarray(d["log_uppm"], dtype=np.float64),
    }


def _radon_all_columns() -> dict:
    d = _posteriordb("radon_all.json")
    code = np.asarray(d["floor_measure"], dtype=np.int64)
    floor = code.astype(np.float64)
    floor[code == 9] = np.nan  # 9 is the survey's missing code, not a floor number
    return {
        "log_radon": np.asarray(d["log_radon"], dtype=np.float64),
        "floor_measure": floor,
        "county": np.asarray(d["county_idx"], dtype=np.int64),
        "log_uppm": np.asarray(d["log_uppm"], dtype=np.float64),
    }


def _pilots_columns() -> dict:
    d = _posteriordb("pilots.json")
    return {"y": np.asarray(d["y"], dtype=np.float64),
            "treatment": np.asarray(d["group_id"], dtype=np.int64),
            "airport": np.asarray(d["scenario_id"], dtype=np.int64)}


def _kidiq_columns() -> dict:
    d = _posteriordb("kidiq.json")
    return {"kid_score": np.asarray(d["kid_score"], dtype=np.int64),
            "mom_hs": np.asarray(d["mom_hs"], dtype=np.int64),
            "mom_iq": np.asarray(d["mom_iq"], dtype=np.float64)}


def _earnings_columns() -> dict:
    d = _posteriordb("earnings.json")
    return {"earn": np.asarray(d["earn"], dtype=np.float64),
            "height": np.asarray(d["height"], dtype=np.float64),
            "male": np.asarray(d["male"], dtype=np.int64)}


_BOSTON_DESCRIPTION = """\
Boston Housing: 506 census tracts of the Boston area (1970 census), 13 columns.

  crim     per-capita crime rate by town
  zn       proportion of residential land zoned for lots over 25,000 sq. ft
  indus    proportion of non-retail business acres per town
  chas     Charles River dummy (1 if the tract bounds the river, else 0)
  nox      nitric oxides concentration (parts per 10 million)
  rm       average number of rooms per dwelling
  age      proportion of owner-occupied units built before 1940
  dis      weighted mean of distances to five Boston employment centres
  rad      index of accessibility to radial highways
  tax      full-value property-tax rate per $10,000
  ptratio  pupil-teacher ratio by town
  lstat    lower status of the population (percent)
  medv     median value of owner-occupied homes, in $1000s (the usual response)

Caveats:
  * medv is censored at 50.0: 16 rows have medv = 50.0, meaning "50 or more".
    A Gaussian likelihood (every model in gibbsreg) ignores the censoring, so
    fits understate the values of those tracts; say so wherever the data are used
    (or drop those rows and say that instead).
  * The original column B = 1000 (Bk - 0.63)^2, Bk the proportion of Black
    residents by town, is deliberately absent, as in ISLR2/ISLP: it encoded a
    racist assumption (a non-monotone "preference" for segregation), and
    scikit-learn removed the data set for that reason.

Original data: Harrison, D. and Rubinfeld, D. L. (1978), "Hedonic prices and the
demand for clean air", J. Environ. Economics and Management 5, 81-102;
distributed through StatLib.
Provenance: ISLP/data/Boston.csv from the ISLP 0.6.0 wheel on PyPI (the Python
companion of "An Introduction to Statistical Learning", 2nd ed.), copied
unchanged to gibbsreg/datafiles/boston.csv.
Licence: the ISLP package's BSD-style licence; its full text is in
gibbsreg/datafiles/LICENSE-ISLP.txt (gibbsreg.datasets.license_text("boston")).
"""

_RADON_DESCRIPTION = """\
Minnesota radon: 919 houses in 85 counties (Gelman & Hill 2007, ch. 12), 4 columns.

  log_radon      log of the radon level measured in the house (log pCi/L)
  floor_measure  floor of the measurement: 0 = basement, 1 = first floor
  county         county index 1..85 (posteriordb's county_idx; names not included)
  log_uppm       log of the county's soil uranium level (ppm), constant within a county

Counties hold 1 to 116 houses (39 of the 85 hold fewer than 5), the classic case for
partial pooling: y = log_radon, groups = county, with floor_measure as a house-level
and log_uppm as a county-level predictor.
Caveat: 3 rows have log_radon = log(0.1) = -2.303, where a recorded radon level
of 0 was replaced by 0.1 before taking logs (as in the ARM book's code).

Original data: US EPA State Residential Radon Survey (SRRS2), via {arm}.
Provenance: {pdb}.
Licence: {lic}.
""".format(arm=_ARM.format(chapter="ch. 12"), pdb=_POSTERIORDB.format(file="radon_mn.json"), lic=_POSTERIORDB_LICENCE)

_RADON_ALL_DESCRIPTION = """\
All-state radon: 12,573 houses in 386 "counties" (Gelman & Hill 2007), 4 columns.

  log_radon      log of the radon level measured in the house (log pCi/L)
  floor_measure  floor of the measurement: 0 = basement, 1 = first floor, 2, 3 = higher floors;
                 NaN where the survey recorded the missing code 9 (284 rows)
  county         county index 1..386 (posteriordb's county_idx; names not included)
  log_uppm       log of the county's soil uranium level (ppm)

Caveats:
  * Counties were grouped by county NAME only, so same-named counties in different states
    are merged into one group (the data hold 468 real state-county pairs but only 386
    county indices); read "county" as "county name", not as a place.  No state column
    exists, so counties-within-states cannot be rebuilt from this file.
  * floor_measure uses 9 as a missing code; the loader turns it into NaN so that it is
    never fitted as the number 9.  Drop those rows (or model them) before fitting.
  * floor levels 2 and 3 hold only 22 and 19 houses.

Original data: US EPA State Residential Radon Survey (SRRS2), via {arm}.
Provenance: {pdb}.
Licence: {lic}.
""".format(arm=_ARM.format(chapter="ch. 12"), pdb=_POSTERIORDB.format(file="radon_all.json"),
           lic=_POSTERIORDB_LICENCE)

_PILOTS_DESCRIPTION = """\
Pilots: success rates of pilots in a flight simulator (Gelman & Hill 2007, ch. 13-14), 40 rows, 3 columns.

  y          proportion of successful approaches (0 to 1)
  treatment  treatment group 1..5 (posteriordb's group_id)
  airport    airport (scenario) 1..8 (posteriordb's scenario_id)

A fully crossed design: every treatment at every airport, one rate per cell, so the two
grouping factors are crossed, not nested (y ~ 1 + (1 | treatment) + (1 | airport)).
Caveat: y is a proportion of a handful of trials (several rows are exactly 0 or 1); a Gaussian
likelihood, as in the ARM book and posteriordb's model, ignores that.

Original data: {arm}.
Provenance: {pdb}.
Licence: {lic}.
""".format(arm=_ARM.format(chapter="ch. 13-14"), pdb=_POSTERIORDB.format(file="pilots.json"),
           lic=_POSTERIORDB_LICENCE)

_KIDIQ_DESCRIPTION = """\
Kid IQ: cognitive test scores of 434 three- and four-year-old children (Gelman & Hill 2007, ch. 3), 3 columns.

  kid_score  the child's cognitive test score
  mom_hs     1 if the mother completed high school, else 0
  mom_iq     the mother's IQ score

The upstream file also holds one prediction input (mom_hs_new = 1, mom_iq_new = 100),
kept in attrs["prediction_inputs"].

Original data: {arm}.
Provenance: {pdb}.
Licence: {lic}.
""".format(arm=_ARM.format(chapter="ch. 3"), pdb=_POSTERIORDB.format(file="kidiq.json"), lic=_POSTERIORDB_LICENCE)

_EARNINGS_DESCRIPTION = """\
Earnings and height: 1192 adults (Gelman & Hill 2007, ch. 4), 3 columns.

  earn    annual earnings in dollars (all positive, 200 to 200,000, so log(earn) is defined)
  height  height in inches
  male    1 for men, 0 for women

Original data: {arm}.
Provenance: {pdb}.
Licence: {lic}.
""".format(arm=_ARM.format(chapter="ch. 4"), pdb=_POSTERIORDB.format(file="earnings.json"), lic=_POSTERIORDB_LICENCE)

_REGISTRY = {
    "boston": dict(loader=_boston_columns, description=_BOSTON_DESCRIPTION, files=["boston.csv"],
                   license_file="LICENSE-ISLP.txt", license="BSD-style (ISLP 0.6.0)",
                   source="Harrison & Rubinfeld (1978) via StatLib; ISLP 0.6.0 (PyPI) ISLP/data/Boston.csv"),
    "radon": dict(loader=_radon_columns, description=_RADON_DESCRIPTION, files=["radon_mn.json"],
                  license_file="NOTICE-posteriordb.txt",
                  license="BSD 3-Clause, Copyright (c) 2011-2024, Stan Developers and their Assignees",
                  source="US EPA SRRS2 via Gelman & Hill (2007); posteriordb radon_mn"),
    "radon_all": dict(loader=_radon_all_columns, description=_RADON_ALL_DESCRIPTION, files=["radon_all.json"],
                      license_file="NOTICE-posteriordb.txt",
                      license="BSD 3-Clause, Copyright (c) 2011-2024, Stan Developers and their Assignees",
                      source="US EPA SRRS2 via Gelman & Hill (2007); posteriordb radon_all",
                      missing_columns=["floor_measure"]),
    "pilots": dict(loader=_pilots_columns, description=_PILOTS_DESCRIPTION, files=["pilots.json"],
                   license_file="NOTICE-posteriordb.txt",
                   license="BSD 3-Clause, Copyright (c) 2011-2024, Stan Developers and their Assignees",
                   source="Gelman & Hill (2007) ch. 13-14; posteriordb pilots"),
    "kidiq": dict(loader=_kidiq_columns, description=_KIDIQ_DESCRIPTION, files=["kidiq.json"],
                  license_file="NOTICE-posteriordb.txt",
                  license="BSD 3-Clause, Copyright (c) 2011-2024, Stan Developers and their Assignees",
                  source="Gelman & Hill (2007) ch. 3; posteriordb kidiq"),
    "earnings": dict(loader=_earnings_columns, description=_EARNINGS_DESCRIPTION, files=["earnings.json"],
                     license_file="NOTICE-posteriordb.txt",
                     license="BSD 3-Clause, Copyright (c) 2011-2024, Stan Developers and their Assignees",
                     source="Gelman & Hill (2007) ch. 4; posteriordb earnings"),
}


def available() -> list[str]:
    """Names of the real data sets shipped with the package."""
    return sorted(_REGISTRY)


def _entry(name: str) -> dict:
    key = str(name).lower()
    if key == "radon_mn":
        key = "radon"
    if key not in _REGISTRY:
        raise ValueError(f"unknown data set {name!r}; available: {available()}")
    return _REGISTRY[key]


def describe(name: str) -> str:
    """The description of a data set: columns, caveats, original source, provenance and licence."""
    return _Text(_entry(name)["description"])


def license_text(name: str) -> str:
    """The full licence notice shipped beside a data set's file(s)."""
    return _Text(_read_text(_entry(name)["license_file"]))


def load(name: str, as_frame: bool | None = None):
    """Load a shipped data set by name (see :func:`available`).

    ``as_frame=None`` (default) gives a pandas DataFrame when pandas is installed and a
    :class:`Dataset` otherwise; True requires pandas; False always gives a Dataset.
    The DataFrame's ``.attrs`` (and the Dataset's ``attrs``) hold ``name``,
    ``description``, ``source``, ``license`` and ``license_file``.
    """
    entry = _entry(name)
    key = [k for k, v in _REGISTRY.items() if v is entry][0]
    columns = entry["loader"]()
    attrs = {"name": key, "description": entry["description"], "source": entry["source"],
             "license": entry["license"], "license_file": "gibbsreg/datafiles/" + entry["license_file"],
             "files": ["gibbsreg/datafiles/" + f for f in entry["files"]],
             "missing_columns": list(entry.get("missing_columns", []))}
    if key == "kidiq":
        raw = _posteriordb("kidiq.json")
        attrs["prediction_inputs"] = {"mom_hs_new": raw["mom_hs_new"], "mom_iq_new": raw["mom_iq_new"]}
    ds = Dataset(key, columns, entry["description"], attrs)
    if as_frame is False:
        return ds
    pd = _pandas()
    if pd is None:
        if as_frame:
            raise ImportError(f"load({name!r}, as_frame=True) needs pandas (pip install pandas); "
                              "as_frame=None falls back to a gibbsreg.datasets.Dataset")
        return ds
    return ds.to_pandas()


def boston(as_frame: bool | None = None):
    """Boston Housing, 506 rows x 13 columns; response ``medv`` (censored at 50, 16 rows).

    The column ``B`` of the original data is deliberately absent (see :func:`describe`).
    Returns a DataFrame when pandas is installed, else a :class:`Dataset` (see :func:`load`).
    """
    return load("boston", as_frame)


def radon(as_frame: bool | None = None):
    """Minnesota radon: 919 houses in 85 counties; log_radon, floor_measure, county (1..85), log_uppm.

    Returns a DataFrame when pandas is installed, else a :class:`Dataset` (see :func:`load`).
    """
    return load("radon", as_frame)


def radon_all(as_frame: bool | None = None):
    """All-state radon: 12,573 houses, 386 county NAMES (same-named counties merged); log_radon,
    floor_measure (NaN for the missing code 9), county (1..386), log_uppm.

    Returns a DataFrame when pandas is installed, else a :class:`Dataset` (see :func:`load`).
    """
    return load("radon_all", as_frame)


def pilots(as_frame: bool | None = None):
    """Pilots (ARM ch. 13-14): 40 success rates, crossed factors treatment (5) x airport (8); y, treatment, airport.

    Returns a DataFrame when pandas is installed, else a :class:`Dataset` (see :func:`load`).
    """
    return load("pilots", as_frame)


def kidiq(as_frame: bool | None = None):
    """Kid IQ (ARM ch. 3): 434 children; kid_score, mom_hs, mom_iq.

    Returns a DataFrame when pandas is installed, else a :class:`Dataset` (see :func:`load`).
    """
    return load("kidiq", as_frame)


def earnings(as_frame: bool | None = None):
    """Earnings (ARM ch. 4): 1192 adults; earn, height, male.

    Returns a DataFrame when pandas is installed, else a :class:`Dataset` (see :func:`load`).
    """
    return load("earnings", as_frame)
