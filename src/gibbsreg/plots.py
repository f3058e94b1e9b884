"""Plots for gibbsreg posteriors, posterior predictive checks and studies (matplotlib only).

Every function returns the matplotlib Figure, or the Axes when ``ax=`` is given
(accepted where one axis fits the plot); nothing calls ``plt.show()``.
matplotlib is imported inside the functions, so ``import gibbsreg`` does not
need it.

Choosing what to plot
---------------------
``var_names`` is a variable name or a list of names (default: every variable,
group-level ones -- mu, tau2, alpha, sigma2 -- before per-group ones such as
beta (J, q)).  ``coords`` maps a dimension name to the coordinates to keep:
a list of labels (``{"group": ["a", "b"], "coef": ["x1"]}``), a single label,
or a ``slice`` of positions (``{"group": slice(0, 50)}``).  Panel-per-scalar
plots show at most ``max_panels`` scalars (default 10) and say so in the figure
title when they cut.

Many chains
-----------
Line width and transparency shrink with the chain count.  Above ``max_chains``
(default 20) chains, :func:`plot_trace` replaces the trace column by per-chain
rank histograms drawn as a heat map (one row per chain; colour = bin count /
count expected under uniform ranks), which stays readable for 1,000 chains and
shows a stuck or drifting chain as a coloured row; ``kind="trace"`` instead
draws the traces of ``max_chains`` randomly chosen chains (listed in the title).

Units
-----
If ``post.attrs["units"]`` is a dict such as ``{"y": "kg", "x1": "cm"}``, axes
carry units: ``beta[x1]`` in kg/cm, the intercept and ``mu`` in kg, ``sigma2``
in kg^2 and so on.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "plot_trace",
    "plot_rank",
    "plot_autocorr",
    "plot_density",
    "plot_forest",
    "plot_ppc",
    "plot_ppc_stats",
    "plot_predictive",
    "plot_shrinkage",
    "plot_prior_sensitivity",
    "plot_convergence",
]

MAX_CHAINS = 20
_POSITIVE = {"sigma2", "tau2", "sigma", "tau", "lambda", "lam"}
_KDE_POINTS = 20_000
_GRID = 256


# ----------------------------------------------------------------------------
# helpers: matplotlib, styles, layout
# ----------------------------------------------------------------------------
def _plt():
    import matplotlib.pyplot as plt

    return plt


def _chain_style(n_chains: int) -> tuple[float, float]:
    """(line width, alpha) for per-chain lines: thinner and fainter as chains grow."""
    lw = float(np.clip(1.2 / n_chains**0.25, 0.3, 1.0))
    alpha = float(np.clip(1.6 / math.sqrt(n_chains), 0.05, 0.85))
    return lw, alpha


def _chain_colors(n: int):
    import matplotlib as mpl

    if n <= 10:
        cmap = mpl.colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    cmap = mpl.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 0.9, n)]


def _grid_figure(n: int, ncols: int | None = None, panel=(3.4, 2.5), sharey=False):
    """A constrained-layout figure with exactly n axes in a grid."""
    plt = _plt()
    ncols = ncols or min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows + 0.4),
                             layout="constrained", squeeze=False, sharey=sharey)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        fig.delaxes(ax)
    return fig, flat[:n]


def _title(fig, title: str, note: str | None = None):
    text = title if not note else f"{title}\n{note}"
    fig.suptitle(text, fontsize=10 if not note else 9)


def _cap_note(total: int, shown: int, what: str = "scalars") -> str | None:
    if shown >= total:
        return None
    return (f"showing the first {shown} of {total} {what} (max_panels={shown}); "
            "choose others with var_names= / coords=")


def _units(post) -> dict:
    u = post.attrs.get("units") if hasattr(post, "attrs") else None
    return u if isinstance(u, dict) else {}


def _with_unit(text: str, unit: str | None) -> str:
    return f"{text} [{unit}]" if unit else text


def _scalar_unit(units: dict, name: str, coords: dict) -> str | None:
    """Unit of one scalar from post.attrs['units'] (None when unknown)."""
    if name in units:
        return units[name]
    uy = units.get("y")
    coef = coords.get("coef", coords.get("pooled_coef"))

    def coef_unit(c):
        if c is None or uy is None:
            return None
        if c == "intercept":
            return uy
        ux = units.get(str(c))
        return f"{uy}/{ux}" if ux else None

    if name in ("beta", "mu", "alpha"):
        return coef_unit(coef)
    if name in ("sigma2",):
        return f"({uy})^2" if uy else None
    if name in ("sigma",):
        return uy
    if name in ("tau2", "Sigma"):
        u1, u2 = coef_unit(coef), coef_unit(coords.get("coef_", coef))
        if u1 and u2:
            return f"({u1})^2" if u1 == u2 else f"{u1}*{u2}"
        return None
    if name == "tau":
        return coef_unit(coef)
    return None


# ----------------------------------------------------------------------------
# helpers: selecting scalars
# ----------------------------------------------------------------------------
def _var_list(post, var_names) -> list[str]:
    if var_names is None:
        names = list(post.names)
        return sorted(names, key=lambda n: "group" in post.dims.get(n, []))  # stable: group-level first
    if isinstance(var_names, str):
        var_names = [var_names]
    names = list(var_names)
    for n in names:
        post[n]  # KeyError naming the available variables
    if not names:
        raise ValueError("var_names is empty")
    return names


def _axis_positions(post, dim: str, size: int, sel) -> np.ndarray:
    if sel is None:
        return np.arange(size)
    if isinstance(sel, slice):
        return np.arange(size)[sel]
    items = list(sel) if isinstance(sel, (list, tuple, np.ndarray, range)) else [sel]
    labels = post.coords.get(dim)
    if labels is None or len(labels) != size:
        pos = []
        for it in items:
            if not isinstance(it, (int, np.integer)) or not -size <= int(it) < size:
                raise ValueError(f"coords[{dim!r}]: {it!r} is not a position 0..{size - 1} "
                                 f"(dimension {dim!r} has no labels)")
            pos.append(int(it) % size)
        return np.asarray(pos, dtype=np.int64)
    lookup = {}
    for i, lab in enumerate(labels):
        lookup.setdefault(lab, i)
    by_str = {}
    for i, lab in enumerate(labels):
        by_str.setdefault(str(lab), i)
    pos = []
    for it in items:
        key = it.item() if isinstance(it, np.generic) else it
        if key in lookup:
            pos.append(lookup[key])
        elif str(key) in by_str:
            pos.append(by_str[str(key)])
        else:
            shown = ", ".join(repr(v) for v in labels[:8]) + (", ..." if len(labels) > 8 else "")
            raise ValueError(f"coords[{dim!r}]: no label {it!r}; labels are {shown} "
                             "(use a slice for positions)")
    return np.asarray(pos, dtype=np.int64)


class _Selection:
    """The scalars chosen by var_names/coords, gathered lazily (no copy of unselected draws)."""

    def __init__(self, post, var_names=None, coords=None):
        self.post = post
        coords = dict(coords or {})
        self.vars = []  # (name, dims, positions per dim, count)
        used = set()
        for name in _var_list(post, var_names):
            arr = post[name]
            dims = list(post.dims.get(name, []))
            shape = arr.shape[2:]
            pos = []
            for d, size in zip(dims, shape):
                pos.append(_axis_positions(post, d, size, coords.get(d)))
                if d in coords:
                    used.add(d)
            count = int(np.prod([len(p) for p in pos])) if pos else 1
            if count:
                self.vars.append((name, dims, pos, count))
        unknown = set(coords) - used - {d for v in post.names for d in post.dims.get(v, [])}
        if unknown:
            raise ValueError(f"coords has dimensions {sorted(unknown)} that no selected variable has")
        self.total = sum(v[3] for v in self.vars)
        if self.total == 0:
            raise ValueError("the selection is empty")

    def _locate(self, k):
        for name, dims, pos, count in self.vars:
            if k < count:
                if not pos:
                    return name, dims, ()
                sub = np.unravel_index(k, [len(p) for p in pos])
                return name, dims, tuple(int(p[s]) for p, s in zip(pos, sub))
            k -= count
        raise IndexError(k)

    def _coord_labels(self, dims, idx) -> dict:
        out = {}
        for d, i in zip(dims, idx):
            labels = self.post.coords.get(d)
            out[d] = labels[i] if labels is not None and i < len(labels) else i
        return out

    def scalars(self, n=None):
        """[(label, name, coord dict, draws (C, D))] for the first n scalars."""
        n = self.total if n is None else min(n, self.total)
        out = []
        for k in range(n):
            name, dims, idx = self._locate(k)
            c = self._coord_labels(dims, idx)
            label = f"{name}[{','.join(str(v) for v in c.values())}]" if idx else name
            out.append((label, name, c, np.asarray(self.post[name][(slice(None), slice(None)) + idx], float)))
        return out


# ----------------------------------------------------------------------------
# helpers: numerics
# ----------------------------------------------------------------------------
def _kde_curve(x, positive=False, grid=None, n_grid=_GRID):
    """(grid, density) of a Gaussian KDE with Scott's bandwidth, reflected at 0 for positive quantities.

    The estimate equals ``scipy.stats.gaussian_kde(x)(grid)`` (same kernel and
    bandwidth, sd * n^(-1/5)); it is evaluated with NumPy in blocks, which avoids
    scipy's per-call BLAS overhead when drawing hundreds of curves.  At most
    20,000 evenly strided draws enter the KDE.  The default grid covers the
    central 99.8% of the draws plus one bandwidth each side.  None if the draws
    are constant.
    """
    x = np.asarray(x, float).ravel()
    x = x[np.isfinite(x)]
    if x.size < 2 or np.ptp(x) <= 1e-12 * max(1.0, np.abs(x).max()):
        return None
    if x.size > _KDE_POINTS:
        x = x[:: int(math.ceil(x.size / _KDE_POINTS))]
    bw = float(np.std(x, ddof=1)) * x.size ** (-0.2)
    reflect = positive and x.min() >= 0
    if grid is None:
        lo, hi = np.quantile(x, [0.001, 0.999])
        lo, hi = lo - bw, hi + bw
        if reflect:
            lo = max(lo, 0.0)
        grid = np.linspace(lo, hi, n_grid)
    grid = np.asarray(grid, float)
    dens = _gauss_sum(grid, x, bw)
    if reflect:
        dens = dens + _gauss_sum(-grid, x, bw)
    return grid, dens


def _gauss_sum(grid, x, bw):
    out = np.zeros(grid.size)
    block = max(1, 2_000_000 // max(grid.size, 1))
    for i in range(0, x.size, block):
        z = (grid[:, None] - x[None, i : i + block]) / bw
        out += np.exp(-0.5 * z * z).sum(axis=1)
    return out / (x.size * bw * math.sqrt(2.0 * math.pi))


def _rank_counts(x, bins):
    """(C, bins) counts of the pooled ranks of x (C, D) falling in each rank bin, per chain."""
    from scipy.stats import rankdata

    C, D = x.shape
    r = rankdata(x.ravel(), method="average").reshape(C, D)
    b = np.minimum(((r - 1) * bins / (C * D)).astype(np.int64), bins - 1)
    counts = np.zeros((C, bins), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(C), D), b.ravel()), 1)
    return counts


def _default_bins(D, heatmap=False):
    """Rank bins: about 10 draws per bin for bars (5..20 bins), 20 per bin for heat maps (4..10)."""
    return int(np.clip(D // 20, 4, 10)) if heatmap else int(np.clip(D // 10, 5, 20))


def _diag_text(x):
    """'R-hat 1.002, ESS 803' for draws (C, D), or '' if the diagnostics are unavailable."""
    try:
        from . import diagnostics

        r = float(diagnostics.rhat(x))
        e = float(diagnostics.ess_bulk(x))
    except Exception:  # diagnostics are decoration here; never fail a plot on them
        return ""
    parts = []
    if np.isfinite(r):
        parts.append(f"R-hat {r:.3f}")
    if np.isfinite(e):
        parts.append(f"ESS {e:.0f}")
    return ", ".join(parts)


def _fmt(v):
    return f"{v:.3g}"


def _rank_heatmap(ax, x, bins, cmap="RdBu_r"):
    counts = _rank_counts(x, bins)
    C, D = x.shape
    ratio = counts / (D / bins)
    im = ax.imshow(ratio, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0.0, vmax=2.0,
                   extent=(0, bins, C - 0.5, -0.5))
    ax.set_ylabel(f"chain (all {C})", fontsize=8)
    ax.set_xlabel("rank bin (pooled ranks)", fontsize=8)
    return im


# ----------------------------------------------------------------------------
# trace / rank / autocorrelation / density
# ----------------------------------------------------------------------------
def plot_trace(post, var_names=None, coords=None, max_panels: int = 10, *, kind: str = "auto",
               max_chains: int = MAX_CHAINS, seed=0):
    """Trace and marginal density of each selected scalar: one row per scalar.

    Left: per-chain KDEs (thin, coloured) and the pooled KDE (black).  Right:
    the trace of every chain against the draw index (at most 4,000 points per
    chain are drawn, evenly strided, when chains are long).  Titles carry the
    rank R-hat and bulk ESS.

    ``kind="auto"`` uses traces up to ``max_chains`` chains and the rank heat
    map above (module docstring); ``"rank"`` forces the heat map; ``"trace"``
    forces traces, of ``max_chains`` chains chosen at random (``seed``) when
    there are more.  Above ``max_chains`` chains the density column shows the
    pooled KDE and the per-chain means as ticks.  Returns the Figure
    (2 axes per scalar, plus one colour bar axis in rank mode).
    """
    if kind not in ("auto", "trace", "rank"):
        raise ValueError(f"kind must be 'auto', 'trace' or 'rank', got {kind!r}")
    sel = _Selection(post, var_names, coords)
    scalars = sel.scalars(max_panels)
    C, D = post.nchains, post.ndraws
    many = C > max_chains
    mode = ("rank" if many else "trace") if kind == "auto" else kind
    chains = np.arange(C)
    note_chains = None
    if mode == "trace" and many:
        rng = np.random.default_rng(seed)
        chains = np.sort(rng.choice(C, size=max_chains, replace=False))
        listed = ", ".join(str(c) for c in chains[:12]) + (", ..." if len(chains) > 12 else "")
        note_chains = f"traces of {len(chains)} of {C} chains chosen at random (seed={seed}): {listed}"
    elif mode == "rank":
        note_chains = (f"{C} chains: traces replaced by per-chain rank histograms "
                       "(colour = count / uniform expectation; Vehtari et al. 2021)")
    n = len(scalars)
    plt = _plt()
    fig = plt.figure(figsize=(10, 1.9 * n + 0.8), layout="constrained")
    gs = fig.add_gridspec(n, 2, width_ratios=[1, 2.2])
    units = _units(post)
    lw, alpha = _chain_style(len(chains))
    colors = _chain_colors(len(chains))
    step = max(1, int(math.ceil(D / 4000)))
    bins = _default_bins(D, heatmap=(mode == "rank"))
    rank_axes, im = [], None
    for row, (label, name, cdict, x) in enumerate(scalars):
        unit = _scalar_unit(units, name, cdict)
        ax_d = fig.add_subplot(gs[row, 0])
        ax_t = fig.add_subplot(gs[row, 1])
        positive = name in _POSITIVE
        pooled = _kde_curve(x, positive)
        if pooled is not None:
            grid = pooled[0]
            if not many:
                for i, c in enumerate(chains):
                    cur = _kde_curve(x[c], positive, grid=grid)
                    if cur is not None:
                        ax_d.plot(grid, cur[1], color=colors[i], lw=lw, alpha=alpha)
            ax_d.plot(grid, pooled[1], color="black", lw=1.3)
            if many:
                ax_d.plot(x.mean(axis=1), np.zeros(C), "|", color="C3", ms=8, alpha=min(1.0, 4 * alpha),
                          label="chain means")
        ax_d.set_yticks([])
        ax_d.set_title(label, fontsize=9, loc="left")
        ax_d.set_xlabel(_with_unit("value", unit) if unit else "", fontsize=8)
        if mode == "trace":
            t = np.arange(0, D, step)
            for i, c in enumerate(chains):
                ax_t.plot(t, x[c, ::step], color=colors[i], lw=lw * 0.8, alpha=alpha)
            ax_t.set_xlim(0, max(D - 1, 1))
            ax_t.set_ylabel(unit or "value", fontsize=8)
            if row == n - 1:
                kept = "draw (after warm-up)" if post.attrs.get("warmup", 1) else "draw (no warm-up)"
                ax_t.set_xlabel(kept + (f", 1 in {step} shown" if step > 1 else ""))
        else:
            im = _rank_heatmap(ax_t, x, bins)
            rank_axes.append(ax_t)
            if row != n - 1:
                ax_t.set_xlabel("")
        diag = _diag_text(x)
        ax_t.set_title(diag, fontsize=8, loc="right")
        ax_t.tick_params(labelsize=8)
        ax_d.tick_params(labelsize=8)
    if im is not None:
        fig.colorbar(im, ax=rank_axes, label="rank-bin count / expected", shrink=min(0.9, 3.0 / n), aspect=25)
    notes = [s for s in (note_chains, _cap_note(sel.total, n)) if s]
    _title(fig, f"Trace: {C} chains x {D} draws", "\n".join(notes) if notes else None)
    return fig


def plot_rank(post, var_names=None, coords=None, max_panels: int = 10, *, bins: int | None = None,
              kind: str = "auto", max_chains: int = MAX_CHAINS, ax=None):
    """Rank histograms per chain (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021).

    Draws are ranked jointly over all chains; if the chains sample the same
    distribution, each chain's ranks are uniform.  ``kind="bars"`` stacks one
    histogram per chain (dashed line: the uniform expectation); ``"heatmap"``
    shows one row per chain coloured by count / expectation (the default,
    ``"auto"``, uses bars up to ``max_chains`` chains).  ``bins`` defaults to
    D // 10 clipped to [5, 20].  One axis per scalar (plus a colour bar in
    heat-map mode); ``ax=`` is accepted for a single scalar.
    """
    if kind not in ("auto", "bars", "heatmap"):
        raise ValueError(f"kind must be 'auto', 'bars' or 'heatmap', got {kind!r}")
    sel = _Selection(post, var_names, coords)
    scalars = sel.scalars(max_panels)
    C, D = post.nchains, post.ndraws
    mode = ("heatmap" if C > max_chains else "bars") if kind == "auto" else kind
    bins = int(bins) if bins else _default_bins(D, heatmap=(mode == "heatmap"))
    if ax is not None and len(scalars) != 1:
        raise ValueError(f"ax= needs exactly one scalar; the selection has {sel.total}")
    if ax is None:
        fig, axes = _grid_figure(len(scalars), panel=(3.4, 1.2 + 0.25 * min(C, max_chains) if mode == "bars"
                                                      else 3.0))
    else:
        fig, axes = ax.figure, [ax]
    colors = _chain_colors(C)
    im = None
    for a, (label, name, cdict, x) in zip(axes, scalars):
        if mode == "bars":
            counts = _rank_counts(x, bins)
            expected = D / bins
            height = 2.2 * expected
            centers = np.arange(bins) + 0.5
            for c in range(C):
                a.bar(centers, counts[c], bottom=c * height, width=0.9, color=colors[c], alpha=0.8, lw=0)
                a.axhline(c * height + expected, color="0.3", ls="--", lw=0.7)
            a.set_yticks(np.arange(C) * height + expected / 2)
            a.set_yticklabels([str(c) for c in range(C)], fontsize=7)
            a.set_ylabel("chain")
            a.set_xlabel("rank bin (pooled ranks)")
            a.set_xlim(0, bins)
        else:
            im = _rank_heatmap(a, x, bins)
        a.set_title(f"{label}\n{_diag_text(x)}", fontsize=9)
    if ax is not None:
        if im is not None:
            fig.colorbar(im, ax=ax, label="count / expected")
        return ax
    if im is not None:
        fig.colorbar(im, ax=axes, label="rank-bin count / expected", shrink=0.9)
    _title(fig, f"Rank plot: {C} chains x {D} draws, {bins} bins"
           + (" (dashed: uniform expectation)" if mode == "bars" else ""), _cap_note(sel.total, len(scalars)))
    return fig


def plot_autocorr(post, var_names=None, coords=None, max_lag: int = 50, combined: bool = False,
                  max_panels: int = 10, ax=None):
    """Autocorrelation of each selected scalar: thin per-chain lines and the chain average (black).

    ``combined=True`` draws only the chain average.  The grey band is
    +-1.96 / sqrt(draws), the 95% range of a white-noise chain's estimates.
    Lines per axis: chains + 1 (1 if combined); above 20 chains the per-chain
    lines are one LineCollection.  ``ax=`` is accepted for a single scalar.
    """
    from matplotlib.collections import LineCollection

    from . import diagnostics

    sel = _Selection(post, var_names, coords)
    scalars = sel.scalars(max_panels)
    C, D = post.nchains, post.ndraws
    L = int(min(max_lag, D - 1))
    if ax is not None and len(scalars) != 1:
        raise ValueError(f"ax= needs exactly one scalar; the selection has {sel.total}")
    if ax is None:
        fig, axes = _grid_figure(len(scalars), panel=(3.4, 2.3))
    else:
        fig, axes = ax.figure, [ax]
    lw, alpha = _chain_style(C)
    colors = _chain_colors(C)
    lags = np.arange(L + 1)
    for a, (label, name, cdict, x) in zip(axes, scalars):
        rho = diagnostics.autocorrelation(x)[:, : L + 1]
        a.axhspan(-1.96 / math.sqrt(D), 1.96 / math.sqrt(D), color="0.85", lw=0)
        a.axhline(0.0, color="0.5", lw=0.6)
        if not combined:
            if C <= MAX_CHAINS:
                for c in range(C):
                    a.plot(lags, rho[c], color=colors[c], lw=lw, alpha=alpha)
            else:
                segs = np.stack([np.broadcast_to(lags, rho.shape), rho], axis=-1)
                a.add_collection(LineCollection(segs, colors="C0", linewidths=lw, alpha=alpha))
        with np.errstate(invalid="ignore"):
            a.plot(lags, np.nanmean(rho, axis=0), color="black", lw=1.4)
        a.set_xlim(0, L)
        low = np.nanmin(rho) if np.isfinite(rho).any() else 0.0
        a.set_ylim(min(-0.2, low - 0.05), 1.05)
        a.set_title(label, fontsize=9)
        a.set_xlabel("lag (draws)")
        a.set_ylabel("autocorrelation")
    if ax is not None:
        return ax
    what = "chain average" if combined else f"{C} chains (thin) and their average (black)"
    _title(fig, f"Autocorrelation: {what}; band +-1.96/sqrt({D})", _cap_note(sel.total, len(scalars)))
    return fig


def plot_density(post, var_names=None, coords=None, prob: float = 0.95, max_panels: int = 10, ax=None):
    """Marginal posterior density (scipy.stats.gaussian_kde over all chains) per scalar.

    The shaded region is the equal-tailed ``prob`` credible interval, the
    vertical line the posterior mean; both are computed from all draws (the
    KDE from at most 20,000 of them), and printed in the title.  Densities of
    variances (sigma2, tau2) are reflected at 0.  ``ax=`` for a single scalar.
    """
    _check_prob(prob)
    sel = _Selection(post, var_names, coords)
    scalars = sel.scalars(max_panels)
    if ax is not None and len(scalars) != 1:
        raise ValueError(f"ax= needs exactly one scalar; the selection has {sel.total}")
    if ax is None:
        fig, axes = _grid_figure(len(scalars), panel=(3.4, 2.4))
    else:
        fig, axes = ax.figure, [ax]
    units = _units(post)
    lo_q, hi_q = (1 - prob) / 2, (1 + prob) / 2
    for i, (a, (label, name, cdict, x)) in enumerate(zip(axes, scalars)):
        flat = x.ravel()
        mean = float(np.mean(flat))
        lo, hi = np.quantile(flat, [lo_q, hi_q])
        curve = _kde_curve(flat, name in _POSITIVE)
        if curve is not None:
            g, d = curve
            a.plot(g, d, color="C0", lw=1.3)
            inside = (g >= lo) & (g <= hi)
            a.fill_between(g, 0, d, where=inside, color="C0", alpha=0.25, lw=0,
                           label=f"{prob:.0%} equal-tailed interval")
            a.set_ylim(bottom=0)
        a.axvline(mean, color="C3", lw=1.1, label="mean")
        a.set_yticks([])
        a.set_title(f"{label}\nmean {_fmt(mean)}, {prob:.0%} CI [{_fmt(lo)}, {_fmt(hi)}]", fontsize=9)
        unit = _scalar_unit(units, name, cdict)
        a.set_xlabel(_with_unit("value", unit) if unit else "", fontsize=8)
    if ax is not None:
        ax.legend(fontsize=7, loc="best", frameon=False)
        return ax
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    _title(fig, f"Posterior densities ({post.nchains} chains x {post.ndraws} draws pooled)",
           _cap_note(sel.total, len(scalars)))
    return fig


def _check_prob(prob):
    if not 0.0 < float(prob) < 1.0:
        raise ValueError(f"prob must be in (0, 1), got {prob}")


# ----------------------------------------------------------------------------
# forest
# ----------------------------------------------------------------------------
def _chunked_quantiles(arr, index, axis, positions, qs):
    """Quantiles over (chain, draw) of arr[index] for each position along ``axis``, in bounded-memory blocks.

    ``index`` is a full index tuple for ``arr`` whose entry ``axis`` is filled per block
    (a slice when the positions are contiguous, so no copy is made of unselected draws).
    Returns (len(qs), len(positions)).
    """
    S = arr.shape[0] * arr.shape[1]
    out = np.empty((len(qs), len(positions)))
    step = max(1, 4_000_000 // max(S, 1))
    for i in range(0, len(positions), step):
        chunk = positions[i : i + step]
        idx = list(index)
        contiguous = np.all(np.diff(chunk) == 1) if len(chunk) > 1 else True
        idx[axis] = slice(int(chunk[0]), int(chunk[-1]) + 1) if contiguous else chunk
        block = np.asarray(arr[tuple(idx)], dtype=float)
        out[:, i : i + len(chunk)] = np.quantile(block.reshape(S, -1), qs, axis=0)
    return out


def _forest_panels(post, var_names, coords, qs):
    """[[title, row labels, quantiles (len(qs), K), reference (label, value) or None, rows-are-groups,
    variable name, coordinate dict]]."""
    sel = _Selection(post, var_names, coords)
    panels, loose = [], []
    for name, dims, pos, count in sel.vars:
        arr = post[name]
        if "group" in dims:
            g = dims.index("group")
            others = [i for i in range(len(dims)) if i != g]
            glabels = post.coords.get("group")
            rows = [str(glabels[i]) if glabels is not None else str(i) for i in pos[g]]
            for combo in np.ndindex(*[len(pos[i]) for i in others]):
                idx = [slice(None)] * (2 + len(dims))
                parts = {}
                for o, k in zip(others, combo):
                    idx[2 + o] = int(pos[o][k])
                    labs = post.coords.get(dims[o])
                    parts[dims[o]] = labs[pos[o][k]] if labs is not None else int(pos[o][k])
                view = arr[tuple(idx)]  # (C, D, J): every other dimension is fixed by an integer
                q = _chunked_quantiles(view, [slice(None)] * 3, 2, np.asarray(pos[g]), qs)
                title = (f"{name}[group, {', '.join(str(v) for v in parts.values())}]" if parts
                         else f"{name}[group]")
                ref = None
                coef = parts.get("coef")
                if name == "beta" and "mu" in post and coef is not None and coef in post.coords.get("coef", []):
                    mu = post["mu"][..., post.coords["coef"].index(coef)]
                    ref = (f"posterior mean of mu[{coef}]", float(np.mean(mu)))
                panels.append([title, rows, q, ref, True, name, parts])
        else:
            for label, nm, cdict, x in _Selection(post, [name], coords).scalars():
                loose.append((label, np.quantile(x.ravel(), qs)))
    if loose:
        panels.insert(0, ["parameters", [lab for lab, _ in loose], np.stack([q for _, q in loose], axis=1),
                          None, False, None, {}])
    return panels


def plot_forest(post, var_names=None, coords=None, prob: float = 0.95, sort: bool = False, ax=None,
                inner: float = 0.5, max_labels: int = 60):
    """Interval plot for many coefficients or groups.

    Each row shows the equal-tailed ``prob`` interval (thin line), the inner
    ``inner`` interval (thick line) and the posterior median (dot).  Variables
    with a ``group`` dimension get one panel per coefficient with one row per
    group (e.g. all J intercepts), sharing the row order; for ``beta`` the
    posterior mean of ``mu`` is drawn as a dashed line.  Other selected
    scalars share one panel.  Default ``var_names``: ``"beta"``.

    ``sort=True`` orders rows by the median of the first panel (the other panels
    follow, so a row is the same group across panels).  With more than
    ``max_labels`` rows, line widths shrink (LineCollections, so thousands of rows
    draw fast), dots are omitted and only ~10 row labels are printed.
    ``ax=`` is accepted when the selection gives one panel.
    """
    from matplotlib.collections import LineCollection

    _check_prob(prob)
    _check_prob(inner)
    if var_names is None:
        var_names = ["beta"] if "beta" in post else None
    qs = [(1 - prob) / 2, (1 - inner) / 2, 0.5, (1 + inner) / 2, (1 + prob) / 2]
    panels = _forest_panels(post, var_names, coords, qs)
    if ax is not None and len(panels) != 1:
        raise ValueError(f"ax= needs a selection with one panel; this one has {len(panels)} "
                         "(choose var_names= / coords= such as {'coef': ['intercept']})")
    K_max = max(len(p[1]) for p in panels)
    order = None
    if sort:
        order = np.argsort(panels[0][2][2], kind="stable")
    if ax is None:
        height = 1.2 + min(0.22 * K_max, 9.0)
        # a single panel gets the width of two so the title is not clipped
        fig, axes = _grid_figure(len(panels), ncols=min(len(panels), 4),
                                 panel=(3.6 if len(panels) > 1 else 6.4, height))
    else:
        fig, axes = ax.figure, [ax]
    units = _units(post)
    first_group = next((i for i, p in enumerate(panels) if p[4]), None)
    for i_panel, (a, (title, rows, q, ref, is_group, name, parts)) in enumerate(zip(axes, panels)):
        K = len(rows)
        perm = np.arange(K)
        if order is not None and len(order) == K and (is_group == panels[0][4]):
            perm = order
        q = q[:, perm]
        labels = [rows[i] for i in perm]
        y = np.arange(K)
        big = K > max_labels
        lw_outer = 1.0 if not big else float(np.clip(150.0 / K, 0.15, 0.8))
        lw_inner = 3.0 if not big else float(np.clip(400.0 / K, 0.4, 2.0))
        outer = np.stack([np.stack([q[0], y], 1), np.stack([q[4], y], 1)], axis=1)
        inner_seg = np.stack([np.stack([q[1], y], 1), np.stack([q[3], y], 1)], axis=1)
        a.add_collection(LineCollection(outer, colors="C0", linewidths=lw_outer, alpha=0.9 if not big else 0.6))
        a.add_collection(LineCollection(inner_seg, colors="C0", linewidths=lw_inner))
        if not big:
            a.scatter(q[2], y, s=14, color="white", edgecolors="C0", zorder=3, linewidths=1.0)
        else:
            a.scatter(q[2], y, s=0.5, color="black", zorder=3, linewidths=0)
        if ref is not None:
            a.axvline(ref[1], color="C3", ls="--", lw=1.0, label=ref[0])
            a.legend(fontsize=7, loc="best", frameon=True)
        lo, hi = np.nanmin(q[0]), np.nanmax(q[4])
        pad = 0.04 * (hi - lo) if hi > lo else 1.0
        a.set_xlim(lo - pad, hi + pad)
        a.set_ylim(K - 0.5, -0.5)
        if not big:
            a.set_yticks(y)
            a.set_yticklabels(labels, fontsize=7 if K > 25 else 8)
        else:
            ticks = np.unique(np.linspace(0, K - 1, 10).round().astype(int))
            a.set_yticks(ticks)
            a.set_yticklabels([labels[t] for t in ticks], fontsize=7)
        if is_group and i_panel == first_group:
            a.set_ylabel(f"group ({K} rows{', sorted by median' if order is not None else ''})")
        unit = _scalar_unit(units, name, parts) if name else None
        a.set_xlabel(_with_unit("value", unit), fontsize=8)
        a.set_title(title, fontsize=9)
        a.grid(axis="x", lw=0.3, alpha=0.5)
    if ax is not None:
        return ax
    _title(fig, f"Forest plot: median, {inner:.0%} (thick) and {prob:.0%} (thin) equal-tailed intervals")
    return fig


# ----------------------------------------------------------------------------
# posterior predictive checks
# ----------------------------------------------------------------------------
def plot_ppc(ppc_result, kind: str = "density", n_rep: int = 50, ax=None, seed=0):
    """Observed y (black) against ``n_rep`` replicated data sets (thin blue lines).

    ``kind="density"``: KDEs (gaussian_kde, at most 20,000 points each) on a
    common grid; ``kind="ecdf"``: empirical CDFs, better for large n or discrete
    y.  The replicated data sets are chosen at random (``seed``).  The grid
    covers the observed range and the central 99% of the replicated values.
    Returns the Figure, or ``ax``.
    """
    from matplotlib.collections import LineCollection

    if kind not in ("density", "ecdf"):
        raise ValueError(f"kind must be 'density' or 'ecdf', got {kind!r}")
    y_obs = np.asarray(ppc_result.y_obs, float)
    y_rep = np.asarray(ppc_result.y_rep, float)
    S = y_rep.shape[0]
    k = int(min(n_rep, S))
    rows = np.sort(np.random.default_rng(seed).choice(S, size=k, replace=False))
    reps = y_rep[rows]
    sample = reps[:, :: max(1, reps.shape[1] // 2000)].ravel()
    lo = min(y_obs.min(), np.quantile(sample, 0.005))
    hi = max(y_obs.max(), np.quantile(sample, 0.995))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    grid = np.linspace(lo - pad, hi + pad, _GRID)
    if ax is None:
        plt = _plt()
        fig, ax_ = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    else:
        fig, ax_ = ax.figure, ax
    lw, alpha = _chain_style(k)
    if kind == "density":
        curves = []
        for r in reps:
            cur = _kde_curve(r, grid=grid)
            curves.append(cur[1] if cur is not None else np.zeros_like(grid))
        obs = _kde_curve(y_obs, grid=grid)
        obs_curve = obs[1] if obs is not None else np.zeros_like(grid)
        ylabel = "density"
    else:
        curves = [np.searchsorted(np.sort(r), grid, side="right") / r.size for r in reps]
        obs_curve = np.searchsorted(np.sort(y_obs), grid, side="right") / y_obs.size
        ylabel = "cumulative probability"
    segs = np.stack([np.broadcast_to(grid, (k, grid.size)), np.asarray(curves)], axis=-1)
    ax_.add_collection(LineCollection(segs, colors="C0", linewidths=max(lw, 0.5), alpha=max(alpha, 0.15)))
    ax_.plot(grid, obs_curve, color="black", lw=1.8, label="observed y")
    ax_.set_xlim(grid[0], grid[-1])
    ax_.set_ylim(bottom=0, top=max(np.max(curves), np.max(obs_curve)) * 1.05)
    ax_.set_xlabel(_with_unit(getattr(ppc_result, "y_name", "y"), getattr(ppc_result, "y_unit", None)))
    ax_.set_ylabel(ylabel)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="C0", lw=1.2, alpha=0.7, label=f"replicated y_rep ({k} of {S})"),
               Line2D([], [], color="black", lw=1.8, label="observed y")]
    ax_.legend(handles=handles, fontsize=8, frameon=False, loc="upper left" if kind == "density" else "lower right")
    ax_.set_title(f"Posterior predictive check (n = {y_obs.size})", fontsize=10)
    return ax_ if ax is not None else fig


def _fmt_p(p, S):
    if not np.isfinite(p):
        return "p = nan"
    if p == 0.0:
        return f"p < {1.0 / S:.2g}"
    if p == 1.0:
        return f"p > {1.0 - 1.0 / S:.4g}"
    return f"p = {p:.3f}"


def plot_ppc_stats(ppc_result, statistics=None, bins: int = 30, ax=None):
    """One panel per test statistic: histogram of T(y_rep), T(y) as a vertical line, p-value in the title.

    The p-value is the mid-p posterior predictive p-value of
    :func:`gibbsreg.checks.ppc`.  ``ax=`` for a single statistic.
    """
    names = list(statistics) if statistics is not None else list(
        getattr(ppc_result, "statistics", None) or ppc_result.stats_obs)
    if isinstance(statistics, str):
        names = [statistics]
    for nm in names:
        if nm not in ppc_result.stats_obs:
            raise ValueError(f"no statistic {nm!r}; the result has {list(ppc_result.stats_obs)}")
    if ax is not None and len(names) != 1:
        raise ValueError(f"ax= needs exactly one statistic; got {names}")
    if ax is None:
        fig, axes = _grid_figure(len(names), ncols=min(len(names), 4), panel=(3.1, 2.5))
    else:
        fig, axes = ax.figure, [ax]
    S = np.asarray(ppc_result.y_rep).shape[0]
    for i, (a, nm) in enumerate(zip(axes, names)):
        rep = np.asarray(ppc_result.stats_rep[nm], float)
        rep = rep[np.isfinite(rep)]
        obs = float(ppc_result.stats_obs[nm])
        a.hist(rep, bins=bins, color="C0", alpha=0.6, label="T(y_rep)")
        a.axvline(obs, color="black", lw=1.8, label="T(y) observed")
        p = ppc_result.p_values[nm]
        a.set_title(f"{nm}: {_fmt_p(p, S)}", fontsize=10,
                    color="C3" if np.isfinite(p) and (p < 0.01 or p > 0.99) else "black")
        a.set_xlabel(f"T = {nm}")
        a.set_ylabel("replicates" if i == 0 else "")
        if np.isfinite(obs) and rep.size:
            lo, hi = min(rep.min(), obs), max(rep.max(), obs)
            pad = 0.05 * (hi - lo) if hi > lo else 1.0
            a.set_xlim(lo - pad, hi + pad)
        if i == 0:
            a.legend(fontsize=7, frameon=False)
    if ax is not None:
        return ax
    _title(fig, f"Posterior predictive test statistics ({S} replicates); p = P(T(y_rep) > T(y)) + P(=)/2")
    return fig


# ----------------------------------------------------------------------------
# regression line with bands
# ----------------------------------------------------------------------------
_MAX_PRED_DRAWS = 4000


def plot_predictive(post, X, y, predictor, groups=None, grid=None, prob: float = 0.95, ax=None, *,
                    group=None, n_grid: int = 100, seed=0):
    """Fitted regression line with its credible band and the predictive band, along one predictor.

    ``predictor`` is a column name (as in ``post.attrs["names"]``) or a column
    index of X (without the intercept).  The other predictors are held at their
    sample means; ``grid`` defaults to ``n_grid`` points over the observed range.
    Dark band: ``prob`` credible band of the mean x'beta; light band: ``prob``
    predictive interval of a new observation.  The raw data are scattered (at
    most 5,000 points, chosen at random).

    Hierarchical posteriors: with ``group=`` a fitted group label, the line is
    that group's x'beta_j (its rows highlighted); without, the line is the
    population mean x'mu (plus pooled terms) and the predictive band is for a new
    observation in a new group (beta_new ~ N(mu, Sigma_beta)).  At most 4,000
    posterior draws are used (evenly strided).
    """
    from .checks import subset_posterior

    _check_prob(prob)
    attrs = post.attrs
    if "names" not in attrs:
        raise ValueError("this Posterior does not record its design (names/intercept)")
    names_x = list(attrs["names"][int(attrs["intercept"]):])
    Xa = np.asarray(X, dtype=float)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    ya = np.asarray(y, dtype=float).reshape(-1)
    if Xa.shape[1] != len(names_x):
        raise ValueError(f"X has {Xa.shape[1]} columns; the model was fitted with {len(names_x)} ({names_x})")
    if Xa.shape[0] != ya.shape[0]:
        raise ValueError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}")
    if isinstance(predictor, str):
        if predictor not in names_x:
            raise ValueError(f"no predictor {predictor!r}; the predictors are {names_x}")
        k = names_x.index(predictor)
    else:
        k = int(predictor)
        if not -len(names_x) <= k < len(names_x):
            raise ValueError(f"predictor index {predictor} out of range for {len(names_x)} predictors")
        k %= len(names_x)
    xname = names_x[k]
    if grid is None:
        grid = np.linspace(Xa[:, k].min(), Xa[:, k].max(), int(n_grid))
    grid = np.asarray(grid, dtype=float).reshape(-1)
    Xg = np.tile(Xa.mean(axis=0), (grid.size, 1))
    Xg[:, k] = grid
    if isinstance(X, np.ndarray) or not hasattr(X, "columns"):
        Xg_in = Xg
    else:
        import pandas as pd  # X was a DataFrame: keep its column names for validation

        Xg_in = pd.DataFrame(Xg, columns=list(X.columns))
    total = post.nchains * post.ndraws
    sub = post if total <= _MAX_PRED_DRAWS else subset_posterior(
        post, np.linspace(0, total - 1, _MAX_PRED_DRAWS).round().astype(np.int64))
    hier = attrs.get("model_kind") == "hierarchical"
    highlight = None
    if not hier:
        pred = sub.predict(Xg_in, seed=seed, prob=prob)
        line_draws = pred.mean_draws.reshape(-1, grid.size)
        title = "flat model"
        line_label = "mean x'beta"
    else:
        labels = post.coords.get("group", [])
        if group is not None:
            if group not in labels:
                raise ValueError(f"group {group!r} is not one of the fitted groups")
            pred = sub.predict(Xg_in, groups=np.array([group] * grid.size, dtype=object), seed=seed, prob=prob)
            line_draws = pred.mean_draws.reshape(-1, grid.size)
            title = f"group {group}"
            line_label = "group mean x'beta_j"
            if groups is not None:
                g = np.asarray(groups)
                highlight = g == group if g.shape == (ya.size,) else None
        else:
            new = "__new_group__"
            while new in labels:
                new += "_"
            pred = sub.predict(Xg_in, groups=np.array([new] * grid.size, dtype=object), seed=seed, prob=prob)
            intercept = attrs["intercept"]
            full = np.hstack([np.ones((grid.size, 1)), Xg]) if intercept else Xg
            vi, pi = attrs["varying_index"], attrs["pooled_index"]
            mu = sub["mu"].reshape(-1, len(vi))
            line_draws = mu @ full[:, vi].T
            if pi:
                line_draws = line_draws + sub["alpha"].reshape(-1, len(pi)) @ full[:, pi].T
            title = "population (new group)"
            line_label = "population mean x'mu"
    lo_q, hi_q = (1 - prob) / 2, (1 + prob) / 2
    band = np.quantile(line_draws, [lo_q, hi_q], axis=0)
    ynew = pred.y.reshape(-1, grid.size)
    pband = np.quantile(ynew, [lo_q, hi_q], axis=0)
    if ax is None:
        plt = _plt()
        fig, ax_ = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    else:
        fig, ax_ = ax.figure, ax
    n = ya.size
    rng = np.random.default_rng(seed)
    show = np.arange(n) if n <= 5000 else np.sort(rng.choice(n, 5000, replace=False))
    alpha = float(np.clip(25.0 / math.sqrt(len(show)), 0.08, 0.8))
    data_label = "data" if len(show) == n else f"data ({len(show):,} of {n:,} shown)"
    if highlight is not None:
        hs = highlight[show]
        ax_.scatter(Xa[show[~hs], k], ya[show[~hs]], s=6, color="0.75", alpha=alpha, lw=0, label="other groups")
        ax_.scatter(Xa[show[hs], k], ya[show[hs]], s=14, color="black", alpha=0.8, lw=0,
                    label=f"group {group}")
    else:
        ax_.scatter(Xa[show, k], ya[show], s=8, color="0.35", alpha=alpha, lw=0, label=data_label)
    ax_.fill_between(grid, pband[0], pband[1], color="C0", alpha=0.15, lw=0,
                     label=f"{prob:.0%} predictive interval (new observation)")
    ax_.fill_between(grid, band[0], band[1], color="C0", alpha=0.4, lw=0, label=f"{prob:.0%} credible band of mean")
    ax_.plot(grid, line_draws.mean(axis=0), color="C0", lw=1.8, label=line_label)
    units = _units(post)
    ax_.set_xlabel(_with_unit(xname, units.get(xname)))
    yname = getattr(y, "name", None) or "y"
    ax_.set_ylabel(_with_unit(str(yname), units.get("y")))
    others = "" if len(names_x) == 1 else "; other predictors at their means"
    ax_.set_title(f"{title}: y against {xname}{others}", fontsize=10)
    ax_.legend(fontsize=7, frameon=False, loc="best")
    return ax_ if ax is not None else fig


# ----------------------------------------------------------------------------
# shrinkage
# ----------------------------------------------------------------------------
def plot_shrinkage(shrink, coef=None, ax=None, *, x: str = "auto", seed=0):
    """No pooling vs partial pooling vs complete pooling, one point pair per group.

    Open circles: per-group least-squares (no pooling); filled dots: posterior
    means (partial pooling); a line (an arrow for <= 100 groups) shows each
    group's pull; dashed line: complete pooling.  ``x="size"`` puts groups at
    their size (log scale when the largest group is >= 10 times the smallest;
    jitter of +-0.35 rows, or +-6% for large groups, separates groups of equal size), ``"index"``
    at their rank by size; ``"auto"`` uses size unless all groups are equally
    large.  Groups without a no-pooling estimate (NaN: too few rows) appear only
    as crosses at their partial-pooling estimate.  No-pooling estimates far
    outside the partial-pooling range are drawn as triangles at the axis edge.

    ``coef`` is a coefficient name or index; None plots every coefficient (one
    panel each; ``ax=`` then needs a single coefficient).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    coefs = list(shrink.coef)
    if coef is None:
        ks = list(range(len(coefs)))
    else:
        items = coef if isinstance(coef, (list, tuple)) else [coef]
        ks = []
        for c in items:
            if isinstance(c, str):
                if c not in coefs:
                    raise ValueError(f"no coefficient {c!r}; the coefficients are {coefs}")
                ks.append(coefs.index(c))
            else:
                ks.append(int(c) % len(coefs))
    if ax is not None and len(ks) != 1:
        raise ValueError(f"ax= needs one coefficient; pass coef= (one of {coefs})")
    if x not in ("auto", "size", "index"):
        raise ValueError(f"x must be 'auto', 'size' or 'index', got {x!r}")
    sizes = np.asarray(shrink.sizes, dtype=float)
    J = sizes.size
    mode = x if x != "auto" else ("size" if np.unique(sizes).size > 1 else "index")
    order = np.argsort(sizes, kind="stable")
    rng = np.random.default_rng(seed)
    if mode == "size":
        log = sizes.max() >= 10 * max(sizes.min(), 1)
        # spread groups of equal size over +-0.35 rows (or +-6% for large sizes); sizes >= 1 keep x > 0
        xs = sizes + rng.uniform(-1, 1, J) * np.maximum(0.35, 0.06 * sizes)
    else:
        log = False
        xs = np.empty(J)
        xs[order] = np.arange(J)
    if ax is None:
        fig, axes = _grid_figure(len(ks), ncols=min(len(ks), 2), panel=(5.2, 3.8))
    else:
        fig, axes = ax.figure, [ax]
    msize = float(np.clip(1500.0 / J, 3, 30))
    alpha = float(np.clip(12.0 / math.sqrt(J), 0.15, 0.9))
    for a, kk in zip(axes, ks):
        nop = np.asarray(shrink.no_pooling, float)[:, kk]
        par = np.asarray(shrink.partial_pooling, float)[:, kk]
        comp = float(np.asarray(shrink.complete_pooling, float)[kk])
        ok = np.isfinite(nop)
        # y-range: all partial-pooling estimates and the bulk of the no-pooling ones
        span = [np.nanmin(par), np.nanmax(par), comp]
        if ok.any():
            span += list(np.quantile(nop[ok], [0.02, 0.98]))
        lo, hi = min(span), max(span)
        pad = 0.08 * (hi - lo) if hi > lo else 1.0
        lo, hi = lo - pad, hi + pad
        below, above = ok & (nop < lo), ok & (nop > hi)
        nop_c = np.clip(nop, lo, hi)
        if J <= 100:
            for j in np.flatnonzero(ok):
                a.annotate("", xy=(xs[j], par[j]), xytext=(xs[j], nop_c[j]),
                           arrowprops=dict(arrowstyle="->", color="0.45", lw=0.7, shrinkA=2, shrinkB=2))
        else:
            segs = np.stack([np.stack([xs[ok], nop_c[ok]], 1), np.stack([xs[ok], par[ok]], 1)], axis=1)
            a.add_collection(LineCollection(segs, colors="0.5", linewidths=0.5, alpha=alpha))
        inside = ok & ~below & ~above
        a.scatter(xs[inside], nop[inside], s=msize, facecolors="none", edgecolors="C1", lw=0.8, alpha=max(alpha, 0.4))
        if below.any():
            a.scatter(xs[below], np.full(below.sum(), lo), marker="v", s=msize, color="C1", alpha=0.8)
        if above.any():
            a.scatter(xs[above], np.full(above.sum(), hi), marker="^", s=msize, color="C1", alpha=0.8)
        a.scatter(xs[ok], par[ok], s=msize, color="C0", lw=0, alpha=max(alpha, 0.5), zorder=3)
        if (~ok).any():
            a.scatter(xs[~ok], par[~ok], s=msize * 1.4, marker="x", color="C2", lw=1.0, zorder=3)
        a.axhline(comp, color="C3", ls="--", lw=1.2)
        a.set_ylim(lo, hi)
        if log:
            a.set_xscale("log")
        a.set_xlabel("group size (rows; jittered)" if mode == "size" else "groups, ordered by size")
        a.set_ylabel(coefs[kk])
        a.set_title(f"{coefs[kk]}: shrinkage of {J} group estimates", fontsize=10)
        handles = [Line2D([], [], ls="", marker="o", mfc="none", mec="C1", label="no pooling (group least squares)"),
                   Line2D([], [], ls="", marker="o", color="C0", label="partial pooling (posterior mean)"),
                   Line2D([], [], color="C3", ls="--", label="complete pooling")]
        if (~ok).any():
            handles.append(Line2D([], [], ls="", marker="x", color="C2",
                                  label=f"no-pooling estimate undefined ({(~ok).sum()} groups)"))
        if below.any() or above.any():
            handles.append(Line2D([], [], ls="", marker="^", color="C1",
                                  label=f"no pooling off scale ({below.sum() + above.sum()} groups)"))
        a.legend(handles=handles, fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14),
                 ncol=2)
    if ax is not None:
        return ax
    _title(fig, "Shrinkage: no pooling -> partial pooling")
    return fig


