"""Resume and extend: a run continued from its state equals one uninterrupted run, bit for bit."""

import warnings

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg import sampling


@pytest.fixture(scope="module")
def flat_data():
    return gr.datasets.synthetic_regression(150, 3, sigma=0.8, seed=4)


@pytest.fixture(scope="module")
def hier_data():
    return gr.datasets.synthetic_hierarchical(J=6, group_size=8, p=3, seed=5)


def assert_same(a, b):
    assert a.names == b.names
    for k in a.names:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


FLAT_PRIORS = {"semi": gr.SemiConjugate(), "nig": gr.NormalInverseGamma(), "exch": gr.Exchangeable()}


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("prior", sorted(FLAT_PRIORS))
def test_flat_resume_across_save_load_is_bitwise(flat_data, tmp_path, prior, backend):
    model = gr.LinearRegression(FLAT_PRIORS[prior])
    kw = dict(chains=3, warmup=40, seed=11, backend=backend, progress=False)
    full = model.sample(flat_data.X, flat_data.y, draws=250, **kw)
    first = model.sample(flat_data.X, flat_data.y, draws=100, **kw)
    first.save(tmp_path / "first.npz")
    rest = model.resume(gr.load(tmp_path / "first.npz"), flat_data.X, flat_data.y, draws=150, progress=False)
    assert_same(full, rest)
    assert rest.state.draws_done == 250 and rest.state.warmup_done == 40
    # resuming twice in memory gives the same as well
    again = model.resume(model.resume(first, flat_data.X, flat_data.y, draws=70, progress=False),
                         flat_data.X, flat_data.y, draws=80, progress=False)
    assert_same(full, again)


HIER_MODELS = {
    "asis": lambda: gr.HierarchicalRegression(),
    "centered": lambda: gr.HierarchicalRegression(sampler="centered"),
    "group_variance": lambda: gr.HierarchicalRegression(gr.HierarchicalPrior(group_variance=True)),
    "invwishart_pooled": lambda: gr.HierarchicalRegression(gr.HierarchicalPrior(tau=gr.InvWishart(5.0, 1.0)),
                                                           varying=[0, 1]),
    "invgamma": lambda: gr.HierarchicalRegression(gr.HierarchicalPrior(tau=gr.InvGamma(1.0, 1.0))),
}


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name", sorted(HIER_MODELS))
def test_hierarchical_resume_across_save_load_is_bitwise(hier_data, tmp_path, name, backend):
    model = HIER_MODELS[name]()
    d = hier_data
    kw = dict(chains=2, warmup=20, seed=3, backend=backend, progress=False)
    full = model.sample(d.X, d.y, d.groups, draws=90, **kw)
    first = model.sample(d.X, d.y, d.groups, draws=35, **kw)
    first.save(tmp_path / "h.npz")
    rest = model.resume(gr.load(tmp_path / "h.npz"), d.X, d.y, d.groups, draws=55, progress=False)
    assert_same(full, rest)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_thinned_resume_continues_the_thinning(flat_data, hier_data, backend):
    model = gr.LinearRegression()
    kw = dict(chains=2, warmup=10, thin=7, seed=5, backend=backend, progress=False)
    full = model.sample(flat_data.X, flat_data.y, draws=60, **kw)
    part = model.sample(flat_data.X, flat_data.y, draws=13, **kw)
    assert_same(full, model.resume(part, flat_data.X, flat_data.y, draws=47, progress=False))
    unthinned = model.sample(flat_data.X, flat_data.y, draws=420, chains=2, warmup=10, seed=5, backend=backend,
                             progress=False)
    np.testing.assert_array_equal(full["beta"], unthinned["beta"][:, 6::7])
    h = gr.HierarchicalRegression()
    d = hier_data
    kw = dict(chains=2, warmup=5, thin=3, seed=8, backend=backend, progress=False)
    full = h.sample(d.X, d.y, d.groups, draws=30, **kw)
    assert_same(full, h.resume(h.sample(d.X, d.y, d.groups, draws=11, **kw), d.X, d.y, d.groups, progress=False,
                               draws=19))


def test_exact_sampler_resumes_bitwise(flat_data, tmp_path):
    cp = gr.fit_conjugate(flat_data.X, flat_data.y)
    full = cp.sample(draws=600, chains=3, seed=2)
    part = cp.sample(draws=250, chains=3, seed=2)
    part.save(tmp_path / "c.npz")
    assert_same(full, cp.resume(gr.load(tmp_path / "c.npz"), draws=350))
    assert_same(full, gr.resume(tmp_path / "c.npz", flat_data.X, flat_data.y, draws=350))
    other = gr.fit_conjugate(flat_data.X, flat_data.y + 1.0)
    with pytest.raises(ValueError, match="statistics or the resolved prior differ"):
        other.resume(part, draws=10)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_interrupted_warmup_resumes_its_warmup(flat_data, monkeypatch, backend):
    """Ctrl-C during warm-up: the run keeps its state (mid warm-up) and resume finishes it exactly."""
    calls = {"n": 0}
    real = gr.runner.chunks.chunk_runner  # run_chains (gibbsreg.runner.chunks) calls it by this name

    def interrupting(*args, **kw):
        run_chunk = real(*args, **kw)

        def chunk(n_iter, store, out_start):
            calls["n"] += 1
            if calls["n"] == 4:
                run_chunk(n_iter, store, out_start)  # the interrupted chunk's work is rolled back
                raise KeyboardInterrupt
            run_chunk(n_iter, store, out_start)
        return chunk

    model = gr.LinearRegression()
    kw = dict(chains=2, draws=50, warmup=30, seed=9, backend=backend, progress=False)
    full = model.sample(flat_data.X, flat_data.y, **kw)
    monkeypatch.setattr(sampling, "TARGET_CHUNK_SECONDS", 1e-9)
    monkeypatch.setattr(gr.runner.chunks, "chunk_runner", interrupting)
    with pytest.warns(RuntimeWarning, match="interrupted during warm-up"):
        part = model.sample(flat_data.X, flat_data.y, **kw)
    monkeypatch.undo()
    assert part.ndraws == 0 and 0 < part.state.warmup_done < 30
    rest = model.resume(part, flat_data.X, flat_data.y, progress=False)
    assert_same(full, rest)


