"""Minnesota radon: partial pooling of county intercepts (Gelman & Hill 2007, ch. 12).

y = log radon of 919 houses in 85 counties, a house-level predictor floor_measure
(0 = basement, 1 = first floor).  The models are written as lme4-style formulas
(gibbsreg.model; the matrix API gives the same draws, section 1):

    log_radon ~ floor_measure + (1 | county)
        y_ij = beta_j + alpha * floor_ij + eps_ij,  beta_j ~ N(mu, tau^2)
    log_radon ~ floor_measure + (1 + floor_measure || county)
        y_ij = beta_j0 + beta_j1 * floor_ij + eps_ij,  beta_j ~ N(mu, diag(tau^2))
    log_radon ~ floor_measure + (1 + floor_measure | county)
        the same with a correlated Sigma_beta ~ InvWishart (the default for '|')

The script prints the posterior of mu, tau2, sigma2 and alpha, compares no pooling,
complete pooling and partial pooling county by county (shrinkage ordered by county
size), draws a forest plot of the county intercepts, checks the fit with posterior
predictive statistics, predicts houses in an existing and in a new county, and compares
the effective sample size of tau2 under the centred and the default (ASIS) Gibbs sampler.

    python examples/hierarchical_radon.py --out figures/hierarchical_radon
    python examples/hierarchical_radon.py --quick
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import gibbsreg as gr  # noqa: E402
from gibbsreg import diagnostics, plots  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import argument_parser, save, section  # noqa: E402

NAME = Path(__file__).stem
NEW = "new county"


def parse_args(argv=None):
    ap = argument_parser(__doc__, NAME, seed=12, quick_help="few draws (runs in a few seconds)")
    return ap.parse_args(argv)


def shrinkage_table(shr, k: int, picks, ratio: float) -> str:
    """No / partial / complete pooling for some counties, with the classical weight n_j / (n_j + sigma^2/tau^2)."""
    lines = [f"{'county':>7} {'houses':>6}  {'no pooling':>10}  {'partial pooling':>15}  {'complete pooling':>16}  "
             f"{'weight on own data':>18}"]
    for j in picks:
        nop, par = shr.no_pooling[j, k], shr.partial_pooling[j, k]
        nop_s = f"{nop:10.3f}" if np.isfinite(nop) else f"{'n/a':>10}"
        weight = shr.sizes[j] / (shr.sizes[j] + ratio)
        lines.append(f"{shr.labels[j]:>7} {shr.sizes[j]:6d}  {nop_s}  {par:15.3f}  {shr.complete_pooling[k]:16.3f}  "
                     f"{weight:18.2f}")
    lines.append(f"  weight on own data: n_j / (n_j + sigma^2/tau^2) with sigma^2/tau^2 = {ratio:.2f} (posterior means),")
    lines.append("  the share of a county's estimate that comes from its own houses in the normal-normal model")
    return "\n".join(lines)


def predictive_figure(pred, rows, df, county_of, group_col):
    """Predictive 95% / 50% intervals of log radon per (county, floor), with the observed houses."""
    fig, ax = plt.subplots(figsize=(7.4, 3.9), layout="constrained")
    y = pred.y.reshape(-1, len(rows))
    q = np.quantile(y, [0.025, 0.25, 0.5, 0.75, 0.975], axis=0)
    labels = []
    for i, (county, floor) in enumerate(rows):
        color = "C0" if floor == 0 else "C1"
        ax.plot([i, i], [q[0, i], q[4, i]], color=color, lw=1.2)
        ax.plot([i, i], [q[1, i], q[3, i]], color=color, lw=5, alpha=0.7)
        ax.plot(i, q[2, i], "o", color="white", mec=color, ms=5)
        if county != NEW:
            obs = df.loc[(df[group_col] == county) & (df["floor_measure"] == floor), "log_radon"].to_numpy()
            if obs.size:
                jitter = np.linspace(-0.12, 0.12, obs.size) if obs.size > 1 else np.zeros(1)
                ax.plot(i + 0.28 + jitter * 0.5, obs, ".", color="0.3", ms=3, alpha=0.6)
        labels.append(f"{county_of(county)}\n{'basement' if floor == 0 else '1st floor'}")
    ax.set_xticks(np.arange(len(rows)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("log radon (log pCi/L)")
    ax.plot([], [], color="C0", lw=5, alpha=0.7, label="basement: 50% (thick) and 95% predictive interval")
    ax.plot([], [], color="C1", lw=5, alpha=0.7, label="first floor")
    ax.plot([], [], ".", color="0.3", label="observed houses of that county and floor")
    ax.legend(fontsize=7, frameon=False, loc="lower left", ncol=1)
    ax.set_title("Posterior predictive of a new house: small, medium and large counties, and a new county",
                 fontsize=9)
    ax.grid(axis="y", lw=0.3, alpha=0.6)
    return fig


def main(argv=None) -> None:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    chains, draws, warmup = (4, 500, 300) if args.quick else (4, 3000, 1000)

    section("Minnesota radon (gibbsreg.datasets.radon())")
    df = gr.datasets.radon()
    sizes = df["county"].value_counts()
    print(f"{len(df)} houses in {df['county'].nunique()} counties; houses per county: min {sizes.min()}, "
          f"median {int(sizes.median())}, max {sizes.max()}; {int((sizes < 5).sum())} counties have fewer than 5.")
    print(f"{int((df['floor_measure'] == 1).sum())} measurements on the first floor, the rest in basements.")

    section(f"1. Varying intercept by county: {chains} chains x {draws} draws ({warmup} warm-up), ASIS sampler")
    formula = "log_radon ~ floor_measure + (1 | county)"
    model = gr.model(formula, data=df)
    print(f"gr.model({formula!r}, data=df): {type(model.model).__name__}, coefficients {model.design.names}")
    post = model.sample(chains=chains, draws=draws, warmup=warmup, seed=args.seed, progress=False)
    # the design the formula built, for the functions that take matrices (shrinkage, ppc, plots)
    X, y, groups = model.X, model.y, model.groups
    # the same model in the matrix API gives the same draws
    matrix_post = gr.HierarchicalRegression(varying="intercept").sample(
        df[["floor_measure"]], df["log_radon"], df["county"], chains=chains, draws=draws, warmup=warmup,
        seed=args.seed, progress=False)
    same = all(np.array_equal(post[k], matrix_post[k]) for k in post)
    print("matrix API, HierarchicalRegression(varying='intercept').sample(df[['floor_measure']], "
          f"df['log_radon'], df['county']): identical draws: {same}")
    print(post.summary(["mu", "tau2", "sigma2", "alpha"]))
    print(post.prior)
    tau = np.sqrt(post["tau2"]).ravel()
    sig = np.sqrt(post["sigma2"]).ravel()
    ratio = float(post["sigma2"].mean() / post["tau2"].mean())
    print(f"between-county sd tau = {tau.mean():.3f}, within-county sd sigma = {sig.mean():.3f}: "
          f"sigma^2/tau^2 = {ratio:.1f}, so a county")
    print(f"with {ratio:.1f} houses gets about half of its intercept from its own data and half from the state mean")
    print(f"floor effect alpha = {post['alpha'].mean():.3f}: first-floor readings are about "
          f"{100 * (1 - np.exp(post['alpha'].mean())):.0f}% lower than basement readings")
    beta_sum = post.summary("beta")
    largest = sizes.index[:3].tolist()
    smallest = sizes.sort_values(kind="stable").index[:3].tolist()
    print("\nCounty intercepts beta_j (three largest and three smallest counties):")
    lines = str(beta_sum).splitlines()
    print(lines[1])
    for c in largest + smallest:
        row = [ln for ln in lines[2:] if ln.startswith(f"beta[{c},")]
        print(row[0] + f"   (n = {sizes[c]})")

    section("2. Shrinkage: no pooling vs partial pooling vs complete pooling")
    shr = gr.shrinkage(post, X, y, groups)
    order = np.argsort(shr.sizes, kind="stable")
    picks = list(order[:4]) + list(order[len(order) // 2 - 1: len(order) // 2 + 1]) + list(order[-3:])
    print(shrinkage_table(shr, 0, picks, ratio))
    print("Small counties are pulled most of the way to the state-wide mean; large ones keep their own data.")
    fig = plots.plot_shrinkage(shr, coef="intercept", x="size", seed=args.seed)
    fig.axes[0].set_xlabel("houses in the county (log scale, jittered)")
    fig.axes[0].set_ylabel("county intercept (log radon, basement)")
    save(fig, out, "shrinkage_intercepts.png", args.dpi)
    fig = plots.plot_forest(post, var_names="beta", sort=True, max_labels=90)
    fig.set_figwidth(6.4)  # one panel: widen so the figure title fits
    fig.axes[0].legend(fontsize=7, loc="upper right")  # rows are sorted ascending: the upper right is empty
    fig.axes[0].set_xlabel("county intercept beta_j (log pCi/L, basement)", fontsize=8)
    save(fig, out, "forest_county_intercepts.png", args.dpi)

    section("3. Varying intercept and varying floor slope by county")
    # '||': independent coefficients, a half-Cauchy tau per coefficient (as HierarchicalRegression())
    model_vs = gr.model("log_radon ~ floor_measure + (1 + floor_measure || county)", data=df)
    post_vs = model_vs.sample(chains=chains, draws=draws, warmup=warmup, seed=args.seed, progress=False)
    print(post_vs.summary(["mu", "tau2", "sigma2"]))
    print("tau2[floor_measure] is small and uncertain: the floor effect varies little between counties, and")
    print("most counties have too few first-floor readings to say more (see the shrinkage of the slopes).")
    # '|': correlated coefficients, Sigma_beta ~ IW(q + 1, diag(s^2)) by default (docs/formulas.md)
    post_cor = gr.model("log_radon ~ floor_measure + (1 + floor_measure | county)", data=df).sample(
        chains=chains, draws=draws, warmup=warmup, seed=args.seed, progress=False)
    S = post_cor["Sigma"]
    rho = S[..., 0, 1] / np.sqrt(S[..., 0, 0] * S[..., 1, 1])
    print(f"\nWith (1 + floor_measure | county) the intercepts and slopes are correlated: corr = {rho.mean():.2f} "
          f"(95% interval [{np.quantile(rho, 0.025):.2f}, {np.quantile(rho, 0.975):.2f}]).")
    print(f"Its inverse-Wishart default keeps tau2[floor_measure] away from 0 (posterior mean "
          f"{S[..., 1, 1].mean():.3f} against {post_vs['tau2'][..., 1].mean():.3f} under ||): with weak data "
          "the IW prior matters;")
    print("prefer || (or an explicit tau prior) when a varying slope is barely identified.")
    save(plots.plot_shrinkage(gr.shrinkage(post_vs, X, y, groups), x="size", seed=args.seed), out,
         "shrinkage_varying_slope.png", args.dpi)

    section("4. Posterior predictive check (varying-intercept model)")
    codes = np.unique(groups.to_numpy(), return_inverse=True)[1]
    counts = np.bincount(codes)

    def county_mean_sd(v):
        return float(np.std(np.bincount(codes, weights=v) / counts, ddof=1))

    def county_max_mean(v):
        return float(np.max(np.bincount(codes, weights=v) / counts))

    stats = ["mean", "sd", "min", "max", "skew", ("sd of county means", county_mean_sd),
             ("max county mean", county_max_mean)]
    check = gr.ppc(post, X, y, groups=groups, statistics=stats, draws=400 if args.quick else 2000, seed=args.seed)
    print(check.summary())
    print("The between-county spread of means is reproduced; the lowest readings (three houses with a")
    print("recorded radon level of 0, logged as log(0.1) = -2.3) are more extreme than the normal model expects.")
    save(plots.plot_ppc(check, n_rep=80, seed=args.seed), out, "ppc_density.png", args.dpi)
    save(plots.plot_ppc_stats(check, statistics=["sd", "min", "skew", "sd of county means"]), out,
         "ppc_statistics.png", args.dpi)

    section("5. Prediction for a new house: existing counties and a new county")
    big, mid, small = sizes.index[0], sizes.index[len(sizes) // 2], smallest[0]
    rows = [(c, f) for c in (small, mid, big, NEW) for f in (0, 1)]
    # new rows as a data frame, encoded by the formula; a county label not seen in fitting is a new county
    newdata = pd.DataFrame({"floor_measure": [f for _, f in rows], "county": [c for c, _ in rows]})
    pred = post.predict(newdata=newdata, seed=args.seed)
    lo, hi = pred.lower, pred.upper
    print(f"{'county':>10} {'houses':>6} {'floor':>9}  {'predictive mean':>15}  {'95% interval':>18}")
    for i, (c, f) in enumerate(rows):
        n_c = sizes[c] if c != NEW else 0
        print(f"{str(c):>10} {n_c:6d} {'basement' if f == 0 else '1st':>9}  {pred.mean[i]:15.3f}  "
              f"[{lo[i]:7.3f}, {hi[i]:7.3f}]")
    width = hi - lo
    print(f"A new county draws its intercept from N(mu, tau^2): its 95% interval ({width[-2]:.2f} wide in a basement)"
          " is wider than that of")
    print(f"the largest county ({width[4]:.2f}) and about as wide as that of a one-house county ({width[0]:.2f}); "
          "the house-to-house noise sigma dominates all of them.")

    def county_of(c):
        return "new county" if c == NEW else f"county {c}\n(n = {sizes[c]})"

    save(predictive_figure(pred, rows, df, county_of, "county"), out, "predictive_counties.png", args.dpi)
    save(plots.plot_predictive(post, X, y, "floor_measure", groups=groups, group=big, seed=args.seed), out,
         f"predictive_band_county_{big}.png", args.dpi)

    section("6. Centred vs default (ASIS) Gibbs sampler: effective sample size of tau2")
    ess_draws = draws
    header = (f"{'model':<30}{'sampler':<10}{'tau2 param':<22}{'ESS bulk':>9}{'ESS tail':>9}{'R-hat':>7}"
              f"{'seconds':>9}{'ESS/s':>9}")
    lines = [header]
    for label, varying in (("varying intercept", "1"), ("varying intercept + slope", "1 + floor_measure")):
        for sampler in ("centered", "asis"):
            p = gr.model(f"log_radon ~ floor_measure + ({varying} || county)", data=df, sampler=sampler).sample(
                chains=chains, draws=ess_draws, warmup=warmup, seed=args.seed, progress=False, store_beta=False)
            secs = p.attrs["warmup_seconds"] + p.attrs["sampling_seconds"]
            for k, coef in enumerate(p.coords["coef"]):
                x = p["tau2"][..., k]
                eb, et, rh = diagnostics.ess_bulk(x), diagnostics.ess_tail(x), diagnostics.rhat(x)
                lines.append(f"{label:<30}{sampler:<10}{'tau2[' + coef + ']':<22}{eb:9.0f}{et:9.0f}{rh:7.3f}"
                             f"{secs:9.3f}{eb / max(secs, 1e-9):9.0f}")
    print(f"{chains} chains x {ess_draws} draws each, same seed:")
    print("\n".join(lines))
    print("ASIS interweaves a non-centred redraw of (mu, tau), which helps most where the county data are weak")
    print("relative to tau (here: the floor slopes).")
    print(f"\ndone in {time.perf_counter() - t_start:.1f} s; figures in {out}/")


if __name__ == "__main__":
    main()
