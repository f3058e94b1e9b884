"""Scale-out benchmark of the statistics pass and of distributed studies (issue 11).

    flock /tmp/gibbsreg-bench.lock python benchmarks/stats_scaleout.py [--rows 12000000] [--out FILE]

1. A Parquet folder of ``--rows`` x 20 predictors + y (float64, row groups of 2^17 rows) is written to
   a temp dir; gibbsreg.read_stats runs (a) on Dask's local threaded scheduler in a child process
   (peak RSS of that process from getrusage) and (b) on a 2-worker LocalCluster (1 thread each,
   peak RSS per worker); both against the in-memory X.T @ X rate of one core on this machine.
2. The statistics of a lazy synthetic design (``--lazy-rows`` x 50), timed, extrapolated to 10^9.
3. SBC with ``--sims`` runs locally and on the LocalCluster: wall times and equality of the ranks.
Writes a markdown section to ``--out`` (default: stdout only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

P = 20


def write_parquet(folder, rows, seed=0, per_file=1_000_000):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    beta = rng.normal(size=P + 1)
    written = 0
    k = 0
    while written < rows:
        m = min(per_file, rows - written)
        X = rng.standard_normal((m, P))
        y = beta[0] + X @ beta[1:] + rng.standard_normal(m)
        cols = {f"x{j}": X[:, j] for j in range(P)}
        cols["y"] = y
        pq.write_table(pa.table(cols), os.path.join(folder, f"part{k:04d}.parquet"), row_group_size=1 << 17,
                       compression="snappy")
        written += m
        k += 1
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))


def peak_rss() -> int:
    """This process's peak resident memory (VmHWM, bytes); unlike getrusage's ru_maxrss it is not
    inherited from the parent across fork + exec."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


CHILD = """
import sys, time, dask
sys.path.insert(0, sys.argv[2])
from stats_scaleout import peak_rss
import gibbsreg as gr
dask.config.set(scheduler="threads", num_workers=2)
t = time.perf_counter()
s = gr.read_stats(sys.argv[1] + "/*.parquet", y="y", blocksize="32MiB")
dt = time.perf_counter() - t
print(dt, peak_rss(), s.n)
"""

LAZY = """
import sys, time, dask
sys.path.insert(0, sys.argv[2])
from stats_scaleout import peak_rss
import gibbsreg as gr
rows = int(sys.argv[1])
data = gr.datasets.synthetic_regression(n=rows, p=50, chunks=1 << 16, seed=3)
t = time.perf_counter()
with dask.config.set(scheduler="threads", num_workers=2):
    s = gr.sufficient_stats(data.X, data.y)
dt = time.perf_counter() - t
import numpy as np
err = float(np.abs(s.to_sufficient().transform.beta_ref - data.truth["beta"]).max())
print(dt, peak_rss(), err)
"""


