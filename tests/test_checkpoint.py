"""Crash-safe checkpoints and the disk store.

A subprocess that checkpoints every 0.05 s is killed with SIGKILL at random moments; every
checkpoint left behind loads, and resuming from it gives the uninterrupted run bit for bit.
A run whose draws exceed the process's address-space limit completes with store=.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gibbsreg as gr


@pytest.fixture(scope="module")
def hier_data():
    return gr.datasets.synthetic_hierarchical(J=5, group_size=6, p=2, seed=1)


def assert_same(a, b):
    assert a.names == b.names
    for k in a.names:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_checkpoint_file_resumes_bitwise(hier_data, tmp_path, backend):
    d = hier_data
    model = gr.HierarchicalRegression(gr.HierarchicalPrior(group_variance=True))
    kw = dict(chains=2, warmup=30, thin=2, seed=5, backend=backend, progress=False)
    full = model.sample(d.X, d.y, d.groups, draws=120, **kw)
    path = tmp_path / "run.npz"
    part = model.sample(d.X, d.y, d.groups, draws=50, checkpoint=path, checkpoint_every=1e-3, **kw)
    back = gr.load(path)  # the last checkpoint is the finished partial run
    assert_same(part, back)
    assert back.state.draws_done == 50
    done = gr.resume(path, d.X, d.y, d.groups, draws=70, progress=False)
    assert_same(full, done)
    assert_same(full, gr.load(path))  # resuming kept checkpointing into the same file


def test_bad_checkpoint_files_give_clear_errors(hier_data, tmp_path):
    d = hier_data
    path = tmp_path / "run.npz"
    gr.HierarchicalRegression().sample(d.X, d.y, d.groups, chains=2, draws=30, warmup=5, seed=1, progress=False,
                                       checkpoint=path)
    data = path.read_bytes()
    cases = {"empty.npz": b"", "truncated.npz": data[: len(data) // 2], "text.npz": b"hello, not a checkpoint\n"}
    flipped = bytearray(data)
    flipped[len(flipped) // 3] ^= 0xFF
    cases["corrupt.npz"] = bytes(flipped)
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="cannot read|not a gibbsreg|corrupt|truncated|empty"):
            gr.resume(tmp_path / name, d.X, d.y, d.groups)
    np.savez(tmp_path / "foreign.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a gibbsreg posterior or checkpoint"):
        gr.load(tmp_path / "foreign.npz")
    meta_only = gr.Posterior({"beta": np.zeros((1, 3, 2))})
    meta_only.save(tmp_path / "stateless.npz")
    with pytest.raises(ValueError, match="no sampler state"):
        gr.resume(tmp_path / "stateless.npz", d.X, d.y, d.groups)
    with pytest.raises(ValueError, match="no such file"):
        gr.load(tmp_path / "missing.npz")


KILL_SCRIPT = textwrap.dedent("""
    import json, os, random, signal, sys, time
    import numpy as np
    import gibbsreg as gr

    tmp, n_kills = sys.argv[1], int(sys.argv[2])
    d = gr.datasets.synthetic_hierarchical(J=5, group_size=6, p=2, seed=1)
    model = gr.HierarchicalRegression()
    KW = dict(chains=2, draws=1500, warmup=300, thin=2, seed=7, backend="numpy", progress=False)
    path = os.path.join(tmp, "run.npz")

    def child():
        import warnings
        warnings.simplefilter("ignore")
        if os.path.exists(path):
            gr.resume(path, d.X, d.y, d.groups, progress=False)
        else:
            model.sample(d.X, d.y, d.groups, checkpoint=path, checkpoint_every=0.05, **KW)
        os._exit(0)

    gr.sufficient_stats(d.X, d.y, d.groups)  # the statistics kernels loaded once here, not in every child
    rng = random.Random(12345)
    kills = loads = completed = 0
    seen = set()
    while kills < n_kills:
        pid = os.fork()
        if pid == 0:
            child()
        time.sleep(rng.uniform(0.02, 0.35))
        if os.waitpid(pid, os.WNOHANG)[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            kills += 1
        if os.path.exists(path):
            post = gr.load(path)  # never half a file
            assert post.state.draws_done == post.ndraws
            seen.add((post.state.warmup_done, post.state.draws_done))
            loads += 1
            if post.state.complete:
                os.replace(path, os.path.join(tmp, f"done{completed}.npz"))
                completed += 1
    if os.path.exists(path):  # finish the last interrupted run in this process
        gr.resume(path, d.X, d.y, d.groups, progress=False)
        os.replace(path, os.path.join(tmp, f"done{completed}.npz"))
        completed += 1
    full = model.sample(d.X, d.y, d.groups, **KW)
    for k in range(completed):
        done = gr.load(os.path.join(tmp, f"done{k}.npz"))
        for name in full.names:
            assert np.array_equal(done[name], full[name]), (k, name)
    mid_warmup = sum(1 for w, n in seen if w < 300)
    print(json.dumps({"kills": kills, "loads": loads, "completed": completed, "states": len(seen),
                      "mid_warmup": mid_warmup}))
""")


def test_sigkill_at_random_moments_never_loses_the_run(tmp_path):
    out = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(tmp_path), "24"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["kills"] >= 24 and report["completed"] >= 1
    assert report["loads"] >= 20 and report["states"] >= 10  # checkpoints at many distinct points of the run


def test_store_matches_memory_and_resumes(hier_data, tmp_path):
    d = hier_data
    model = gr.HierarchicalRegression()
    kw = dict(chains=2, warmup=20, seed=3, progress=False)
    mem = model.sample(d.X, d.y, d.groups, draws=300, **kw)
    store = tmp_path / "run"
    part = model.sample(d.X, d.y, d.groups, draws=120, store=store, **kw)
    assert part.store is not None
    with pytest.raises(ValueError, match="already holds a run"):
        model.sample(d.X, d.y, d.groups, draws=10, store=store, **kw)
    done = gr.resume(store, d.X, d.y, d.groups, draws=180, progress=False)
    assert_same(mem, done)
    back = gr.load(store)
    assert_same(mem, back)
    np.testing.assert_allclose(back.summary().values, mem.summary().values, rtol=1e-12, atol=0)
    assert np.load(store / "beta.npy", mmap_mode="r").shape == (300, 2, 5, 2)  # plain .npy, draw-major


STORE_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import gibbsreg as gr
    from gibbsreg.store import available_memory

    tmp, draws, full = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "full"
    d = gr.datasets.synthetic_hierarchical(J=2000, group_size=2, p=1, seed=3)
    model = gr.HierarchicalRegression()
    KW = dict(chains=2, warmup=10, seed=4, progress=False)
    model.sample(d.X, d.y, d.groups, draws=5, **KW)  # kernels loaded, threads started, before the limit
    vm = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize:")][0]
    limit = vm + (220 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    need = 8 * 2 * draws * (2000 + 3)
    try:
        model.sample(d.X, d.y, d.groups, draws=draws, **KW)
        refused = False
    except ValueError as exc:
        refused = "store=" in str(exc)
    post = model.sample(d.X, d.y, d.groups, draws=draws, store=tmp + "/big", **KW)
    table = post.summary(var_names=None if full else ["mu", "tau2", "sigma2"])  # read in bounded blocks
    np.save(tmp + "/summary.npy", table.values)
    print(json.dumps({"need": need, "headroom": limit - vm, "refused": refused, "draws": post.ndraws}))
""")


