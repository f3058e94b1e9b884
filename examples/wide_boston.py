"""A wide design from real data: Boston Housing with every square and pairwise interaction (89 candidate
predictors) fitted on 100 tracts (p ~ n), under the horseshoe, against the default (almost flat) prior.

Boston Housing ships with gibbsreg (``gibbsreg.datasets.boston()``, 506 tracts, 12 predictors).  Expanding
the predictors to degree two (12 main effects, 11 squares, chas being 0/1, and 66 products; each column
standardised) gives p = 89 columns; a random 100 tracts are the training set, the other 406 are held out.
With p close to n the default prior lets every coefficient wander (least squares is nearly interpolating);
the horseshoe (``Horseshoe(p0=10)``: a guess of ten relevant columns sets the global scale) shrinks most of
them to zero and keeps a few.  Printed: the number of coefficients whose 95% interval excludes zero, the
shrinkage factors kappa_j (1 = shrunk to zero), the held-out root mean square error of both fits; saved: the
shrinkage profile (kappa_j against |E[beta_j]| s_j).

    python examples/wide_boston.py --out figures/wide_boston
    python examples/wide_boston.py --quick
"""

from __future__ import annotations

import sys
import time
from itertools import combinations
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import gibbsreg as gr  # noqa: E402
from gibbsreg.models.wide import Horseshoe, plot_shrinkage, shrinkage, shrinkage_summary  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import argument_parser, save, section  # noqa: E402

NAME = Path(__file__).stem
N_TRAIN = 100


def expanded_design():
    """(X (506, 89) standardised degree-two expansion, y = medv, column names)."""
    df = gr.datasets.boston(as_frame=True)
    y = df["medv"].to_numpy(float)
    base = [c for c in df.columns if c != "medv"]
    cols = {c: df[c].to_numpy(float) for c in base}
    z = {c: (v - v.mean()) / v.std() for c, v in cols.items()}
    feats = dict(z)
    feats.update({f"{c}^2": z[c] ** 2 for c in base if len(np.unique(cols[c])) > 2})  # chas is 0/1
    feats.update({f"{a}:{b}": z[a] * z[b] for a, b in combinations(base, 2)})
    names = list(feats)
    X = np.column_stack([feats[k] for k in names])
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y, names


def main(argv=None) -> int:
    args = argument_parser(__doc__, NAME, seed=506).parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    draws = 300 if args.quick else 2000
    X, y, names = expanded_design()
    rng = np.random.default_rng(args.seed)
    train = np.sort(rng.choice(len(y), N_TRAIN, replace=False))
    test = np.setdiff1d(np.arange(len(y)), train)
    section(f"Boston Housing, degree-two expansion: n = {train.size} training tracts, p = {X.shape[1]} columns")

    t0 = time.perf_counter()
    Xtrain = pd.DataFrame(X[train], columns=names)  # the column names label the coefficients
    hs = gr.LinearRegression(prior=Horseshoe(p0=10)).sample(
        Xtrain, y[train], chains=4, draws=draws, warmup=draws // 2, seed=args.seed, progress=False)
    print(f"horseshoe: {time.perf_counter() - t0:.1f} s ({hs.attrs['beta_draw']} beta draw)")
    print(shrinkage_summary(hs))
    beta = np.asarray(hs["beta"]).reshape(-1, X.shape[1] + 1)
    lo, hi = np.quantile(beta[:, 1:], [0.025, 0.975], axis=0)
    print(f"\ncoefficients whose 95% interval excludes zero: {int(((lo > 0) | (hi < 0)).sum())} of {X.shape[1]}")
    kappa = shrinkage(hs)
    print(f"shrinkage factors kappa_j: median {np.median(kappa):.3f}; {int((kappa > 0.9).sum())} above 0.9 "
          f"(shrunk to zero), {int((kappa < 0.5).sum())} below 0.5 (kept)")
    order = np.argsort(kappa)[:8]
    print("least shrunk: " + ", ".join(f"{names[j]} ({kappa[j]:.2f})" for j in order))

    flat = gr.LinearRegression().sample(X[train], y[train], chains=4, draws=draws, warmup=draws // 2,
                                        seed=args.seed, progress=False)
    section("held-out tracts: root mean square error of the posterior mean prediction")
    for label, post in (("horseshoe", hs), ("default prior", flat)):
        b = np.asarray(post["beta"]).reshape(-1, X.shape[1] + 1).mean(axis=0)
        rmse = float(np.sqrt(np.mean((y[test] - b[0] - X[test] @ b[1:]) ** 2)))
        print(f"  {label:14s} {rmse:6.2f} ($1000s; sd of medv {y[test].std():.2f})")

    fig = plot_shrinkage(hs)
    fig.axes[0].set_title(f"Boston, degree-two expansion: horseshoe shrinkage profile (n = {N_TRAIN}, "
                          f"p = {X.shape[1]})", fontsize=9)
    save(fig, out, "shrinkage_profile.png", args.dpi)


if __name__ == "__main__":
    main()
