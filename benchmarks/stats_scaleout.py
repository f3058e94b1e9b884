"""Scale-out benchmark of the statistics pass (issue 30) and of distributed studies (issue 11).

    flock /tmp/gibbsreg-bench.lock python benchmarks/stats_scaleout.py [--quick] [--rows N] [--out FILE]

Everything in one run, so that the ratios hold on a shared machine:

1. In memory, rows/s of ``gr.sufficient_stats`` (flat; grouped, J = 10^4 in random order; cells of two
   factors 100 x 100) beside ``X.T @ X`` on the same array.
2. A Parquet folder and a CSV file of ``--rows`` x 20 predictors + y: pyarrow's own decode rate (Parquet
   row groups and the CSV reader, on this process's cores), then ``gr.read_stats`` in a child process
   (no Client: pyarrow straight to NumPy; peak RSS of that process) and on LocalClusters of 1 and 2
   workers (1 thread each; peak RSS per worker), whose ratio is the speed-up of the second worker.
3. The statistics of a lazy synthetic design (``--lazy-rows`` x 20), timed and extrapolated to 10^9 rows.
4. SBC with ``--sims`` runs locally and on the LocalCluster: wall times and equality of the ranks.
``--quick``: small sizes (about a minute on an idle 2-core machine). Writes markdown to ``--out``.
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
import sys, time
sys.path.insert(0, sys.argv[3])
from stats_scaleout import peak_rss
import gibbsreg as gr
from stats_scaleout import warm_worker
warm_worker()  # compile the pass outside the timing
t = time.perf_counter()
s = gr.read_stats(sys.argv[1], y="y")
print(time.perf_counter() - t, peak_rss(), s.n)
"""

LAZY = """
import sys, time, dask
sys.path.insert(0, sys.argv[2])
from stats_scaleout import peak_rss
import gibbsreg as gr
rows = int(sys.argv[1])
warm = gr.datasets.synthetic_regression(n=1000, p=21, chunks=1 << 16, seed=3)
gr.sufficient_stats(warm.X, warm.y)
data = gr.datasets.synthetic_regression(n=rows, p=21, chunks=1 << 17, seed=3)
t = time.perf_counter()
with dask.config.set(scheduler="threads"):
    s = gr.sufficient_stats(data.X, data.y)
dt = time.perf_counter() - t
import numpy as np
err = float(np.abs(s.to_sufficient().transform.beta_ref - data.truth["beta"]).max())
print(dt, peak_rss(), err)
"""


def write_csv(path, rows, seed=1, chunk=500_000):
    import pyarrow as pa
    import pyarrow.csv as pc

    rng = np.random.default_rng(seed)
    beta = rng.normal(size=P + 1)
    with pc.CSVWriter(path, pa.schema([(f"x{j}", pa.float64()) for j in range(P)] + [("y", pa.float64())])) as w:
        for lo in range(0, rows, chunk):
            m = min(chunk, rows - lo)
            X = rng.standard_normal((m, P))
            cols = {f"x{j}": X[:, j] for j in range(P)}
            cols["y"] = beta[0] + X @ beta[1:] + rng.standard_normal(m)
            w.write_table(pa.table(cols))
    return os.path.getsize(path)


def gram_rate(X):
    X.T @ X
    t = time.perf_counter()
    for _ in range(3):
        X.T @ X
    return 3 * X.shape[0] / (time.perf_counter() - t)


