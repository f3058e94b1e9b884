"""Helpers shared by the plots: matplotlib (imported lazily by :func:`_plt`), chain styles,
figure layout and units, the scalars chosen by ``var_names``/``coords``, KDEs and rank counts."""

from __future__ import annotations

import math

import numpy as np

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
        from .. import diagnostics

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
# helpers: arguments
# ----------------------------------------------------------------------------
def _check_prob(prob):
    if not 0.0 < float(prob) < 1.0:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
