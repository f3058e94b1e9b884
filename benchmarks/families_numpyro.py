"""NumPyro NUTS against gibbsreg on the new families' bench workloads, same data and resolved priors.

    python benchmarks/families_numpyro.py [--draws 1000] [--only W7 W8 ...]

W5 (Student-t errors, nu learned under Gamma(2, 0.1); beta N(m, P^-1) and sigma^2 ~ IG(a, b) as gibbsreg
resolved them), W7 (flat logistic, beta N(m, P^-1)) and W9 (hierarchical logistic, mu ~ N(m, s^2),
tau_k ~ half-Cauchy(s_k), beta_j ~ N(mu, diag(tau^2)): the centred form both tools sample); W8 (flat probit),
W9b (W9 with J = 500 groups of 20 rows) and W10 (imbalanced logistic, 1.6% ones, n = 5,000, p = 20, gibbsreg
with boost off and on; NumPyro once).  Both tools run 4 chains; NumPyro vectorised on the
CPU, timed for sampling only (after adaptation and compilation); gibbsreg's draws/s and min bulk ESS over
every parameter are measured as the bench measures them.  Prints a markdown table with the CPU.
"""

from __future__ import annotations

import argparse
import platform
import warnings

import numpy as np


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--only", nargs="*", default=None, help="workload prefixes (W5 W7 W8 W9 W9b W10)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from jax.scipy.special import ndtr

    import gibbsreg as gr
    from gibbsreg.bench import timed_run
    from gibbsreg.bench.families import FAMILY_WORKLOADS, make_family_workload
    from peers import time_nuts  # benchmarks/peers.py, beside this file

    numpyro.set_host_device_count(1)
    rows = []
    workloads = dict(FAMILY_WORKLOADS)
    workloads.update(EXTRA_WORKLOADS)
    for label, spec in workloads.items():
        if args.only is not None and label.split()[0] not in args.only:
            continue
        if spec["kind"] in ("imbalanced", "binary"):  # the plain sweep and the remedies (docs/binary-boost.md)
            options = [{}, {"laplace_mh": True}] + ([{"boost": True}] if spec["kind"] == "imbalanced" else [])
            variants = [(f"{label}{''.join(f', {k}' for k in o)}", _binary_sample(spec, **o)) for o in options]
        else:
            variants = [(label, make_family_workload(spec))]
        ours = []
        for name, sample in variants:
            run = timed_run(sample, name, "numba", 4, 3.0, pause=0.2, settle=False)
            ours.append((name, run))
        post = variants[0][1]("numba", 1, 20, 20, 1)
        # the same data the workload sampled, rebuilt as the workload generates it
        data = _data(spec)
        Xf = np.column_stack([np.ones(len(data[1])), data[0]])
        model_args = (Xf, data[1])
        if spec["kind"] == "binary_hier":
            pr = post.prior
            J, q = spec["J"], len(pr.varying)
            model_args = (Xf, data[2], data[1])

            def model(X, g, y, m=pr.mu_mean, s=pr.mu_scale, ts=pr.tau_scale, J=J, q=q):
                mu = numpyro.sample("mu", dist.Normal(m, s).to_event(1))
                tau = numpyro.sample("tau", dist.HalfCauchy(ts).to_event(1))
                with numpyro.plate("groups", J):
                    beta = numpyro.sample("beta", dist.Normal(mu, tau).to_event(1))
                numpyro.sample("y", dist.Bernoulli(logits=(X * beta[g]).sum(-1)), obs=y)
        elif spec["kind"] == "robust":
            pr = post.prior
            cov = np.linalg.inv(pr.fixed.precision)

            def model(X, y, m=pr.fixed.mean, cov=cov, a=pr.fixed.a, b=pr.fixed.b):
                beta = numpyro.sample("beta", dist.MultivariateNormal(m, covariance_matrix=cov))
                sigma2 = numpyro.sample("sigma2", dist.InverseGamma(a, b))
                nu = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
                numpyro.sample("y", dist.StudentT(nu, X @ beta, jnp.sqrt(sigma2)), obs=y)
        else:
            pr = post.prior
            cov = np.linalg.inv(pr.precision)
            probit = spec.get("link") == "probit"

            def model(X, y, m=pr.mean, cov=cov, probit=probit):
                beta = numpyro.sample("beta", dist.MultivariateNormal(m, covariance_matrix=cov))
                if probit:
                    numpyro.sample("y", dist.Bernoulli(probs=jnp.clip(ndtr(X @ beta), 1e-12, 1 - 1e-12)), obs=y)
                else:
                    numpyro.sample("y", dist.Bernoulli(logits=X @ beta), obs=y)
        theirs = time_nuts(model, model_args, args.draws)
        for name, run in ours:
            rows.append((name, run.draws_per_s, run.ess_per_s, theirs[0], theirs[1]))
            print(rows[-1], flush=True)
    print(f"\nCPU: {_cpu()}; numpyro {numpyro.__version__}, jax {jax.__version__}, gibbsreg {gr.__version__}\n")
    print("| workload | gibbsreg draws/s | gibbsreg min-ESS/s | NumPyro draws/s | NumPyro min-ESS/s | ESS/s ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, d1, e1, d2, e2 in rows:
        print(f"| {label} | {d1:,.0f} | {e1:,.0f} | {d2:,.0f} | {e2:,.1f} | {e1 / e2:.1f}x |")
    return 0


EXTRA_WORKLOADS = {
    "W9b hier logistic (J=500, 20 rows each, intercept and slope vary)": dict(kind="binary_hier", J=500, nj=20, p=2,
                                                                            link="logit", probe=10, min_draws=10,
                                                                            warmup=10),
    "W10 imbalanced logistic (n=5,000, p=20, 1.6% ones)": dict(kind="imbalanced", n=5_000, p=20),
}


def _imbalanced_data():
    """benchmarks/binary_speed.py's imbalanced case: intercept -4.2, one slope 0.3, 18 null predictors."""
    rng = np.random.default_rng(0)
    n, p = 5000, 20
    X = rng.standard_normal((n, p - 1))
    rng.normal(0, 0.3, p)
    rng.random(n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-4.2 + 0.3 * X[:, 0])))).astype(float)
    return X, y


