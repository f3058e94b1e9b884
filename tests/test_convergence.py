"""convergence_study / convergence_grid: the diagnostics flag non-converged chains and pass converged ones.

Thresholds (as in gibbsreg.convergence): R-hat < 1.01 is converged, > 1.05 is flagged.

* Flagged: a slowly mixing hierarchical problem (50 groups of 2 rows, true tau = 0.05: a funnel for
  the centred Gibbs sampler), sampled with warmup=0 from dispersed starts, 64 chains x 10 draws.
  Rank R-hat was 1.85-2.34 and nested R-hat 1.16-1.54 over seeds 0-3 when this test was written,
  far above 1.05.
* Converged: a well-identified one (50 groups of 10 rows, tau = 1), ASIS sampler, 1,000 warm-up
  iterations: rank R-hat <= 1.001 and nested R-hat <= 1.0005 at 16 chains x 1,000 draws over
  seeds 0-3, far below 1.01; nested R-hat with 16 chains per superchain also passes 64 chains of
  only 100 draws (<= 1.0011), where rank R-hat needs the longer chains.
* Constructed draws check nested R-hat's grouping (superchain = chain k mod S) without a sampler.

Each check uses a fixed seed; the margins above make a false alarm from Monte Carlo noise
negligible.  What these tests cannot detect: small biases in the R-hat estimators themselves (not
checked here), or non-convergence that no diagnostic based on these chains can see (e.g. an
unvisited mode that no starting point reaches).
"""

import numpy as np
import pytest

import gibbsreg as gr
from gibbsreg import diagnostics
from gibbsreg.convergence import CONVERGED, FLAGGED, ConvergenceStudy, convergence_grid, convergence_study
from gibbsreg.posterior import Posterior
from gibbsreg.sampling import chain_streams


@pytest.fixture(scope="module")
def slow():
    d = gr.datasets.synthetic_hierarchical(J=50, group_size=2, p=2, tau=0.05, sigma=1.0, seed=3)
    return convergence_study(gr.HierarchicalRegression(sampler="centered"), d.X, d.y, d.groups, warmup=0,
                             chains=(4, 16, 64), draws=(10, 30), superchains=4, seed=0)


@pytest.fixture(scope="module")
def fast():
    d = gr.datasets.synthetic_hierarchical(J=50, group_size=10, p=2, tau=1.0, sigma=1.0, seed=3)
    return convergence_study(gr.HierarchicalRegression(sampler="asis"), d.X, d.y, d.groups, warmup=1000,
                             chains=(16, 64), draws=(100, 1000), superchains=4, seed=0)


def test_thresholds():
    assert CONVERGED == 1.01 and FLAGGED == 1.05


def test_non_converged_chains_are_flagged(slow):
    i, j = slow.chains.index(64), slow.draws.index(10)
    assert slow.rhat[i, j] > FLAGGED
    assert slow.split_rhat[i, j] > FLAGGED
    assert slow.nested_rhat[i, j] > FLAGGED
    assert not slow.converged().any()
    assert "!" in str(slow)


def test_converged_chains_pass(fast):
    i, j = fast.chains.index(16), fast.draws.index(1000)
    assert fast.rhat[i, j] < CONVERGED
    assert fast.split_rhat[i, j] < CONVERGED
    assert fast.nested_rhat[i, j] < CONVERGED
    assert fast.ess_bulk[i, j] > 1000
    # many short chains: nested R-hat (16 chains per superchain) passes 100 draws per chain
    assert fast.nested_rhat[fast.chains.index(64), fast.draws.index(100)] < CONVERGED
    assert fast.converged(which="nested_rhat")[1].all()


def test_cells_are_the_diagnostics_of_leading_chains_and_draws(fast):
    post = fast.posterior
    assert post.nchains == 64 and post.ndraws == 1000 and "beta" not in post  # group betas not stored
    x = np.concatenate([post[v].reshape(64, 1000, -1) for v in post.names], axis=2)
    sub = x[:16, :100]
    assert fast.rhat[0, 0] == np.nanmax(diagnostics.rhat(sub))
    assert fast.split_rhat[0, 0] == np.nanmax(diagnostics.split_rhat(sub))
    assert fast.ess_bulk[0, 0] == np.nanmin(diagnostics.ess_bulk(sub))
    order = np.argsort(np.arange(16) % 4, kind="stable")
    assert fast.nested_rhat[0, 0] == np.nanmax(diagnostics.nested_rhat(sub[order], 4))
    assert fast.worst[0, 0] in fast.parameters


def test_shared_starts_keep_every_other_stream():
    """Chain k starts where chain k mod S starts; its normal and gamma streams are a plain run's."""
    st, plain = chain_streams(5, 12, init_superchains=4), chain_streams(5, 12)
    for k in range(12):
        assert st.init[k].bit_generator.state == plain.init[k % 4].bit_generator.state
        assert st.normal[k].bit_generator.state == plain.normal[k].bit_generator.state
        assert st.gamma[k].bit_generator.state == plain.gamma[k].bit_generator.state
    assert plain.init[0].bit_generator.state != plain.init[1].bit_generator.state


