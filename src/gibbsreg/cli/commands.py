"""The command line's subcommands: demo, sample, bench."""

from __future__ import annotations

import inspect
import os
import sys
import time

import numpy as np

from .errors import EXIT_INTERRUPTED, EXIT_OK, DataError, UsageError
from .priorspec import kind_and_prior, model_prior, prior_settings
from .tables import NamedColumns, check_readable, numeric, read_csv, require_columns, stream_csv_stats


def run_demo(args) -> int:
    from .. import LinearRegression, datasets, fit_conjugate

    print(f"gibbsreg demo: flat regression on synthetic data, n = {args.n}, p = {args.p} (intercept included)")
    if args.groups > 0 and args.backend == "numba":
        from ..kernels import warm

        warm.start("hierarchical")  # a cold cache: compiled on another core while the flat model runs
    data = datasets.synthetic_regression(args.n, args.p, sigma=1.0, seed=args.seed)
    t0 = time.perf_counter()
    post = LinearRegression().sample(data.X, data.y, chains=args.chains, draws=args.draws, warmup=args.warmup,
                                     seed=args.seed, backend=args.backend, progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    print(post)
    fit = fit_conjugate(data.X, data.y)
    err = np.abs(post["beta"].mean(axis=(0, 1)) - data.truth["beta"]).max()
    print(f"\ntrue beta recovered to max |error| {err:.3g}; closed-form NIG log evidence {fit.log_evidence:.6g}")
    report_speed(post, elapsed)
    if args.groups > 0:
        _demo_hierarchical(args)
    return EXIT_OK


def _demo_hierarchical(args) -> None:
    from .. import HierarchicalRegression, datasets

    J, size, p = args.groups, args.group_size, 3
    print(f"\nHierarchical regression on synthetic grouped data: J = {J} groups x {size} rows, p = {p}, all varying")
    data = datasets.synthetic_hierarchical(J, size, p, tau=0.5, sigma=1.0, seed=args.seed)
    t0 = time.perf_counter()
    post = HierarchicalRegression().sample(data.X, data.y, data.groups, chains=args.chains, draws=args.draws,
                                           warmup=args.warmup, seed=args.seed, backend=args.backend,
                                           progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    print(post)
    err = np.abs(post["beta"].mean(axis=(0, 1)) - data.truth["beta"])
    print(f"true mu {np.round(data.truth['mu'], 3)}, tau2 {np.round(data.truth['tau2'], 3)}; "
          f"group coefficients recovered to mean |error| {err.mean():.3g}")
    report_speed(post, elapsed)


def report_speed(post, elapsed: float) -> None:
    a = post.attrs
    kept = post.nchains * post.ndraws
    samp = a.get("sampling_seconds", float("nan"))
    rate = f"{kept / samp:,.0f} draws/s while sampling" if samp and samp > 0 else "no draws kept"
    print(f"{post.nchains} chains x {post.ndraws} draws ({a.get('backend')} backend): {rate}; "
          f"warm-up {a.get('warmup_seconds', 0):.2f} s (includes compilation on a cold cache); total {elapsed:.2f} s")


def _int_option(value: int, flag: str, minimum: int) -> int:
    if value < minimum:
        raise UsageError(f"{flag} must be at least {minimum}, got {value}")
    return value


def _frame_from_csv(path: str):
    """The CSV file as a pandas DataFrame (formulas need pandas, which the formula extra brings)."""
    check_readable(path)
    try:
        import pandas as pd
    except ImportError:
        raise UsageError('--formula needs pandas and formulaic: pip install "gibbsreg[formula]"') from None
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"data file {path!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not a valid CSV file: {str(err).strip().splitlines()[0]}") from None
    if len(frame) == 0:
        raise DataError(f"data file {path!r} has a header but no data rows")
    return frame


def _formula_model(args, spec):
    from .. import model, registry
    from ..formula.parse import parse_formula

    clashing = [flag for flag, value in (("--y", args.y), ("--x", args.x), ("--groups", args.groups),
                                         ("--varying", args.varying), ("--no-intercept", args.no_intercept)) if value]
    if clashing:
        raise UsageError(f"--formula already says the response, predictors and groups: drop {', '.join(clashing)}")
    try:
        parsed = parse_formula(args.formula)
        kind = registry.select(args.family, len({term.factor for term in parsed.group_terms}))
    except ValueError as err:
        raise UsageError(str(err)) from None
    prior = model_prior(kind, spec)
    if not args.data:
        raise UsageError("give the data file (CSV or Parquet) the formula reads")
    path = args.data
    if os.path.isfile(path) and not path.lower().endswith((".parquet", ".pq", ".parq")):
        data = _frame_from_csv(path)  # one CSV file: in memory, with its line numbers in messages
    elif not _dask_available():
        raise UsageError(f'{path!r}: formulas on Parquet files, folders or globs need pip install "gibbsreg[dask]"')
    else:
        data = path  # read partition by partition (gibbsreg.formula.partitioned)
    return model(args.formula, data=data, prior=prior, family=args.family, **_model_options(args, kind))


def _dask_available() -> bool:
    try:
        import dask.dataframe  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _csv_header(path: str) -> list[str]:
    import csv

    with open(path, newline="") as fh:
        try:
            return [h.strip() for h in next(csv.reader(fh))]
        except StopIteration:
            raise DataError(f"data file {path!r} is empty") from None
        except (UnicodeDecodeError, csv.Error):
            raise DataError(f"{path} is not a text (CSV) file") from None


def _statistics(args, group_columns=()):
    """The sufficient statistics the run needs: from --stats, or one pass over DATA.

    With the dask extra installed, CSV and Parquet files (a file, a folder or a glob) are read in
    bounded memory by gibbsreg.read_stats; otherwise a CSV file is read into memory.
    """
    from .. import load_stats, read_stats

    if args.stats:
        if args.data:
            raise UsageError("give DATA or --stats, not both")
        check_readable(args.stats, "statistics file")
        try:
            return load_stats(args.stats)
        except (OSError, KeyError, EOFError) as err:
            raise DataError(f"statistics file {args.stats!r} cannot be read: {err}") from None
        except ValueError as err:
            raise DataError(f"statistics file {args.stats!r}: {err}") from None
    if not args.data:
        raise UsageError("give a data file (CSV or Parquet) or --stats FILE")
    if not args.y:
        raise UsageError("give the response column with --y (or a whole model with --formula)")
    xnames = [c.strip() for c in args.x.split(",") if c.strip()] if args.x else None
    path = args.data
    is_csv = path.lower().endswith((".csv", ".csv.gz", ".txt"))
    if is_csv or (os.path.isfile(path) and not path.lower().endswith(".parquet")):
        check_readable(path)
        header = _csv_header(path)
        wanted = [args.y] + (xnames or []) + list(group_columns)
        require_columns({h: None for h in header}, wanted, path)
    elif not _dask_available():
        raise UsageError(f'{path!r}: reading Parquet files or folders needs pip install "gibbsreg[dask]"')
    groups = (group_columns[0] if len(group_columns) == 1 else list(group_columns)) if group_columns else None
    if _dask_available():
        return read_stats(path, y=args.y, x=xnames, groups=groups, intercept=not args.no_intercept)
    return stream_csv_stats(path, args.y, xnames, groups, intercept=not args.no_intercept)


def _long_run_options(args) -> dict:
    from .. import Converged

    options = {}
    if getattr(args, "checkpoint", None):
        options.update(checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every)
    if getattr(args, "store", None):
        options["store"] = args.store
    if getattr(args, "until_rhat", None) is not None or getattr(args, "until_ess", None) is not None:
        try:
            options["until"] = Converged(rhat=args.until_rhat if args.until_rhat is not None else 1.01,
                                         ess_bulk=args.until_ess if args.until_ess is not None else 400,
                                         ess_tail=args.until_ess if args.until_ess is not None else 400,
                                         max_draws=args.max_draws)
        except ValueError as err:
            raise UsageError(str(err)) from None
    return options


def _rows(args, group_columns):
    """X (named columns), y and the group labels (one array, or a dict for several factors) of a CSV file, in
    memory, for the models whose sweep reads every row."""
    if not args.data:
        raise UsageError("give a data file (CSV)")
    if not args.y:
        raise UsageError("give the response column with --y (or a whole model with --formula)")
    if not args.data.lower().endswith((".csv", ".csv.gz", ".txt")) and not os.path.isfile(args.data):
        raise UsageError(f"{args.data!r}: the models that read their rows every sweep take one CSV file")
    cols = read_csv(args.data)
    xnames = ([c.strip() for c in args.x.split(",") if c.strip()] if args.x
              else [c for c in cols if c != args.y and c not in group_columns])
    require_columns(cols, [args.y] + group_columns + xnames, args.data)
    y = numeric(cols, args.y, args.data)
    X = np.column_stack([numeric(cols, c, args.data) for c in xnames]) if xnames else np.empty((len(y), 0))
    labels = {g: np.array(cols[g]) for g in group_columns}
    groups = (labels[group_columns[0]] if len(labels) == 1 else labels) if labels else None
    return NamedColumns(X, xnames), y, groups


def _model_options(args, kind) -> dict:
    """The model options given on the command line (``--link``), each checked against the kind's."""
    given = {"link": getattr(args, "link", None), "trials": getattr(args, "trials", None)}
    options = {k: v for k, v in given.items() if v is not None}
    refused = sorted(set(options) - set(kind.front.options))
    if refused:
        raise UsageError(f"{', '.join('--' + k for k in refused)} does not apply to the {kind.name} model "
                         f"(family {kind.front.family})")
    return options


def _group_columns(args) -> list[str]:
    return [g.strip() for g in args.groups.split(",") if g.strip()] if args.groups else []


def _stats_factors(stats) -> int:
    """How many grouping factors saved statistics are summed by (0: flat)."""
    from .. import GroupedStats

    if not isinstance(stats, GroupedStats):
        return 0
    return 1 if stats.factors is None else len(stats.factors)


def run_sample(args) -> int:
    """``gibbsreg sample``: the registry's kind for --family and the number of --groups columns (or of the
    saved statistics' factors), its prior from the prior flags, then statistics or rows as the kind needs."""
    from .. import registry

    for flag, value, minimum in (("--chains", args.chains, 1), ("--draws", args.draws, 1),
                                 ("--warmup", args.warmup, 0), ("--thin", args.thin, 1)):
        _int_option(value, flag, minimum)
    spec = prior_settings(args)
    if args.formula:
        return _sample_formula(args, spec)
    group_columns = _group_columns(args)
    options = _long_run_options(args)
    saved_stats = _statistics(args) if args.stats else None  # a small file: read first, it decides the model
    factors = group_columns or (saved_stats.factors or ["group"] if _stats_factors(saved_stats) else [])
    try:
        kind = registry.select(args.family, len(factors))
    except ValueError as err:
        raise UsageError(str(err)) from None
    kind, prior = kind_and_prior(kind, spec)  # --prior horseshoe moves a flat selection to the wide kind
    varying = [v.strip() for v in args.varying.split(",")] if args.varying else None
    model_options = _model_options(args, kind)
    if "trials" in model_options:  # a column of the rows' CSV file
        if not args.data:
            raise UsageError("--trials names a column of the data file: give the data file")
        model_options["trials"] = numeric(read_csv(args.data), args.trials, args.data)
    try:
        model = kind.front.build(prior, factors=factors, varying=varying, intercept=not args.no_intercept,
                                 **model_options)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.dtype != "float64":
        if "dtype" not in inspect.signature(model.sample).parameters:
            raise UsageError(f"--dtype float32 is for flat models (the {kind.name} model's draws are stored in float64)")
        options["dtype"] = np.dtype(args.dtype)
    if kind.needs not in ("flat", "grouped", "cells"):  # the sweep reads the rows themselves
        if args.stats or args.stats_out:
            raise UsageError(f"the {kind.name} model reads its rows every sweep: sufficient statistics "
                             "(--stats, --stats-out) do not summarise them; give the data file")
        X, y, groups = _rows(args, group_columns)
        _announce(args)
        t0 = time.perf_counter()
        post = kind.front.call(model, X, y, groups, chains=args.chains, draws=args.draws, warmup=args.warmup,
                               thin=args.thin, seed=args.seed, backend=args.backend, progress=not args.quiet,
                               **options)
        return finish(post, args.out, time.perf_counter() - t0)
    stats = saved_stats if saved_stats is not None else _statistics(args, group_columns)  # after every usage check
    if args.stats_out:
        stats.save(args.stats_out)
        print(f"gibbsreg: statistics written to {args.stats_out} (reuse with --stats)", file=sys.stderr)
    _announce(args)
    t0 = time.perf_counter()
    post = kind.front.call(model, None, None, None, stats=stats, chains=args.chains, draws=args.draws,
                           warmup=args.warmup, thin=args.thin, seed=args.seed, backend=args.backend,
                           progress=not args.quiet, **options)
    return finish(post, args.out, time.perf_counter() - t0)


def run_resume(args) -> int:
    """Continue a saved run, checkpoint or store with the same data (or its --stats)."""
    from .. import resume

    check = args.run if not os.path.isdir(args.run) else os.path.join(args.run, "posterior.npz")
    check_readable(check, "run file")
    if args.draws is not None:
        _int_option(args.draws, "--draws", 1)
    args.no_intercept = False  # the run's file knows its intercept; the statistics keep it (checked)
    args.formula = None
    from .. import load

    try:
        saved = load(args.run)
    except ValueError as err:
        raise DataError(str(err)) from None
    args.no_intercept = not bool(saved.attrs.get("intercept", True))
    stats = _statistics(args, _group_columns(args))
    if not args.quiet:
        print(f"gibbsreg: resuming {args.run} ({saved.nchains} chains, {saved.ndraws} draws so far)", file=sys.stderr)
    t0 = time.perf_counter()
    # from the path, so that a checkpointed run keeps checkpointing to its file
    post = resume(args.run, stats=stats, draws=args.draws, backend=args.backend, progress=not args.quiet)
    return finish(post, args.out, time.perf_counter() - t0)


def _announce(args) -> None:
    if not args.quiet:
        print(f"gibbsreg: sampling {args.chains} chains x {args.draws} draws after {args.warmup} warm-up "
              f"iterations ({args.backend} backend); Ctrl-C stops and keeps the draws made so far", file=sys.stderr)


def _sample_formula(args, spec) -> int:
    formula_model = _formula_model(args, spec)
    _announce(args)
    t0 = time.perf_counter()
    post = formula_model.sample(chains=args.chains, draws=args.draws, warmup=args.warmup, thin=args.thin,
                                seed=args.seed, backend=args.backend, progress=not args.quiet)
    return finish(post, args.out, time.perf_counter() - t0)


def _where_safe(post, out) -> str:
    """Where a finished run's draws are, for a message about a later step that failed."""
    places = [repr(str(out))] if out else []
    if getattr(post, "store", None) is not None:
        places.append(f"the store {str(post.store.directory)!r}")
    checkpoint = (post.state.config.get("checkpoint") if post.state is not None else None)
    if checkpoint:
        places.append(f"the checkpoint {checkpoint!r}")
    if not places:
        return "the draws were not saved (pass --out, --checkpoint or --store)"
    return "the draws are safe in " + " and ".join(places)


def finish(post, out: str | None, elapsed: float) -> int:
    """Save first (a closed pipe must not lose the draws), then print; 130 when sampling was interrupted."""
    interrupted = bool(post.attrs.get("interrupted"))
    if interrupted and post.ndraws == 0:
        print("gibbsreg: interrupted before any draw was kept; nothing to save", file=sys.stderr)
        return EXIT_INTERRUPTED
    if out:
        post.save(out)
    try:
        print(post)
    except MemoryError:
        raise DataError("out of memory while summarising the draws; " + _where_safe(post, out)
                        + " (gibbsreg.load reads them in blocks; post.summary(var_names=[...]) for a few)") from None
    report_speed(post, elapsed)
    if out:
        print(f"draws written to {out} (load with gibbsreg.load)")
    if interrupted:
        saved = f"; the {post.ndraws} draws per chain made so far are in {out}" if out else " (no --out: not saved)"
        print(f"gibbsreg: interrupted{saved}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def run_bench(args) -> int:
    from ..bench import run_report

    run_report(quick=args.quick, smoke=args.smoke, out_dir=args.out, peers=not args.no_peers)
    return EXIT_OK