def gram_rate():
    X = np.random.default_rng(1).standard_normal((1 << 20, P + 1))
    X.T @ X
    t = time.perf_counter()
    for _ in range(5):
        X.T @ X
    return 5 * X.shape[0] / (time.perf_counter() - t)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=12_000_000)
    ap.add_argument("--lazy-rows", type=int, default=10_000_000)
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    lines = ["## Scale-out: statistics pass and distributed studies (benchmarks/stats_scaleout.py)", ""]

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    import numba

    say(f"Machine: {os.cpu_count()} cores (shared), Numba threading layer default; numpy {np.__version__}.")
    rate = gram_rate()
    say(f"- In-memory `X.T @ X` on (2^20, {P + 1}) float64 (BLAS, all cores): {rate / 1e6:.1f} M rows/s "
        f"({rate * (P + 1) * 8 / 1e9:.2f} GB/s).")
    import gibbsreg as gr

    Xm = np.random.default_rng(2).standard_normal((1 << 22, P))
    ym = Xm.sum(axis=1)
    gr.sufficient_stats(Xm[:1000], ym[:1000])
    t = time.perf_counter()
    gr.sufficient_stats(Xm, ym)
    mem_rate = Xm.shape[0] / (time.perf_counter() - t)
    say(f"- In-memory `gr.sufficient_stats(X, y)` on (2^22, {P}) (validation + the one-pass statistics): "
        f"{mem_rate / 1e6:.1f} M rows/s = {mem_rate / rate:.2f} of the `X.T @ X` rate.")
    groups = np.random.default_rng(3).integers(0, 10_000, Xm.shape[0])
    gr.sufficient_stats(Xm[:1000], ym[:1000], groups[:1000])
    t = time.perf_counter()
    gr.sufficient_stats(Xm, ym, groups)
    grouped_rate = Xm.shape[0] / (time.perf_counter() - t)
    say(f"- In-memory `gr.sufficient_stats(X, y, groups)`, J = 10^4 groups in random order: "
        f"{grouped_rate / 1e6:.1f} M rows/s = {grouped_rate / rate:.2f} of the `X.T @ X` rate.")
    del Xm, ym, groups
    with tempfile.TemporaryDirectory(prefix="gibbsreg-bench-") as tmp:
        t = time.perf_counter()
        nbytes = write_parquet(tmp, args.rows)
        say(f"- Parquet folder: {args.rows:,} rows x {P} predictors + y, {nbytes / 1e9:.2f} GB on disk "
            f"(written in {time.perf_counter() - t:.0f} s; the files are in the page cache, so the read is "
            "decode-bound, not disk-bound).")
        raw = args.rows * (P + 1) * 8
        import pyarrow.parquet as pq

        t = time.perf_counter()
        for f in sorted(os.listdir(tmp)):
            pf = pq.ParquetFile(os.path.join(tmp, f))
            for i in range(pf.num_row_groups):
                pf.read_row_group(i)
        dt0 = time.perf_counter() - t
        say(f"- Parquet decode alone (pyarrow, one thread, row group by row group): {args.rows / dt0 / 1e6:.2f} M rows/s "
            f"({raw / dt0 / 1e9:.2f} GB/s): the floor of any reader on one core.")
        here = os.path.dirname(os.path.abspath(__file__))
        run = subprocess.run([sys.executable, "-c", CHILD, tmp, here], capture_output=True, text=True, check=True)
        dt, rss, n = run.stdout.split()
        dt, rss = float(dt), int(rss)
        say(f"- Local threaded scheduler (2 threads), `read_stats(folder, y='y')`: {float(dt):.1f} s, "
            f"{args.rows / dt / 1e6:.2f} M rows/s, {raw / dt / 1e9:.2f} GB/s of float64 data; peak RSS of the "
            f"process {rss / 1e6:.0f} MB = {raw / rss:.1f}x smaller than the data ({raw / 1e9:.2f} GB).")
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0", silence_logs=40, memory_limit="1GB") as cluster, \
                Client(cluster) as client:
            import gibbsreg as gr

            client.run(lambda: __import__("gibbsreg"))
            t = time.perf_counter()
            s = gr.read_stats(tmp + "/*.parquet", y="y", blocksize="32MiB")
            dt2 = time.perf_counter() - t
            peaks = client.run(peak_rss)
            peak = max(peaks.values())
            say(f"- 2-worker LocalCluster (1 thread each, memory_limit 1 GB): {dt2:.1f} s, "
                f"{args.rows / dt2 / 1e6:.2f} M rows/s, {raw / dt2 / 1e9:.2f} GB/s; peak RSS per worker "
                f"{peak / 1e6:.0f} MB; n = {s.n:,}.")
            say(f"- Ratio to the in-memory X.T@X rate: local {args.rows / dt / rate:.2f}, "
                f"cluster {args.rows / dt2 / rate:.2f} (the Parquet decode dominates, see above).")

            # 3. SBC locally and on the cluster
            model = gr.LinearRegression(gr.SemiConjugate(mean=[0.5, -1.0, 0.3], scale=[1.0, 0.7, 0.4], a=3.0, b=2.0))
            X = np.random.default_rng(20180406).normal(size=(20, 2))
            gr.sbc(model, X, n_sims=5, progress=False)
            client.run(lambda: __import__("gibbsreg").sbc(model, X, n_sims=5, progress=False) and None)
            t = time.perf_counter()
            loc = gr.sbc(model, X, n_sims=args.sims, draws=99, thin=3, warmup=50, seed=1, progress=False)
            t_loc = time.perf_counter() - t
            t = time.perf_counter()
            rem = gr.sbc(model, X, n_sims=args.sims, draws=99, thin=3, warmup=50, seed=1, progress=False,
                         client=client, batch=50)
            t_rem = time.perf_counter() - t
            same = np.array_equal(loc.ranks, rem.ranks)
            say(f"- SBC, {args.sims} simulations (n = 20, p = 3, 99 draws thinned by 3 after 50 warm-up): "
                f"local {t_loc:.1f} s, 2-worker LocalCluster {t_rem:.1f} s; ranks identical: {same}; "
                f"min uniformity p = {loc.pvalues().min():.3f}.")

    # 2. lazy synthetic design, in a fresh process (its own peak memory)
    here = os.path.dirname(os.path.abspath(__file__))
    for rows in (args.lazy_rows // 10, args.lazy_rows):
        run = subprocess.run([sys.executable, "-c", LAZY, str(rows), here], capture_output=True, text=True,
                             check=True)
        dt3, peak, max_err = (float(v) for v in run.stdout.split())
    say(f"- Lazy synthetic {rows:,} x 50 (generated chunk by chunk, 2^16 rows each) -> statistics: {dt3:.1f} s "
        f"({rows / dt3 / 1e6:.2f} M rows/s, generation included); peak RSS of that process {peak / 1e6:.0f} MB "
        f"(data {rows * 50 * 8 / 1e9:.1f} GB never materialised). Extrapolated to 10^9 rows on this 2-core "
        f"machine: {1e9 / (rows / dt3) / 60:.0f} min; linear in rows, divided by the cores of a cluster.")
    say(f"  (max |beta_LS - beta_true| = {max_err:.1e})")
    if args.out:
        with open(args.out, "a") as fh:
            fh.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
