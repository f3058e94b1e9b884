"""The faster paths change where work happens, never the draws.

- The hierarchical kernel shares one chain's groups between threads when there are fewer
  chains than threads (J >= 512): a chain's draws must be bit-identical at 1 and 2 threads,
  and identical to the same chain run among others (threads over chains).
- Flat draws stored as float32 are the float64 draws rounded once.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import gibbsreg as gr

SCRIPT = """
import hashlib, sys
import numpy as np
import gibbsreg as gr
from gibbsreg.bench import hier_prior
d = gr.datasets.synthetic_hierarchical(600, 6, 3, tau=0.5, seed=3)
for tau, gv, sampler, varying in (("InvGamma", False, "asis", None), ("InvWishart", True, "asis", None),
                                  ("InvGamma", False, "centered", [0, 1]), ("HalfCauchy", False, "asis", None)):
    prior = hier_prior(tau, gv) if tau != "HalfCauchy" else gr.HierarchicalPrior(tau=gr.HalfCauchy(1.0))
    m = gr.HierarchicalRegression(prior, sampler=sampler, varying=varying)
    for chains in (1, 3):
        post = m.sample(d.X, d.y, d.groups, chains=chains, draws=25, warmup=15, seed=11, progress=False)
        blob = b"".join(np.ascontiguousarray(post[k][:1]).tobytes() for k in post.names)
        print(tau, sampler, chains, hashlib.sha256(blob).hexdigest())
f = gr.datasets.synthetic_regression(300, 6, seed=4)
for prior in (gr.SemiConjugate(), gr.Exchangeable()):
    for dtype in (np.float64, np.float32):
        post = gr.LinearRegression(prior).sample(f.X, f.y, chains=3, draws=40, warmup=10, seed=5, progress=False,
                                                 dtype=dtype)
        blob = b"".join(np.ascontiguousarray(post[k]).tobytes() for k in post.names)
        print("flat-" + type(prior).__name__, np.dtype(dtype).name, 3, hashlib.sha256(blob).hexdigest())
"""


def _digests(threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True)
    return out.stdout.split("\n")


def test_draws_do_not_depend_on_threads():
    one, two = _digests(1), _digests(2)
    assert one == two  # 1 chain: blocks on one thread vs split over two; 3 chains: threads over chains;
    # flat: chains over threads, float64 and float32 draws
    rows = [line.split() for line in one if line]
    by_model = {}
    for tau, sampler, chains, digest in rows:
        by_model.setdefault((tau, sampler), set()).add(digest)
    # chain 0 alone (its groups split across threads at 2 threads) equals chain 0 among three chains
    assert all(len(v) == 1 for v in by_model.values()), by_model


WORKERS_SCRIPT = """
import hashlib, sys
import numba
import numpy as np
import gibbsreg as gr
from gibbsreg.bench import hier_prior
from gibbsreg.kernels.hier import dispatch

workers = int(sys.argv[1])
real = dispatch.hier_gibbs_groups
calls = []


def with_workers(*args):
    calls.append(workers)
    return real(*args[:-1], workers)


d = gr.datasets.synthetic_hierarchical(700, 5, 3, tau=0.5, seed=9)
m = gr.HierarchicalRegression(hier_prior("InvWishart", True))
if workers:
    dispatch.hier_gibbs_groups = with_workers
    dispatch._usable_cores = lambda: 64
    numba.set_num_threads(2)
else:  # the chains kernel, on one thread
    numba.set_num_threads(1)
