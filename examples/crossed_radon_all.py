"""All-state radon: county x floor crossed random effects on 12,573 houses (Gelman & Hill 2007).

y = log radon; a county-level predictor log_uppm (log soil uranium); two crossed grouping
factors: the county (386 levels) and the floor of the measurement (basement, first, second,
third, or missing):

    y_i = b_county[c(i)] + b_floor[f(i)] + alpha * log_uppm_i + eps_i,
    b_county ~ N(mu, tau2_county),  b_floor ~ N(0, tau2_floor)

i.e. lme4's log_radon ~ log_uppm + (1 | county) + (1 | floor).

Caveats, handled here and said again in the output:
* floor_measure code 9 means "missing" (284 houses).  It is never fitted as the number 9:
  the loader returns NaN and this script gives those houses their own floor level "missing",
  so they keep their county information and their floor effect is estimated separately.
* "county" is a county NAME: same-named counties of different states are merged into one
  group (386 indices for 468 real state-county pairs), so read county effects with care.

The script prints the posterior, compares plain block Gibbs, the blocked sampler and the default
"asis" sampler (blocked + interweaving of the factor scales)
(min ESS per second), draws a forest plot per factor and predicts houses in a seen and a new
county.

    python examples/crossed_radon_all.py --out figures/crossed_radon_all
    python examples/crossed_radon_all.py --quick
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
FLOORS = {0.0: "basement", 1.0: "first", 2.0: "second", 3.0: "third"}


def main(argv=None):
    args = argument_parser(__doc__, NAME, seed=15).parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    draws, warmup = (200, 100) if args.quick else (2000, 1000)
    df = gr.datasets.radon_all()
    missing = df["floor_measure"].isna()
    floor = np.where(missing, "missing", df["floor_measure"].map(FLOORS).fillna("missing"))
    print(f"{len(df)} houses, {df['county'].nunique()} county names (same-named counties of different states "
          "are merged)")
    print(f"floor_measure code 9 = missing for {int(missing.sum())} houses: kept, as their own floor level "
          "'missing' (never the number 9)")
    groups = {"county": df["county"].to_numpy(), "floor": floor}
    X = df[["log_uppm"]]
    factors = [gr.Factor("county"), gr.Factor("floor")]

    section("Posterior: log_radon ~ log_uppm + (1 | county) + (1 | floor)")
    post = gr.CrossedRegression(factors).sample(X, df["log_radon"], groups, chains=4, draws=draws, warmup=warmup,
                                                seed=args.seed, progress=False)
    print(post.summary(["mu", "alpha", "tau2_county", "tau2_floor", "sigma2", "b_floor"]))
    print(post.prior)
    print(f"cells (non-empty county x floor combinations): {post.attrs['cells']}")

    section("Mixing: plain block Gibbs vs blocked vs asis (the default)")
    for sampler in ("plain", "blocked", "asis"):
        p = gr.CrossedRegression(factors, sampler=sampler).sample(X, df["log_radon"], groups, chains=4, draws=draws,
                                                                   warmup=warmup, seed=args.seed, progress=False)
        ess = {k: float(np.min(diagnostics.ess_bulk(p[k]))) for k in p.names}
        worst = min(ess, key=ess.get)
        t = p.attrs["sampling_seconds"]
        print(f"  {sampler:>7}: {p.ndraws * p.nchains / t:9.0f} draws/s  min ESS {ess[worst]:8.1f} ({worst})  "
              f"min-ESS/s {ess[worst] / t:9.1f}  ESS(mu) {ess['mu']:8.1f}")

    section("Prediction: a basement in county 1, a first floor in county 1, a basement in a new county")
    u = float(df.loc[df["county"] == 1, "log_uppm"].iloc[0])
    Xn = np.array([[u], [u], [u]])
    pred = post.predict(Xn, groups={"county": [1, 1, "new county"], "floor": ["basement", "first", "basement"]},
                        seed=2)
    for label, m, lo, hi in zip(["county 1, basement", "county 1, first floor", "new county, basement"],
                                pred.mean, pred.lower, pred.upper):
        print(f"  {label:<24} predicted log radon {m:6.3f}  95% interval [{lo:6.3f}, {hi:6.3f}]")

    figs = gr.plot_forest_factors(post, sort=True)
    for fig, name in zip(figs, ["forest_county.png", "forest_floor.png"]):
        save(fig, out, name, args.dpi)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    b = post["b_county"][..., 0].mean(axis=(0, 1))
    n = np.bincount(np.unique(groups["county"], return_inverse=True)[1])
    ax.scatter(n, b, s=8, alpha=0.6)
    ax.axhline(float(post["mu"].mean()), color="C3", ls="--", lw=1, label="posterior mean of mu")
    ax.set_xscale("log")
    ax.set_xlabel("houses in the county (log scale)")
    ax.set_ylabel("posterior mean of b_county")
    ax.set_title("All-state radon: county intercepts shrink towards mu when counties are small")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out, "county_shrinkage.png", args.dpi)


if __name__ == "__main__":
    main()