def _store_beyond_memory(tmp_path, full):
    draws = 8_000  # 2 chains x 8000 draws x 2003 values x 8 bytes = 256 MB, above the 220 MB left to the process
    out = subprocess.run([sys.executable, "-c", STORE_SCRIPT, str(tmp_path), str(draws), "full" if full else "hyper"],
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["need"] > report["headroom"] and report["refused"] and report["draws"] == draws
    # the stored run equals an in-memory run of the same seed: draws of a shorter run bit for bit,
    # and the summary computed from the store equals the in-memory summary of the same draws
    d = gr.datasets.synthetic_hierarchical(J=2000, group_size=2, p=1, seed=3)
    model = gr.HierarchicalRegression()
    small = model.sample(d.X, d.y, d.groups, draws=400, chains=2, warmup=10, seed=4, progress=False)
    big = gr.load(tmp_path / "big")
    for name in small.names:
        np.testing.assert_array_equal(big[name][:, :400], small[name])
    names = big.names if full else ["mu", "tau2", "sigma2"]
    in_memory = gr.Posterior({k: np.asarray(big[k]) for k in names}, dims=big.dims, coords=big.coords).summary()
    np.testing.assert_allclose(np.load(tmp_path / "summary.npy"), in_memory.values, rtol=1e-12, atol=0)


def test_store_runs_beyond_the_memory_limit(tmp_path):
    _store_beyond_memory(tmp_path, full=False)


@pytest.mark.slow
def test_store_summary_of_every_parameter_beyond_the_memory_limit(tmp_path):
    """The same with the summary of all 4003 parameters computed under the limit (about a minute)."""
    _store_beyond_memory(tmp_path, full=True)


def test_a_checkpoint_too_large_to_rewrite_in_time_warns_once(tmp_path):
    """A single-file checkpoint that takes longer to rewrite than checkpoint_every: one warning, naming the
    size and the disk store; the run itself completes."""
    import warnings

    d = gr.datasets.synthetic_regression(200, 50, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = gr.LinearRegression().sample(d.X, d.y, chains=4, draws=100_000, warmup=10, seed=1, progress=False,
                                            checkpoint=tmp_path / "run.npz", checkpoint_every=1e-3)
    said = [str(w.message) for w in caught if "rewriting every draw" in str(w.message)]
    assert len(said) == 1 and "GB" in said[0] and "store=" in said[0]
    assert post.ndraws == 100_000 and gr.load(tmp_path / "run.npz").ndraws == 100_000