# ----------------------------------------------------------------------------
# prior sensitivity and convergence studies (generic objects)
# ----------------------------------------------------------------------------
def plot_prior_sensitivity(table, quantities=None, ax=None, max_panels: int = 12):
    """Dot-and-whisker panels, one per quantity (column), one row per prior.

    ``table`` needs ``prior_labels`` (list of str), ``columns`` (list of str),
    ``values`` (n_priors x n_columns) and optionally ``lower``/``upper`` of the
    same shape (drawn as intervals where finite).  ``quantities`` selects
    columns by name or index; a name ``q`` that is not a column selects the
    column ``"q mean"`` (so ``"beta[x1]"`` works with
    :class:`gibbsreg.sensitivity.SensitivityTable`).  Default: the columns that
    have intervals, or every column when none has (at most ``max_panels``).
    The dotted line marks the first prior's value, so shifts relative to it
    stand out.  ``ax=`` for a single quantity.
    """
    from matplotlib.ticker import MaxNLocator

    labels = [str(s) for s in table.prior_labels]
    columns = [str(c) for c in table.columns]
    values = np.asarray(table.values, dtype=float)
    if values.shape != (len(labels), len(columns)):
        raise ValueError(f"table.values has shape {values.shape}; expected ({len(labels)}, {len(columns)})")
    lower = getattr(table, "lower", None)
    upper = getattr(table, "upper", None)
    lower = None if lower is None else np.asarray(lower, dtype=float)
    upper = None if upper is None else np.asarray(upper, dtype=float)
    for nm, arr in (("lower", lower), ("upper", upper)):
        if arr is not None and arr.shape != values.shape:
            raise ValueError(f"table.{nm} has shape {arr.shape}; expected {values.shape}")
    has_int = None
    if lower is not None and upper is not None:
        has_int = np.isfinite(lower) & np.isfinite(upper)
    if quantities is None:
        cols = list(range(len(columns)))
        if has_int is not None and has_int.any():
            cols = [j for j in cols if has_int[:, j].any()]
    else:
        items = [quantities] if isinstance(quantities, (str, int, np.integer)) else list(quantities)
        cols = []
        for q in items:
            if isinstance(q, str):
                if q in columns:
                    cols.append(columns.index(q))
                elif f"{q} mean" in columns:
                    cols.append(columns.index(f"{q} mean"))
                else:
                    raise ValueError(f"no quantity {q!r}; the table has {columns}")
            else:
                cols.append(int(q))
    total = len(cols)
    cols = cols[:max_panels]
    if ax is not None and len(cols) != 1:
        raise ValueError("ax= needs a single quantity; pass quantities=")
    R = len(labels)
    if ax is None:
        fig, axes = _grid_figure(len(cols), ncols=min(len(cols), 4),
                                 panel=(3.0, 0.9 + 0.32 * R), sharey=True)
    else:
        fig, axes = ax.figure, [ax]
    y = np.arange(R)
    colors = _chain_colors(R) if R <= 10 else ["C0"] * R
    for i, (a, j) in enumerate(zip(axes, cols)):
        v = values[:, j]
        if has_int is not None and has_int[:, j].any():
            ok = has_int[:, j]
            err = np.vstack([v[ok] - lower[ok, j], upper[ok, j] - v[ok]])
            a.errorbar(v[ok], y[ok], xerr=np.maximum(err, 0), fmt="none", ecolor="0.4", elinewidth=1.2, capsize=2)
        a.scatter(v, y, c=colors, s=28, zorder=3)
        if np.isfinite(v[0]):
            a.axvline(v[0], color="0.5", ls=":", lw=1.0)
        a.set_yticks(y)
        a.set_yticklabels(labels, fontsize=8)
        a.set_ylim(R - 0.5, -0.5)
        a.set_title(columns[j], fontsize=9)
        a.grid(axis="x", lw=0.3, alpha=0.5)
        a.tick_params(axis="x", labelsize=8)
        a.xaxis.set_major_locator(MaxNLocator(nbins=4))
    if ax is not None:
        return ax
    has_int = has_int is not None and has_int[:, cols].any()
    _title(fig, "Prior sensitivity: estimate" + (" with interval" if has_int else "")
           + " per prior (dotted: first prior)", _cap_note(total, len(cols), "quantities"))
    return fig