def _binary_sample(spec, **options):
    """sample(backend, chains, draws, warmup, seed) of a flat binary workload with BinaryRegression options."""
    from gibbsreg.models.binary import BinaryRegression

    X, y = _data(spec)
    model = BinaryRegression(spec.get("link", "logit"), **options)

    def sample(backend, chains, draws, warmup, seed):
        return model.sample(X, y, chains=chains, draws=draws, warmup=warmup, seed=seed, backend=backend,
                            progress=False)
    return sample


def _data(spec):
    """The workload's X (without the intercept column) and y, as gibbsreg.bench.families generates them."""
    from gibbsreg import datasets

    if spec["kind"] == "imbalanced":
        return _imbalanced_data()
    rng = np.random.default_rng(0)
    if spec["kind"] == "binary_hier":
        data = datasets.synthetic_hierarchical(spec["J"], spec["nj"], spec["p"], tau=0.5, seed=0)
        y = (rng.random(len(data.y)) < 1 / (1 + np.exp(-data.y))).astype(float)
        return data.X, y, np.asarray(data.groups)
    if spec["kind"] == "robust":
        data = datasets.synthetic_regression(spec["n"], spec["p"], seed=0)
        y = data.y.copy()
        out = rng.random(len(y)) < 0.05
        y[out] += rng.choice([-1.0, 1.0], out.sum()) * rng.uniform(5, 15, out.sum())
        return data.X, y
    X = rng.standard_normal((spec["n"], spec["p"] - 1))
    beta = rng.normal(0, 0.5, spec["p"] - 1)
    y = (rng.random(spec["n"]) < 1 / (1 + np.exp(-(0.3 + X @ beta)))).astype(float)
    return X, y


if __name__ == "__main__":
    raise SystemExit(main())
