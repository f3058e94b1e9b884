"""Peers of the benchmark report: the same workloads through R (MCMCpack, bayesm) and NumPyro NUTS.

    python benchmarks/peers.py [--quick] [--out benchmarks]

writes ``peers.json`` beside RESULTS.md; ``gibbsreg bench`` then shows those rows beside its own (per core).
This harness lives with the benchmarks, not in the package: the user command ``gibbsreg bench`` measures the
engine against its NumPy reference, and reads the peers' last measurements as data.

Each peer runs only when its tool is installed (``Rscript`` with the R packages,
or ``numpyro``); otherwise it is reported as skipped.  The data and the resolved
gibbsreg prior are handed over as files, so every tool sees the same numbers.
Model differences are stated in the notes: bayesm's ``rhierLinearModel`` has
per-group noise variances and an Inverse-Wishart coefficient covariance, and
MCMCpack's ``MCMChregress`` a full covariance; R runs one chain on one core.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

R_FLAT = r"""
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
pr <- scan(args[2], quiet = TRUE, what = "", sep = "\n")
p <- as.integer(pr[1]); mean <- as.numeric(strsplit(pr[2], ",")[[1]])
prec <- matrix(as.numeric(strsplit(pr[3], ",")[[1]]), p, p)
a <- as.numeric(pr[4]); b <- as.numeric(pr[5]); R <- as.integer(args[3]); tool <- args[4]
y <- d$y; X <- cbind(1, as.matrix(d[, -1]))
suppressMessages(library(coda))
if (tool == "MCMCpack") {
  suppressMessages(library(MCMCpack))
  t <- system.time(fit <- MCMCregress(y ~ X - 1, b0 = mean, B0 = prec, c0 = 2 * a, d0 = 2 * b,
                                      burnin = 0, mcmc = R, seed = 1))[["elapsed"]]
  draws <- as.matrix(fit); ver <- as.character(packageVersion("MCMCpack"))
} else {
  suppressMessages(library(bayesm))
  t <- system.time(out <- runiregGibbs(Data = list(y = y, X = X),
        Prior = list(betabar = mean, A = prec, nu = 2 * a, ssq = b / a),
        Mcmc = list(R = R, keep = 1, nprint = 0)))[["elapsed"]]
  draws <- cbind(out$betadraw, out$sigmasqdraw); ver <- as.character(packageVersion("bayesm"))
}
ess <- min(effectiveSize(mcmc(draws)))
cat("RESULT", R / t, ess / t, ver, "\n")
"""

R_HIER = r"""
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); R <- as.integer(args[2]); tool <- args[3]
suppressMessages(library(coda))
groups <- sort(unique(d$g)); xcols <- setdiff(names(d), c("y", "g"))
if (tool == "bayesm") {
  suppressMessages(library(bayesm))
  regdata <- lapply(groups, function(j) { s <- d[d$g == j, ]; list(y = s$y, X = cbind(1, as.matrix(s[, xcols]))) })
  t <- system.time(out <- rhierLinearModel(Data = list(regdata = regdata),
        Mcmc = list(R = R, keep = 1, nprint = 0)))[["elapsed"]]
  draws <- cbind(out$Deltadraw, out$Vbetadraw[, 1], out$betadraw[1, , ]  |> t())
  ver <- as.character(packageVersion("bayesm"))
} else {
  suppressMessages(library(MCMCpack))
  f <- as.formula(paste("y ~", paste(xcols, collapse = " + ")))
  r <- as.formula(paste("~", paste(xcols, collapse = " + ")))
  q <- length(xcols) + 1
  t <- system.time(fit <- MCMChregress(fixed = f, random = r, group = "g", data = d, burnin = 500, mcmc = R,
        thin = 1, verbose = 0, seed = 1, beta.start = NA, sigma2.start = NA, Vb.start = NA, mubeta = 0,
        Vbeta = 1e6, r = q, R = diag(q), nu = 0.001, delta = 0.001))[["elapsed"]]
  draws <- fit$mcmc[, c(grep("^beta", colnames(fit$mcmc)), grep("^V", colnames(fit$mcmc)),
                        grep("^sigma2", colnames(fit$mcmc)))]
  ver <- as.character(packageVersion("MCMCpack"))
}
keep <- apply(draws, 2, sd) > 0
ess <- min(effectiveSize(mcmc(draws[, keep])))
cat("RESULT", R / t, ess / t, ver, "\n")
"""


def _r_available(packages) -> str | None:
    """None when Rscript and the packages load, else the reason to skip."""
    if shutil.which("Rscript") is None:
        return "Rscript not installed (Debian: apt-get install r-base-core r-cran-mcmcpack r-cran-bayesm r-cran-coda)"
    probe = "; ".join(f"suppressMessages(library({p}))" for p in packages)
    res = subprocess.run(["Rscript", "-e", probe], capture_output=True, text=True)
    if res.returncode != 0:
        return f"R packages {packages} not installed"
    return None


def _write_flat(tmp: Path, n, p, seed=0):
    from gibbsreg import LinearRegression, datasets, sufficient_stats

    data = datasets.synthetic_regression(n, p, seed=seed)
    np.savetxt(tmp / "flat.csv", np.column_stack([data.y, data.X]), delimiter=",",
               header=",".join(["y"] + [f"x{k}" for k in range(p - 1)]), comments="")
    source = sufficient_stats(data.X, data.y)
    prior = LinearRegression().prior.resolve(source.to_sufficient(), source.names)
    with open(tmp / "prior.txt", "w") as fh:
        fmt = lambda v: ",".join(f"{float(x):.17g}" for x in v)  # noqa: E731
        fh.write(f"{p}\n{fmt(prior.mean)}\n{fmt(prior.precision.ravel(order='F'))}\n{prior.a:.17g}\n{prior.b:.17g}\n")


def _write_hier(tmp: Path, J, nj, p, seed=0):
    from gibbsreg import datasets

    data = datasets.synthetic_hierarchical(J, nj, p, tau=0.5, seed=seed)
    np.savetxt(tmp / "hier.csv", np.column_stack([data.y, data.groups, data.X]), delimiter=",",
               header=",".join(["y", "g"] + [f"x{k}" for k in range(p - 1)]), comments="")


def run_r(quick: bool, log=print) -> list[dict]:
    rows = []
    draws = 10000 if quick else 50000
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        (tmp / "flat.R").write_text(R_FLAT)
        (tmp / "hier.R").write_text(R_HIER)
        _write_flat(tmp, 1000, 10)
        _write_hier(tmp, 100, 50, 5)
        for tool, fn in (("MCMCpack", "MCMCregress"), ("bayesm", "runiregGibbs")):
            reason = _r_available([tool, "coda"])
            row = {"tool": f"R {tool}::{fn}", "workload": "W1 flat-small"}
            if reason:
                rows.append({**row, "note": f"skipped: {reason}"})
                continue
            res = subprocess.run(["Rscript", str(tmp / "flat.R"), str(tmp / "flat.csv"), str(tmp / "prior.txt"),
                                  str(draws), tool], capture_output=True, text=True)
            rows.append(_parse_r(row, res, "same data and prior; 1 chain, 1 core"))
            log(f"peer {row['tool']}: {rows[-1]}")
        for tool, fn, note in (("bayesm", "rhierLinearModel", "per-group noise variances, IW covariance (compare "
                                "with gibbsreg's W3b), bayesm's default priors; 1 chain, 1 core"),
                               ("MCMCpack", "MCMChregress", "full IW covariance of random effects; 1 chain, 1 core")):
            reason = _r_available([tool, "coda"])
            row = {"tool": f"R {tool}::{fn}", "workload": "W3 hier"}
            if reason:
                rows.append({**row, "note": f"skipped: {reason}"})
                continue
            res = subprocess.run(["Rscript", str(tmp / "hier.R"), str(tmp / "hier.csv"), str(draws // 4), tool],
                                 capture_output=True, text=True)
            rows.append(_parse_r(row, res, note))
            log(f"peer {row['tool']}: {rows[-1]}")
    return rows


def _parse_r(row, res, note):
    if res.returncode != 0:
        return {**row, "note": f"failed: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode}"}
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT")]
    if not lines:
        return {**row, "note": "failed: no result line"}
    dps, eps, ver = lines[-1].split()[1:4]
    return {**row, "draws_per_s": float(dps), "ess_per_s": float(eps), "version": ver, "note": note}


def time_nuts(model, args, draws: int, chains: int = 4) -> tuple[float, float]:
    """(draws/s, min bulk ESS/s) of NumPyro NUTS on ``model(*args)``: chains vectorised on the CPU, timed for
    sampling only (after adaptation and after compiling the sampling loop)."""
    import jax
    from numpyro.infer import MCMC, NUTS

    from gibbsreg.diagnostics import ess_bulk

    mcmc = MCMC(NUTS(model), num_warmup=draws, num_samples=draws, num_chains=chains, chain_method="vectorized",
                progress_bar=False)
    mcmc.warmup(jax.random.PRNGKey(0), *args)  # adaptation (and compilation)
    mcmc.run(jax.random.PRNGKey(1), *args)  # compiles the sampling loop
    mcmc.post_warmup_state = mcmc.last_state
    t0 = time.perf_counter()
    mcmc.run(mcmc.post_warmup_state.rng_key, *args)
    secs = time.perf_counter() - t0
    samples = mcmc.get_samples(group_by_chain=True)
    ess = min(float(np.nanmin(ess_bulk(np.asarray(v).reshape(chains, draws, -1)))) for v in samples.values())
    return chains * draws / secs, ess / secs


def run_numpyro(quick: bool, log=print) -> list[dict]:
    """NumPyro NUTS on W1 and W3 (4 chains, vectorised on the CPU) with the same priors."""
    try:
        import jax
        import numpyro
        import numpyro.distributions as dist
    except ImportError:
        return [{"tool": "NumPyro NUTS", "workload": "W1, W3", "note": "skipped: numpyro not installed (pip install 'gibbsreg[peers]')"}]
    from gibbsreg import LinearRegression, datasets, sufficient_stats

    numpyro.set_host_device_count(1)
    rows = []
    draws = 200 if quick else 2000
    data = datasets.synthetic_regression(1000, 10, seed=0)
    source = sufficient_stats(data.X, data.y)
    prior = LinearRegression().prior.resolve(source.to_sufficient(), source.names)
    X = np.column_stack([np.ones(len(data.y)), data.X])
    cov = np.linalg.inv(prior.precision)

    def flat_model(X, y):
        beta = numpyro.sample("beta", dist.MultivariateNormal(prior.mean, covariance_matrix=cov))
        sigma2 = numpyro.sample("sigma2", dist.InverseGamma(prior.a, prior.b))
        numpyro.sample("y", dist.Normal(X @ beta, jax.numpy.sqrt(sigma2)), obs=y)

    h = datasets.synthetic_hierarchical(100, 50, 5, tau=0.5, seed=0)
    Xh = np.column_stack([np.ones(len(h.y)), h.X])

    def hier_model(X, g, y):  # the same priors as gibbsreg.bench.hier_prior()
        mu = numpyro.sample("mu", dist.Normal(0.0, 10.0).expand([5]).to_event(1))
        tau2 = numpyro.sample("tau2", dist.InverseGamma(1.0, 0.1).expand([5]).to_event(1))
        with numpyro.plate("groups", 100):
            beta = numpyro.sample("beta", dist.Normal(mu, jax.numpy.sqrt(tau2)).to_event(1))
        sigma2 = numpyro.sample("sigma2", dist.InverseGamma(1.0, 1.0))
        numpyro.sample("y", dist.Normal((X * beta[g]).sum(-1), jax.numpy.sqrt(sigma2)), obs=y)

    for label, model, args in (("W1 flat-small", flat_model, (X, data.y)), ("W3 hier", hier_model, (Xh, h.groups, h.y))):
        draws_per_s, ess_per_s = time_nuts(model, args, draws)
        rows.append({"tool": "NumPyro NUTS", "version": numpyro.__version__, "workload": label,
                     "draws_per_s": draws_per_s, "ess_per_s": ess_per_s,
                     "note": "4 chains vectorised on the CPU, sampling only (after adaptation and compilation), same priors"})
        log(f"peer NumPyro {label}: {rows[-1]}")
    return rows


def run_all(quick: bool = False, log=print) -> list[dict]:
    rows = run_r(quick, log) + run_numpyro(quick, log)
    for r in rows:
        r.setdefault("cores", 1 if r["tool"].startswith("R ") else _cores())
        if "rhierLinearModel" in r["tool"]:
            r["compare"] = "W3b hier, bayesm's model"  # its model is W3b's (per-group variances, IW covariance)
    return rows


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def main(argv=None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Measure the peers (R, NumPyro) on the bench's workloads")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent))
    args = parser.parse_args(argv)
    rows = [r for r in run_all(quick=args.quick) if r.get("draws_per_s") is not None]
    path = Path(args.out) / "peers.json"
    path.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {len(rows)} peer rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
