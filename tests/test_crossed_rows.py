"""The crossed/nested models of the row-weighted families (models/crossedrows): binary (logit, probit;
Bernoulli and binomial) and Student-t errors.

Both backends agree on the same streams (every family, every sampler, crossed and nested designs, several tau
and sigma priors); resume equals one run bit for bit; a probit model with tiny factor scales is the flat probit
model, and a Student-t model with nu = 10^6 the Gaussian crossed model, within Monte-Carlo error (4 MCSE,
several quantities); bad input is refused before sampling; formulas and the command line's kinds reach them.
"""

from __future__ import annotations

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg import registry
from gibbsreg.models.crossedrows import CrossedBinaryRegression, CrossedStudentTRegression
from gibbsreg.models.crossed import CrossedPrior, CrossedRegression, Factor

pytestmark = pytest.mark.filterwarnings("ignore:the chains have not converged")



def toy(seed=1, n=240, nested=False, family="logit", trials=False):
    """Two factors a (6 levels) x b (5 levels), or b nested in a (2 children each), one predictor."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, n)
    b = a * 2 + rng.integers(0, 2, n) if nested else rng.integers(0, 5, n)
    x = rng.standard_normal(n)
    eta = -0.3 + 0.8 * x + 0.7 * rng.standard_normal(6)[a] + 0.5 * rng.standard_normal(12)[b]
    groups = {"a": a, "b": b}
    if family == "student":
        return x[:, None], eta + 0.5 * rng.standard_t(4, n), groups, None
    t = rng.integers(1, 4, n) if trials else None
    p = 1.0 / (1.0 + np.exp(-eta))
    y = rng.binomial(t if trials else 1, p).astype(float)
    return x[:, None], y, groups, t


def relative_gap(p1, p2):
    return max(float(np.max(np.abs(np.asarray(p1[k]) - np.asarray(p2[k]))) / max(1.0, float(np.max(np.abs(p1[k])))))
               for k in p1.names)


CASES = {
    "logit-asis-crossed": (dict(link="logit", sampler="asis"), dict(), None),
    "logit-asis-nested-binomial": (dict(link="logit", sampler="asis"), dict(nested=True, trials=True), None),
    "probit-blocked-nested-binomial": (dict(link="probit", sampler="blocked"), dict(nested=True, trials=True),
                                       gr.HalfNormal()),
    "logit-plain-correlated": (dict(link="logit", sampler="plain"), dict(), "hw"),
    "logit-asis-invwishart-binomial": (dict(link="logit", sampler="asis"), dict(trials=True), "iw"),
    "student-fixed-plain": (dict(nu=4.0, sampler="plain"), dict(family="student"), gr.Exponential()),
    "student-learned-asis-nested": (dict(nu=None, sampler="asis", prior=CrossedPrior(sigma=gr.HalfNormal())),
                                    dict(family="student", nested=True), gr.HalfStudentT(3.0)),
}


def build(opts, tau):
    correlated = {"hw": gr.HuangWand(), "iw": gr.InvWishart(3.0, 1.0)}
    if tau in correlated:
        factors = [Factor("a", varying=["intercept", "x0"], tau=correlated[tau]), Factor("b")]
    else:
        factors = [Factor("a", tau=tau), Factor("b", tau=tau)]
    if "link" in opts:
        return CrossedBinaryRegression(factors, **opts)
    return CrossedStudentTRegression(factors, **opts)


@pytest.mark.parametrize("case", list(CASES))
def test_backends_agree(case):
    opts, data, tau = CASES[case]
    X, y, g, t = toy(**data)
    model = build(opts, tau)
    kw = dict(chains=2, draws=15, warmup=5, seed=11, progress=False)
    extra = (t,) if isinstance(model, CrossedBinaryRegression) else ()
    a = model.sample(X, y, g, *extra, **kw)
    b = model.sample(X, y, g, *extra, backend="numpy", **kw)
    assert a.names == b.names
    assert relative_gap(a, b) < 1e-10
    # a factor nested in the first is drawn jointly with it under "asis" (kernels/crossed/nested.py)
    assert ("b joint with a" in a.attrs["model"]) == (data.get("nested", False) and opts["sampler"] == "asis")
    if opts.get("nu", 1.0) is None:
        assert "nu" in a.names and np.ptp(a["nu"]) > 0
    if "link" in opts:
        assert "sigma2" not in a.names


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_resume_equals_one_run(backend):
    X, y, g, t = toy(trials=True)
    model = CrossedBinaryRegression([Factor("a"), Factor("b")], link="logit")
    kw = dict(chains=2, warmup=5, seed=5, backend=backend, progress=False)
    whole = model.sample(X, y, g, t, draws=20, **kw)
    part = model.resume(model.sample(X, y, g, t, draws=8, **kw), X, y, g, t, draws=12, progress=False)
    for name in whole.names:
        np.testing.assert_array_equal(part[name], whole[name])
    Xs, ys, gs, _ = toy(family="student", nested=True)
    st = CrossedStudentTRegression([Factor("a"), Factor("b")])
    whole = st.sample(Xs, ys, gs, draws=20, **kw)
    part = gr.resume(st.sample(Xs, ys, gs, draws=8, **kw), Xs, ys, gs, model=st, draws=12, progress=False)
    for name in whole.names:
        np.testing.assert_array_equal(part[name], whole[name])
    with pytest.raises(ValueError, match="needs its model"):
        gr.resume(part, Xs, ys, gs, draws=4)


def test_a_chains_draws_do_not_depend_on_the_number_of_chains():
    X, y, g, t = toy(trials=True)
    model = CrossedBinaryRegression([Factor("a"), Factor("b")], link="probit")
    kw = dict(draws=10, warmup=5, seed=8, progress=False)
    one, three = model.sample(X, y, g, t, chains=1, **kw), model.sample(X, y, g, t, chains=3, **kw)
    for name in one.names:
        np.testing.assert_array_equal(one[name][0], three[name][0])


def mcse_gap(a, b):
    """|mean_a - mean_b| / sqrt(mcse_a^2 + mcse_b^2) per element (batch means, 10 batches per chain)."""
    def stats(d):
        d = np.asarray(d, dtype=float)
        C, D = d.shape[:2]
        batches = d[:, : D - D % 10].reshape(C, 10, D // 10, *d.shape[2:]).mean(axis=2).reshape(C * 10, *d.shape[2:])
        return d.mean(axis=(0, 1)), batches.std(axis=0, ddof=1) / np.sqrt(C * 10)
    (ma, sa), (mb, sb) = stats(a), stats(b)
    return np.abs(ma - mb) / np.sqrt(sa**2 + sb**2)


def test_probit_with_tiny_factor_scales_is_the_flat_probit():
    """tau^2 ~ IG(200, 2e-5) (tau ~ 3e-4) pins every effect to its mean: the crossed probit's mu (the intercept)
    and alpha (the slope) have the flat probit's posterior under the same N(0, 2.5^2) prior (within 4 MCSE)."""
    X, y, g, _ = toy(seed=3, n=300)
    tiny = gr.InvGamma(200.0, 2e-5)
    crossed = CrossedBinaryRegression([Factor("a", tau=tiny), Factor("b", tau=tiny)], link="probit",
                                      prior=CrossedPrior(fixed_mean=0.0, fixed_scale=2.5))
    flat = gr.BinaryRegression("probit", gr.models.binary.Normal(mean=0.0, scale=2.5))
    kw = dict(chains=4, draws=1500, warmup=200, seed=2, progress=False)
    pc, pf = crossed.sample(X, y, g, **kw), flat.sample(X, y, **kw)
    gap = mcse_gap(np.concatenate([pc["mu"], pc["alpha"]], axis=-1), pf["beta"])
    assert (gap < 4.0).all(), gap


