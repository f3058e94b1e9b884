"""Benchmark report: the Numba engine against the NumPy reference, in one run.

``gibbsreg bench [--quick] [--out DIR]`` times both backends on the same data,
priors and seed for the named workloads and the scaling sweeps, and writes
``RESULTS.md`` (a table) and ``results.png`` (the sweeps).  For each run it
records draws/s (chains x kept draws / sampling seconds), min bulk ESS/s over
all parameters, core-ns per iteration per chain, and the Numba/NumPy ratios;
it also checks that the two backends' posterior means agree within Monte-Carlo
error, so a fast wrong kernel cannot report a speed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .families import FAMILY_WORKLOADS
from .peers import peer_rows
from .report import _cores, markdown, plot_sweeps

WORKLOADS = {
    "W1 flat-small": dict(kind="flat", n=1_000, p=10),
    "W2 flat-large": dict(kind="flat", n=1_000_000, p=50),
    "W3 hier": dict(kind="hier", J=100, nj=50, p=5),
    "W4 hier-large": dict(kind="hier", J=10_000, nj=20, p=3),
    "W3b hier, bayesm's model": dict(kind="hier", J=100, nj=50, p=5, tau="InvWishart", group_variance=True),
    # W3's model by the crossed kernel with one factor: what the specialised one-factor kernel buys
    "W3c W3 by the crossed kernel": dict(kind="hier", J=100, nj=50, p=5, kernel="crossed"),
}
SWEEP_P = [2, 5, 10, 25, 50, 100]
SWEEP_J = [10, 100, 1_000, 10_000, 100_000]
SWEEP_CHAINS = [1, 2, 4, 16, 64, 256]


@dataclass
class Run:
    """One timed sampling run of one backend."""

    label: str
    backend: str
    chains: int
    draws: int
    seconds: float
    draws_per_s: float
    ess_per_s: float
    ns_per_iter: float  # core-nanoseconds per iteration per chain
    means: dict = field(default_factory=dict)
    mcse: dict = field(default_factory=dict)


def hier_prior(tau: str = "InvGamma", group_variance: bool = False):
    """The hierarchical workloads' prior, spelled out so peers can use the same numbers.

    ``tau="InvWishart"`` with ``group_variance=True`` is the model of bayesm's rhierLinearModel
    (full coefficient covariance, one noise variance per group).
    """
    from .. import HierarchicalPrior, InvGamma, InvWishart

    hyper = InvGamma(1.0, 0.1) if tau == "InvGamma" else InvWishart(7.0, 0.1)
    return HierarchicalPrior(mu_mean=0.0, mu_scale=10.0, tau=hyper, sigma=InvGamma(1.0, 1.0),
                             group_variance=group_variance)


def make_workload(spec: dict, seed: int = 0):
    """Data and model of a workload spec: returns sample(backend, chains, draws, warmup, seed)."""
    from .. import HierarchicalRegression, LinearRegression, datasets
    from .families import KINDS, make_family_workload

    if spec["kind"] in KINDS:
        return make_family_workload(spec, seed)
    if spec["kind"] == "flat":
        data = datasets.synthetic_regression(spec["n"], spec["p"], seed=seed)
        model = LinearRegression()

        def sample(backend, chains, draws, warmup, seed):
            return model.sample(data.X, data.y, chains=chains, draws=draws, warmup=warmup, seed=seed,
                                backend=backend, progress=False)
    elif spec.get("kernel") == "crossed":
        from .. import CrossedPrior, CrossedRegression, Factor

        data = datasets.synthetic_hierarchical(spec["J"], spec["nj"], spec["p"], tau=0.5, seed=seed)
        prior = hier_prior()  # the same numbers: N(0, 10^2) means, IG(1, 0.1) per tau^2, IG(1, 1) on sigma^2
        varying = ["intercept"] + [f"x{k}" for k in range(data.X.shape[1])]
        model = CrossedRegression([Factor("g", varying=varying, tau=prior.tau)],
                                  prior=CrossedPrior(fixed_mean=0.0, fixed_scale=10.0, sigma=prior.sigma))

        def sample(backend, chains, draws, warmup, seed):
            return model.sample(data.X, data.y, {"g": data.groups}, chains=chains, draws=draws, warmup=warmup,
                                seed=seed, backend=backend, progress=False)
    else:
        data = datasets.synthetic_hierarchical(spec["J"], spec["nj"], spec["p"], tau=0.5, seed=seed)
        model = HierarchicalRegression(hier_prior(spec.get("tau", "InvGamma"), spec.get("group_variance", False)))

        def sample(backend, chains, draws, warmup, seed):
            return model.sample(data.X, data.y, data.groups, chains=chains, draws=draws, warmup=warmup,
                                seed=seed, backend=backend, progress=False)
    return sample


def _flatten(post) -> dict:
    out = {}
    for name in post.names:
        x = post[name]
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        if flat.shape[2] > 200:  # many groups: a fixed subset keeps ESS cheap and comparable
            flat = flat[:, :, np.linspace(0, flat.shape[2] - 1, 200).astype(int)]
        out[name] = flat
    return out


MAX_DRAW_BYTES = 32e6  # stored draws per sampling call: a realistic run, not a page-faulting giant


def timed_run(sample, label, backend, chains, target_seconds, seed=1, min_draws=100, max_draws=20_000,
              warmup=100, pause=0.5, settle=True, probe=200) -> Run:
    """Warm (compile, and one untimed call of the timed size), then repeat sampling calls of a
    realistic size for ~target_seconds.

    Each call keeps at most MAX_DRAW_BYTES of draws (and at most ``max_draws`` per chain), as a user's
    run would; draws/s sums over the calls, ESS/s comes from the last call.  A pause before each
    timing lets the other backend's worker threads (OpenMP, OpenBLAS) stop spinning, so neither
    backend is timed while the other still holds a core.
    """
    from ..diagnostics import ess_bulk, mcse_mean

    sample(backend, chains, 5, 5, seed)
    time.sleep(pause)
    probe_draws = probe
    probe = sample(backend, chains, probe_draws, 0, seed)
    per_draw = max(probe.attrs["sampling_seconds"] / probe_draws, 1e-9)
    bytes_per_draw = sum(probe[k][:, 0].nbytes for k in probe.names)
    max_draws = int(max(min_draws, min(max_draws, MAX_DRAW_BYTES / bytes_per_draw)))
    draws = int(min(max_draws, max(min_draws, target_seconds / per_draw)))
    if settle:
        sample(backend, chains, draws, 0, seed)  # untimed: the process's memory reaches its steady state
    time.sleep(pause)
    total_secs, total_draws, calls = 0.0, 0, 0
    while calls == 0 or (total_secs < target_seconds and calls < 50):
        post = sample(backend, chains, draws, warmup, seed + calls)
        total_secs += post.attrs["sampling_seconds"]
        total_draws += chains * post.ndraws
        calls += 1
    flat = _flatten(post)
    ess = min(float(np.nanmin(ess_bulk(x))) for x in flat.values())
    means = {k: v.mean(axis=(0, 1)) for k, v in flat.items()}
    mcse = {k: mcse_mean(v) for k, v in flat.items()}
    ns = total_secs * min(chains, _cores()) / total_draws * 1e9
    draws_per_s = total_draws / total_secs
    # ESS per draw of the last call, at the overall draw rate (one call's seconds are too noisy)
    ess_per_s = ess / (chains * post.ndraws) * draws_per_s
    return Run(label, backend, chains, post.ndraws, total_secs, draws_per_s, ess_per_s, ns, means, mcse)


def backends_agree(a: Run, b: Run, z: float = 5.0) -> bool:
    """Posterior means of every scalar agree within z combined MCSE (false alarm ~6e-7 per scalar at z=5)."""
    for k in a.means:
        se = np.hypot(a.mcse[k], b.mcse[k])
        if np.any(np.abs(a.means[k] - b.means[k]) > z * se + 1e-12):
            return False
    return True


# ---- the floor: random numbers, flops and stored bytes per iteration against measured rates -----
#
# Each term is a cost the sweep cannot avoid, at the best rate this machine reaches for it: its random
# numbers at their cost in a tight loop, its floating-point operations at the peak fused multiply-add
# rate (a loop of independent FMAs, two flops each; divisions and square roots counted as one flop),
# and its stored draws at the first-touch write bandwidth of fresh pages.  The kernel also loads and
# branches, so a floor is a lower bound: no row can reach it, and a row above 100% would mean a term
# is counted wrong.


def _hier_shape(spec: dict):
    q = spec["p"]  # every coefficient varies by group in the workloads
    return q, 0, spec["J"], spec.get("tau", "InvGamma") == "InvWishart", spec.get("group_variance", False)


def flops_per_iteration(spec: dict, stored: bool = True) -> float:
    """Floating-point operations of one sweep of the kernels as written.

    Flat (simultaneously diagonalised, docs/maths.md): 11 per coefficient for the draw and RSS, plus
    2p^2 for writing beta = beta_ref + T^{-1} W u when the draw is stored.  Hierarchical, per group
    (q varying coefficients, interweaving on): building A_j and its right-hand side, the Cholesky
    factor (q^3/3) with its forward and backward solves, the sums for mu and Sigma, the interweaving
    sums and move, and RSS_j; plus the O(q^3) hyperparameter steps once per sweep.
    """
    if spec["kind"] == "flat":
        p = spec["p"]
        return 11 * p + (2 * p * p if stored else 0)
    q, r, J, iw, gv = _hier_shape(spec)
    build = q * (q + 1) + 2 * q
    chol = q**3 / 3 + 2 * q * q
    spread = q * (q + 1) if iw else 2 * q
    interweave = 2 * q + 2 * q * q + q * (q + 1) + (0 if iw else 2 * q + 3 * q * q + 3 * q * (q + 1) / 2 + 3 * q)
    noise = 4 * q + 2 * q * q + 3 + (2 if gv else 0)
    per_group = build + chol + q + spread + interweave + noise
    return J * per_group + 4 * q**3


def randoms_per_iteration(spec: dict) -> tuple[int, int, int]:
    """(normals, gammas, exponentials) drawn per sweep, as the kernels draw them."""
    if spec["kind"] == "flat":
        return spec["p"], 1, 0
    q, r, J, iw, gv = _hier_shape(spec)
    normals = J * q + r + q + (q * (q - 1) // 2 if iw else 0) + (q if iw else 2 * q)  # with interweaving
    gammas = q + (J if gv else 1)
    return normals, gammas, (0 if iw else q)


def bytes_per_iteration(spec: dict) -> float:
    """Bytes of stored draws per kept iteration (float64, every parameter, beta_j included)."""
    if spec["kind"] == "flat":
        return 8.0 * (spec["p"] + 1)
    q, r, J, iw, gv = _hier_shape(spec)
    return 8.0 * (J * q + r + q + q * q + (J if gv else 1))


def measure_rates() -> dict:
    """One core's costs inside @njit (ns per normal, gamma, exponential draw; peak FMA Gflop/s) and the
    first-touch write bandwidth of fresh pages with every thread writing (GB/s, all cores together)."""
    from ..kernels.draws import stream_state

    _rate_kernels()
    gens = stream_state(np.random.default_rng(0))
    _RATE["normals"](gens, 10)
    _RATE["gammas"](gens, 10, 500.0)
    x = np.ones(64)
    _RATE["fma"](x, 10)
    n = 2_000_000
    best = {"ns_normal": np.inf, "ns_gamma": np.inf, "ns_exponential": np.inf, "fma_gflops": 0.0}
    for _ in range(3):  # best of three: the machine is shared
        t0 = time.perf_counter()
        _RATE["normals"](gens, n)
        best["ns_normal"] = min(best["ns_normal"], (time.perf_counter() - t0) / n * 1e9)
        t0 = time.perf_counter()
        _RATE["gammas"](gens, n // 10, 500.0)
        best["ns_gamma"] = min(best["ns_gamma"], (time.perf_counter() - t0) / (n // 10) * 1e9)
        t0 = time.perf_counter()
        _RATE["gammas"](gens, n // 10, 1.0)
        best["ns_exponential"] = min(best["ns_exponential"], (time.perf_counter() - t0) / (n // 10) * 1e9)
        reps = 2_000_000
        t0 = time.perf_counter()
        _RATE["fma"](x, reps)
        best["fma_gflops"] = max(best["fma_gflops"], 2 * 64 * reps / (time.perf_counter() - t0) / 1e9)
    best["first_touch_gbs"] = first_touch_bandwidth()
    return best


def first_touch_bandwidth(mb: int = 64, trials: int = 3) -> float:
    """GB/s one core writes freshly mapped pages (each page faulted in on its first write), without
    transparent huge pages (as the samplers allocate their draws): the better of one thread alone and
    all threads together divided by the number of cores, best of ``trials``."""
    import mmap

    import numba

    _rate_kernels()
    size = mb << 20
    best = 0.0
    before = numba.get_num_threads()
    try:
        for _ in range(trials):
            for threads in (1, before):
                numba.set_num_threads(threads)
                buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
                if hasattr(mmap, "MADV_NOHUGEPAGE"):
                    buf.madvise(mmap.MADV_NOHUGEPAGE)
                a = np.frombuffer(buf, dtype=np.float64).reshape(64, -1)
                t0 = time.perf_counter()
                _RATE["touch"](a)
                best = max(best, size / (time.perf_counter() - t0) / 1e9 / threads)
                del a
                buf.close()
    finally:
        numba.set_num_threads(before)
    return best


def fresh_pages_for_large_arrays() -> bool:
    """Make every large allocation of this process come from freshly mapped pages (glibc: a fixed mmap
    threshold instead of the adaptive one, which recycles freed draw buffers of up to 32 MB through
    the heap).  Timed runs then pay the first-touch cost of their draws, as a user's run in a new
    process does, and the floor's first-touch term bounds them.  Returns False off glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_MMAP_THRESHOLD = -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 20))
    except (OSError, AttributeError):
        return False