def test_first_superchain_chains_equal_a_plain_run():
    d = gr.datasets.synthetic_hierarchical(J=10, group_size=5, p=2, seed=1)
    model = gr.HierarchicalRegression()
    study = convergence_study(model, d.X, d.y, d.groups, chains=(8,), draws=(20,), warmup=5, superchains=4, seed=9)
    plain = model.sample(d.X, d.y, d.groups, chains=4, draws=20, warmup=5, seed=9, progress=False, store_beta=False)
    for v in plain.names:
        np.testing.assert_array_equal(study.posterior[v][:4], plain[v])
    indep = convergence_study(model, d.X, d.y, d.groups, chains=(8,), draws=(20,), warmup=5, superchains=4, seed=9,
                              shared_init=False)
    plain8 = model.sample(d.X, d.y, d.groups, chains=8, draws=20, warmup=5, seed=9, progress=False, store_beta=False)
    np.testing.assert_array_equal(indep.posterior["mu"], plain8["mu"])
    assert indep.shared_init is False and study.shared_init is True


def test_constructed_superchains():
    """Superchains stuck at different levels are flagged by nested R-hat; iid draws pass everything."""
    rng = np.random.default_rng(0)
    K, N, S = 64, 200, 4
    offsets = np.array([0.0, 1.0, -1.0, 2.0])[np.arange(K) % S]  # superchain = chain k mod S
    stuck = Posterior({"theta": offsets[:, None] + rng.standard_normal((K, N))})
    st = convergence_grid(stuck, superchains=S)
    assert st.nested_rhat[0, 0] > FLAGGED and st.rhat[0, 0] > FLAGGED
    iid = Posterior({"theta": rng.standard_normal((K, N)), "phi": rng.standard_normal((K, N, 2))})
    st2 = convergence_grid(iid, chains=(16, 64), draws=(50, 200), superchains=S)
    assert (st2.nested_rhat < CONVERGED).all()
    assert st2.rhat[-1, -1] < CONVERGED
    assert st2.parameters == ["theta", "phi[0]", "phi[1]"]


def test_table_outputs_and_validation(slow):
    assert isinstance(slow, ConvergenceStudy)
    assert slow.chains == [4, 16, 64] and slow.draws == [10, 30]
    for name in ConvergenceStudy.STATS:
        assert getattr(slow, name).shape == (3, 2)
    text = str(slow)
    assert "nested_rhat" in text and "superchain" in text and "1.05" in text
    assert "rhat (rows: chains" in slow.grid("rhat")
    import pandas as pd
    df = slow.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 6
    assert list(df.columns[:6]) == ["chains", "draws", "rhat", "split_rhat", "nested_rhat", "ess_bulk"]
    # superchains must divide K for nested R-hat; otherwise NaN
    st = convergence_grid(slow.posterior, chains=(6, 8), draws=(10,), superchains=4)
    assert np.isnan(st.nested_rhat[0, 0]) and np.isfinite(st.nested_rhat[1, 0])
    d = gr.datasets.synthetic_regression(n=50, p=2, seed=0)
    with pytest.raises(ValueError, match="groups"):
        convergence_study(gr.HierarchicalRegression(), d.X, d.y)
    with pytest.raises(ValueError, match="superchains"):
        convergence_study(gr.LinearRegression(), d.X, d.y, superchains=1)
    with pytest.raises(ValueError, match="positive integers"):
        convergence_study(gr.LinearRegression(), d.X, d.y, chains=(0, 4))


def test_flat_model_converges_immediately():
    """The flat two-block sampler starts beta at least squares and forgets its dispersed sigma2 start in
    one iteration: without warm-up, 64 chains x 100 draws pass every R-hat (observed <= 1.0034 over seeds 0-5)."""
    d = gr.datasets.synthetic_regression(n=200, p=3, seed=2)
    st = convergence_study(gr.LinearRegression(), d.X, d.y, chains=(64,), draws=(100,), warmup=0, seed=1)
    assert st.parameters == ["beta[intercept]", "beta[x0]", "beta[x1]", "sigma2"]
    assert st.converged(which="rhat").all() and st.converged(which="split_rhat").all()
    assert st.converged(which="nested_rhat").all()


def test_a_finished_run_that_has_not_converged_says_so_once():
    """One RuntimeWarning naming the worst population-level value; none for a run that meets the targets."""
    import warnings

    d = gr.datasets.synthetic_hierarchical(20, 10, 3, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gr.HierarchicalRegression().sample(d.X, d.y, d.groups, chains=2, draws=30, warmup=10, seed=1,
                                           progress=False)
    lines = [str(w.message) for w in caught if "have not converged" in str(w.message)]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "R-hat" in lines[0] and "ESS bulk" in lines[0] and "beta[" not in lines[0]
    f = gr.datasets.synthetic_regression(500, 3, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gr.LinearRegression().sample(f.X, f.y, chains=4, draws=1000, warmup=200, seed=2, progress=False)
