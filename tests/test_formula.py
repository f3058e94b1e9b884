"""The formula front end (gibbsreg.model): designs, identical draws to the matrix API, prediction on
new data frames, errors, save/load, and the parsing of group terms into grouping factors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import gibbsreg as gr
from gibbsreg.formula import build_design, factor_arguments, parse_formula
from gibbsreg.formula.parse import factor_specs

SMALL = dict(chains=2, draws=40, warmup=20, progress=False)


@pytest.fixture(scope="module")
def frame():
    """Synthetic rows with a numeric x, a positive z, a string c, a pandas categorical k with its own
    level order, an integer code m, and a grouping factor g (12 groups)."""
    rng = np.random.default_rng(7)
    n = 240
    df = pd.DataFrame({
        "x": rng.normal(size=n),
        "z": rng.uniform(0.5, 3.0, size=n),
        "c": rng.choice(["lo", "mid", "hi"], size=n),
        "k": pd.Categorical(rng.choice(["v", "u", "w"], size=n), categories=["w", "u", "v"]),
        "m": rng.integers(1, 4, size=n),
        "g": rng.integers(0, 12, size=n),
    })
    eff = {"lo": 0.0, "mid": 0.5, "hi": -0.7}
    df["y"] = (1.0 + 0.8 * df["x"] + np.array([eff[v] for v in df["c"]]) + 0.3 * np.log(df["z"])
               + rng.normal(0, 0.4, 12)[df["g"]] + rng.normal(0, 0.5, n))
    return df


def dummies(values, levels):
    """Treatment coding by hand: one 0/1 column per level except the first (the reference)."""
    v = np.asarray(values)
    return np.column_stack([(v == lev).astype(float) for lev in levels[1:]])


# ---------------------------------------------------------------------------------------------
# designs


def test_import_does_not_load_formulaic_or_pandas():
    code = "import sys, gibbsreg; print('formulaic' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_missing_formulaic_names_the_extra(frame, monkeypatch):
    monkeypatch.setitem(sys.modules, "formulaic", None)  # makes `import formulaic` fail
    with pytest.raises(ImportError, match=r'pip install "gibbsreg\[formula\]"'):
        gr.model("y ~ x", data=frame)


def test_design_equals_hand_built_treatment_coding(frame):
    d = build_design("y ~ x + c + k + C(m) + np.log(z) + x:c", frame)
    c_levels = sorted(frame["c"].unique())  # strings: sorted, first is the reference
    k_levels = ["w", "u", "v"]  # a pandas categorical keeps its own order
    m_levels = [1, 2, 3]
    hand = np.column_stack([
        frame["x"], dummies(frame["c"], c_levels), dummies(frame["k"].astype(str), k_levels),
        dummies(frame["m"], m_levels), np.log(frame["z"].to_numpy()),
        frame["x"].to_numpy()[:, None] * dummies(frame["c"], c_levels),
    ])
    names = (["x"] + [f"c[T.{lev}]" for lev in c_levels[1:]] + [f"k[T.{lev}]" for lev in k_levels[1:]]
             + [f"C(m)[T.{lev}]" for lev in m_levels[1:]] + ["np.log(z)"]
             + [f"x:c[T.{lev}]" for lev in c_levels[1:]])
    assert d.intercept and d.names == ["intercept"] + names
    assert list(d.X.columns) == names
    np.testing.assert_array_equal(d.X.to_numpy(), hand)
    np.testing.assert_array_equal(d.y, frame["y"].to_numpy())
    assert d.factors == [] and d.groups == {}


def test_no_intercept_keeps_every_level(frame):
    for f in ("y ~ 0 + c + x", "y ~ c + x - 1"):
        d = build_design(f, frame)
        levels = sorted(frame["c"].unique())
        assert not d.intercept
        assert d.names == [f"c[{lev}]" for lev in levels] + ["x"]
        hand = np.column_stack([(frame["c"].to_numpy() == lev).astype(float) for lev in levels] + [frame["x"]])
        np.testing.assert_array_equal(d.X.to_numpy(), hand)


def test_group_terms_give_varying_and_pooled_columns(frame):
    d = build_design("y ~ x + np.log(z) + (1 + x | g)", frame)
    (f,) = d.factors
    assert f.name == "g" and f.columns == ["intercept", "x"] and f.covariance == "full"
    assert d.groups["g"].equals(frame["g"])
    d = build_design("y ~ x + (x || g)", frame)
    assert d.factors[0].columns == ["intercept", "x"] and d.factors[0].covariance == "diagonal"
    d = build_design("y ~ x + (0 + x | g)", frame)
    assert d.factors[0].columns == ["x"]
    d = build_design("y ~ (1 | g)", frame)
    assert d.names == ["intercept"] and d.X.shape == (len(frame), 0)


# ---------------------------------------------------------------------------------------------
# same draws as the matrix API


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_flat_draws_equal_matrix_api(backend):
    df = gr.datasets.boston()
    post = gr.model("medv ~ C(chas) + np.log(lstat) + rm + ptratio", data=df).sample(seed=3, backend=backend,
                                                                                     **SMALL)
    X = pd.DataFrame({"C(chas)[T.1]": (df["chas"] == 1).astype(float), "np.log(lstat)": np.log(df["lstat"]),
                      "rm": df["rm"], "ptratio": df["ptratio"]})
    ref = gr.LinearRegression().sample(X, df["medv"], seed=3, backend=backend, **SMALL)
    np.testing.assert_array_equal(post["beta"], ref["beta"])
    np.testing.assert_array_equal(post["sigma2"], ref["sigma2"])
    assert post.coords["coef"] == ref.coords["coef"] == ["intercept", "C(chas)[T.1]", "np.log(lstat)", "rm",
                                                         "ptratio"]
    assert "beta[C(chas)[T.1]]" in post.summary().index
    assert post.attrs["formula"]["formula"] == "medv ~ C(chas) + np.log(lstat) + rm + ptratio"


def test_flat_prior_and_no_intercept_pass_through(frame):
    prior = gr.NormalInverseGamma(scale=3.0)
    post = gr.model("y ~ 0 + c + x", data=frame, prior=prior).sample(seed=5, **SMALL)
    levels = sorted(frame["c"].unique())
    X = np.column_stack([(frame["c"].to_numpy() == lev).astype(float) for lev in levels] + [frame["x"]])
    # a DataFrame like the formula's X: the same values in the same memory layout give identical draws
    Xdf = pd.DataFrame(X, columns=[f"c[{lev}]" for lev in levels] + ["x"])
    ref = gr.LinearRegression(prior=prior, intercept=False).sample(Xdf, frame["y"], seed=5, **SMALL)
    np.testing.assert_array_equal(post["beta"], ref["beta"])
    # from a C-ordered array, Z'Z sums in another order: equal to rounding
    ref = gr.LinearRegression(prior=prior, intercept=False).sample(X, frame["y"], seed=5, **SMALL)
    np.testing.assert_allclose(post["beta"], ref["beta"], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_hierarchical_draws_equal_matrix_api(backend):
    df = gr.datasets.radon()
    y, g = df["log_radon"], df["county"]
    X = df[["floor_measure", "log_uppm"]]
    # (1 | county): one varying coefficient, half-Cauchy default
    post = gr.model("log_radon ~ floor_measure + log_uppm + (1 | county)", data=df).sample(
        seed=11, backend=backend, **SMALL)
    ref = gr.HierarchicalRegression(varying="intercept").sample(X, y, g, seed=11, backend=backend, **SMALL)
    for name in ("beta", "mu", "tau2", "alpha", "sigma2"):
        np.testing.assert_array_equal(post[name], ref[name])
    assert post.coords == ref.coords
    # (1 + floor_measure || county): independent coefficients, a tau per column
    post = gr.model("log_radon ~ floor_measure + (1 + floor_measure || county)", data=df).sample(
        seed=12, backend=backend, **SMALL)
    ref = gr.HierarchicalRegression().sample(df[["floor_measure"]], y, g, seed=12, backend=backend, **SMALL)
    for name in ("beta", "mu", "tau2", "sigma2"):
        np.testing.assert_array_equal(post[name], ref[name])


def test_correlated_term_uses_the_documented_huang_wand_default():
    df = gr.datasets.radon()
    fm = gr.model("log_radon ~ floor_measure + (1 + floor_measure | county)", data=df, sampler="centered")
    post = fm.sample(seed=13, **SMALL)
    # independent construction of the default: Huang-Wand(nu = 2, s), s = sd(y), sd(y)/sd(x) (ddof 0)
    y_sd = np.std(df["log_radon"].to_numpy())
    s = np.array([y_sd, y_sd / np.std(df["floor_measure"].to_numpy())])
    prior = gr.HierarchicalPrior(tau=gr.HuangWand(2.0, s))
    ref = gr.HierarchicalRegression(prior=prior, sampler="centered").sample(
        df[["floor_measure"]], df["log_radon"], df["county"], seed=13, **SMALL)
    for name in ("beta", "mu", "Sigma", "sigma2"):
        np.testing.assert_array_equal(post[name], ref[name])
    assert "tau (HuangWand)" in post.prior.defaults
    # the user's tau prior overrides the default
    fm = gr.model("log_radon ~ floor_measure + (1 + floor_measure | county)", data=df,
                  prior=gr.HierarchicalPrior(tau=gr.HalfCauchy(1.0)))
    assert isinstance(fm.model.prior.tau, gr.HalfCauchy)


# ---------------------------------------------------------------------------------------------
# prediction on new data frames


def test_predict_newdata_equals_predict_on_hand_built_rows(frame):
    post = gr.model("y ~ x + c + np.log(z)", data=frame).sample(seed=2, **SMALL)
    new = pd.DataFrame({"x": [0.0, 1.5, -2.0], "c": ["hi", "lo", "mid"], "z": [1.0, 2.0, 0.7], "y": np.nan})
    levels = sorted(frame["c"].unique())
    Xn = np.column_stack([new["x"], dummies(new["c"], levels), np.log(new["z"])])
    a = post.predict(newdata=new, seed=4)
    b = post.predict(Xn, seed=4)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.mean_draws, b.mean_draws)


def test_predict_newdata_hierarchical_with_a_new_group(frame):
    post = gr.model("y ~ x + c + (1 + x || g)", data=frame).sample(seed=6, **SMALL)
    new = pd.DataFrame({"x": [0.2, -1.0, 0.4, 1.0], "c": ["lo", "hi", "mid", "lo"], "g": [3, 99, 3, 99]})
    levels = sorted(frame["c"].unique())
    Xn = np.column_stack([new["x"], dummies(new["c"], levels)])
    a = post.predict(newdata=new, seed=8)
    b = post.predict(Xn, groups=np.array([3, 99, 3, 99], dtype=object), seed=8)
    np.testing.assert_array_equal(a.y, b.y)
    # the new group 99 shares one beta_new per draw, drawn from N(mu, diag(tau2))
    assert a.mean_draws.shape == (2, 40, 4)
    with pytest.raises(ValueError, match="either newdata"):
        post.predict(Xn, newdata=new)


# ---------------------------------------------------------------------------------------------
# errors, each before any sampling


def test_errors_name_the_column_or_term(frame):
    with pytest.raises(ValueError, match=r"column 'nope'.*not in data"):
        gr.model("y ~ x + np.log(nope)", data=frame)
    with pytest.raises(ValueError, match=r"column 'h'.*grouping factor"):
        gr.model("y ~ x + (1 | h)", data=frame)
    with pytest.raises(ValueError, match="syntax error"):
        gr.model("y ~ x + (1 | g", data=frame)
    with pytest.raises(ValueError, match="syntax error"):
        gr.model("y ~ x +* c", data=frame)
    with pytest.raises(ValueError, match="must be added with"):
        gr.model("y ~ x * (1 | g)", data=frame)
    bad = frame.copy()
    bad.loc[17, "z"] = np.nan
    with pytest.raises(ValueError, match=r"column 'z'.*missing value.*row 17"):
        gr.model("y ~ x + np.log(z)", data=bad)
    gr.model("y ~ x", data=bad)  # NaN in an unused column is fine
    with pytest.raises(ValueError, match=r"'x' varies by group but is not in the fixed part"):
        gr.model("y ~ c + (1 + x | g)", data=frame)
    with pytest.raises(ValueError, match=r"'intercept' varies by group"):
        gr.model("y ~ 0 + x + (1 | g)", data=frame)
    unused = frame.assign(k=frame["k"].cat.add_categories(["never"]))
    with pytest.raises(ValueError, match=r"k\[T.never\].*all zeros"):
        gr.model("y ~ k", data=unused)
    with pytest.raises(ValueError, match="HierarchicalPrior"):
        gr.model("y ~ x + (1 | g)", data=frame, prior=gr.SemiConjugate())
    with pytest.raises(ValueError, match="independent"):
        gr.model("y ~ x + (1 + x || g)", data=frame, prior=gr.HierarchicalPrior(tau=gr.InvWishart(3, 1.0)))
    with pytest.raises(ValueError, match="decides the intercept"):
        gr.model("y ~ x", data=frame, intercept=False)
    with pytest.raises(ValueError, match="one numeric column"):
        gr.model("c ~ x", data=frame)


def test_newdata_errors(frame):
    post = gr.model("y ~ x + C(m) + k + (1 | g)", data=frame).sample(seed=1, **SMALL)
    ok = frame.iloc[:3].drop(columns="y")
    post.predict(newdata=ok, seed=0)
    with pytest.raises(ValueError, match=r"categorical predictor 'C\(m\)'.*\[7\]"):
        post.predict(newdata=ok.assign(m=[1, 7, 2]))
    with pytest.raises(ValueError, match=r"categorical predictor 'k'.*'zz'"):
        post.predict(newdata=ok.assign(k=["u", "zz", "v"]))
    with pytest.raises(ValueError, match=r"column 'x'.*not in newdata"):
        post.predict(newdata=ok.drop(columns="x"))
    with pytest.raises(ValueError, match=r"column 'g'.*not in newdata"):
        post.predict(newdata=ok.drop(columns="g"))
    with pytest.raises(ValueError, match=r"column 'x'.*missing value.*row 1"):
        post.predict(newdata=ok.assign(x=[0.0, np.nan, 1.0]))
    matrix_post = gr.LinearRegression().sample(frame[["x"]], frame["y"], seed=1, **SMALL)
    with pytest.raises(ValueError, match="sampled from a formula"):
        matrix_post.predict(newdata=ok)


# ---------------------------------------------------------------------------------------------
# save / load, ArviZ


def test_save_load_keeps_the_formula_and_predicts(frame, tmp_path):
    fm = gr.model("y ~ center(x) + c + k + poly(z, 2) + (1 | g)", data=frame)
    post = fm.sample(seed=9, **SMALL)
    path = tmp_path / "post.npz"
    post.save(path)
    back = gr.load(path)
    assert back.attrs["formula"] == post.attrs["formula"]
    assert back.attrs["formula"]["formula"] == "y ~ center(x) + c + k + poly(z, 2) + (1 | g)"
    new = pd.DataFrame({"x": [0.1, 2.0], "c": ["mid", "lo"], "k": ["v", "w"], "z": [1.2, 2.9], "g": [4, 1000]})
    a = post.predict(newdata=new, seed=1)
    b = back.predict(newdata=new, seed=1)
    np.testing.assert_array_equal(a.y, b.y)
    # the stateful transforms replay the fitted state: center(x) subtracts the training mean
    Xn, _ = gr.formula.newdata_rows(back.attrs["formula"], new)
    np.testing.assert_allclose(Xn[:, 0], new["x"] - frame["x"].mean(), rtol=0, atol=1e-12)
    with open(path, "rb") as fh:
        assert b"pickle" not in fh.read()


def test_to_arviz_uses_formula_names(frame):
    post = gr.model("y ~ x + c + (1 + x | g)", data=frame).sample(seed=3, **SMALL)
    idata = post.to_arviz()
    assert idata.posterior["beta"].dims == ("chain", "draw", "g", "coef")
    assert list(idata.posterior["g"].values) == sorted(frame["g"].unique())
    assert list(idata.posterior["pooled_coef"].values) == ["c[T.lo]", "c[T.mid]"]
    assert list(idata.posterior["coef"].values) == ["intercept", "x"]


# ---------------------------------------------------------------------------------------------
# several grouping factors: parsing and the mapping onto CrossedRegression


def test_parse_crossed_and_nested_terms():
    p = parse_formula("y ~ x + (1 | a/b) + (1 + x || c) + (0 + x | a)")
    assert p.response == "y" and p.fixed == "x"
    assert [(t.factor, t.expr, t.independent) for t in p.group_terms] == [
        ("a", "1", False), ("a:b", "1", False), ("c", "1 + x", True), ("a", "0 + x", False)]
    specs = factor_specs(p.group_terms, [["intercept"], ["intercept"], ["intercept", "x"], ["x"]])
    assert [(s.name, s.variables, s.columns, s.covariance) for s in specs] == [
        ("a", ("a",), ["intercept", "x"], "diagonal"), ("a:b", ("a", "b"), ["intercept"], "diagonal"),
        ("c", ("c",), ["intercept", "x"], "diagonal")]
    with pytest.raises(ValueError, match="block-diagonal"):
        factor_specs(parse_formula("y ~ x + (1 + x | a) + (0 + z | a)").group_terms, [["intercept", "x"], ["z"]])
    with pytest.raises(ValueError, match="twice|two group terms"):
        factor_specs(parse_formula("y ~ x + (1 | a) + (1 | a)").group_terms, [["intercept"], ["intercept"]])
    p = parse_formula("y ~ (1 | `my group`) - 1 + x")
    assert p.fixed == "- 1 + x" and p.group_terms[0].variables == ("my group",)


def test_crossed_design_maps_onto_factors():
    rng = np.random.default_rng(1)
    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "a": rng.integers(0, 4, n), "b": rng.choice(["p", "q"], n),
                       "s": rng.integers(0, 5, n), "y": rng.normal(size=n)})
    d = build_design("y ~ x + (1 + x | s) + (1 | a/b)", df)
    assert [f.name for f in d.factors] == ["s", "a", "a:b"]
    labels = d.groups["a:b"]
    assert list(labels[:3]) == [f"{a}:{b}" for a, b in zip(df["a"][:3], df["b"][:3])]
    args = factor_arguments(d)
    assert [(a["name"], a["varying"]) for a in args] == [("s", ["intercept", "x"]), ("a", ["intercept"]),
                                                        ("a:b", ["intercept"])]
    assert isinstance(args[0]["tau"], gr.HuangWand) and args[1]["tau"] is None and args[2]["tau"] is None
    assert [f["name"] for f in d.spec["factors"]] == ["s", "a", "a:b"]
    if not hasattr(gr, "CrossedRegression"):
        with pytest.raises(ValueError, match="CrossedRegression"):
            gr.model("y ~ x + (1 | a) + (1 | s)", data=df)
    else:
        fm = gr.model("y ~ x + (1 | a) + (1 | s)", data=df)
        assert type(fm.model).__name__ == "CrossedRegression" and set(fm.groups) == {"a", "s"}


def test_interaction_grouping_factor_samples_and_predicts():
    rng = np.random.default_rng(4)
    n = 150
    df = pd.DataFrame({"x": rng.normal(size=n), "a": rng.integers(0, 3, n), "b": rng.choice(["p", "q"], n)})
    df["y"] = df["x"] + rng.normal(size=n)
    post = gr.model("y ~ x + (1 | a:b)", data=df).sample(seed=2, **SMALL)
    labels = (df["a"].astype(str) + ":" + df["b"]).to_numpy()
    ref = gr.HierarchicalRegression(varying="intercept").sample(df[["x"]], df["y"], labels, seed=2, **SMALL)
    np.testing.assert_array_equal(post["beta"], ref["beta"])
    assert post.coords["group"] == sorted(set(labels))
    new = pd.DataFrame({"x": [0.0, 1.0], "a": [0, 7], "b": ["p", "p"]})  # "7:p" is a new combination
    a = post.predict(newdata=new, seed=3)
    b = post.predict(np.array([[0.0], [1.0]]), groups=["0:p", "7:p"], seed=3)
    np.testing.assert_array_equal(a.y, b.y)
