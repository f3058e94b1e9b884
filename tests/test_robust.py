"""Student-t regression on the model protocol: both backends, streams per chain and thread, resume and
save/load bit for bit, the Student-t pointwise log-likelihood (ArviZ, compare), prediction, bad input."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import stats

import gibbsreg as gr
import gibbsreg.models.robust as rb
from gibbsreg.models.robust import model as robust_model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(8)
    n = 120
    X = rng.standard_normal((n, 3))
    y = 0.5 + X @ np.array([1.0, -0.5, 0.25]) + 0.6 * rng.standard_normal(n)
    y[rng.random(n) < 0.08] += 8.0  # outliers
    return X, y


def run(data, nu=None, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("draws", 150)
    kw.setdefault("warmup", 50)
    kw.setdefault("chains", 3)
    kw.setdefault("seed", 21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return rb.StudentTRegression(nu=nu, sigma=kw.pop("sigma", None)).sample(*data, **kw)


def assert_same(a, b):
    assert a.names == b.names
    for k in a.names:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("nu", [4.0, None])
def test_backends_agree_to_rounding(data, nu):
    a = run(data, nu, backend="numba")
    b = run(data, nu, backend="numpy")
    assert a.names == b.names == (["beta", "sigma2"] + (["nu"] if nu is None else []))
    for k in a.names:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_chain_draws_do_not_depend_on_chain_count(data, backend):
    two = run(data, chains=2, backend=backend)
    five = run(data, chains=5, backend=backend)
    for k in two.names:
        np.testing.assert_array_equal(two[k], five[k][:2], err_msg=k)


SCRIPT = """
import hashlib, warnings, numpy as np, gibbsreg.models.robust as rb
warnings.simplefilter("ignore")
rng = np.random.default_rng(1); X = rng.standard_normal((300, 2)); y = X @ [1.0, 2.0] + rng.standard_t(2, 300)
post = rb.StudentTRegression().sample(X, y, chains=4, draws=100, warmup=20, seed=5, progress=False)
print(hashlib.sha256(post["beta"].tobytes() + post["sigma2"].tobytes() + post["nu"].tobytes()).hexdigest())
"""


def test_same_draws_at_one_and_two_threads():
    digests = set()
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("nu", [3.0, None])
def test_resume_across_save_load_is_bitwise(data, tmp_path, backend, nu):
    model = rb.StudentTRegression(nu=nu)
    kw = dict(chains=2, warmup=30, seed=4, backend=backend, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        full = model.sample(*data, draws=120, **kw)
        first = model.sample(*data, draws=50, **kw)
        first.save(tmp_path / "first.npz")
        loaded = gr.load(tmp_path / "first.npz")
        assert isinstance(loaded.prior, rb.ResolvedStudentT) and loaded.prior.nu_fixed == nu
        assert_same(first, loaded)
        rest = model.resume(loaded, *data, draws=70, progress=False)
        assert_same(full, rest)
        # without the model: rebuilt from the recorded prior
        again = gr.resume(tmp_path / "first.npz", *data, draws=70, progress=False)
    assert_same(full, again)


def test_interrupted_warmup_resumes_exactly(data, monkeypatch):
    full = run(data, draws=40, warmup=60)
    from gibbsreg import sampling

    monkeypatch.setattr(sampling, "TARGET_CHUNK_SECONDS", 1e-9)  # many small chunks: the same draws
    small = run(data, draws=40, warmup=60)
    assert_same(full, small)


def test_resume_refuses_other_rows(data):
    post = run(data, draws=20)
    X, y = data
    # the rows reversed: the same sufficient statistics, but a resumed run would sweep other rows' order
    with pytest.raises(ValueError, match="cannot resume"):
        rb.StudentTRegression().resume(post, X[::-1].copy(), y[::-1].copy(), draws=5, progress=False)


def test_student_t_loglik_arviz_and_compare(data):
    X, y = data
    post = run(data, nu=None, draws=200, chains=2)
    ll = post.to_arviz().log_likelihood["y"].values
    S = 7
    beta = post["beta"][0, S]
    expect = stats.t.logpdf(y, post["nu"][0, S], loc=beta[0] + X @ beta[1:], scale=np.sqrt(post["sigma2"][0, S]))
    np.testing.assert_allclose(ll[0, S], expect, rtol=1e-10)
    idata = post.to_arviz(posterior_predictive=True, prior=True)
    assert idata.posterior_predictive["y"].shape == (2, 200, len(y))
    assert "nu" in idata.prior
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gauss = gr.LinearRegression().sample(X, y, chains=2, draws=200, warmup=100, seed=3, progress=False)
        table = gr.compare({"gaussian": gauss, "student": post})
    assert table.index[0] == "student"  # the outliers favour the heavy tails


def test_predictive_noise_is_student_t(data):
    post = run(data, nu=3.0, draws=2000, chains=2)
    pred = post.predict(np.zeros((1, 3)), seed=1)
    scaled = ((pred.y - pred.mean_draws) / np.sqrt(post["sigma2"])[..., None]).ravel()
    assert stats.kstest(scaled, stats.t(3).cdf).pvalue > 1e-3


def test_fixed_nu_is_recorded_and_summarised(data):
    post = run(data, nu=5.0)
    assert "nu" not in post.names and post.attrs["nu"] == 5.0
    assert "nu = 5 (fixed)" in str(post.prior)
    assert post.attrs["model_kind"] == "robust"
    assert "beta[x0]" in str(post.summary())


@pytest.mark.parametrize("kwargs, match", [
    (dict(nu=0.0), "nu must be a positive"),
    (dict(nu=-2), "nu must be a positive"),
    (dict(nu=float("nan")), "nu must be a positive"),
    (dict(nu=True), "nu must be a positive"),
    (dict(prior=gr.NormalInverseGamma()), "SemiConjugate"),
    (dict(sigma="half-normal"), "sigma must be"),
])
def test_bad_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rb.StudentTRegression(**kwargs)


def test_bad_priors_are_clear_errors():
    with pytest.raises(ValueError, match="shape must be a positive"):
        rb.Gamma(0.0, 1.0)
    with pytest.raises(ValueError, match="rate must be a positive"):
        rb.Gamma(2.0, -1.0)
    with pytest.raises(ValueError, match="scale must be positive"):
        rb.StudentTRegression(prior=gr.SemiConjugate(scale=-1.0))
    with pytest.raises(ValueError, match="b must be a positive"):
        rb.StudentTRegression(prior=gr.SemiConjugate(b=0.0))


def test_bad_rows_fail_before_any_compiling(data, monkeypatch):
    def no_spec(*args, **kwargs):
        raise AssertionError("reached the sampler")

    monkeypatch.setattr(robust_model, "robust_spec", no_spec)
    X, y = data
    model = rb.StudentTRegression()
    Xn = X.copy()
    Xn[5, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN at row 5"):
        model.sample(Xn, y, progress=False)
    yi = y.copy()
    yi[2] = np.inf
    with pytest.raises(ValueError, match="y contains inf at row 2"):
        model.sample(X, yi, progress=False)
    with pytest.raises(ValueError, match="rows but X has"):
        model.sample(X, y[:-1], progress=False)
    with pytest.raises(ValueError, match="statistics are not enough"):
        model.sample(stats=gr.sufficient_stats(X, y), progress=False)
    with pytest.raises(ValueError, match="chains must be"):
        model.sample(X, y, chains=0, progress=False)
    monkeypatch.setattr(robust_model, "available_memory", lambda: 1000)
    with pytest.raises(ValueError, match="keeps the rows in memory"):
        model.sample(X, y, progress=False)


# ---- front ends: formulas and the command line ------------------------------------------------------


def test_formula_family_student_equals_the_matrix_api(data):
    import pandas as pd  # the test extra brings pandas and formulaic
    X, y = data
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    kw = dict(chains=2, draws=60, warmup=30, seed=9, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fm = gr.model("y ~ a + b + c", df, family="student", nu=4.0)
        assert fm.kind == "robust" and isinstance(fm.model, rb.StudentTRegression)
        post = fm.sample(**kw)
        direct = rb.StudentTRegression(nu=4.0).sample(X, y, **kw)
        learned = gr.model("y ~ a", df, family="student", nu=rb.Gamma(2.0, 0.2)).sample(**kw)
    # the formula's design is column-major: its statistics round differently in the last bits
    np.testing.assert_allclose(post["beta"], direct["beta"], rtol=1e-10)
    assert post.coords["coef"] == ["intercept", "a", "b", "c"]
    assert learned.prior.nu_shape == 2.0 and learned.prior.nu_rate == 0.2 and "nu" in learned.names
    pred = post.predict(newdata=df.iloc[:4], seed=2)
    assert pred.y.shape == (2, 60, 4)
    with pytest.raises(ValueError, match="unknown option"):
        gr.model("y ~ a", df, family="student", sampler="asis")


def test_command_line_settings():
    parse = rb.front.prior_from_settings
    assert parse({}) is None
    s = parse({"nu": "gamma:2,0.2", "scale": 5.0, "sigma": "jeffreys"})
    assert isinstance(s.nu, rb.Gamma) and s.nu.rate == 0.2 and s.sigma == "jeffreys"
    assert parse({"nu": 4}).nu == 4
    # the command line hands --a/--b over as sigma's inverse-gamma prior (cli.priorspec.parse_settings)
    model = rb.front.build(parse({"nu": "3", "sigma": gr.InvGamma(2.0, 1.0)}), factors=[], varying=None,
                           intercept=False)
    assert model.nu == 3.0 and model.prior.a == 2.0 and not model.intercept
    for spec, match in (({"nu": "-1"}, "nu must be a positive"), ({"nu": "cauchy:1"}, "gamma:SHAPE,RATE"),
                        ({"prior": "nig"}, "semiconjugate"), ({"sigma": gr.HalfNormal(1.0)}, "inverse-gamma prior"),
                        ({"tau": 1.0}, "--tau")):
        with pytest.raises(ValueError, match=match):
            parse(spec)


def test_command_line_samples_family_student(tmp_path, data):
    from gibbsreg.cli import main

    X, y = data
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        status = main(["sample", str(path), "--y", "y", "--family", "student", "--chains", "2", "--draws", "50",
                       "--warmup", "20", "--seed", "3", "--quiet", "--out", str(tmp_path / "post.npz")])
    assert status == 0
    post = gr.load(tmp_path / "post.npz")
    assert post.attrs["model_kind"] == "robust" and "nu" in post.names


def test_checkpoint_file_resumes_to_the_uninterrupted_run(data, tmp_path):
    full = run(data, draws=80, warmup=20)
    part = run(data, draws=30, warmup=20, checkpoint=str(tmp_path / "run.npz"), checkpoint_every=1e-3)
    assert_same(part, gr.load(tmp_path / "run.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rest = gr.resume(tmp_path / "run.npz", *data, draws=50, checkpoint=False, progress=False)
    assert_same(full, rest)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_thinning_keeps_every_kth_sweep(data, backend):
    every = run(data, draws=60, warmup=10, backend=backend)
    thinned = run(data, draws=20, warmup=10, thin=3, backend=backend)
    for k in every.names:
        np.testing.assert_array_equal(thinned[k], every[k][:, 2::3], err_msg=k)


def test_without_intercept_both_backends_agree(data):
    X, y = data
    kw = dict(chains=2, draws=40, warmup=20, seed=3, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = rb.StudentTRegression(intercept=False).sample(X, y, backend="numba", **kw)
        b = rb.StudentTRegression(intercept=False).sample(X, y, backend="numpy", **kw)
    assert a.coords["coef"] == ["x0", "x1", "x2"]
    for k in a.names:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, err_msg=k)