def test_resume_refuses_other_data_prior_or_model(flat_data, hier_data):
    model = gr.LinearRegression()
    post = model.sample(flat_data.X, flat_data.y, chains=2, draws=20, warmup=5, seed=1, progress=False)
    with pytest.raises(ValueError, match="statistics or the resolved prior differ"):
        model.resume(post, flat_data.X, flat_data.y * 2.0, draws=5)
    with pytest.raises(ValueError, match="statistics or the resolved prior differ"):
        gr.LinearRegression(gr.SemiConjugate(scale=3.0)).resume(post, flat_data.X, flat_data.y, draws=5)
    with pytest.raises(ValueError, match="settings or the shape"):
        model.resume(post, flat_data.X[:, :1], flat_data.y, draws=5)
    with pytest.raises(ValueError, match="cannot resume"):
        gr.LinearRegression(gr.NormalInverseGamma()).resume(post, flat_data.X, flat_data.y, draws=5)
    d = hier_data
    with pytest.raises(ValueError, match="cannot resume a flat run"):
        gr.HierarchicalRegression().resume(post, d.X, d.y, d.groups, draws=5)
    with pytest.raises(ValueError, match="run is complete"):
        model.resume(post, flat_data.X, flat_data.y)
    with pytest.raises(ValueError, match="no sampler state"):
        model.resume(gr.Posterior({"beta": np.zeros((1, 2, 4))}), flat_data.X, flat_data.y, draws=5)
    with pytest.raises(ValueError, match="needs the data"):
        gr.resume(post)


def test_gr_resume_rebuilds_the_model_from_the_file(hier_data, tmp_path):
    d = hier_data
    model = gr.HierarchicalRegression(gr.HierarchicalPrior(tau=gr.InvGamma(2.0, 0.5)), sampler="centered")
    kw = dict(chains=2, warmup=10, seed=21, progress=False)
    full = model.sample(d.X, d.y, d.groups, draws=40, **kw)
    model.sample(d.X, d.y, d.groups, draws=15, **kw).save(tmp_path / "p.npz")
    assert_same(full, gr.resume(tmp_path / "p.npz", d.X, d.y, d.groups, draws=25, progress=False))
    with pytest.raises(ValueError, match="groups"):
        gr.resume(tmp_path / "p.npz", d.X, d.y, draws=25)


def test_until_stops_when_converged(flat_data):
    # max_draws bounds the run; it is not allocated up front (10^9 draws would not fit in memory)
    rule = gr.Converged(rhat=1.01, ess_bulk=400, ess_tail=400, max_draws=10**9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not converged" warning
        post = gr.LinearRegression().sample(flat_data.X, flat_data.y, chains=4, draws=100, warmup=100, seed=3,
                                            progress=False, until=rule)
    assert post.attrs["until"]["converged"]
    assert 100 < post.ndraws < 20_000
    table = post.summary()
    assert (table["r_hat"] <= 1.01).all() and (table["ess_bulk"] >= 400).all() and (table["ess_tail"] >= 400).all()
    # the until= run is an ordinary run of its final length (same seed, same draws)
    plain = gr.LinearRegression().sample(flat_data.X, flat_data.y, chains=4, draws=post.ndraws, warmup=100, seed=3,
                                         progress=False)
    assert_same(plain, post)


def test_until_keeps_going_on_a_slow_model_and_respects_max_draws():
    """Centred Gibbs with weak data (3 rows per group, small tau) mixes slowly: it needs more than
    the first batch, and with a small max_draws it stops there with a warning naming parameters."""
    d = gr.datasets.synthetic_hierarchical(J=30, group_size=3, p=2, tau=0.05, seed=2)
    model = gr.HierarchicalRegression(sampler="centered")
    with pytest.warns(RuntimeWarning, match=r"not converged after max_draws = 1500 .*tau2|not converged after max_draws = 1500"):
        post = model.sample(d.X, d.y, d.groups, chains=4, draws=200, warmup=100, seed=1, progress=False,
                            store_beta=False, until=gr.Converged(max_draws=1500))
    assert post.ndraws == 1500
    assert not post.attrs["until"]["converged"] and post.attrs["until"]["failed"]


def test_too_many_draws_for_memory_is_a_clear_error(flat_data):
    with pytest.raises(ValueError, match=r"GiB.*thin=.*store="):
        gr.LinearRegression().sample(flat_data.X, flat_data.y, chains=100, draws=10**9, warmup=0, progress=False)


def test_bad_long_run_arguments(flat_data, tmp_path):
    m = gr.LinearRegression()
    with pytest.raises(ValueError, match="until"):
        m.sample(flat_data.X, flat_data.y, until=400, progress=False)
    with pytest.raises(ValueError, match="checkpoint_every"):
        m.sample(flat_data.X, flat_data.y, checkpoint=tmp_path / "c.npz", checkpoint_every=0, progress=False)
    with pytest.raises(ValueError, match="directory"):
        m.sample(flat_data.X, flat_data.y, checkpoint=tmp_path, progress=False)
    with pytest.raises(ValueError, match="max_draws"):
        gr.Converged(max_draws=2)