def plot_convergence(study, rhat_threshold: float = 1.01, ess_threshold: float = 400.0):
    """R-hat, nested R-hat and bulk ESS against draws per chain, one line per chain count.

    ``study`` needs ``draws`` and ``chains`` (lists of ints) and arrays ``rhat``,
    ``nested_rhat`` and ``ess_bulk`` indexed ``[i_chains, i_draws]`` (one value
    per configuration, e.g. the worst over parameters; NaN allowed and left as
    gaps; a missing or all-NaN array shows "not available").  Dashed lines:
    ``rhat_threshold`` (1.01) and ``ess_threshold`` (400; Vehtari et al. 2021).
    The draws axis is logarithmic when it spans a factor >= 10; R-hat axes turn
    logarithmic when a value exceeds 1.5.  Returns a Figure with 3 axes.
    """
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    draws = np.asarray(study.draws, dtype=float)
    chains = [int(c) for c in study.chains]
    shape = (len(chains), len(draws))
    fig, axes = _grid_figure(3, ncols=3, panel=(3.6, 3.0))
    colors = _chain_colors(len(chains))
    specs = [("rhat", "R-hat", rhat_threshold), ("nested_rhat", "nested R-hat", rhat_threshold),
             ("ess_bulk", "bulk ESS", ess_threshold)]
    logx = draws.size > 1 and draws.min() > 0 and draws.max() >= 10 * draws.min()
    for a, (attr, label, thr) in zip(axes, specs):
        arr = getattr(study, attr, None)
        arr = None if arr is None else np.asarray(arr, dtype=float)
        if arr is not None and arr.shape != shape:
            raise ValueError(f"study.{attr} has shape {arr.shape}; expected (len(chains), len(draws)) = {shape}")
        a.set_title(label, fontsize=10)
        a.set_xlabel("draws per chain")
        if logx:
            a.set_xscale("log")
        shown = draws if draws.size <= 8 else draws[np.unique(np.linspace(0, draws.size - 1, 8).round().astype(int))]
        a.xaxis.set_major_locator(FixedLocator(shown))
        a.xaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in shown]))
        a.xaxis.set_minor_locator(NullLocator())
        if arr is None or not np.isfinite(arr).any():
            a.text(0.5, 0.5, "not available", ha="center", va="center", transform=a.transAxes, color="0.4")
            continue
        for i, c in enumerate(chains):
            a.plot(draws, arr[i], marker="o", ms=3, lw=1.2, color=colors[i], label=f"{c}")
        a.axhline(thr, color="0.3", ls="--", lw=0.9)
        a.annotate(f"{thr:g}", xy=(1.0, thr), xycoords=("axes fraction", "data"), xytext=(-2, 2),
                   textcoords="offset points", ha="right", va="bottom", fontsize=7, color="0.3")
        if attr == "ess_bulk":
            a.set_yscale("log")
        elif np.nanmax(arr) > 1.5:
            a.set_yscale("log")
        a.set_ylabel(f"{label} (worst parameter)")
    handles, labels = [], []
    for a in axes:
        h, lab = a.get_legend_handles_labels()
        for hh, ll in zip(h, lab):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False, title="chains",
                   title_fontsize=8)
    _title(fig, f"Convergence against run length and number of chains (dashed: R-hat {rhat_threshold:g}, "
                f"ESS {ess_threshold:g})")
    return fig