post = m.sample(d.X, d.y, d.groups, chains=1, draws=20, warmup=7, seed=6, progress=False)
assert calls or not workers
print(hashlib.sha256(b"".join(np.ascontiguousarray(post[k]).tobytes() for k in post.names)).hexdigest())
"""


def test_groups_kernel_finishes_and_agrees_whatever_its_workers():
    """The groups kernel's workers pass the phases to one another and claim tasks of any segment: with more
    workers than threads (iterations of the parallel region then run one after another on a thread, and a
    segment's own workers may not run at all until the end) it must neither hang nor change a draw."""
    digests = set()
    for workers in (0, 1, 3, 5):
        env = dict(os.environ, NUMBA_NUM_THREADS="2")
        out = subprocess.run([sys.executable, "-c", WORKERS_SCRIPT, str(workers)], capture_output=True, text=True,
                             env=env, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests


def test_group_parallel_agrees_with_numpy_reference():
    import numba

    d = gr.datasets.synthetic_hierarchical(520, 5, 2, tau=0.5, seed=4)
    m = gr.HierarchicalRegression(gr.HierarchicalPrior(tau=gr.InvGamma(1.0, 0.1), group_variance=True))
    before = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        a = m.sample(d.X, d.y, d.groups, chains=1, draws=20, warmup=10, seed=2, progress=False)
    finally:
        numba.set_num_threads(before)
    b = m.sample(d.X, d.y, d.groups, chains=1, draws=20, warmup=10, seed=2, progress=False, backend="numpy")
    for k in a.names:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-12 * np.abs(b[k]).max())


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("prior", [gr.SemiConjugate(), gr.NormalInverseGamma(), gr.Exchangeable()])
def test_float32_draws_are_the_float64_draws_rounded(backend, prior):
    d = gr.datasets.synthetic_regression(200, 4, seed=5)
    m = gr.LinearRegression(prior)
    a = m.sample(d.X, d.y, chains=3, draws=200, warmup=50, seed=9, progress=False, backend=backend)
    b = m.sample(d.X, d.y, chains=3, draws=200, warmup=50, seed=9, progress=False, backend=backend, dtype=np.float32)
    for k in a.names:
        assert b[k].dtype == np.float32
        np.testing.assert_array_equal(b[k], a[k].astype(np.float32))


def test_float32_numba_and_numpy_agree_to_float32_rounding():
    d = gr.datasets.synthetic_regression(200, 4, seed=6)
    m = gr.LinearRegression()
    a = m.sample(d.X, d.y, chains=2, draws=100, warmup=10, seed=3, progress=False, dtype=np.float32)
    b = m.sample(d.X, d.y, chains=2, draws=100, warmup=10, seed=3, progress=False, dtype=np.float32, backend="numpy")
    for k in a.names:
        np.testing.assert_allclose(a[k], b[k], rtol=2 * np.finfo(np.float32).eps)


@pytest.mark.parametrize("bad", [np.int64, np.float16, "complex128", "nonsense"])
def test_bad_dtype_is_a_clear_error(bad):
    d = gr.datasets.synthetic_regression(50, 2, seed=0)
    with pytest.raises(ValueError, match="dtype"):
        gr.LinearRegression().sample(d.X, d.y, draws=5, warmup=0, dtype=bad, progress=False)


def test_flat_kernel_writes_beta_as_the_map_back_would():
    """The kernel's own beta = beta_ref + T^{-1} W u equals mapping the sampler's state u back afterwards:
    one sweep at a time from the same state, the kernel's beta against T^{-1} W u + beta_ref of its next state."""
    from gibbsreg.models.flat.model import flat_spec
    from gibbsreg.runner import RunOptions, new_state, run_chains
    from gibbsreg.sampling import chain_streams

    d = gr.datasets.synthetic_regression(300, 5, seed=7)
    source = gr.sufficient_stats(d.X + 1e3, d.y)  # a far reference point
    stats = source.to_sufficient()
    spec = flat_spec(stats, gr.SemiConjugate().resolve(stats, source.names), source.names, source.n, True)
    streams = chain_streams(4, 2)
    state = new_state(spec, streams, chains=2, warmup=5, draws=3, thin=1, seed=4, backend="numba")
    post = run_chains(spec, state, streams, RunOptions(progress=False), draws_more=3)
    W = np.asarray(spec.config["basis"])
    mapped = stats.transform.to_beta(state.arrays["gamma"] @ W.T)  # the final state u, mapped back afterwards
    direct = post["beta"][:, -1]
    np.testing.assert_allclose(direct, mapped, rtol=1e-12, atol=1e-12 * np.abs(mapped).max())


@pytest.mark.parametrize("p", [1, 3, 10, 16, 17, 40])
def test_lane_matvec_is_the_axpy_loop(p):
    """kernels.simd.lane_matvec sums cols[j, i] x[j] over ascending j with one rounding per fused multiply-add:
    within two roundings per term of the exact sum, and exactly right on integers (no rounding at all)."""
    from numba import njit

    from gibbsreg.kernels.simd import MATVEC_BLOCK, lane_matvec

    @njit
    def run(cols, x, out):
        lane_matvec(cols, x, out)

    rng = np.random.default_rng(p)
    width = MATVEC_BLOCK * ((p + MATVEC_BLOCK - 1) // MATVEC_BLOCK)
    cols = np.zeros((p, width))
    cols[:, :p] = rng.standard_normal((p, p))
    x = rng.standard_normal(p)
    out = np.full(width, np.nan)
    run(cols, x, out)
    exact = cols.T @ x
    bound = 2 * p * np.finfo(float).eps * (np.abs(cols.T) @ np.abs(x))
    assert np.all(np.abs(out - exact) <= bound)
    assert np.all(out[p:] == 0.0)  # zero-padded columns give zeros
    ints = rng.integers(-50, 50, (p, width)).astype(float)
    xi = rng.integers(-50, 50, p).astype(float)
    run(ints, xi, out)
    np.testing.assert_array_equal(out, ints.T @ xi)

@pytest.mark.parametrize("tau,group_variance", [("InvGamma", False), ("InvWishart", True), ("HalfCauchy", False)])
def test_group_parallel_resume_equals_one_run(tau, group_variance):
    """One chain over 2 threads draws each sweep's random numbers ahead, beside the stages: stopping and
    resuming (warm-up included) must still give the uninterrupted run bit for bit, so a call must not draw
    beyond its last sweep."""
    import numba

    from gibbsreg.bench import hier_prior

    d = gr.datasets.synthetic_hierarchical(530, 4, 3, tau=0.5, seed=8)
    prior = hier_prior(tau, group_variance) if tau != "HalfCauchy" else gr.HierarchicalPrior(tau=gr.HalfCauchy(1.0))
    m = gr.HierarchicalRegression(prior)
    kw = dict(chains=1, seed=5, progress=False)
    before = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        full = m.sample(d.X, d.y, d.groups, draws=30, warmup=9, **kw)
        part = m.sample(d.X, d.y, d.groups, draws=13, warmup=9, **kw)
        rest = m.resume(part, d.X, d.y, d.groups, draws=17, progress=False)
    finally:
        numba.set_num_threads(before)
    for k in full.names:
        np.testing.assert_array_equal(rest[k], full[k])


def test_kernel_gammas_are_numpys_bit_for_bit():
    """fill_gammas with gamma_table's constants is rng.standard_gamma: same stream, same bits,
    for shapes above, below and at 1 (20,000 draws, so rejections and the log test occur)."""
    from gibbsreg.kernels.draws import fill_gammas, gamma_table, stream_state

    rng = np.random.default_rng(11)
    shapes = np.concatenate([rng.uniform(1.0, 30.0, 19_000), rng.uniform(0.05, 1.0, 500), np.ones(400),
                             np.full(100, 1.0 + 1e-12)])
    rng.shuffle(shapes)
    ours = np.empty(shapes.size)
    fill_gammas(stream_state(np.random.Generator(np.random.PCG64(5))), ours, gamma_table(shapes))
    numpys = np.random.Generator(np.random.PCG64(5)).standard_gamma(shapes)
    np.testing.assert_array_equal(ours, numpys)


@pytest.mark.parametrize("tau, group_variance, varying", [("InvGamma", False, None), ("InvWishart", True, None),
                                                          ("InvGamma", True, ["intercept"])])
def test_hierarchical_direct_outputs_past_the_scratch_size(monkeypatch, tau, group_variance, varying):
    """Draws go straight into their storage at the run's draw index, in the original coordinates: with a
    scratch buffer of 2 draws, both backends still agree, including outputs with no values (alpha when every
    coefficient varies) and Sigma's diagonal (tau2) viewed as (q, 1)."""
    from gibbsreg.runner import chunks

    d = gr.datasets.synthetic_hierarchical(12, 8, 2, tau=0.5, seed=3)
    hyper = gr.InvGamma(1.0, 0.1) if tau == "InvGamma" else gr.InvWishart(4.0, 0.1)
    m = gr.HierarchicalRegression(gr.HierarchicalPrior(tau=hyper, group_variance=group_variance), varying=varying)
    kw = dict(chains=2, draws=25, warmup=5, seed=4, progress=False)
    ref = m.sample(d.X, d.y, d.groups, **kw)
    monkeypatch.setattr(chunks, "SCRATCH_ELEMENTS", 2 * 2 * 40)  # read by run_chains in gibbsreg.runner.chunks
    a = m.sample(d.X, d.y, d.groups, **kw)
    b = m.sample(d.X, d.y, d.groups, backend="numpy", **kw)
    assert set(a.names) == set(ref.names) == set(b.names)
    for k in a.names:
        np.testing.assert_array_equal(a[k], ref[k])
        np.testing.assert_allclose(b[k], a[k], rtol=1e-9, atol=1e-12 * np.abs(a[k]).max())


def test_kernel_streams_are_numpys_bit_for_bit():
    """The kernels' inlined PCG64 draws equal NumPy's Generator(PCG64) on the same state: 200,000 normals
    in a buffer (the ziggurat's wedge and tail branches occur), single normals, exponentials, uniforms
    and gammas of every branch interleaved on one stream; and the state written back continues it."""
    from numba import njit

    from gibbsreg.kernels.draws import (fill_normals, set_stream_state, standard_exponential, standard_gamma,
                                        standard_normal, stream_state, uniform)

    def gen(seed):
        return np.random.Generator(np.random.PCG64(seed))

    n = 200_000
    g = gen(1)
    st = stream_state(g)
    z = np.empty(n)
    fill_normals(st, z, n)
    np.testing.assert_array_equal(z, gen(1).standard_normal(n))
    set_stream_state(g, st)
    twin = gen(1)
    twin.standard_normal(n)
    assert g.bit_generator.state == twin.bit_generator.state
    assert g.standard_normal() == twin.standard_normal()

    @njit
    def mixed(st, shapes, out):
        for i in range(shapes.shape[0]):
            out[i, 0] = standard_normal(st)
            out[i, 1] = standard_exponential(st)
            out[i, 2] = uniform(st)
            out[i, 3] = standard_gamma(st, shapes[i])

    shapes = np.random.default_rng(2).choice([0.0, 0.3, 1.0, 1.5, 40.0], 5_000)
    ours = np.empty((shapes.size, 4))
    mixed(stream_state(gen(3)), shapes, ours)
    r = gen(3)
    numpys = np.array([(r.standard_normal(), r.standard_exponential(), r.random(), r.standard_gamma(a)) for a in shapes])
    np.testing.assert_array_equal(ours, numpys)


def test_streams_in_place_or_copied_give_the_same_run(monkeypatch):
    """The kernels advance the generators' own PCG64 states in place where NumPy's layout allows, and
    copies written back after each call elsewhere: both give the same draws and leave the generators
    where the NumPy reference leaves them (flat and hierarchical, several chunks)."""
    import gibbsreg.kernels.draws as draws
    from gibbsreg import HierarchicalRegression, LinearRegression, datasets

    flat = datasets.synthetic_regression(200, 3, seed=1)
    hier = datasets.synthetic_hierarchical(30, 5, 2, seed=2)

    def runs():
        a = LinearRegression().sample(flat.X, flat.y, chains=2, draws=300, warmup=50, seed=3, progress=False)
        b = HierarchicalRegression().sample(hier.X, hier.y, hier.groups, chains=3, draws=40, warmup=10, seed=4,
                                            progress=False)
        return a, b

    assert draws.native_address(np.random.default_rng(0)) is not None  # this machine runs in place
    in_place = runs()
    monkeypatch.setattr(draws, "native_address", lambda generator: None)
    copied = runs()
    for x, y in zip(in_place, copied):
        for name in x.dims:
            np.testing.assert_array_equal(x[name], y[name])
        assert x.state.rng == y.state.rng
    reference = LinearRegression().sample(flat.X, flat.y, chains=2, draws=300, warmup=50, seed=3, progress=False,
                                          backend="numpy")
    assert reference.state.rng == in_place[0].state.rng
