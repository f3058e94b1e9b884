"""Flat Bayesian linear regression on synthetic data: closed form vs Gibbs vs the truth.

Simulates y = X beta + N(0, sigma^2) with known beta and sigma^2, then

1. solves the conjugate Normal-Inverse-Gamma posterior in closed form (summary,
   95% credible intervals, log evidence);
2. samples the semi-conjugate model by Gibbs (several chains in parallel);
3. tabulates both against the true values and overlays the exact Student-t
   marginals on the Gibbs densities;
4. draws trace, autocorrelation and density plots, the predictive band along one
   predictor, and a posterior predictive check (replicated densities and test
   statistics).

    python examples/flat_synthetic.py --out figures/flat_synthetic
    python examples/flat_synthetic.py --quick        # a few seconds
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats as sps  # noqa: E402

import gibbsreg as gr  # noqa: E402
from gibbsreg import plots  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import argument_parser, save, section  # noqa: E402

NAME = Path(__file__).stem


def parse_args(argv=None):
    ap = argument_parser(__doc__, NAME, seed=2024, quick_help="small sizes and few draws (runs in a few seconds)")
    return ap.parse_args(argv)


def comparison_table(names, truth_beta, truth_sigma2, fit, post) -> str:
    """Truth, exact NIG posterior and Gibbs posterior side by side, with 95% interval coverage."""
    ci = fit.credible_interval(0.95)
    si = fit.sigma2_interval(0.95)
    b = post["beta"].reshape(-1, len(names))
    s = post["sigma2"].reshape(-1)
    g_lo, g_hi = np.quantile(b, [0.025, 0.975], axis=0)
    s_lo, s_hi = np.quantile(s, [0.025, 0.975])
    rows = [(f"beta[{n}]", truth_beta[k], fit.mean[k], ci[k, 0], ci[k, 1], b[:, k].mean(), g_lo[k], g_hi[k])
            for k, n in enumerate(names)]
    rows.append(("sigma2", truth_sigma2, fit.sigma2_mean, si[0], si[1], s.mean(), s_lo, s_hi))
    head = f"{'':16}{'truth':>9}  {'NIG mean':>9} {'NIG 95% interval':>20}  {'Gibbs mean':>10} {'Gibbs 95% interval':>20}  covers"
    lines = [head]
    for label, t, m1, l1, h1, m2, l2, h2 in rows:
        cover = ("yes" if l1 <= t <= h1 else "NO") + "/" + ("yes" if l2 <= t <= h2 else "NO")
        lines.append(f"{label:16}{t:9.4f}  {m1:9.4f} [{l1:8.4f}, {h1:8.4f}]  {m2:10.4f} [{l2:8.4f}, {h2:8.4f}]  {cover}")
    lines.append("  covers: is the truth inside the 95% interval (closed form / Gibbs)?")
    return "\n".join(lines)


def exact_vs_gibbs_figure(fit, post, truth_beta, truth_sigma2):
    """Gibbs histograms with the exact Student-t (beta) and inverse-gamma (sigma^2) marginals on top."""
    names = list(post.coords["coef"])
    k_all = len(names) + 1
    ncols = 3
    nrows = int(np.ceil(k_all / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.5 * nrows + 0.6), layout="constrained",
                             squeeze=False)
    axes = axes.ravel()
    scale = np.sqrt(np.diag(fit.scale))
    for k, name in enumerate(names):
        a = axes[k]
        x = post["beta"][..., k].ravel()
        a.hist(x, bins=50, density=True, color="C0", alpha=0.45, label="Gibbs draws (semi-conjugate)")
        grid = np.linspace(*np.quantile(x, [0.0005, 0.9995]), 300)
        a.plot(grid, sps.t.pdf(grid, fit.dof, loc=fit.location[k], scale=scale[k]), color="C3", lw=1.5,
               label="exact NIG marginal (Student-t)")
        a.axvline(truth_beta[k], color="black", ls="--", lw=1.2, label="true value")
        a.set_title(f"beta[{name}]", fontsize=9)
        a.set_yticks([])
    a = axes[len(names)]
    x = post["sigma2"].ravel()
    a.hist(x, bins=50, density=True, color="C0", alpha=0.45)
    grid = np.linspace(*np.quantile(x, [0.0005, 0.9995]), 300)
    a.plot(grid, sps.invgamma.pdf(grid, fit.a_n, scale=fit.b_n), color="C3", lw=1.5)
    a.axvline(truth_sigma2, color="black", ls="--", lw=1.2)
    a.set_title("sigma2 (exact: inverse-gamma)", fontsize=9)
    a.set_yticks([])
    for a in axes[k_all:]:
        fig.delaxes(a)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Closed-form NIG posterior vs Gibbs draws (the two priors differ slightly; "
                 "with this much data both agree)", fontsize=10)
    return fig


def main(argv=None) -> None:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    n, p, sigma = (400, 5, 1.5) if args.quick else (2000, 5, 1.5)
    chains, draws, warmup = (4, 500, 200) if args.quick else (4, 2000, 1000)

    section(f"Synthetic data: n = {n}, p = {p} (intercept + {p - 1} standard-normal predictors), sigma = {sigma}")
    data = gr.datasets.synthetic_regression(n=n, p=p, sigma=sigma, seed=args.seed)
    X, y = data.X, data.y
    truth_beta, truth_sigma2 = data.truth["beta"], data.truth["sigma2"]
    print("true beta   :", np.array2string(truth_beta, precision=4))
    print("true sigma^2:", truth_sigma2)

    section("1. Closed form: conjugate Normal-Inverse-Gamma posterior (default prior scaled to the data)")
    fit = gr.fit_conjugate(X, y)
    print(fit.summary())
    print(fit.prior)
    ci = fit.credible_interval(0.95)
    print("\n95% credible intervals (Student-t marginals):")
    for k, name in enumerate(fit.names):
        print(f"  beta[{name:9}] [{ci[k, 0]:8.4f}, {ci[k, 1]:8.4f}]")
    si = fit.sigma2_interval(0.95)
    print(f"  sigma2          [{si[0]:8.4f}, {si[1]:8.4f}]")
    print(f"log evidence log p(y) = {fit.log_evidence:.3f}")
    # the evidence compares priors: a prior that is far too narrow on the slopes pays for it
    narrow = gr.fit_conjugate(X, y, gr.NormalInverseGamma(scale=np.r_[10.0, np.full(p - 1, 0.01)]))
    wide = gr.fit_conjugate(X, y, gr.NormalInverseGamma(scale=np.r_[10.0, np.full(p - 1, 1000.0)]))
    print(f"  for comparison: slopes ~ N(0, sigma^2 0.01^2) gives {narrow.log_evidence:.3f}; "
          f"N(0, sigma^2 1000^2) gives {wide.log_evidence:.3f} (Occam penalty of a needlessly vague prior)")

    section(f"2. Gibbs: semi-conjugate prior, {chains} chains x {draws} draws after {warmup} warm-up")
    model = gr.LinearRegression(prior=gr.SemiConjugate())
    post = model.sample(X, y, chains=chains, draws=draws, warmup=warmup, seed=args.seed, progress=False)
    print(post.summary())
    print(f"sampling time: {post.attrs['warmup_seconds'] + post.attrs['sampling_seconds']:.3f} s")

    section("3. Truth vs closed form vs Gibbs")
    print(comparison_table(fit.names, truth_beta, truth_sigma2, fit, post))

    section("4. Figures")
    names = list(post.coords["coef"])
    save(exact_vs_gibbs_figure(fit, post, truth_beta, truth_sigma2), out, "closed_form_vs_gibbs.png", args.dpi)
    save(plots.plot_trace(post), out, "trace.png", args.dpi)
    save(plots.plot_autocorr(post, max_lag=30), out, "autocorrelation.png", args.dpi)
    fig = plots.plot_density(post)
    # the density panels follow the order beta[0..p-1], sigma2: mark the true values
    for a, t in zip(fig.axes, list(truth_beta) + [truth_sigma2]):
        a.axvline(t, color="black", ls="--", lw=1.1)
    fig.axes[0].plot([], [], color="black", ls="--", lw=1.1, label="true value")
    fig.legends[0].remove()
    h, lab = fig.axes[0].get_legend_handles_labels()
    fig.legend(h, lab, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    save(fig, out, "density.png", args.dpi)

    # predictive uncertainty along the predictor with the largest effect
    k_big = int(np.argmax(np.abs(truth_beta[1:])))
    save(plots.plot_predictive(post, X, y, predictor=k_big, seed=args.seed), out,
         f"predictive_band_{names[k_big + 1]}.png", args.dpi)

    section("5. Posterior predictive check")
    check = gr.ppc(post, X, y, statistics=("mean", "sd", "min", "max", "skew", "kurtosis"),
                   draws=400 if args.quick else 1000, seed=args.seed)
    print(check.summary())
    print("  (the data come from the model, so no statistic should be extreme)")
    save(plots.plot_ppc(check, n_rep=60, seed=args.seed), out, "ppc_density.png", args.dpi)
    save(plots.plot_ppc_stats(check), out, "ppc_statistics.png", args.dpi)
    print(f"\ndone in {time.perf_counter() - t_start:.1f} s; figures in {out}/")


if __name__ == "__main__":
    main()
