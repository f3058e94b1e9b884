"""The pointwise log-likelihood of data on Dask: a pass over the partitions, equal to the in-memory one."""

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd

import gibbsreg as gr


def test_loglik_of_dask_rows_equals_the_in_memory_one():
    data = gr.datasets.synthetic_regression(3000, 4, sigma=0.8, seed=11)
    stats = gr.sufficient_stats(da.from_array(data.X, chunks=(700, -1)), da.from_array(data.y, chunks=700))
    post = gr.LinearRegression().sample(stats=stats, chains=2, draws=150, warmup=50, seed=2, progress=False)
    assert post.data is None  # fitted from statistics: the rows are not in memory
    direct = post.to_arviz(X=data.X, y=data.y, log_likelihood=True).log_likelihood["y"].values
    lazy = post.to_arviz(X=da.from_array(data.X, chunks=(500, -1)), y=da.from_array(data.y, chunks=500),
                         log_likelihood=True)
    np.testing.assert_array_equal(lazy.log_likelihood["y"].values, direct)
    assert "constant_data" not in lazy.groups()  # the design stays on Dask (a flat model has no labels)
    frame = dd.from_pandas(pd.DataFrame(data.X, columns=["x0", "x1", "x2"]).assign(y=data.y), npartitions=3)
    from_frame = gr.loo(post, X=frame[["x0", "x1", "x2"]], y=frame["y"])
    np.testing.assert_allclose(from_frame.elpd_loo, gr.loo(post, X=data.X, y=data.y).elpd_loo, rtol=1e-12)


def test_hierarchical_loglik_of_dask_rows():
    h = gr.datasets.synthetic_hierarchical(12, 30, 2, tau=0.5, seed=4)
    post = gr.HierarchicalRegression().sample(h.X, h.y, h.groups, chains=2, draws=100, warmup=50, seed=1,
                                              progress=False)
    direct = gr.analysis.pointwise_loglik(post)
    lazy = gr.analysis.pointwise_loglik(post, X=da.from_array(h.X, chunks=(50, -1)), y=da.from_array(h.y, chunks=50),
                                        groups=da.from_array(h.groups, chunks=50))
    np.testing.assert_array_equal(lazy, direct)