def timed(fn, reps=2):
    fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def parquet_decode(folder):
    """pyarrow's own Parquet decode, row group by row group, on this process's cores (threads over row groups)."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    tasks = [(f, i) for f in files for i in range(pq.ParquetFile(f).num_row_groups)]
    with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:  # a reader per task, as read_stats does
        list(pool.map(lambda t: pq.ParquetFile(t[0]).read_row_group(t[1]).num_rows, tasks))


def csv_decode(path):
    import pyarrow.csv as pc

    from gibbsreg.io.files import CSV_BLOCK_BYTES

    for _ in pc.open_csv(path, read_options=pc.ReadOptions(block_size=CSV_BLOCK_BYTES)):
        pass


def child_read(source, here):
    run = subprocess.run([sys.executable, "-c", CHILD, source, "", here], capture_output=True, text=True, check=True)
    dt, rss, n = run.stdout.split()
    return float(dt), int(rss)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes: a short run")
    ap.add_argument("--rows", type=int, default=None, help="rows of the Parquet folder (default 8e6; quick 1e6)")
    ap.add_argument("--csv-rows", type=int, default=None, help="rows of the CSV file (default 3e6; quick 3e5)")
    ap.add_argument("--lazy-rows", type=int, default=None, help="rows of the lazy design (default 2e7; quick 2e6)")
    ap.add_argument("--sims", type=int, default=None, help="SBC simulations (default 1000; quick 0: skipped)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    q = args.quick
    rows = args.rows or (1_000_000 if q else 8_000_000)
    csv_rows = args.csv_rows or (300_000 if q else 3_000_000)
    lazy_rows = args.lazy_rows or (2_000_000 if q else 20_000_000)
    sims = args.sims if args.sims is not None else (0 if q else 1000)
    lines = ["## Scale-out: the statistics pass and distributed studies (benchmarks/stats_scaleout.py"
             + (" --quick" if q else "") + ")", ""]

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    import gibbsreg as gr

    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    say(f"Machine: {cpu or 'unknown CPU'}, {len(os.sched_getaffinity(0))} cores (shared: compare the ratios, "
        f"measured in this one run); numpy {np.__version__}.")
    here = os.path.dirname(os.path.abspath(__file__))
    # 1. in memory
    n_mem = 1 << (20 if q else 22)
    rng = np.random.default_rng(2)
    Xm = rng.standard_normal((n_mem, P))
    ym = Xm.sum(axis=1) + rng.standard_normal(n_mem)
    Xg = np.empty((n_mem, P + 1))
    Xg[:, :P], Xg[:, P] = Xm, ym
    gram = gram_rate(Xg)
    del Xg
    groups = rng.integers(0, 10_000, n_mem)
    cells = {"a": groups % 100, "b": groups // 100}
    say(f"- `X.T @ X` on ({n_mem:,}, {P + 1}) float64 (BLAS, all cores): {gram / 1e6:.1f} M rows/s.")
    for what, call in (("flat", lambda: gr.sufficient_stats(Xm, ym)),
                       ("grouped, J = 10^4 in random order", lambda: gr.sufficient_stats(Xm, ym, groups)),
                       ("cells of two factors 100 x 100", lambda: gr.sufficient_stats(Xm, ym, cells))):
        rate = n_mem / timed(call)
        say(f"- In memory, `sufficient_stats` {what}: {rate / 1e6:.1f} M rows/s = {rate / gram:.2f} of `X.T @ X`.")
    del Xm, ym, groups, cells
    with tempfile.TemporaryDirectory(prefix="gibbsreg-bench-") as tmp:
        folder = os.path.join(tmp, "pq")
        os.mkdir(folder)
        nbytes = write_parquet(folder, rows, per_file=min(1_000_000, rows))
        csv = os.path.join(tmp, "data.csv")
        cbytes = write_csv(csv, csv_rows)
        say(f"- Files ({P} predictors + y, float64, in the page cache: decode-bound, not disk-bound): Parquet "
            f"{rows:,} rows, {nbytes / 1e9:.2f} GB, row groups of 2^17; CSV {csv_rows:,} rows, {cbytes / 1e9:.2f} GB.")
        dec_pq = rows / timed(lambda: parquet_decode(folder), 1)
        dec_csv = csv_rows / timed(lambda: csv_decode(csv), 1)
        dt_pq, rss_pq = child_read(folder, here)
        dt_csv, rss_csv = child_read(csv, here)
        raw = rows * (P + 1) * 8
        say(f"- pyarrow's own decode on these cores: Parquet {dec_pq / 1e6:.2f} M rows/s, CSV {dec_csv / 1e6:.2f} M "
            "rows/s.")
        say(f"- `read_stats` in one process (no Client: pyarrow to NumPy, threads): Parquet {rows / dt_pq / 1e6:.2f} M "
            f"rows/s = {rows / dt_pq / dec_pq:.2f} of pyarrow's decode, peak RSS {rss_pq / 1e6:.0f} MB "
            f"({raw / 1e9:.2f} GB of data); CSV {csv_rows / dt_csv / 1e6:.2f} M rows/s = "
            f"{csv_rows / dt_csv / dec_csv:.2f} of pyarrow's decode, peak RSS {rss_csv / 1e6:.0f} MB.")
        from distributed import Client, LocalCluster

        cluster_rates = {}
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=":0", silence_logs=40, memory_limit="1GB") as cluster, \
                    Client(cluster) as client:
                client.run(warm_worker)
                t = time.perf_counter()
                gr.read_stats(folder, y="y", blocksize="32MiB")
                r_pq = rows / (time.perf_counter() - t)
                t = time.perf_counter()
                gr.read_stats(csv, y="y", blocksize="32MiB")
                r_csv = csv_rows / (time.perf_counter() - t)
                peak = max(client.run(peak_rss).values())
                cluster_rates[workers] = (r_pq, r_csv)
                say(f"- LocalCluster of {workers} worker(s) (1 thread each, memory limit 1 GB): Parquet "
                    f"{r_pq / 1e6:.2f} M rows/s, CSV {r_csv / 1e6:.2f} M rows/s; peak RSS per worker {peak / 1e6:.0f} MB.")
                if workers == 2 and sims:
                    sbc_on_cluster(gr, client, sims, say)
        (p1, c1), (p2, c2) = cluster_rates[1], cluster_rates[2]
        say(f"- Speed-up of the second worker: Parquet {p2 / p1:.2f}x, CSV {c2 / c1:.2f}x (2.0 = linear; the "
            "machine's 2 cores also run the client and the scheduler).")
    run = subprocess.run([sys.executable, "-c", LAZY, str(lazy_rows), here], capture_output=True, text=True,
                         check=True)
    dt3, peak, max_err = (float(v) for v in run.stdout.split())
    say(f"- Lazy synthetic {lazy_rows:,} x {P} (generated chunk by chunk, 2^17 rows each, and reduced): {dt3:.1f} s, "
        f"{lazy_rows / dt3 / 1e6:.2f} M rows/s; peak RSS {peak / 1e6:.0f} MB. 10^9 rows at this rate: "
        f"{1e9 / (lazy_rows / dt3) / 60:.1f} min on this machine (max |beta_LS - beta_true| = {max_err:.1e}).")
    if args.out:
        with open(args.out, "a") as fh:
            fh.write("\n" + "\n".join(lines) + "\n")


def warm_worker():
    """Compile the statistics pass (rows and columns contiguous: files give the latter) outside the timings."""
    import gibbsreg

    X = np.random.default_rng(0).normal(size=(50, 2))
    for A in (X, np.asfortranarray(X)):
        gibbsreg.sufficient_stats(A, np.arange(50.0), np.arange(50) % 3)


def sbc_on_cluster(gr, client, sims, say):
    model = gr.LinearRegression(gr.SemiConjugate(mean=[0.5, -1.0, 0.3], scale=[1.0, 0.7, 0.4], a=3.0, b=2.0))
    X = np.random.default_rng(20180406).normal(size=(20, 2))
    gr.sbc(model, X, n_sims=5, progress=False)
    client.run(lambda: __import__("gibbsreg").sbc(model, X, n_sims=5, progress=False) and None)
    t = time.perf_counter()
    loc = gr.sbc(model, X, n_sims=sims, draws=99, thin=3, warmup=50, seed=1, progress=False)
    t_loc = time.perf_counter() - t
    t = time.perf_counter()
    rem = gr.sbc(model, X, n_sims=sims, draws=99, thin=3, warmup=50, seed=1, progress=False, client=client, batch=50)
    t_rem = time.perf_counter() - t
    say(f"- SBC, {sims} simulations (n = 20, p = 3): local {t_loc:.1f} s, 2-worker LocalCluster {t_rem:.1f} s; "
        f"ranks identical: {np.array_equal(loc.ranks, rem.ranks)}.")


if __name__ == "__main__":
    main()