_RATE: dict = {}


def _rate_kernels() -> None:
    """Compile the rate-measuring loops once."""
    if _RATE:
        return
    from numba import njit, prange

    @njit(fastmath=True)
    def fma(x, reps):
        # 64 independent multiply-add chains: vectorised and pipelined, so the loop runs at the
        # FMA units' throughput, not at one FMA's latency
        for _ in range(reps):
            for k in range(64):
                x[k] = x[k] * 0.9999999 + 1e-7
        return x[0]

    from ..kernels.draws import fill_gammas, fill_normals, gamma_table

    @njit
    def normals(st, n):
        # as the kernels draw them: a buffer at a time from the inlined PCG64 stream
        buf = np.empty(1000)
        s = 0.0
        for _ in range(max(1, n // 1000)):
            fill_normals(st, buf, 1000)
            s += buf[0]
        return s

    @njit
    def gammas(st, n, shape):
        # as the kernels draw them: a buffer at a time, NumPy's algorithm with the shapes' constants
        # computed once
        t = gamma_table(np.full(1000, shape))
        buf = np.empty(1000)
        s = 0.0
        for _ in range(max(1, n // 1000)):
            fill_gammas(st, buf, t)
            s += buf[0]
        return s

    @njit(parallel=True)
    def touch(a):
        for i in prange(a.shape[0]):
            for k in range(a.shape[1]):
                a[i, k] = 1.0

    _RATE.update(fma=fma, normals=normals, gammas=gammas, touch=touch)


def floor_ns(spec: dict, rates: dict) -> float:
    """Core-nanoseconds one stored sweep cannot go below (the units of Run.ns_per_iter): its random
    numbers at their tight-loop cost, its flops at the peak FMA rate, its stored bytes at the
    first-touch bandwidth per core."""
    normals, gammas, expos = randoms_per_iteration(spec)
    rand = normals * rates["ns_normal"] + gammas * rates["ns_gamma"] + expos * rates["ns_exponential"]
    flops = flops_per_iteration(spec) / rates["fma_gflops"]
    store = bytes_per_iteration(spec) / rates["first_touch_gbs"]
    return rand + flops + store


# ---- start-up and compilation in fresh processes -----------------------------------------------

_STARTUP = """
import time; t0 = time.perf_counter()
import numpy as np, gibbsreg as gr
d = gr.datasets.synthetic_regression(200, 4, seed=0)
gr.LinearRegression().sample(d.X, d.y, chains=2, draws=5, warmup=0, seed=0, progress=False)
t1 = time.perf_counter()
h = gr.datasets.synthetic_hierarchical(5, 5, 2, seed=0)
gr.HierarchicalRegression(gr.HierarchicalPrior(tau=gr.InvGamma(1.0, 1.0))).sample(h.X, h.y, h.groups, chains=2, draws=5, warmup=0, seed=0, progress=False)
t2 = time.perf_counter()
rng = np.random.default_rng(0)
a, b = rng.integers(0, 4, 60), rng.integers(0, 3, 60)
gr.CrossedRegression([gr.Factor("a"), gr.Factor("b")]).sample(rng.normal(size=(60, 1)), rng.normal(size=60), {"a": a, "b": b}, chains=2, draws=5, warmup=0, seed=0, progress=False)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def startup_times(cold: bool = True) -> dict:
    """Seconds to import and run the first flat, hierarchical and crossed sample: cold (empty cache) and cached.

    Without ``cold`` only the cached start-up is measured, against the package's own cache.
    """
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache) if cold else dict(os.environ)
        for label in (("cold", "cached") if cold else ("cached",)):
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-W", "ignore", "-c", _STARTUP], env=env, capture_output=True,
                                 text=True, check=True)
            wall = time.perf_counter() - t0
            flat_s, hier_s, crossed_s = (float(v) for v in res.stdout.split())
            out[label] = {"process": wall, "flat": flat_s, "hier": hier_s, "crossed": crossed_s}
    return out


# ---- the report ---------------------------------------------------------------------------------


def run_report(quick: bool = False, smoke: bool = False, out_dir: str | Path = "benchmarks", peers: bool = True,
               log=print) -> Path:
    """Run every workload and sweep on both backends and write RESULTS.md and results.png to out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    target = 0.02 if smoke else (0.25 if quick else 1.5)
    workloads = dict(WORKLOADS, **FAMILY_WORKLOADS)
    sweep_p, sweep_J, sweep_chains = SWEEP_P, SWEEP_J, SWEEP_CHAINS
    if smoke:
        workloads = {"W1 flat-small": WORKLOADS["W1 flat-small"], "W3 hier": dict(kind="hier", J=20, nj=10, p=3)}
        sweep_p, sweep_J, sweep_chains = [2, 5], [10, 20], [1, 4]
    elif quick:
        workloads["W2 flat-large"] = dict(kind="flat", n=200_000, p=50)
        sweep_p = SWEEP_P[:5]
        sweep_J = SWEEP_J[:3]
        sweep_chains = SWEEP_CHAINS[:5]
    pause = 0.05 if (quick or smoke) else 0.5
    fresh = False if smoke else fresh_pages_for_large_arrays()
    rates = measure_rates()
    log(f"rates: {rates['ns_normal']:.1f} ns/normal, {rates['ns_gamma']:.1f} ns/gamma, "
        f"{rates['ns_exponential']:.1f} ns/exponential, {rates['fma_gflops']:.1f} Gflop/s FMA peak, "
        f"{rates['first_touch_gbs']:.2f} GB/s first touch per core")

    rows = []

    def both(label, spec, chains=4):
        sample = make_workload(spec)
        sizes = {k: spec[k] for k in ("probe", "min_draws", "warmup") if k in spec}
        nb = timed_run(sample, label, "numba", chains, target, pause=pause, settle=not quick)
        npy = timed_run(sample, label, "numpy", chains, target, pause=pause, settle=not quick, **sizes)
        agree = backends_agree(nb, npy)
        fl = floor_ns(spec, rates) if spec["kind"] in ("flat", "hier") else float("nan")
        rows.append((label, spec, chains, nb, npy, agree, fl))
        log(f"{label:28s} chains={chains:4d} numba {nb.draws_per_s:12,.0f} draws/s  numpy {npy.draws_per_s:10,.0f}"
            f"  ratio {nb.draws_per_s / npy.draws_per_s:6.1f}x  ESS/s ratio {nb.ess_per_s / npy.ess_per_s:6.1f}x"
            f"  {'ok' if agree else 'BACKENDS DISAGREE'}")
        return nb, npy

    for label, spec in workloads.items():
        both(label, spec)
    sweeps = {"p": [], "J": [], "chains": []}
    for p in sweep_p:
        sweeps["p"].append((p, *both(f"sweep p={p} (n=1000)", dict(kind="flat", n=1000, p=p))))
    for J in sweep_J:
        sweeps["J"].append((J, *both(f"sweep J={J} (n_j=20, p=3)", dict(kind="hier", J=J, nj=20, p=3))))
    for c in sweep_chains:
        sweeps["chains"].append((c, *both(f"sweep chains={c} (W1)", WORKLOADS["W1 flat-small"], chains=c)))

    w2 = w1 = None
    for label, spec, chains, nb, npy, agree, fl in rows:
        if label.startswith("W1"):
            w1 = nb
        if label.startswith("W2"):
            w2 = nb
    startup = None if smoke else startup_times(cold=not quick)
    peers_shown = peer_rows(out_dir) if (peers and not smoke) else []
    text = markdown(rows, rates, startup, w1, w2, peers_shown, quick, smoke, time.perf_counter() - started, fresh)
    path = out_dir / "RESULTS.md"
    path.write_text(text)
    plot_sweeps(sweeps, out_dir / "results.png")
    log(f"wrote {path} and {out_dir / 'results.png'} in {time.perf_counter() - started:.0f} s")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gibbsreg bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sweeps and shorter runs (under ~2 minutes)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--no-peers", action="store_true", help="leave the peers' rows (benchmarks/peers.py) out")
    parser.add_argument("--out", default="benchmarks", help="folder for RESULTS.md and results.png")
    args = parser.parse_args(argv)
    run_report(quick=args.quick, smoke=args.smoke, out_dir=args.out, peers=not args.no_peers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
