"""NumPyro NUTS against gibbsreg on the new families' bench workloads, same data and resolved priors.

    python benchmarks/families_numpyro.py [--draws 1000]

W5 (Student-t errors, nu learned under Gamma(2, 0.1); beta N(m, P^-1) and sigma^2 ~ IG(a, b) as gibbsreg
resolved them), W7 (flat logistic, beta N(m, P^-1)) and W9 (hierarchical logistic, mu ~ N(m, s^2),
tau_k ~ half-Cauchy(s_k), beta_j ~ N(mu, diag(tau^2)): the centred form both tools sample).  Both tools run 4 chains; NumPyro vectorised on the
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
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    import gibbsreg as gr
    from gibbsreg.bench import timed_run
    from gibbsreg.bench.families import FAMILY_WORKLOADS, make_family_workload
    from peers import time_nuts  # benchmarks/peers.py, beside this file

    numpyro.set_host_device_count(1)
    rows = []
    for label in ("W5 Student-t (n=10^4, p=10, 5% outliers)", "W7 flat logistic (n=5,000, p=20)",
                  "W9 hier logistic (J=50, intercept and slope vary)"):
        spec = FAMILY_WORKLOADS[label]
        sample = make_family_workload(spec)
        ours = timed_run(sample, label, "numba", 4, 3.0, pause=0.2, settle=False)
        post = sample("numba", 1, 20, 20, 1)
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

            def model(X, y, m=pr.mean, cov=cov):
                beta = numpyro.sample("beta", dist.MultivariateNormal(m, covariance_matrix=cov))
                numpyro.sample("y", dist.Bernoulli(logits=X @ beta), obs=y)
        theirs = time_nuts(model, model_args, args.draws)
        rows.append((label, ours.draws_per_s, ours.ess_per_s, theirs[0], theirs[1]))
        print(rows[-1], flush=True)
    print(f"\nCPU: {_cpu()}; numpyro {numpyro.__version__}, jax {jax.__version__}, gibbsreg {gr.__version__}\n")
    print("| workload | gibbsreg draws/s | gibbsreg min-ESS/s | NumPyro draws/s | NumPyro min-ESS/s | ESS/s ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, d1, e1, d2, e2 in rows:
        print(f"| {label} | {d1:,.0f} | {e1:,.0f} | {d2:,.0f} | {e2:,.1f} | {e1 / e2:.1f}x |")
    return 0


def _data(spec):
    """The workload's X (without the intercept column) and y, as gibbsreg.bench.families generates them."""
    from gibbsreg import datasets

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
