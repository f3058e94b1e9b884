"""The front ends (formula, command line) reach every model through the registry (registry.FrontEnd)."""

import subprocess
import sys

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg import registry
from gibbsreg.cli.tables import NamedColumns, stream_csv_stats


def test_select_picks_the_narrowest_kind_for_the_factors():
    assert registry.select("gaussian", 0).name == "flat"
    assert registry.select("gaussian", 1).name == "hierarchical"  # the crossed kind takes one too, less narrowly
    assert registry.select("gaussian", 2).name == "crossed"
    assert registry.select("gaussian", 5).name == "crossed"
    assert "gaussian" in registry.families()
    with pytest.raises(ValueError, match="unknown family 'poisson'"):
        registry.select("poisson", 0)


@pytest.fixture
def toy_kind():
    """A kind of its own family, registered for one test: the formula front end must reach it unchanged."""
    flat = registry.get("flat")
    built = []

    def from_formula(design, prior, scale_y=1.0):
        built.append(scale_y)
        return registry.Bound(gr.LinearRegression(prior=prior, intercept=design.intercept), {"toy": scale_y})

    class Toy(gr.LinearRegression):
        pass

    kind = registry.register(registry.ModelKind(
        name="toy", model=Toy, needs="flat", data="X, y", resume=flat.resume,
        front=registry.FrontEnd(family="toy", factors=(0, 0), formula=from_formula, options=("scale_y",))))
    yield kind, built
    registry._KINDS.pop("toy")


def test_a_registered_kind_is_reached_from_a_formula(toy_kind):
    import pandas as pd  # the test extra brings pandas and formulaic
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=50)})
    df["y"] = 1 + 2 * df["x"] + rng.normal(size=50)
    fm = gr.model("y ~ x", df, family="toy", scale_y=3.0)
    assert fm.kind == "toy" and toy_kind[1] == [3.0]
    post = fm.sample(chains=1, draws=20, warmup=10, seed=1, progress=False)
    assert post.attrs["toy"] == 3.0 and post.attrs["formula"]["formula"] == "y ~ x"
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['sampler'\] for the toy model"):
        gr.model("y ~ x", df, family="toy", sampler="asis")
    with pytest.raises(ValueError, match="no toy model takes 1 grouping factor"):
        gr.model("y ~ x + (1 | g)", df.assign(g=np.arange(50) % 3), family="toy")


def _write(path, columns):
    names = list(columns)
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for row in zip(*columns.values()):
            fh.write(",".join(str(v) for v in row) + "\n")


