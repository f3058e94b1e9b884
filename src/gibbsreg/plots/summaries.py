"""Summary plots: forest (intervals for many coefficients or groups), shrinkage, prior
sensitivity and convergence studies."""

from __future__ import annotations

import math

import numpy as np

from ._common import (
    _cap_note,
    _chain_colors,
    _check_prob,
    _grid_figure,
    _scalar_unit,
    _Selection,
    _title,
    _units,
    _with_unit,
)


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
