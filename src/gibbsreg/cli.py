"""Command line: ``gibbsreg demo`` and ``gibbsreg sample data.csv --y COL``."""

from __future__ import annotations

import argparse
import csv
import sys
import time

import numpy as np


def _demo(args) -> int:
    from . import LinearRegression, datasets, fit_conjugate

    print(f"gibbsreg demo: flat regression on synthetic data, n = {args.n}, p = {args.p} (intercept included)")
    data = datasets.synthetic_regression(args.n, args.p, sigma=1.0, seed=args.seed)
    t0 = time.perf_counter()
    post = LinearRegression().sample(data.X, data.y, chains=args.chains, draws=args.draws, warmup=args.warmup,
                                     seed=args.seed, backend=args.backend, progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    print(post)
    fit = fit_conjugate(data.X, data.y)
    truth = data.truth["beta"]
    err = np.abs(post["beta"].mean(axis=(0, 1)) - truth).max()
    print(f"\ntrue beta recovered to max |error| {err:.3g}; closed-form NIG log evidence {fit.log_evidence:.6g}")
    _report_speed(post, elapsed)
    if args.groups > 0:
        _demo_hierarchical(args)
    return 0


def _demo_hierarchical(args) -> None:
    from . import HierarchicalRegression, datasets

    J, size, p = args.groups, args.group_size, 3
    print(f"\nHierarchical regression on synthetic grouped data: J = {J} groups x {size} rows, p = {p}, all varying")
    data = datasets.synthetic_hierarchical(J, size, p, tau=0.5, sigma=1.0, seed=args.seed)
    t0 = time.perf_counter()
    post = HierarchicalRegression().sample(data.X, data.y, data.groups, chains=args.chains, draws=args.draws,
                                           warmup=args.warmup, seed=args.seed, backend=args.backend,
                                           progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    print(post.summary(["mu", "tau2", "sigma2"]))
    print(post.prior)
    err = np.abs(post["beta"].mean(axis=(0, 1)) - data.truth["beta"])
    print(f"true mu {np.round(data.truth['mu'], 3)}, tau2 {np.round(data.truth['tau2'], 3)}; "
          f"group coefficients recovered to mean |error| {err.mean():.3g}")
    _report_speed(post, elapsed)


def _report_speed(post, elapsed: float) -> None:
    a = post.attrs
    kept = post.nchains * post.ndraws
    samp = a.get("sampling_seconds", float("nan"))
    print(f"{post.nchains} chains x {post.ndraws} draws ({a.get('backend')} backend): "
          f"{kept / samp:,.0f} draws/s while sampling; warm-up {a.get('warmup_seconds', 0):.2f} s "
          f"(includes compilation on a cold cache); total {elapsed:.2f} s")


def read_csv(path: str) -> dict[str, list[str]]:
    """Columns of a CSV file with a header row, as lists of strings."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{path} is empty") from None
        header = [h.strip() for h in header]
        cols: dict[str, list[str]] = {h: [] for h in header}
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {lineno}: {len(row)} fields, expected {len(header)}")
            for h, v in zip(header, row):
                cols[h].append(v.strip())
    return cols


def _numeric(cols, name, path) -> np.ndarray:
    if name not in cols:
        raise ValueError(f"column {name!r} is not in {path}; columns are {list(cols)}")
    try:
        return np.array([float(v) if v != "" else np.nan for v in cols[name]])
    except ValueError:
        raise ValueError(f"column {name!r} of {path} is not numeric") from None


def _sample(args) -> int:
    from . import LinearRegression

    cols = read_csv(args.data)
    y = _numeric(cols, args.y, args.data)
    xnames = [c.strip() for c in args.x.split(",")] if args.x else [c for c in cols if c not in (args.y, args.groups)]
    X = np.column_stack([_numeric(cols, c, args.data) for c in xnames]) if xnames else np.empty((len(y), 0))
    try:
        import pandas as pd
        X = pd.DataFrame(X, columns=xnames)
    except ImportError:
        pass
    t0 = time.perf_counter()
    if args.groups:
        from . import HierarchicalRegression  # noqa: F401  (hierarchical models)
        if args.groups not in cols:
            raise ValueError(f"column {args.groups!r} is not in {args.data}")
        varying = [v.strip() for v in args.varying.split(",")] if args.varying else None
        model = HierarchicalRegression(varying=varying, intercept=not args.no_intercept)
        post = model.sample(X, y, np.array(cols[args.groups]), chains=args.chains, draws=args.draws,
                            warmup=args.warmup, thin=args.thin, seed=args.seed, backend=args.backend,
                            progress=not args.quiet)
    else:
        post = LinearRegression(intercept=not args.no_intercept).sample(
            X, y, chains=args.chains, draws=args.draws, warmup=args.warmup, thin=args.thin, seed=args.seed,
            backend=args.backend, progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    print(post)
    _report_speed(post, elapsed)
    if args.out:
        post.save(args.out)
        print(f"draws written to {args.out} (load with gibbsreg.load)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gibbsreg", description="Numba-accelerated Gibbs sampling for Bayesian (hierarchical) linear regression.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, chains=4, draws=1000, warmup=1000):
        p.add_argument("--chains", type=int, default=chains)
        p.add_argument("--draws", type=int, default=draws, help="kept draws per chain")
        p.add_argument("--warmup", type=int, default=warmup)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--backend", choices=["numba", "numpy"], default="numba")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = sub.add_parser("demo", help="sample a built-in synthetic design and print the summary and speed")
    common(demo, draws=2000)
    demo.add_argument("--n", type=int, default=100_000)
    demo.add_argument("--p", type=int, default=10)
    demo.add_argument("--groups", type=int, default=200, help="groups in the hierarchical example (0 skips it)")
    demo.add_argument("--group-size", type=int, default=20)
    demo.set_defaults(func=_demo)

    sample = sub.add_parser("sample", help="sample a model for a CSV file and write the draws")
    sample.add_argument("data", help="CSV file with a header row")
    sample.add_argument("--y", required=True, help="response column")
    sample.add_argument("--x", help="comma-separated predictor columns (default: all other columns)")
    sample.add_argument("--groups", help="group column: fit the hierarchical model")
    sample.add_argument("--varying", help="comma-separated columns varying by group (default: all)")
    sample.add_argument("--no-intercept", action="store_true")
    sample.add_argument("--thin", type=int, default=1)
    sample.add_argument("--out", help="write the draws to this .npz file")
    common(sample)
    sample.set_defaults(func=_sample)

    bench = sub.add_parser("bench", help="benchmark the Numba kernels against the NumPy reference; writes RESULTS.md")
    bench.add_argument("--quick", action="store_true", help="smaller sweeps and shorter runs (about two minutes)")
    bench.add_argument("--smoke", action="store_true", help="tiny sizes (for CI)")
    bench.add_argument("--no-peers", action="store_true", help="skip the R and NumPyro peers")
    bench.add_argument("--out", default="benchmarks", help="folder for RESULTS.md and results.png")
    bench.set_defaults(func=_bench)
    return parser


def _bench(args) -> int:
    from .bench import run_report

    run_report(quick=args.quick, smoke=args.smoke, out_dir=args.out, peers=not args.no_peers)
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:
        print(f"gibbsreg: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
