"""The crossed model in the ArviZ export: pointwise log-likelihood against a direct computation, LOO, compare."""

import arviz as az
import numpy as np
import pytest
from scipy import stats

import gibbsreg as gr


@pytest.fixture(scope="module")
def pilots_fits():
    pilots = gr.datasets.pilots()
    crossed = gr.model("y ~ (1 | treatment) + (1 | airport)", data=pilots).sample(chains=2, draws=300, warmup=200,
                                                                                  seed=5, progress=False)
    pooled = gr.model("y ~ 1", data=pilots).sample(chains=2, draws=300, warmup=200, seed=5, progress=False)
    return pilots, crossed, pooled


def test_pointwise_loglik_equals_a_direct_computation(pilots_fits):
    pilots, crossed, _ = pilots_fits
    idata = crossed.to_arviz()
    ll = idata.log_likelihood["y"].values
    t_codes = {lab: j for j, lab in enumerate(crossed.coords["treatment_level"])}
    a_codes = {lab: j for j, lab in enumerate(crossed.coords["airport_level"])}
    bt = crossed["b_treatment"][..., 0][..., [t_codes[v] for v in pilots["treatment"]]]
    ba = crossed["b_airport"][..., 0][..., [a_codes[v] for v in pilots["airport"]]]
    direct = stats.norm.logpdf(pilots["y"].to_numpy(), bt + ba, np.sqrt(crossed["sigma2"])[..., None])
    np.testing.assert_allclose(ll, direct, rtol=1e-10, atol=1e-12)
    assert idata.posterior_predictive["y"].shape == ll.shape
    assert set(idata.constant_data) == {"X", "treatment_label", "airport_label"}
    explicit = crossed.to_arviz(X=np.empty((len(pilots), 0)), y=pilots["y"],
                                groups=pilots[["treatment", "airport"]]).log_likelihood["y"].values
    np.testing.assert_array_equal(explicit, ll)


def test_loo_and_compare_rank_the_crossed_model(pilots_fits):
    _, crossed, pooled = pilots_fits
    table = gr.compare({"crossed": crossed, "pooled": pooled})
    assert list(table.index)[0] == "crossed"  # the airports differ a lot: the crossed model predicts better
    assert np.isfinite(gr.loo(crossed).elpd_loo)
    with pytest.raises(ValueError, match="one grouping factor"):
        gr.loo(crossed, by="group")
