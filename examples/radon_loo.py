"""Minnesota radon: four models ranked by leave-one-out cross-validation (PSIS-LOO, ArviZ).

y = log radon of 919 houses in 85 counties, x = floor_measure (0 = basement, 1 = first floor):

    complete pooling:             y_i = a + b floor_i + eps_i                      (one regression)
    no pooling:                   y_i = a_county[i] + b floor_i + eps_i            (85 county indicators, flat model)
    varying intercept:            a_j ~ N(mu, tau^2), b pooled                      (hierarchical)
    varying intercept and slope:  (a_j, b_j) ~ N(mu, diag(tau^2))                   (hierarchical)

Each posterior is exported with ``post.to_arviz()`` (posterior, pointwise log_likelihood,
posterior_predictive, observed_data, constant_data, prior) and the four are ranked by
``gr.compare``, i.e. ``az.compare`` plus the Pareto k diagnostics.  The script saves the
comparison plot, the Pareto k values of each model, and a posterior predictive check of the
best one, and compares the hierarchical models by leave-one-county-out too (``by="group"``).

    python examples/radon_loo.py --out figures/radon_loo
    python examples/radon_loo.py --quick
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import arviz as az  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gibbsreg as gr  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import argument_parser, save, section  # noqa: E402

NAME = Path(__file__).stem


def parse_args(argv=None):
    ap = argument_parser(__doc__, NAME, seed=15, quick_help="few draws (runs in a few seconds)")
    return ap.parse_args(argv)


def county_indicators(county: np.ndarray):
    """The no-pooling design: one 0/1 column per county (no intercept), built with NumPy."""
    labels, codes = np.unique(county, return_inverse=True)
    D = np.zeros((county.size, labels.size))
    D[np.arange(county.size), codes] = 1.0
    return D, [f"county[{c}]" for c in labels]


def main(argv=None) -> None:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    chains, draws, warmup = (2, 300, 200) if args.quick else (4, 2000, 1000)
    run = dict(chains=chains, draws=draws, warmup=warmup, seed=args.seed, progress=False)

    section("Minnesota radon (gibbsreg.datasets.radon())")
    df = gr.datasets.radon()
    y = df["log_radon"].to_numpy()
    floor = df[["floor_measure"]].to_numpy()
    county = df["county"].to_numpy()
    print(f"{len(y)} houses in {len(np.unique(county))} counties; {chains} chains x {draws} draws per model")

    section("1. Fit the four models")
    D, dummy_names = county_indicators(county)
    X_nopool = np.column_stack([D, floor])
    fits = {}
    fits["complete pooling"] = gr.LinearRegression().sample(floor, y, **run)
    fits["no pooling"] = gr.LinearRegression(intercept=False).sample(X_nopool, y, **run)
    fits["varying intercept"] = gr.HierarchicalRegression(varying="intercept").sample(floor, y, county, **run)
    fits["varying intercept and slope"] = gr.HierarchicalRegression().sample(floor, y, county, **run)
    for name, post in fits.items():
        print(f"  {name:28s} {post.attrs['model']}, {post.attrs['p']} columns")

    section("2. Ranked by PSIS-LOO: gr.compare (az.compare plus Pareto k diagnostics)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ArviZ's Pareto k warning: the table reports k itself
        table = gr.compare(fits)
    cols = ["rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "pareto_k_max", "n_high_k"]
    with_pd = table[cols].copy()
    import pandas as pd

    with pd.option_context("display.width", 140, "display.precision", 2):
        print(with_pd.to_string())
    best = table.index[0]
    print(f"\nBest by LOO: {best}.  elpd_diff is the loss in expected log predictive density against the best")
    print("model, dse its standard error; a difference of a few dse is a real difference in predictive accuracy.")
    print("n_high_k counts houses whose Pareto k exceeds ArviZ's threshold: their PSIS estimate is unreliable")
    print("(under no pooling: houses in counties of one to a few houses, whose removal leaves their county's")
    print("intercept to little more than the prior, so the full posterior is a poor proposal for the LOO one).")

    fig, ax = plt.subplots(figsize=(7.0, 3.2), layout="constrained")
    az.plot_compare(table, ax=ax, title=False, textsize=8, plot_ic_diff=True, legend=True)
    ax.set_title("Radon models ranked by PSIS-LOO (elpd_loo, higher is better)", fontsize=9)
    save(fig, out, "loo_compare.png", args.dpi)

    section("3. Pareto k per house, and a posterior predictive check of the best model")
    fig, axes = plt.subplots(2, 2, figsize=(8.0, 5.0), layout="constrained", sharey=True)
    for ax, (name, elpd) in zip(axes.ravel(), table.attrs["elpd"].items()):
        k = np.asarray(elpd["pareto_k"])
        ax.plot(np.arange(k.size), k, ".", ms=3, alpha=0.6)
        thresh = float(elpd.get("good_k", 0.7))
        ax.axhline(thresh, color="C3", lw=0.8, ls="--")
        ax.set_title(f"{name}: {int((k > thresh).sum())} houses with k > {thresh:.2f}", fontsize=8)
        ax.set_xlabel("house", fontsize=8)
    axes[0, 0].set_ylabel("Pareto k")
    axes[1, 0].set_ylabel("Pareto k")
    save(fig, out, "pareto_k.png", args.dpi)
    idata = fits[best].to_arviz(seed=args.seed)
    print(f"{best}: InferenceData groups {list(idata.groups())}")
    fig, ax = plt.subplots(figsize=(6.0, 3.4), layout="constrained")
    az.plot_ppc(idata, ax=ax, num_pp_samples=100, random_seed=args.seed)
    ax.set_title(f"Posterior predictive check: {best}", fontsize=9)
    save(fig, out, "ppc_best.png", args.dpi)

    section("4. Leave one county out (the hierarchical models)")
    hier = {k: fits[k] for k in ("varying intercept", "varying intercept and slope")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        logo = gr.compare(hier, by="group")
        cond_k = {k: float(np.max(gr.loo(v, by="group_conditional")["pareto_k"])) for k, v in hier.items()}
    with pd.option_context("display.width", 140, "display.precision", 2):
        print(logo[["rank", "elpd_loo", "se", "elpd_diff", "dse", "pareto_k_max", "n_high_k"]].to_string())
    print("Leaving out a whole county asks how well each model predicts a county it has not seen.  by='group'")
    print("uses each county's likelihood with its own coefficients integrated out, p(y_county | mu, tau, alpha,")
    print("sigma), so the importance ratios depend on the hyperparameters only and PSIS stays reliable; the sum")
    print("of the houses' terms given the county's coefficients (by='group_conditional') has max Pareto k "
          + ", ".join(f"{v:.2f} ({k})" for k, v in cond_k.items()) + ".")
    print(f"\nDone in {time.perf_counter() - t_start:.1f} s; figures in {out}")


if __name__ == "__main__":
    main()