def test_student_with_huge_nu_is_the_gaussian_crossed_model():
    """nu = 10^6 makes the weights 1 to ~1e-3: the posterior means of mu, alpha, the factors' tau^2 and sigma^2
    match CrossedRegression's under the same prior (within 4 MCSE)."""
    X, y, g, _ = toy(seed=4, n=200, family="student")
    prior = CrossedPrior(fixed_mean=0.0, fixed_scale=3.0, sigma=gr.InvGamma(2.0, 1.0))
    factors = [Factor("a", tau=gr.InvGamma(2.0, 0.5)), Factor("b", tau=gr.InvGamma(2.0, 0.5))]
    kw = dict(chains=4, draws=1500, warmup=200, seed=9, progress=False)
    pt = CrossedStudentTRegression(factors, nu=1e6, prior=prior).sample(X, y, g, **kw)
    pg = CrossedRegression(factors, prior).sample(X, y, g, **kw)
    for name in ("mu", "alpha", "tau2_a", "tau2_b", "sigma2"):
        gap = mcse_gap(pt[name], pg[name])
        assert (gap < 4.0).all(), (name, gap)


def test_bad_input_is_refused():
    X, y, g, t = toy()
    m = CrossedBinaryRegression([Factor("a"), Factor("b")])
    with pytest.raises(ValueError, match="0/1"):
        m.sample(X, y + 2, g, chains=1, draws=2, warmup=0, progress=False)
    with pytest.raises(ValueError, match="exceeds trials"):
        m.sample(X, y * 3, g, np.ones(len(y)), chains=1, draws=2, warmup=0, progress=False)
    with pytest.raises(ValueError, match="no labels for factor 'b'"):
        m.sample(X, y, {"a": g["a"]}, chains=1, draws=2, warmup=0, progress=False)
    with pytest.raises(ValueError, match="link"):
        CrossedBinaryRegression([Factor("a")], link="cloglog")
    with pytest.raises(ValueError, match="sigma"):
        CrossedBinaryRegression([Factor("a")], prior=CrossedPrior(sigma=gr.HalfNormal(1.0)))
    with pytest.raises(ValueError, match="finite"):
        CrossedBinaryRegression([Factor("a")], prior=CrossedPrior(fixed_scale=np.inf))
    with pytest.raises(ValueError, match="nu"):
        CrossedStudentTRegression([Factor("a")], nu=-1.0)
    with pytest.raises(ValueError, match="X, y and groups"):
        CrossedStudentTRegression([Factor("a")]).sample(None, None, g, progress=False)
    with pytest.raises(ValueError, match="Dask"):
        import dask.array as dd
        CrossedStudentTRegression([Factor("a")]).sample(dd.from_array(X), y, g, progress=False)


