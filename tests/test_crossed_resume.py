"""The crossed model on the run driver: resume and checkpoints continue a run bit for bit."""

import numpy as np
import pytest

import gibbsreg as gr


@pytest.fixture(scope="module")
def pilots():
    return gr.datasets.pilots()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_resume_equals_one_run(pilots, backend):
    model = gr.CrossedRegression([gr.Factor("treatment"), gr.Factor("airport")])
    X, y, g = np.empty((len(pilots), 0)), pilots["y"], pilots[["treatment", "airport"]]
    kw = dict(chains=2, warmup=40, seed=7, backend=backend, progress=False)
    whole = model.sample(X, y, g, draws=120, **kw)
    part = model.resume(model.sample(X, y, g, draws=50, **kw), X, y, g, draws=70, progress=False)
    assert part.ndraws == whole.ndraws == 120
    for name in whole.names:
        np.testing.assert_array_equal(part[name], whole[name])


def test_checkpoint_and_gr_resume(pilots, tmp_path):
    model = gr.CrossedRegression([gr.Factor("treatment"), gr.Factor("airport")])
    X, y, g = np.empty((len(pilots), 0)), pilots["y"], pilots[["treatment", "airport"]]
    kw = dict(chains=2, warmup=30, seed=3, progress=False)
    whole = model.sample(X, y, g, draws=80, **kw)
    ck = tmp_path / "run.npz"
    model.sample(X, y, g, draws=30, checkpoint=str(ck), checkpoint_every=0.001, **kw)
    done = gr.resume(str(ck), X, y, g, model=model, draws=50, progress=False)
    for name in whole.names:
        np.testing.assert_array_equal(done[name], whole[name])
    with pytest.raises(ValueError, match="needs its model"):
        gr.resume(str(ck), X, y, g, draws=10)
    other = pilots.assign(y=pilots["y"] + 1.0)
    with pytest.raises(ValueError):
        model.resume(done, X, other["y"], g, draws=10)


def test_resume_from_stats_equals_one_run(pilots, tmp_path):
    """A run on statistics (stats=, e.g. from read_stats) resumes from the same statistics bit for bit, through
    model.resume and gr.resume; the rows' run and the statistics' run agree."""
    model = gr.CrossedRegression([gr.Factor("treatment"), gr.Factor("airport")])
    s = gr.sufficient_stats(np.empty((len(pilots), 0)), pilots["y"], pilots[["treatment", "airport"]])
    kw = dict(chains=2, warmup=30, seed=5, progress=False)
    whole = model.sample(stats=s, draws=90, **kw)
    part = model.resume(model.sample(stats=s, draws=40, **kw), stats=s, draws=50, progress=False)
    ck = tmp_path / "run.npz"
    model.sample(stats=s, draws=40, checkpoint=str(ck), checkpoint_every=0.001, **kw)
    done = gr.resume(str(ck), stats=s, model=model, draws=50, progress=False)
    rows = model.sample(np.empty((len(pilots), 0)), pilots["y"], pilots[["treatment", "airport"]], draws=90, **kw)
    for name in whole.names:
        np.testing.assert_array_equal(part[name], whole[name])
        np.testing.assert_array_equal(done[name], whole[name])
        np.testing.assert_allclose(rows[name], whole[name], rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="either data"):
        model.resume(whole, np.empty((len(pilots), 0)), pilots["y"], stats=s, draws=5)
