"""pytest-benchmark suite: ``pytest benchmarks/ --benchmark-only``.

Each benchmark times one sampling call (warm-up excluded by a prior call that
compiles the kernels).  Compare the numba and numpy rows of the same workload
within one run; the report command ``gibbsreg bench`` adds ESS/s, ratios, the
floor estimate and the peers.
"""

import pytest

from gibbsreg.bench import WORKLOADS, make_workload

CASES = {
    "W1": (WORKLOADS["W1 flat-small"], {"numba": 20_000, "numpy": 1_000}),
    "W3": (WORKLOADS["W3 hier"], {"numba": 2_000, "numpy": 200}),
    "W4": (WORKLOADS["W4 hier-large"], {"numba": 100, "numpy": 10}),
    "W2": (WORKLOADS["W2 flat-large"], {"numba": 2_000, "numpy": 200}),
}


@pytest.fixture(scope="module")
def samplers():
    return {name: make_workload(spec) for name, (spec, _) in CASES.items()}


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name", list(CASES))
def test_sampling_speed(benchmark, samplers, name, backend):
    sample = samplers[name]
    draws = CASES[name][1][backend]
    sample(backend, 4, 5, 5, 0)  # compile / warm caches
    post = benchmark.pedantic(sample, args=(backend, 4, draws, 0, 1), rounds=3, iterations=1)
    benchmark.extra_info["draws_per_s"] = 4 * draws / post.attrs["sampling_seconds"]
    assert post.ndraws == draws