def test_formula_reaches_the_crossed_kinds_and_the_hooks_work():
    import pandas as pd
    X, y, g, _ = toy(nested=True)
    df = pd.DataFrame({"y": y, "x": X[:, 0], "a": g["a"], "b": g["b"]})
    assert registry.select("bernoulli", 2).name == "binary_crossed"
    assert registry.select("bernoulli", 1).name == "binary_hier"
    assert registry.select("student", 2).name == "robust_crossed"
    fm = gr.model("y ~ x + (1 | a) + (1 | b)", data=df, family="bernoulli", link="probit")
    assert isinstance(fm.model, CrossedBinaryRegression) and fm.model.link == "probit"
    post = fm.sample(chains=2, draws=30, warmup=10, seed=1, progress=False)
    assert post.attrs["model_kind"] == "binary_crossed"
    ll = registry.of_posterior(post).rows(post).loglik(post)
    assert ll.shape == (2, 30, len(y)) and np.isfinite(ll).all() and (ll <= 0).all()
    new = df.iloc[:3].assign(a=[0, 1, 99])  # a new level of a
    pred = post.predict(newdata=new, seed=1)
    assert np.all((pred.line_mean >= 0) & (pred.line_mean <= 1))
    nested = gr.model("y ~ x + (1 | a/b)", data=df, family="bernoulli")
    assert len(nested.model.factors) == 2
    ts = gr.model("y ~ x + (1 + x | a) + (1 | b)", data=df.assign(y=df["y"] + X[:, 0]), family="student", nu=5.0)
    assert isinstance(ts.model, CrossedStudentTRegression) and ts.model.nu_fixed == 5.0
    tp = ts.sample(chains=2, draws=20, warmup=10, seed=2, progress=False)
    assert "Sigma_a" in tp.names and "nu" not in tp.names
    ll = registry.of_posterior(tp).rows(tp).loglik(tp)
    assert ll.shape == (2, 20, len(y)) and np.isfinite(ll).all()


