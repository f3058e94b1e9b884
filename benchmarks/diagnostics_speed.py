"""Diagnostics at the speed of sampling (issue 29 part 5): the summary of a many-chain run against
its sampling time.

Hierarchical model, J = 200 groups of 20 rows, p = 3 (beta 200 x 3, mu, tau2, sigma2: 607
parameters), 1,024 chains x 200 draws after 200 warm-up iterations.  Prints the sampling time
(``attrs["sampling_seconds"]``, the kept draws; the whole ``sample`` call too), the time of
``post.summary()`` (best of ``reps``) and their ratio (goal: summary <= 0.5 x sampling), with the
CPU model, thread count and load average (other work on the machine slows both).  Kernels are
compiled (or loaded from Numba's cache) before anything is timed; the Posterior's cached
summary table is dropped before each timed call.
    python benchmarks/diagnostics_speed.py [chains] [reps]
"""

import os
import sys
import time

import numba

import gibbsreg as gr


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main(chains=1024, reps=2):
    data = gr.datasets.synthetic_hierarchical(200, 20, 3, seed=1)
    model = gr.HierarchicalRegression()
    warm = model.sample(data.X, data.y, data.groups, chains=4, draws=20, warmup=20, seed=0, progress=False)
    warm.summary()  # compile (or load) the sampler's and the diagnostics' kernels
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    post = model.sample(data.X, data.y, data.groups, chains=chains, draws=200, warmup=200, seed=1, progress=False)
    wall = time.perf_counter() - t0
    sampling = post.attrs.get("sampling_seconds", wall)
    n_par = sum(post[k][0, 0].size for k in post.names)
    best = float("inf")
    for _ in range(reps):
        getattr(post, "_summaries", {}).clear()  # Posterior caches its tables: time a fresh one
        t0 = time.perf_counter()
        table = post.summary()
        best = min(best, time.perf_counter() - t0)
    print(f"CPU: {cpu_model()}; {numba.get_num_threads()} threads; load average {load:.2f} before sampling")
    print(f"workload: {chains} chains x 200 draws (200 warm-up), {n_par} parameters")
    print(f"sampling: {sampling:.2f} s (sample() call {wall:.2f} s)")
    print(f"summary:  {best:.2f} s (best of {reps})")
    print(f"ratio summary / sampling: {best / sampling:.2f} (goal <= 0.5); to the whole call: {best / wall:.2f}")
    t0 = time.perf_counter()
    text = str(post)  # the table is cached: printing costs the formatting only
    print(f"print(post) after summary(): {time.perf_counter() - t0:.3f} s")
    print(text)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