def test_csv_statistics_of_several_factors_stream_in_chunks(tmp_path):
    rng = np.random.default_rng(1)
    n = 250
    a, b = rng.integers(0, 4, n), rng.integers(0, 3, n)
    x = rng.normal(size=n)
    y = x + 0.5 * a - 0.3 * b + rng.normal(size=n)
    path = tmp_path / "d.csv"
    _write(path, {"y": y, "x": x, "a": [f"a{v}" for v in a], "b": [f"b{v}" for v in b]})
    streamed = stream_csv_stats(str(path), "y", ["x"], ["a", "b"], chunk_rows=60)
    whole = gr.sufficient_stats(NamedColumns(x[:, None], ["x"]), y,
                                {"a": np.array([f"a{v}" for v in a]), "b": np.array([f"b{v}" for v in b])})
    assert streamed.factors == ["a", "b"] and streamed.J == whole.J
    assert np.allclose(streamed.pooled.C, whole.pooled.C, rtol=1e-12, atol=1e-12)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "gibbsreg", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def test_command_line_takes_prior_flags_for_several_factors(tmp_path):
    rng = np.random.default_rng(2)
    n = 120
    a, b = rng.integers(0, 4, n), rng.integers(0, 3, n)
    y = 0.5 * a - 0.3 * b + rng.normal(size=n)
    path = tmp_path / "d.csv"
    _write(path, {"y": y, "a": [f"a{v}" for v in a], "b": [f"b{v}" for v in b]})
    proc = _cli("sample", path, "--y", "y", "--groups", "a,b", "--a", "3", "--b", "2", "--draws", "20",
                "--warmup", "10", "--chains", "2", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "IG(3, 2)" in proc.stdout
    proc = _cli("sample", path, "--y", "y", "--groups", "a,b", "--tau", "halfcauchy:1", "--quiet")
    assert proc.returncode == 2 and "--tau" in proc.stderr and "gibbsreg.Factor" in proc.stderr
    proc = _cli("sample", path, "--y", "y", "--family", "poisson", "--quiet")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_command_line_reaches_the_new_families_and_scale_priors(tmp_path):
    rng = np.random.default_rng(3)
    n = 200
    g = rng.integers(0, 8, n)
    x = rng.normal(size=n)
    y = 0.5 * x + 0.3 * g + rng.standard_t(3, size=n)
    path = tmp_path / "d.csv"
    _write(path, {"y": y, "x": x, "g": [f"g{v}" for v in g], "b": (y > 1).astype(int)})
    common = ("--draws", "20", "--warmup", "10", "--chains", "2", "--quiet")
    proc = _cli("sample", path, "--y", "y", "--x", "x", "--groups", "g", "--tau", "halfnormal:1",
                "--sigma", "exponential:1", *common)
    assert proc.returncode == 0, proc.stderr
    assert "HalfNormal" in proc.stdout or "half-normal" in proc.stdout.lower() or "N+(" in proc.stdout, proc.stdout
    proc = _cli("sample", path, "--y", "y", "--x", "x", "--family", "student", "--nu", "4", *common)
    assert proc.returncode == 0, proc.stderr
    proc = _cli("sample", path, "--y", "b", "--x", "x", "--family", "bernoulli", "--link", "probit", *common)
    assert proc.returncode == 0, proc.stderr
    proc = _cli("sample", path, "--y", "y", "--x", "x", "--link", "probit", *common)
    assert proc.returncode == 2 and "--link does not apply to the flat model" in proc.stderr
    proc = _cli("sample", path, "--y", "y", "--x", "x", "--sigma", "halfnormal:1", *common)
    assert proc.returncode == 0, proc.stderr  # the flat model takes every noise prior too


def test_noise_prior_keys_are_one_prior_for_every_front_end():
    """--a/--b and --sigma invgamma:A,B are two spellings of sigma's prior: parsed once, taken or refused by each kind."""
    from gibbsreg.cli.errors import UsageError
    from gibbsreg.cli.priorspec import model_prior, parse_settings

    assert parse_settings({"a": "2", "b": "1"})["sigma"].ab() == (2.0, 1.0)
    with pytest.raises(UsageError, match="give both --a and --b"):
        parse_settings({"a": "2"})
    with pytest.raises(UsageError, match="not both"):
        parse_settings({"a": "2", "b": "1", "sigma": "halfnormal:1"})
    flat = model_prior(registry.select("gaussian", 0), {"a": "2", "b": "1"})
    assert (float(flat.a), float(flat.b)) == (2.0, 1.0)
    hier = model_prior(registry.select("gaussian", 1), {"sigma": "halfnormal:2"})
    assert isinstance(hier.sigma, gr.HalfNormal)
    robust = model_prior(registry.select("student", 0), {"sigma": "invgamma:3,2", "nu": "4"})
    assert (float(robust.prior.a), float(robust.prior.b)) == (3.0, 2.0) and robust.nu == 4.0
    with pytest.raises(UsageError, match="does not apply to a binary model"):
        model_prior(registry.select("bernoulli", 0), {"a": "2", "b": "1"})


def test_binomial_trials_from_a_formula_and_the_command_line(tmp_path):
    """family="binomial" is a second front end of the binary kinds (ModelKind.fronts): the trials come as a
    column name in gr.model and as --trials COL on the command line, and both equal the array call."""
    import pandas as pd

    from gibbsreg.cli import main

    rng = np.random.default_rng(3)
    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "n": rng.integers(1, 6, n)})
    df["k"] = rng.binomial(df.n, 1 / (1 + np.exp(-(0.3 + 0.8 * df.x))))
    kw = dict(chains=2, draws=30, warmup=10, seed=4, progress=False)
    direct = gr.BinaryRegression("logit").sample(df[["x"]].to_numpy(), df.k.to_numpy(float), df.n.to_numpy(float), **kw)
    post = gr.model("k ~ x", data=df, family="binomial", trials="n").sample(**kw)
    np.testing.assert_allclose(post["beta"], direct["beta"], rtol=1e-12)
    with pytest.raises(ValueError, match="not a column"):
        gr.model("k ~ x", data=df, family="binomial", trials="m")
    path = tmp_path / "b.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "b.npz"
    assert main(["sample", str(path), "--y", "k", "--x", "x", "--family", "binomial", "--trials", "n", "--chains", "2",
                 "--draws", "30", "--warmup", "10", "--seed", "4", "--quiet", "--out", str(out)]) == 0
    np.testing.assert_allclose(gr.load(out)["beta"], direct["beta"], rtol=1e-12)