def test_command_line_kinds_build_the_models():
    kind = registry.select("bernoulli", 2)
    m = kind.front.build(kind.front.prior({"mean": 0.0, "scale": 2.0}), factors=["a", "b"], varying=[],
                         intercept=True, link="probit")
    assert isinstance(m, CrossedBinaryRegression) and m.link == "probit"
    with pytest.raises(ValueError, match="sigma"):
        kind.front.prior({"sigma": gr.HalfNormal(1.0)})
    kind = registry.select("student", 2)
    m = kind.front.build(kind.front.prior({"nu": "gamma:2,0.2"}), factors=["a", "b"], varying=[], intercept=True)
    assert isinstance(m, CrossedStudentTRegression) and m.nu_prior.rate == 0.2


def test_command_line_samples_the_crossed_kinds(tmp_path):
    from gibbsreg.cli import main

    X, y, g, _ = toy()
    path = tmp_path / "d.csv"
    rows = ["y,x,a,b"] + [f"{y[i]:g},{float(X[i, 0])!r},a{g['a'][i]},b{g['b'][i]}" for i in range(len(y))]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "post.npz"
    common = ["--y", "y", "--groups", "a,b", "--draws", "20", "--warmup", "5", "--chains", "2", "--seed", "1",
              "--quiet"]
    assert main(["sample", str(path), "--family", "bernoulli", "--link", "probit", "--out", str(out)] + common) == 0
    post = gr.load(str(out))
    assert post.attrs["model_kind"] == "binary_crossed" and post["b_a"].shape == (2, 20, 6, 1)
    assert main(["sample", str(path), "--family", "student", "--nu", "5", "--out", str(out)] + common) == 0
    post = gr.load(str(out))
    assert post.attrs["model_kind"] == "robust_crossed" and "sigma2" in post.names and "nu" not in post.names
    assert main(["sample", str(path), "--family", "bernoulli", "--sigma", "halfnormal:1"] + common) == 2


def test_prior_draws_the_export_loo_and_compare(tmp_path):
    from gibbsreg.analysis.inference import prior_draws

    X, y, g, t = toy(nested=True, trials=True)
    tau = gr.InvGamma(3.0, 2.0)  # E tau^2 = 1
    m = CrossedBinaryRegression([Factor("a", varying=["intercept", "x0"], tau=gr.HuangWand()), Factor("b", tau=tau)],
                                prior=CrossedPrior(fixed_mean=0.0, fixed_scale=1.0))
    post = m.sample(X, y, g, t, chains=2, draws=30, warmup=10, seed=1, progress=False)
    d = prior_draws(post, 4000, seed=1)
    assert {k: v.shape[2:] for k, v in d.items()} == {k: post[k].shape[2:] for k in post.names}
    assert abs(d["tau2_b"].mean() - 1.0) < 0.15 and abs(d["mu"].std() - 1.0) < 0.05
    # b_b = N(0, tau^2): its variance is E tau^2 = 1
    assert abs(d["b_b"].var() - 1.0) < 0.15
    # Huang-Wand(2, A = 1) on the intercept: its sd is half-t(2, 1), median sqrt(2/3) (= |t_2|'s)
    assert abs(np.median(np.sqrt(d["Sigma_a"][0, :, 0, 0])) - np.sqrt(2.0 / 3.0)) < 0.06
    idata = post.to_arviz()
    assert {"log_likelihood", "prior", "posterior_predictive"} <= set(idata.groups())
    post.save(tmp_path / "p.npz")
    assert str(gr.load(tmp_path / "p.npz").prior) == str(post.prior)
    Xs, ys, gs, _ = toy(family="student")
    ts = CrossedStudentTRegression([Factor("a"), Factor("b")], prior=CrossedPrior(sigma=gr.Exponential()))
    pt = ts.sample(Xs, ys, gs, chains=2, draws=30, warmup=10, seed=1, progress=False)
    assert {"sigma2", "nu"} <= set(prior_draws(pt, 10, seed=1))
    pg = CrossedRegression([Factor("a"), Factor("b")]).sample(Xs, ys, gs, chains=2, draws=30, warmup=10, seed=1,
                                                              progress=False)
    table = gr.compare({"student": pt, "gaussian": pg})
    assert set(table.index) == {"student", "gaussian"}
