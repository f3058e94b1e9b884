"""Command line: ``gibbsreg demo``, ``gibbsreg sample data.csv --y COL``, ``gibbsreg bench``.

A user's mistake never shows a traceback: it is one line on stderr and an exit status
(0 success, 1 data error, 2 usage error, 130 interrupted, 141 broken pipe; see errors.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from .. import registry
from .commands import run_bench, run_demo, run_resume, run_sample
from .errors import EXIT_BROKEN_PIPE, EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE, CLIError

EPILOG = """exit status: 0 success, 1 data error (a missing, unreadable or empty file, bad values),
2 usage error (a bad option, an unknown column, a malformed prior), 130 interrupted by Ctrl-C
(after saving the draws made so far), 141 output pipe closed."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gibbsreg", epilog=EPILOG,
                                     description="Numba-accelerated Gibbs sampling for Bayesian (hierarchical) linear regression.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, chains=4, draws=1000, warmup=1000):
        p.add_argument("--chains", type=int, default=chains)
        p.add_argument("--draws", type=int, default=draws, help="kept draws per chain")
        p.add_argument("--warmup", type=int, default=warmup)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--backend", choices=["numba", "numpy"], default="numba")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = sub.add_parser("demo", help="sample a built-in synthetic design and print the summary and speed",
                          epilog=EPILOG)
    common(demo, draws=2000)
    demo.add_argument("--n", type=int, default=100_000)
    demo.add_argument("--p", type=int, default=10)
    demo.add_argument("--groups", type=int, default=200, help="groups in the hierarchical example (0 skips it)")
    demo.add_argument("--group-size", type=int, default=20)
    demo.set_defaults(func=run_demo)

    sample = sub.add_parser("sample", help="sample a model for a CSV file and write the draws", epilog=EPILOG)
    sample.add_argument("data", nargs="?", help="CSV file with a header row; with gibbsreg[dask] also Parquet "
                                                "files, folders or globs, read in bounded memory")
    sample.add_argument("--formula", help='a whole model, e.g. "y ~ x + C(c) + (1 + x | g)" (needs gibbsreg[formula]); '
                                          "replaces --y, --x, --groups, --varying and --no-intercept")
    sample.add_argument("--y", help="response column")
    sample.add_argument("--x", help="comma-separated predictor columns (default: all other columns)")
    sample.add_argument("--groups", help="group column: fit the hierarchical model; several, comma-separated "
                                        "(a,b): crossed varying intercepts")
    sample.add_argument("--varying", help="comma-separated columns varying by group (default: all)")
    sample.add_argument("--family", default="gaussian", choices=registry.families(),
                        help="the response's likelihood (default: gaussian)")
    sample.add_argument("--link", choices=["logit", "probit"], help="the link of a bernoulli model (default: logit)")
    sample.add_argument("--trials", help="--family binomial: the column of trials (the response counts successes)")
    sample.add_argument("--no-intercept", action="store_true")
    sample.add_argument("--thin", type=int, default=1)
    sample.add_argument("--out", help="write the draws to this .npz file")
    data_io = sample.add_argument_group("statistics and long runs")
    data_io.add_argument("--stats", help="sample from saved sufficient statistics instead of DATA")
    data_io.add_argument("--stats-out", help="save the data's sufficient statistics to this .npz (reuse with --stats)")
    data_io.add_argument("--checkpoint", help="write a crash-safe checkpoint to this .npz (continue with "
                                              "gibbsreg resume FILE DATA ...)")
    data_io.add_argument("--checkpoint-every", type=float, default=60.0, help="seconds between checkpoints")
    data_io.add_argument("--store", help="write the draws to this folder as they are made (runs beyond memory)")
    data_io.add_argument("--until-rhat", type=float, help="sample until every R-hat is below this (and the ESS "
                                                          "targets hold), up to --max-draws")
    data_io.add_argument("--until-ess", type=float, help="sample until every bulk and tail ESS reaches this")
    data_io.add_argument("--max-draws", type=int, default=100_000, help="the --until-* rules' limit per chain")
    data_io.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                         help="stored draws' type for flat models (float32: half the memory; chains run in float64)")
    prior = sample.add_argument_group(
        "prior", "numbers in the data's units; anything not given is the data-scaled default")
    prior.add_argument("--prior", help="flat models: semiconjugate (default), nig (conjugate Normal-Inverse-Gamma), "
                                       "exchangeable, or for wide designs horseshoe, regularized-horseshoe, lasso")
    prior.add_argument("--mean", help="prior mean of the coefficients: one number or one per coefficient "
                                      "(hierarchical: of mu and the pooled coefficients)")
    prior.add_argument("--scale", help="prior sd of the coefficients (inf: flat), one number or one per coefficient")
    prior.add_argument("--a", help="shape a of sigma^2 ~ IG(a, b)")
    prior.add_argument("--b", help="scale b of sigma^2 ~ IG(a, b)")
    prior.add_argument("--tau", help="group (or exchangeable) scale prior: halfcauchy:S, halfnormal:S, halft:NU,S, "
                                     "exponential:RATE, invgamma:A,B, invwishart:DF[,SCALE] or huangwand:NU[,S]")
    prior.add_argument("--sigma", help="prior of the noise scale: invgamma:A,B (on sigma^2), halfnormal:S, halft:NU,S, "
                                       "exponential:RATE, or jeffreys (--family student)")
    prior.add_argument("--nu", help="Student-t degrees of freedom (--family student): a number (fixed) or "
                                    "gamma:SHAPE,RATE (learned; default gamma:2,0.1)")
    prior.add_argument("--p0", help="wide priors: guess of the number of non-zero coefficients (sets the global scale)")
    prior.add_argument("--global-scale", help="wide priors: scale of the half-Cauchy prior on tau")
    prior.add_argument("--slab-scale", help="regularized-horseshoe: slab scale (sigma units per sd of x)")
    prior.add_argument("--slab-df", help="regularized-horseshoe: slab degrees of freedom (default 4)")
    prior.add_argument("--lasso-shape", help="lasso: gamma shape of lambda^2 (default 1)")
    prior.add_argument("--lasso-rate", help="lasso: gamma rate of lambda^2 (default 1)")
    prior.add_argument("--mu-scale", help="prior sd of the population means mu (default: --scale or data-scaled)")
    prior.add_argument("--group-variance", action="store_true", help="one sigma^2 per group (hierarchical)")
    prior.add_argument("--prior-file", help="JSON or TOML file with the same keys (prior, mean, scale, a, b, tau, "
                                            "mu_scale, group_variance); flags override it")
    common(sample)
    sample.set_defaults(func=run_sample)

    resume = sub.add_parser("resume", help="continue a saved run, checkpoint or store with the same data",
                            epilog=EPILOG)
    resume.add_argument("run", help="a .npz written by --out or --checkpoint, or a --store folder")
    resume.add_argument("data", nargs="?", help="the data the run was sampled from (as for sample)")
    resume.add_argument("--y", help="response column")
    resume.add_argument("--x", help="comma-separated predictor columns (as for sample)")
    resume.add_argument("--groups", help="group column (as for sample)")
    resume.add_argument("--stats", help="the run's saved sufficient statistics instead of DATA")
    resume.add_argument("--draws", type=int, help="more draws per chain (default: finish the planned run)")
    resume.add_argument("--backend", choices=["numba", "numpy"], help="default: the run's own")
    resume.add_argument("--out", help="write all the draws to this .npz file")
    resume.add_argument("--quiet", action="store_true", help="no progress bar")
    resume.set_defaults(func=run_resume)

    bench = sub.add_parser("bench", help="benchmark the Numba kernels against the NumPy reference; writes RESULTS.md")
    bench.add_argument("--quick", action="store_true", help="smaller sweeps and shorter runs (about two minutes)")
    bench.add_argument("--smoke", action="store_true", help="tiny sizes (for CI)")
    bench.add_argument("--no-peers", action="store_true", help="leave the R and NumPyro peers' rows out (they are "
                                                           "measured by benchmarks/peers.py)")
    bench.add_argument("--out", default="benchmarks", help="folder for RESULTS.md and results.png")
    bench.set_defaults(func=run_bench)
    return parser


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(f"gibbsreg: warning: {message}\n")


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors: argparse prints usage and exits with 2
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        status = args.func(args)
        sys.stdout.flush()  # a pipe's buffered output: a closed reader shows here, not at interpreter exit
        return status
    except CLIError as err:
        print(f"gibbsreg: error: {err}", file=sys.stderr)
        return err.status
    except ImportError as err:  # a missing optional extra: the message names it
        print(f"gibbsreg: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, FloatingPointError) as err:
        print(f"gibbsreg: error: {err}", file=sys.stderr)
        return EXIT_DATA
    except MemoryError:
        print("gibbsreg: error: out of memory; use --thin, fewer --draws or fewer --chains", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt:
        print("gibbsreg: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        print("gibbsreg: output closed early (broken pipe); stopped printing", file=sys.stderr)
        return EXIT_BROKEN_PIPE
    except OSError as err:
        print(f"gibbsreg: error: {err.strerror or err}" + (f": {err.filename!r}" if err.filename else ""),
              file=sys.stderr)
        return EXIT_DATA
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
