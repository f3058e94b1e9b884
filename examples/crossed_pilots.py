"""Pilots: crossed random effects, treatment x airport (Gelman & Hill 2007, ch. 13-14).

y = success rate of pilots in a flight simulator, 5 treatments x 8 airports, one rate per
cell (fully crossed):

    y_ij = b_treatment[i] + b_airport[j] + eps_ij,
    b_treatment ~ N(mu, tau2_treatment),  b_airport ~ N(0, tau2_airport),  eps ~ N(0, sigma2)

which is lme4's y ~ 1 + (1 | treatment) + (1 | airport).  The script prints the posterior,
draws a forest plot per factor, compares the mixing of plain block Gibbs, the "blocked" sampler
and the default "asis" sampler (blocked + interweaving of the factor scales; min ESS per second), and predicts a seen cell, a new airport and a new
treatment.  Caveat: y is a proportion of a few trials (several rows are exactly 0 or 1); the
Gaussian likelihood, as in ARM and posteriordb, ignores that.

    python examples/crossed_pilots.py --out figures/crossed_pilots
    python examples/crossed_pilots.py --quick
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gibbsreg as gr  # noqa: E402
from gibbsreg import diagnostics  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import argument_parser, save, section  # noqa: E402

NAME = Path(__file__).stem


def min_ess_per_s(post):
    ess = min(float(np.min(diagnostics.ess_bulk(post[k]))) for k in post.names)
    return ess, ess / post.attrs["sampling_seconds"]


def main(argv=None):
    args = argument_parser(__doc__, NAME, seed=14).parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    draws, warmup = (300, 200) if args.quick else (4000, 1000)
    df = gr.datasets.pilots()
    print(gr.datasets.describe("pilots").splitlines()[0])
    X = np.zeros((len(df), 0))
    groups = df[["treatment", "airport"]]
    factors = [gr.Factor("treatment"), gr.Factor("airport")]

    section("Posterior: y ~ 1 + (1 | treatment) + (1 | airport)")
    post = gr.CrossedRegression(factors).sample(X, df["y"], groups, chains=4, draws=draws, warmup=warmup,
                                                seed=args.seed, progress=False)
    print(post.summary(["mu", "tau2_treatment", "tau2_airport", "sigma2"]))
    print(post.prior)
    print("\nairport effects (deviations from the mean success rate):")
    print(post.summary("b_airport"))

    section("Mixing: plain block Gibbs vs blocked vs asis (the default; same seed, same draws)")
    for sampler in ("plain", "blocked", "asis"):
        p = gr.CrossedRegression(factors, sampler=sampler).sample(X, df["y"], groups, chains=4, draws=draws,
                                                                   warmup=warmup, seed=args.seed, progress=False)
        ess, rate = min_ess_per_s(p)
        print(f"  {sampler:>7}: min ESS {ess:8.1f}  min-ESS/s {rate:10.1f}  "
              f"ESS(mu) {float(diagnostics.ess_bulk(p['mu'])[0]):8.1f}")

    section("Prediction: a seen cell, a new airport, a new treatment")
    pred = post.predict(np.zeros((3, 0)), groups={"treatment": [1, 1, "new"], "airport": [3, "new", 3]}, seed=1)
    for label, m, lo, hi in zip(["treatment 1 at airport 3", "treatment 1 at a new airport",
                                 "a new treatment at airport 3"], pred.line_mean, pred.line_lower, pred.line_upper):
        print(f"  {label:<30} mean success rate {m:6.3f}  95% interval [{lo:6.3f}, {hi:6.3f}]")

    figs = gr.plot_forest_factors(post)
    for fig, name in zip(figs, ["forest_treatment.png", "forest_airport.png"]):
        save(fig, out, name, args.dpi)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name in ("tau2_treatment", "tau2_airport", "sigma2"):
        x = np.sqrt(post[name].ravel())
        ax.hist(x, bins=60, range=(0, np.quantile(x, 0.99)), histtype="step", density=True, label=f"sqrt({name})")
    ax.set_xlabel("standard deviation (success-rate units)")
    ax.set_title("Pilots: variance components")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out, "variance_components.png", args.dpi)


if __name__ == "__main__":
    main()
