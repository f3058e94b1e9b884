"""The bench's report: RESULTS.md (the tables, the peers, the start-up times) and results.png (the sweeps)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def markdown(rows, rates, startup, w1, w2, peer_rows, quick, smoke, seconds, fresh=False) -> str:
    import numba

    mode = "smoke" if smoke else ("quick" if quick else "full")
    lines = [
        "# Benchmark results",
        "",
        f"Mode: {mode}; {platform.platform()}; Python {platform.python_version()}; numpy {np.__version__}; "
        f"numba {numba.__version__}; {_cores()} cores; written by `gibbsreg bench{' --quick' if quick else ''}` "
        f"in {seconds:.0f} s. Both backends run in the same process on the same data, priors and seed.",
        "",
        "draws/s = chains x kept draws / sampling seconds (warm-up excluded), over repeated sampling calls of "
        "up to 20,000 draws per chain and 32 MB of stored draws (a realistic run); ESS/s = min bulk ESS over all "
        "parameters (200 evenly spaced groups' coefficients when there are more) per kept draw, times draws/s; "
        "ns/it = core-nanoseconds per iteration per chain; floor = the core-nanoseconds a stored sweep cannot go "
        "below: its random numbers at their cost in a tight loop, plus its flops (as the kernels compute them: "
        "flat, the O(p) diagonalised update and the p^2 map to beta; hierarchical, per group the Cholesky, "
        "solves, sums, interweaving and RSS) at the measured peak fused multiply-add rate, plus its stored bytes "
        "at the measured first-touch bandwidth of fresh pages"
        + (" (every timed run here writes fresh pages: large arrays are freshly mapped, as in a new process)"
           if fresh else "") + "; % of floor = floor / ns/it (100% would be a sweep doing nothing but these); "
        "agree = posterior means of the two backends within 5 combined MCSE.",
        "",
        f"Measured rates (one core): {rates['ns_normal']:.1f} ns per normal, {rates['ns_gamma']:.1f} ns per gamma, "
        f"{rates['ns_exponential']:.1f} ns per exponential (NumPy's PCG64 streams and algorithms inlined in @njit, "
        "a buffer at a time as the kernels draw them); "
        f"{rates['fma_gflops']:.1f} Gflop/s peak (64 independent fused multiply-adds per loop); "
        f"{rates['first_touch_gbs']:.2f} GB/s first-touch writes per core.",
        "",
        "| workload | chains | numba draws/s | numpy draws/s | ratio | numba ESS/s | numpy ESS/s | ESS/s ratio "
        "| numba ns/it | floor ns/it | % of floor | agree |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, spec, chains, nb, npy, agree, fl in rows:
        lines.append(
            f"| {label} | {chains} | {nb.draws_per_s:,.0f} | {npy.draws_per_s:,.0f} | "
            f"{nb.draws_per_s / npy.draws_per_s:.1f}x | {nb.ess_per_s:,.0f} | {npy.ess_per_s:,.0f} | "
            f"{nb.ess_per_s / npy.ess_per_s:.1f}x | {nb.ns_per_iter:,.0f} | "
            + ("— | — |" if fl != fl else f"{fl:,.0f} | {100 * fl / nb.ns_per_iter:.0f}% |")
            + f" {'yes' if agree else '**NO**'} |")
    by_label = {label: nb for label, spec, chains, nb, npy, agree, fl in rows}
    if "W3 hier" in by_label and "W3c W3 by the crossed kernel" in by_label:
        hier, crossed = by_label["W3 hier"], by_label["W3c W3 by the crossed kernel"]
        lines += ["", f"The specialised one-factor kernel against the crossed kernel on W3's model, data and priors: "
                  f"{hier.draws_per_s / crossed.draws_per_s:.2f}x the draws/s and "
                  f"{hier.ess_per_s / crossed.ess_per_s:.2f}x the min-ESS/s (W3 against W3c)."]
    if w1 is not None and w2 is not None:
        lines += ["", f"W2 (n = 10^6 or 2x10^5 in quick mode, p = 50) costs {w2.ns_per_iter:,.0f} ns per iteration per "
                  "chain; the same p at n = 1,000 appears in the p sweep (sufficient statistics make the cost "
                  "independent of n)."]
        for label, spec, chains, nb, npy, agree, fl in rows:
            if label.startswith("sweep p=50"):
                lines.append(f"At n = 1,000, p = 50: {nb.ns_per_iter:,.0f} ns; ratio W2 / n=1,000: "
                             f"{w2.ns_per_iter / nb.ns_per_iter:.2f}.")
    if startup:
        lines += ["", "Start-up in a fresh process (import + data + first flat, hierarchical and crossed sample):", "",
                  "| cache | process s | import + first flat sample s | first hierarchical sample s | "
                  "first crossed sample s |",
                  "|---|---:|---:|---:|---:|"]
        for k, v in startup.items():
            lines.append(f"| {k} | {v['process']:.2f} | {v['flat']:.2f} | {v['hier']:.2f} | {v['crossed']:.2f} |")
    if peer_rows:
        own = {label: (chains, nb) for label, spec, chains, nb, npy, agree, fl in rows}
        lines += ["", "## Peers per core (same workloads, data and priors where the tool allows)", "",
                  "Per core = as measured / cores the run used (gibbsreg: min(chains, cores); R: one; NumPyro: "
                  "the cores its XLA thread pool may use). The peers are measured by `python benchmarks/peers.py` "
                  "(peers.json beside this file); rows marked *recorded* come from the last run on this machine "
                  "that had the tool.", "",
                  "| tool | version | workload | cores | draws/s | draws/s per core | min ESS/s | min ESS/s per core "
                  "| gibbsreg / this, draws/s per core | source and note |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for workload in ("W1 flat-small", "W3 hier", "W3b hier, bayesm's model"):
            mine = own.get(workload)
            ours = None
            if mine is not None:
                chains, nb = mine
                cores = min(chains, _cores())
                ours = nb.draws_per_s / cores
                lines.append(f"| gibbsreg (this run) | | {workload} | {cores} | {nb.draws_per_s:,.0f} | {ours:,.0f} | "
                             f"{nb.ess_per_s:,.0f} | {nb.ess_per_s / cores:,.0f} | 1.0x | {chains} chains |")
            for r in peer_rows:
                if r.get("compare", r.get("workload")) != workload:
                    continue
                cores = r.get("cores") or 1
                ds, es = r.get("draws_per_s"), r.get("ess_per_s")
                cell = lambda v, c=1: "" if v is None else f"{v / c:,.0f}"  # noqa: E731
                ratio = "" if (ds is None or ours is None) else f"{ours / (ds / cores):.1f}x"
                src = "recorded; " if r.get("recorded") else ""
                lines.append(f"| {r['tool']} | {r.get('version', '')} | {r.get('workload', '')} | {cores} | {cell(ds)} | "
                             f"{cell(ds, cores)} | {cell(es)} | {cell(es, cores)} | {ratio} | {src}{r.get('note', '')} |")
    lines.append("")
    return "\n".join(lines)


def plot_sweeps(sweeps, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    titles = {"p": "coefficients p (flat, n = 1,000)", "J": "groups J (hierarchical, n_j = 20, p = 3)",
              "chains": "chains (W1)"}
    for ax, key in zip(axes, ("p", "J", "chains")):
        data = sweeps[key]
        if not data:
            continue
        x = [d[0] for d in data]
        ax.loglog(x, [d[1].draws_per_s for d in data], "o-", label="numba")
        ax.loglog(x, [d[2].draws_per_s for d in data], "s--", label="numpy reference")
        ax.set_xlabel(titles[key])
        ax.set_ylabel("draws per second")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("gibbsreg: Numba kernels vs the vectorised NumPy reference (same run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
