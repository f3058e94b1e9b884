"""Several grouping factors (crossed or nested random effects), Gibbs on cell statistics.

Model (lme4-style; docs/maths.md, "Several grouping factors"):

    y_i = x_i' beta_i + eps_i,  eps_i ~ N(0, sigma^2),
    beta_i = fixed + sum_f E_f b_f[g_f(i)],

with factor 1's effects centred at the population means, b_1,j ~ N(mu, Sigma_1), and every
later factor's effects centred at zero, b_f,j ~ N(0, Sigma_f) (f >= 2).  Every column of X
has one population-level coefficient: ``mu_k`` when column k varies in factor 1, ``alpha_k``
otherwise (a pooled coefficient, which later factors may perturb by zero-mean deviations).
E_f embeds the q_f varying columns of factor f into the p columns.

The sampler keeps, for each non-empty combination of levels (a *cell*), the cross-moments
Z_c'Z_c, Z_c'r0_c, r0_c'r0_c, n_c in scaled coordinates around the complete-pooling least-squares
point, so one sweep costs O(sum_f J_f q_f^3 + cells p^2), never O(n).  ``sampler="blocked"``
draws (mu, alpha) with the first factor's effects integrated out and then those
effects (one exact block, the collapsed update of Papaspiliopoulos, Roberts & Zanella 2020 for
the population coefficients), and adds, for every later factor, an exact Gibbs draw along the
direction the likelihood cannot see (b_f,. - c, with mu or alpha + c, and b_1,. + c); together
they remove the slow mixing of plain block Gibbs between the population coefficients and the
factors' means.  ``sampler="asis"`` (default) adds an interweaving step (Yu & Meng 2011) that
redraws every diagonal factor scale in the non-centred parameterisation, which fixes the slow
mixing of a factor variance near zero (docs/maths.md section 12.6).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .data import as_design, row_chunks, sufficient_stats
from .posterior import FittedData, Posterior
from .priors import (DEFAULT_A, DEFAULT_B_FRACTION, SLOPE_SCALE, HalfCauchy, InvGamma, InvWishart, _finite_array,
                     _vec, validate_cov)
from .reference import gamma_block, gaussian_draw, normal_block
from .sampling import chain_streams, check_sampling_args, chunk_runner, drive, no_huge_pages

TAU_INVGAMMA, TAU_HALFCAUCHY, TAU_INVWISHART = 0, 1, 2
_TAU_KINDS = {"InvGamma": TAU_INVGAMMA, "HalfCauchy": TAU_HALFCAUCHY, "InvWishart": TAU_INVWISHART}
MAX_CHUNK_ELEMENTS = 1 << 23


# ---------------------------------------------------------------------------------------------
# user-facing specification


class Factor:
    """One grouping factor: its name (the key of its labels in ``groups``), the columns whose
    coefficients vary by its levels (default: the intercept only, as ``(1 | name)``), and the
    prior of its covariance Sigma_f: InvGamma or HalfCauchy per coordinate, or InvWishart
    (None: half-Cauchy with a data-scaled scale)."""

    def __init__(self, name, varying=("intercept",), tau=None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"Factor: name must be a non-empty string, got {name!r}")
        if isinstance(varying, (str, int, np.integer)):
            varying = [varying]
        varying = list(varying)
        if not varying:
            raise ValueError(f"Factor {name!r}: varying is empty; at least one coefficient must vary by {name!r}")
        if len(set(map(str, varying))) != len(varying):
            raise ValueError(f"Factor {name!r}: varying lists a column twice: {varying}")
        if tau is not None and not isinstance(tau, (InvGamma, HalfCauchy, InvWishart)):
            raise ValueError(f"Factor {name!r}: tau must be InvGamma, HalfCauchy or InvWishart, got {type(tau).__name__}")
        self.name = name
        self.varying = varying
        self.tau = tau

    def __repr__(self):
        return f"Factor({self.name!r}, varying={self.varying}, tau={self.tau!r})"


class CrossedPrior:
    """Priors of the population-level coefficients and of sigma^2; None means a data-scaled default.

    Each column k of X (intercept first) has one population coefficient (mu_k if it varies in
    the first factor, else alpha_k) with prior N(fixed_mean_k, fixed_scale_k^2); a scale of
    ``inf`` makes it flat.  Defaults as HierarchicalPrior: mean(y) and 0 for the means, 2.5
    sd(y)/sd(x_k) for slopes.  sigma: InvGamma on sigma^2 (default IG(1, var(y)/2)).
    """

    def __init__(self, fixed_mean=None, fixed_scale=None, sigma=None):
        name = "CrossedPrior"
        self.fixed_mean = _finite_array(fixed_mean, "fixed_mean", name)
        if self.fixed_mean is not None and not np.isfinite(self.fixed_mean).all():
            raise ValueError(f"{name}: fixed_mean must be finite")
        if fixed_scale is None:
            self.fixed_scale = None
        else:
            s = np.asarray(fixed_scale, dtype=float)
            if np.isnan(s).any() or not (s > 0).all():
                raise ValueError(f"{name}: fixed_scale must be positive (inf for a flat prior), got {fixed_scale!r}")
            self.fixed_scale = s
        if sigma is not None and not isinstance(sigma, InvGamma):
            raise ValueError(f"{name}: sigma must be an InvGamma prior on sigma^2, got {type(sigma).__name__}")
        if sigma is not None and (sigma.a.ndim or sigma.b.ndim):
            raise ValueError(f"{name}: sigma's a and b must be scalars")
        self.sigma = sigma


@dataclass
class ResolvedCrossedPrior:
    """Every number of the crossed model's prior, on the original coordinates."""

    names: list[str]
    fixed_mean: np.ndarray
    fixed_scale: np.ndarray
    factors: list[dict]  # name, varying, tau_kind and its numbers
    sigma_a: float = 1.0
    sigma_b: float = 1.0
    defaults: list[str] = field(default_factory=list)

    kind = "CrossedPrior"

    def to_dict(self) -> dict:
        fac = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in f.items()} for f in self.factors]
        return {"names": list(self.names), "fixed_mean": self.fixed_mean.tolist(),
                "fixed_scale": [float(x) if np.isfinite(x) else "inf" for x in self.fixed_scale],
                "factors": fac, "sigma_a": self.sigma_a, "sigma_b": self.sigma_b, "defaults": list(self.defaults)}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedCrossedPrior":
        arrays = ("tau_a", "tau_b", "tau_scale", "iw_scale")
        fac = [{k: (np.asarray(v, dtype=float) if k in arrays and v is not None else v) for k, v in f.items()}
               for f in d["factors"]]
        return cls(list(d["names"]), np.asarray(d["fixed_mean"], float),
                   np.asarray([np.inf if x == "inf" else x for x in d["fixed_scale"]], float), fac,
                   float(d["sigma_a"]), float(d["sigma_b"]), list(d.get("defaults", [])))

    def __str__(self) -> str:
        lines = ["Prior: CrossedPrior" + (f" (defaults scaled to the data: {', '.join(self.defaults)})"
                                          if self.defaults else "")]
        first = set(self.factors[0]["varying"])
        for k, n in enumerate(self.names):
            who = f"mu[{n}]" if n in first else f"alpha[{n}]"
            s = self.fixed_scale[k]
            lines.append(f"  {who} ~ " + ("flat" if not np.isfinite(s) else f"N({self.fixed_mean[k]:.4g}, {s:.4g}^2)"))
        for i, f in enumerate(self.factors):
            centre = "mu" if i == 0 else "0"
            lines.append(f"  b_{f['name']}[j] ~ N({centre}, Sigma_{f['name']})")
            if f["tau_kind"] == "InvGamma":
                for k, n in enumerate(f["varying"]):
                    lines.append(f"    tau2_{f['name']}[{n}] ~ IG({f['tau_a'][k]:.4g}, {f['tau_b'][k]:.4g})")
            elif f["tau_kind"] == "HalfCauchy":
                for k, n in enumerate(f["varying"]):
                    lines.append(f"    tau_{f['name']}[{n}] ~ half-Cauchy(0, {f['tau_scale'][k]:.4g})")
            else:
                lines.append(f"    Sigma_{f['name']} ~ IW({f['iw_df']:.4g}, Psi), diag(Psi) = "
                             f"{np.array2string(np.diag(f['iw_scale']), precision=4)}")
        lines.append(f"  sigma2 ~ IG({self.sigma_a:.4g}, {self.sigma_b:.4g})")
        return "\n".join(lines)


def _tau_defaults(stats):
    """(default means, default scales, default tau scales) for every column, as HierarchicalPrior."""
    y_sd = math.sqrt(stats.y_var) if stats.y_var > 0 else max(abs(stats.y_mean), 1.0)
    x_sd = np.where(stats.x_sd > 0, stats.x_sd, stats.transform.scale)
    slope = SLOPE_SCALE * y_sd / x_sd
    mean, scale, tau = np.zeros(len(x_sd)), slope, y_sd / x_sd
    if stats.transform.intercept:
        icpt = math.sqrt((SLOPE_SCALE * y_sd) ** 2 + float(np.sum((stats.x_mean * slope) ** 2)))
        mean = np.concatenate([[stats.y_mean], mean])
        scale = np.concatenate([[icpt], scale])
        tau = np.concatenate([[y_sd], tau])
    return mean, scale, tau, y_sd


def resolve_crossed_prior(prior: CrossedPrior, factors, stats, names, vidx) -> ResolvedCrossedPrior:
    """Fill the defaults from the complete-pooling statistics; vidx[f] are factor f's column indices."""
    mean, scale, tau_default, y_sd = _tau_defaults(stats)
    p = len(names)
    defaults = []
    if prior.fixed_mean is None:
        defaults.append("fixed_mean")
        fixed_mean = mean
    else:
        fixed_mean = _vec(prior.fixed_mean, p, "fixed_mean")
    if prior.fixed_scale is None:
        defaults.append("fixed_scale")
        fixed_scale = scale
    else:
        fixed_scale = _vec(prior.fixed_scale, p, "fixed_scale")
    out = []
    for f, idx in zip(factors, vidx):
        q = len(idx)
        d = {"name": f.name, "varying": [names[i] for i in idx]}
        tau = f.tau
        if tau is None:
            defaults.append(f"tau_{f.name}")
            d.update(tau_kind="HalfCauchy", tau_scale=tau_default[idx].copy())
        elif isinstance(tau, InvGamma):
            d.update(tau_kind="InvGamma", tau_a=_vec(tau.a, q, "tau a"), tau_b=_vec(tau.b, q, "tau b"))
        elif isinstance(tau, HalfCauchy):
            d.update(tau_kind="HalfCauchy", tau_scale=_vec(tau.scale, q, "tau scale"))
        else:
            if tau.df <= q - 1:
                raise ValueError(f"Factor {f.name!r}: InvWishart df must exceed q - 1 = {q - 1}, got {tau.df}")
            psi = np.eye(q) * tau.scale if np.ndim(tau.scale) == 0 else validate_cov(tau.scale, q, "scale", "InvWishart")
            d.update(tau_kind="InvWishart", iw_df=float(tau.df), iw_scale=psi)
        out.append(d)
    if prior.sigma is None:
        defaults.append("sigma")
        sa, sb = DEFAULT_A, DEFAULT_B_FRACTION * y_sd**2
    else:
        sa, sb = float(prior.sigma.a), float(prior.sigma.b)
    return ResolvedCrossedPrior(list(names), fixed_mean, fixed_scale, out, sa, sb, defaults)


# ---------------------------------------------------------------------------------------------
# labels and cell statistics


def encode_factor(labels, n: int, name: str):
    """Integer codes (n,) and sorted level labels (J,) of one factor; one level is allowed."""
    categorical = getattr(labels, "cat", None) if str(getattr(labels, "dtype", "")) == "category" else None
    if categorical is None and hasattr(labels, "categories") and hasattr(labels, "codes"):
        categorical = labels
    if categorical is not None:
        codes = np.asarray(categorical.codes).astype(np.int64)
        if codes.shape[0] != n:
            raise ValueError(f"factor {name!r} has {codes.shape[0]} labels but X has {n} rows; they must match")
        if (codes < 0).any():
            raise ValueError(f"factor {name!r} has a missing (NaN) label at row {int(np.argmax(codes < 0))}")
        levels = np.asarray(list(categorical.categories))
        counts = np.bincount(codes, minlength=len(levels))
        if (counts == 0).any():
            raise ValueError(f"factor {name!r}: level(s) {levels[counts == 0][:5].tolist()} have no rows; "
                             "remove unused categories")
        return codes, levels
    g = np.asarray(labels.to_numpy() if hasattr(labels, "to_numpy") else labels)
    if g.ndim != 1:
        raise ValueError(f"factor {name!r}: labels must be 1-D, one per row; got shape {g.shape}")
    if g.shape[0] != n:
        raise ValueError(f"factor {name!r} has {g.shape[0]} labels but X has {n} rows; they must match")
    if n == 0:
        raise ValueError(f"factor {name!r} is empty (no labels)")
    if g.dtype.kind == "f":
        bad = ~np.isfinite(g)
        if bad.any():
            raise ValueError(f"factor {name!r} has a NaN/inf label at row {int(np.argmax(bad))}")
    elif g.dtype.kind == "O":
        for i, v in enumerate(g):
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                raise ValueError(f"factor {name!r} has a missing (None/NaN) label at row {i}")
        if all(isinstance(v, str) for v in g):
            g = g.astype(str)
    try:
        levels, codes = np.unique(g, return_inverse=True)
    except TypeError:
        raise ValueError(f"factor {name!r}: labels must be mutually comparable (all numbers or all strings)") from None
    return codes.reshape(-1).astype(np.int64), levels


def interaction_labels(*columns, sep: str = ":"):
    """Labels of the interaction of several factors, e.g. county-within-state for ``(1 | state/county)``."""
    cols = [np.asarray(c.to_numpy() if hasattr(c, "to_numpy") else c) for c in columns]
    n = {c.shape[0] for c in cols}
    if len(n) != 1:
        raise ValueError(f"interaction_labels: columns have different lengths {sorted(n)}")
    return np.array([sep.join(map(str, row)) for row in zip(*cols)])


def factor_columns(groups, factors, n):
    """Codes (n, K) and level labels per factor from a dict or DataFrame of label columns."""
    if groups is None:
        raise ValueError("groups is None; pass a dict (or DataFrame) {factor name: labels}")
    keys = list(groups.columns) if hasattr(groups, "columns") else list(groups.keys()) if isinstance(groups, dict) else None
    if keys is None:
        raise ValueError(f"groups must be a dict or a DataFrame of label columns, got {type(groups).__name__}")
    codes, levels = [], []
    for f in factors:
        if f.name not in keys:
            raise ValueError(f"groups has no labels for factor {f.name!r}; it has {keys}")
        c, lv = encode_factor(groups[f.name], n, f.name)
        codes.append(c)
        levels.append(lv)
    return np.stack(codes, axis=1), levels


@dataclass
class CellStats:
    """Per-cell statistics in scaled coordinates (all p columns in their original order)."""

    G: np.ndarray  # (C, p, p)
    h: np.ndarray  # (C, p)
    rr: np.ndarray  # (C,)
    n: np.ndarray  # (C,) float
    level: np.ndarray  # (C, K) int64: the level of each factor in each cell
    scale: np.ndarray  # (p,) column root-mean-squares D
    ref: np.ndarray  # (p,) complete-pooling reference point


def cell_stats(design, codes: np.ndarray, J, ref: np.ndarray) -> CellStats:
    """One pass over the rows sorted by cell: Z_c'Z_c, Z_c'r0_c, r0_c'r0_c, n_c with Z = X D^{-1}, r0 = y - X ref."""
    p = design.p
    K = codes.shape[1]
    radix = np.cumprod([1] + [int(j) for j in J[:-1]])
    if float(np.prod([float(j) for j in J])) < 2.0**62:
        key = codes @ radix.astype(np.int64)
        cell_keys, cell = np.unique(key, return_inverse=True)
        level = np.stack([(cell_keys // radix[f]) % J[f] for f in range(K)], axis=1).astype(np.int64)
    else:
        level, cell = np.unique(codes, axis=0, return_inverse=True)
    cell = cell.reshape(-1)
    C = level.shape[0]
    sq = np.zeros(p)
    for rows in row_chunks(design.n, p):
        sq += (design.full_matrix(rows) ** 2).sum(axis=0)
    rms = np.sqrt(sq / design.n)
    rms = np.where(rms > 0, rms, 1.0)
    sort = np.argsort(cell, kind="stable")
    G = np.zeros((C, p, p))
    h = np.zeros((C, p))
    rr = np.zeros(C)
    for rows in row_chunks(design.n, p * p):
        idx = sort[rows]
        full = design.full_matrix(idx)
        r0 = design.y[idx] - full @ ref
        Z = full / rms
        c = cell[idx]
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        ids = c[starts]
        G[ids] += np.add.reduceat(Z[:, :, None] * Z[:, None, :], starts, axis=0)
        h[ids] += np.add.reduceat(Z * r0[:, None], starts, axis=0)
        rr[ids] += np.add.reduceat(r0 * r0, starts)
    nc = np.bincount(cell, minlength=C).astype(float)
    return CellStats(0.5 * (G + np.swapaxes(G, 1, 2)), h, rr, nc, level.astype(np.int64), rms, ref.copy())


# ---------------------------------------------------------------------------------------------
# kernel arguments


@dataclass
class CrossedProblem:
    """Kernel arguments in scaled coordinates theta' = D (theta - ref) (b_f' = D b_f for f >= 2)."""

    stats: CellStats
    J: np.ndarray  # (K,)
    q: np.ndarray  # (K,)
    vidx: np.ndarray  # (K, qmax) column indices (padded with 0)
    pidx: np.ndarray  # (r,) pooled column indices
    b_off: np.ndarray  # (K + 1,) offsets of each factor's effects in the flat b vector
    lv_off: np.ndarray  # (K + 1,) offsets of each factor's levels in Gsum
    Gsum: np.ndarray  # (sum J, qmax, qmax): sum over a level's cells of G_c[V_f, V_f]
    hsum: np.ndarray  # (sum J, qmax): sum over a level's cells of h_c[V_f]
    Gfp: np.ndarray  # (sum J, qmax, r): sum over a level's cells of G_c[V_f, P]
    Gpp: np.ndarray  # (r, r) sum over cells of G_c[P, P]
    hp: np.ndarray  # (r,) sum over cells of h_c[P]
    S0inv: np.ndarray
    S0inv_mu0: np.ndarray
    Sainv: np.ndarray
    Sainv_a0: np.ndarray
    tau_kind: np.ndarray  # (K,)
    tau_a: np.ndarray  # (K, qmax)
    tau_b: np.ndarray
    hc_inv_scale2: np.ndarray
    iw_df: np.ndarray  # (K,)
    iw_Psi: np.ndarray  # (K, qmax, qmax)
    shift_target: np.ndarray  # (K, qmax): index into mu (>= 0) or -(1 + index into alpha)
    parent_of: np.ndarray  # (sum J,): the first factor's level containing each level, -1 unless nested in it
    n_children: np.ndarray  # (K, J_1): levels of factor f inside each level of the first factor
    sigma_a: float
    sigma_b: float
    blocked: bool
    interweave: bool

    def kernel_args(self):
        s = self.stats
        return (s.G, s.h, s.rr, s.n, s.level, self.J, self.q, self.vidx, self.pidx, self.b_off, self.lv_off,
                self.Gsum, self.hsum, self.Gfp, self.Gpp, self.hp, self.S0inv, self.S0inv_mu0, self.Sainv, self.Sainv_a0, self.tau_kind,
                self.tau_a, self.tau_b, self.hc_inv_scale2, self.iw_df, self.iw_Psi, self.shift_target,
                self.parent_of, self.n_children, self.sigma_a, self.sigma_b, self.blocked,
                self.interweave)


def crossed_problem(cs: CellStats, prior: ResolvedCrossedPrior, vidx_list, pidx, J, blocked=True,
                    interweave=False) -> CrossedProblem:
    """Express the resolved prior in the scaled coordinates and precompute the per-level Gram sums."""
    K = len(vidx_list)
    q = np.array([len(v) for v in vidx_list], dtype=np.int64)
    qmax = int(q.max())
    vidx = np.zeros((K, qmax), dtype=np.int64)
    for f, v in enumerate(vidx_list):
        vidx[f, : len(v)] = v
    pidx = np.asarray(pidx, dtype=np.int64)
    J = np.asarray(J, dtype=np.int64)
    b_off = np.concatenate([[0], np.cumsum(J * q)]).astype(np.int64)
    lv_off = np.concatenate([[0], np.cumsum(J)]).astype(np.int64)
    r = len(pidx)
    Gsum = np.zeros((int(lv_off[-1]), qmax, qmax))
    hsum = np.zeros((int(lv_off[-1]), qmax))
    Gfp = np.zeros((int(lv_off[-1]), qmax, r))
    for f, v in enumerate(vidx_list):
        k, lv = len(v), slice(lv_off[f], lv_off[f + 1])
        np.add.at(Gsum[lv, :k, :k], cs.level[:, f], cs.G[:, v][:, :, v])
        np.add.at(hsum[lv, :k], cs.level[:, f], cs.h[:, v])
        if r:
            np.add.at(Gfp[lv, :k, :], cs.level[:, f], cs.G[:, v][:, :, pidx])
    Gpp = cs.G[:, pidx][:, :, pidx].sum(axis=0) if r else np.zeros((0, 0))
    hp = cs.h[:, pidx].sum(axis=0) if r else np.zeros(0)
    D, ref = cs.scale, cs.ref
    with np.errstate(divide="ignore"):
        prec = np.where(np.isfinite(prior.fixed_scale), 1.0 / (D * prior.fixed_scale) ** 2, 0.0)
    pm = prec * (D * (prior.fixed_mean - ref))
    v1 = np.asarray(vidx_list[0])
    S0inv, S0inv_mu0 = np.diag(prec[v1]), pm[v1].copy()
    Sainv, Sainv_a0 = (np.diag(prec[pidx]), pm[pidx].copy()) if len(pidx) else (np.zeros((0, 0)), np.zeros(0))
    tau_kind = np.zeros(K, dtype=np.int64)
    tau_a = np.zeros((K, qmax))
    tau_b = np.zeros((K, qmax))
    hc = np.zeros((K, qmax))
    iw_df = np.zeros(K)
    iw_Psi = np.zeros((K, qmax, qmax))
    shift_target = np.zeros((K, qmax), dtype=np.int64)
    for f, (fp, v) in enumerate(zip(prior.factors, vidx_list)):
        d = D[np.asarray(v)]
        k = len(v)
        tau_kind[f] = _TAU_KINDS[fp["tau_kind"]]
        if fp["tau_kind"] == "InvGamma":
            tau_a[f, :k], tau_b[f, :k] = fp["tau_a"], fp["tau_b"] * d**2
        elif fp["tau_kind"] == "HalfCauchy":
            hc[f, :k] = 1.0 / (d * fp["tau_scale"]) ** 2
        else:
            iw_df[f] = fp["iw_df"]
            iw_Psi[f, :k, :k] = fp["iw_scale"] * np.outer(d, d)
        for a, col in enumerate(v):
            where = np.flatnonzero(v1 == col)
            shift_target[f, a] = where[0] if len(where) else -(1 + int(np.flatnonzero(pidx == col)[0]))
    parent_of = np.full(int(lv_off[-1]), -1, dtype=np.int64)
    n_children = np.zeros((K, int(J[0])))
    for f in range(1, K):
        # nested in the first factor: every level of f sits inside exactly one level of factor 1
        pairs = np.unique(cs.level[:, [f, 0]], axis=0)
        if len(pairs) == J[f] and np.array_equal(pairs[:, 0], np.arange(J[f])) and \
                (shift_target[f, : q[f]] >= 0).any():
            parent_of[lv_off[f]: lv_off[f + 1]] = pairs[:, 1]
            n_children[f] = np.bincount(pairs[:, 1], minlength=int(J[0]))
    return CrossedProblem(cs, J, q, vidx, pidx, b_off, lv_off, Gsum, hsum, Gfp, Gpp, hp, S0inv, S0inv_mu0, Sainv,
                          Sainv_a0, tau_kind, tau_a, tau_b, hc, iw_df, iw_Psi, shift_target, parent_of, n_children,
                          float(prior.sigma_a),
                          float(prior.sigma_b), bool(blocked), bool(interweave))


def crossed_gamma_shapes(tau_kind, tau_a, q, J, iw_df, sigma_a, n_total, interweave=False) -> np.ndarray:
    """Shapes of one iteration's gamma draws, in the kernel's order: per factor (tau^2 or Bartlett,
    then half-Cauchy lambdas), with interweaving one exponential per interwoven scale and then one gamma(1) per
    half-Cauchy scale (its lambda redrawn), then sigma^2."""
    out = []
    for f in range(len(q)):
        k = int(q[f])
        if tau_kind[f] == TAU_INVGAMMA:
            out.extend(tau_a[f, :k] + 0.5 * J[f])
        elif tau_kind[f] == TAU_HALFCAUCHY:
            out.extend([0.5 * (J[f] + 1)] * k + [1.0] * k)
        else:
            out.extend(0.5 * (iw_df[f] + J[f] - np.arange(k)))
    if interweave:
        out.extend([1.0] * _n_interwoven(tau_kind, q))
        out.extend([1.0] * int(sum(int(q[f]) for f in range(len(q)) if tau_kind[f] == TAU_HALFCAUCHY)))
    out.append(sigma_a + 0.5 * n_total)
    return np.asarray(out, dtype=float)


def _n_interwoven(tau_kind, q) -> int:
    """Number of scales the interweaving step redraws: q_f for every factor with a diagonal Sigma_f."""
    return int(sum(int(q[f]) for f in range(len(q)) if tau_kind[f] != TAU_INVWISHART))


def crossed_normal_count(tau_kind, q, J, r, blocked, parent_of=None, lv_off=None, shift_target=None,
                         interweave=False) -> int:
    """Normals per iteration: effects (sum J_f q_f), alpha (r), mu (q_1), Bartlett off-diagonals, interwoven
    scales, shift moves (q_f per later factor, plus J_1 |V_f and V_1| for a factor nested in the first)."""
    n = int(np.sum(np.asarray(J) * np.asarray(q))) + r + int(q[0])
    n += sum(int(q[f]) * (int(q[f]) - 1) // 2 for f in range(len(q)) if tau_kind[f] == TAU_INVWISHART)
    if interweave:
        n += _n_interwoven(tau_kind, q)
    if blocked:
        n += int(np.sum(q[1:]))
        if parent_of is not None:
            for f in range(1, len(q)):
                if parent_of[lv_off[f]] >= 0:
                    n += int(J[0]) * int((shift_target[f, : int(q[f])] >= 0).sum())
    return n


# ---------------------------------------------------------------------------------------------
# the NumPy reference loop (vectorised over chains; same streams, same order as the kernel)


def _incidence(level_col, J):
    from scipy import sparse

    C = level_col.shape[0]
    return sparse.csr_matrix((np.ones(C), (level_col, np.arange(C))), shape=(J, C))


def _theta_cells(level, vidx, q, b_list, alpha, pidx, p, skip=-1, skip_alpha=False):
    """(chains, C, p) coefficient vector of every cell (scaled coordinates), leaving out factor ``skip``."""
    Ch = alpha.shape[0]
    C = level.shape[0]
    theta = np.zeros((Ch, C, p))
    if not skip_alpha and len(pidx):
        theta[:, :, pidx] += alpha[:, None, :]
    for f, b in enumerate(b_list):
        if f == skip:
            continue
        k = int(q[f])
        theta[:, :, vidx[f, :k]] += b[:, level[:, f], :]
    return theta


def _level_rhs_ref(f, with_alpha, level, vidx, q, b_list, alpha, pidx, p, G, h, inc, J, Ch):
    """(chains, J_f, q_f): per level, sum over its cells of h_c[V_f] - G_c[V_f, :] theta_c (factor f left out)."""
    k = int(q[f])
    v = vidx[f, :k]
    theta = _theta_cells(level, vidx, q, b_list, alpha, pidx, p, skip=f, skip_alpha=not with_alpha)
    resid = h[None][:, :, v] - np.einsum("cab,ncb->nca", G[:, v, :], theta)
    lev = (inc[f] @ resid.transpose(1, 0, 2).reshape(level.shape[0], Ch * k)).reshape(int(J[f]), Ch, k)
    return lev.transpose(1, 0, 2)


def _draw_levels_ref(f, lev, Sinv, mu, Gsum, lv_off, q, J, inv, z):
    k, Jf = int(q[f]), int(J[f])
    Ch = lev.shape[0]
    Sf = Sinv[:, f, :k, :k]
    centre = np.einsum("nab,nb->na", Sf, mu) if f == 0 else np.zeros((Ch, k))
    A = Sf[:, None] + Gsum[None, lv_off[f]: lv_off[f + 1], :k, :k] * inv[:, None, None, None]
    rhs = centre[:, None, :] + lev * inv[:, None, None]
    return gaussian_draw(A, rhs, z.reshape(Ch, Jf, k))


def _interweave_ref(G, h, rr, level, vidx, q, pidx, p, tau_kind, tau_a, tau_b, hc_inv_scale2, lam, b_list, alpha, mu,
                    Sinv, inv, tf, tk, z, zi, g, gi):
    """NumPy twin of kernels.crossed._interweave_scales (vectorised over chains); returns the stream positions
    and the residual sum of squares at the new state (Ch,)."""
    Ch = alpha.shape[0]
    T = len(tf)
    cols = vidx[tf, tk]
    tau_old = 1.0 / np.sqrt(Sinv[:, tf, tk, tk])  # (Ch, T)
    itau = 1.0 / tau_old
    # theta0_c: alpha, mu on V_1 when the first factor is interwoven, the inverse-Wishart factors' effects
    iw = [f for f in range(len(q)) if tau_kind[f] == TAU_INVWISHART]
    theta = np.zeros((Ch, level.shape[0], p))
    if len(pidx):
        theta[:, :, pidx] = alpha[:, None, :]
    if tau_kind[0] != TAU_INVWISHART:
        theta[:, :, vidx[0, : int(q[0])]] += mu[:, None, :]
    for f in iw:
        theta[:, :, vidx[f, : int(q[f])]] += b_list[f][:, level[:, f], :]
    eta = np.empty((Ch, level.shape[0], T))
    for i, (f, k) in enumerate(zip(tf, tk)):
        eta[:, :, i] = (b_list[f][:, level[:, f], k] - (mu[:, k][:, None] if f == 0 else 0.0)) * itau[:, i][:, None]
    rc = h[None] - np.einsum("cab,ncb->nca", G, theta)
    r0 = rr.sum() - np.einsum("nca,nca->n", theta, h[None] + rc)
    bv = np.einsum("nci,nci->ni", eta, rc[:, :, cols])
    Q = np.einsum("nci,ncl,cil->nil", eta, eta, G[:, cols][:, :, cols])
    tau = tau_old.copy()
    for i in range(T):
        zz, e = z[:, zi], g[:, gi]
        zi += 1
        gi += 1
        f, k = tf[i], tk[i]
        prec = Q[:, i, i]
        ok = prec > 0.0
        sp = np.where(ok, prec, 1.0)
        others = np.arange(T) != i
        lin = bv[:, i] - (Q[:, i, others] * tau[:, others]).sum(axis=1)
        prop = lin / sp + zz / np.sqrt(sp * inv)
        ok &= prop != 0.0
        prop = np.where(ok, prop, 1.0)
        if tau_kind[f] == TAU_INVGAMMA:
            pa, pb = tau_a[f, k], tau_b[f, k]
            log_ratio = -(2.0 * pa + 1.0) * (np.log(np.abs(prop)) - np.log(np.abs(tau[:, i])))
            log_ratio -= pb * (1.0 / (prop * prop) - 1.0 / (tau[:, i] * tau[:, i]))
        else:
            hc = hc_inv_scale2[f, k]
            log_ratio = np.log1p(hc * tau[:, i] * tau[:, i]) - np.log1p(hc * prop * prop)
        tau[:, i] = np.where(ok & (log_ratio >= -e), prop, tau[:, i])
    for i, (f, k) in enumerate(zip(tf, tk)):
        m = mu[:, k][:, None] if f == 0 else 0.0
        b_list[f][:, :, k] = m + (tau[:, i] / tau_old[:, i])[:, None] * (b_list[f][:, :, k] - m)
        Sinv[:, f, k, k] = 1.0 / (tau[:, i] * tau[:, i])
    for i, (f, k) in enumerate(zip(tf, tk)):
        if tau_kind[f] == TAU_HALFCAUCHY:
            lam[:, f, k] = (hc_inv_scale2[f, k] + Sinv[:, f, k, k]) / g[:, gi]
            gi += 1
    rss = r0 + np.einsum("ni,nil,nl->n", tau, Q, tau) - 2.0 * np.einsum("ni,ni->n", tau, bv)
    return zi, gi, rss


def crossed_gibbs_reference(
    G, h, rr, nc, level, J, q, vidx, pidx, b_off, lv_off, Gsum, hsum, Gfp, Gpp, hp, S0inv, S0inv_mu0, Sainv,
    Sainv_a0, tau_kind, tau_a, tau_b, hc_inv_scale2, iw_df, iw_Psi, shift_target, parent_of, n_children, sigma_a,
    sigma_b, blocked, interweave,
    b, alpha, mu, Sinv, lam, sigma2,
    normal_gens, gamma_gens, n_iter, thin, out_start,
    out_b, out_alpha, out_mu, out_Sigma, out_sigma2,
):
    """NumPy twin of gibbsreg.kernels.crossed.crossed_gibbs (same arguments, same streams)."""
    Ch = b.shape[0]
    K = len(J)
    p = G.shape[1]
    r = len(pidx)
    n_total = float(nc.sum())
    n_norm = crossed_normal_count(tau_kind, q, J, r, blocked, parent_of, lv_off, shift_target, interweave)
    shapes = crossed_gamma_shapes(tau_kind, tau_a, q, J, iw_df, sigma_a, n_total, interweave)
    tf = np.array([f for f in range(K) if tau_kind[f] != TAU_INVWISHART for _ in range(int(q[f]))], dtype=np.int64)
    tk = np.array([a for f in range(K) if tau_kind[f] != TAU_INVWISHART for a in range(int(q[f]))], dtype=np.int64)
    Z = normal_block(normal_gens, n_iter, n_norm)
    Gam = gamma_block(gamma_gens, n_iter, shapes)
    inc = [_incidence(level[:, f], int(J[f])) for f in range(K)]
    store = out_mu.shape[1] > 0
    b_list = [b[:, b_off[f]: b_off[f + 1]].reshape(Ch, int(J[f]), int(q[f])).copy() for f in range(K)]
    for t in range(n_iter):
        z = Z[:, t]
        g = Gam[:, t]
        zi = 0
        gi = 0
        inv = 1.0 / sigma2  # (Ch,)
        if not blocked:
            # ---- effects, one factor at a time
            for f in range(K):
                lev = _level_rhs_ref(f, True, level, vidx, q, b_list, alpha, pidx, p, G, h, inc, J, Ch)
                b_list[f][:] = _draw_levels_ref(f, lev, Sinv, mu, Gsum, lv_off, q, J, inv, z[:, zi: zi + J[f] * q[f]])
                zi += int(J[f] * q[f])
            # ---- pooled coefficients
            if r > 0:
                theta = _theta_cells(level, vidx, q, b_list, alpha, pidx, p, skip_alpha=True)
                resid = (h[None][:, :, pidx] - np.einsum("cab,ncb->nca", G[:, pidx, :], theta)).sum(axis=1)
                A = Sainv[None] + Gpp[None] * inv[:, None, None]
                alpha[:] = gaussian_draw(A, Sainv_a0[None] + resid * inv[:, None], z[:, zi: zi + r])
            zi += r
            # ---- population means of the first factor
            k1, J1 = int(q[0]), int(J[0])
            S1 = Sinv[:, 0, :k1, :k1]
            A = S0inv[None] + J1 * S1
            rhs = S0inv_mu0[None] + np.einsum("nab,nb->na", S1, b_list[0].sum(axis=1))
            mu[:] = gaussian_draw(A, rhs, z[:, zi: zi + k1])
            zi += k1
        else:
            for f in range(1, K):
                lev = _level_rhs_ref(f, True, level, vidx, q, b_list, alpha, pidx, p, G, h, inc, J, Ch)
                b_list[f][:] = _draw_levels_ref(f, lev, Sinv, mu, Gsum, lv_off, q, J, inv, z[:, zi: zi + J[f] * q[f]])
                zi += int(J[f] * q[f])
            # ---- (mu, alpha) with the first factor's effects integrated out
            k1, J1 = int(q[0]), int(J[0])
            d = k1 + r
            lev = _level_rhs_ref(0, False, level, vidx, q, b_list, alpha, pidx, p, G, h, inc, J, Ch)
            S1 = Sinv[:, 0, :k1, :k1]
            P = np.zeros((Ch, d, d))
            w = np.zeros((Ch, d))
            P[:, :k1, :k1] = S0inv[None] + J1 * S1
            w[:, :k1] = S0inv_mu0[None]
            Gfp0 = Gfp[: J1, :k1, :]
            if r > 0:
                hpp = hp[None] - sum(np.einsum("jba,njb->na", Gfp[lv_off[f]: lv_off[f + 1], : int(q[f]), :], b_list[f])
                                     for f in range(1, K))
                P[:, k1:, k1:] = Sainv[None] + Gpp[None] * inv[:, None, None]
                w[:, k1:] = Sainv_a0[None] + hpp * inv[:, None]
            A = S1[:, None] + Gsum[None, :J1, :k1, :k1] * inv[:, None, None, None]
            Linv = np.linalg.inv(np.linalg.cholesky(A))  # (Ch, J1, k1, k1)
            Mj = np.concatenate([np.broadcast_to(S1[:, None], (Ch, J1, k1, k1)),
                                 -Gfp0[None] * inv[:, None, None, None]], axis=3)
            U = Linv @ Mj
            e = np.einsum("njab,njb->nja", Linv, lev * inv[:, None, None])
            P -= np.einsum("njka,njkb->nab", U, U)
            w += np.einsum("njka,njk->na", U, e)
            th = gaussian_draw(P, w, z[:, zi: zi + d])
            zi += d
            mu[:] = th[:, :k1]
            alpha[:] = th[:, k1:]
            lev = lev - np.einsum("jab,nb->nja", Gfp0, alpha)
            b_list[0][:] = _draw_levels_ref(0, lev, Sinv, mu, Gsum, lv_off, q, J, inv, z[:, zi: zi + J1 * k1])
            zi += J1 * k1
        # ---- covariances
        for f in range(K):
            k, Jf = int(q[f]), int(J[f])
            d = b_list[f] - (mu[:, None, :] if f == 0 else 0.0)
            if tau_kind[f] == TAU_INVWISHART:
                M = np.linalg.cholesky(iw_Psi[f, :k, :k] + np.einsum("nja,njb->nab", d, d))
                B = np.zeros((Ch, k, k))
                low = np.tril_indices(k, -1)
                m = k * (k - 1) // 2
                B[:, low[0], low[1]] = z[:, zi: zi + m]
                zi += m
                B[:, np.arange(k), np.arange(k)] = np.sqrt(2.0 * g[:, gi: gi + k])
                gi += k
                W = np.linalg.solve(np.swapaxes(M, 1, 2), B)
                Sinv[:, f, :k, :k] = W @ np.swapaxes(W, 1, 2)
            else:
                ss = np.einsum("nja,nja->na", d, d)
                if tau_kind[f] == TAU_INVGAMMA:
                    tau2 = (tau_b[f, :k] + 0.5 * ss) / g[:, gi: gi + k]
                    gi += k
                else:
                    tau2 = (1.0 / lam[:, f, :k] + 0.5 * ss) / g[:, gi: gi + k]
                    gi += k
                    lam[:, f, :k] = (hc_inv_scale2[f, :k] + 1.0 / tau2) / g[:, gi: gi + k]
                    gi += k
                Sinv[:, f, :k, :k] = 0.0
                Sinv[:, f, np.arange(k), np.arange(k)] = 1.0 / tau2
        # ---- interweaving: the diagonal scales redrawn in the non-centred parameterisation
        rss = None
        if interweave and len(tf):
            zi, gi, rss = _interweave_ref(G, h, rr, level, vidx, q, pidx, p, tau_kind, tau_a, tau_b, hc_inv_scale2,
                                          lam, b_list, alpha, mu, Sinv, inv, tf, tk, z, zi, g, gi)
        # ---- shift moves along the directions the likelihood cannot see
        if blocked:
            for f in range(1, K):
                k, Jf = int(q[f]), int(J[f])
                tgt = shift_target[f, :k]
                cur = np.empty((Ch, k))
                pprec = np.empty(k)
                pmean = np.empty(k)
                for a in range(k):
                    if tgt[a] >= 0:
                        cur[:, a] = mu[:, tgt[a]]
                        pprec[a], pmean[a] = S0inv[tgt[a], tgt[a]], S0inv_mu0[tgt[a]]
                    else:
                        i = -1 - tgt[a]
                        cur[:, a] = alpha[:, i]
                        pprec[a], pmean[a] = Sainv[i, i], Sainv_a0[i]
                Sf = Sinv[:, f, :k, :k]
                A = Jf * Sf + np.diag(pprec)[None]
                rhs = np.einsum("nab,nb->na", Sf, b_list[f].sum(axis=1)) + pmean[None] - pprec[None] * cur
                c = gaussian_draw(A, rhs, z[:, zi: zi + k])
                zi += k
                b_list[f] -= c[:, None, :]
                for a in range(k):
                    if tgt[a] >= 0:
                        mu[:, tgt[a]] += c[:, a]
                        b_list[0][:, :, tgt[a]] += c[:, a][:, None]
                    else:
                        alpha[:, -1 - tgt[a]] += c[:, a]
                if parent_of[lv_off[f]] >= 0:
                    # per-parent translation: b_1,s + c_s and b_f,j - c_s for the children j of s
                    par = parent_of[lv_off[f]: lv_off[f + 1]]
                    S = np.flatnonzero(tgt >= 0)
                    T = tgt[S]
                    k1, J1 = int(q[0]), int(J[0])
                    S1 = Sinv[:, 0, :k1, :k1]
                    Sf = Sinv[:, f, :k, :k]
                    onehot = np.zeros((J1, Jf))
                    onehot[par, np.arange(Jf)] = 1.0
                    childsum = np.einsum("sj,nja->nsa", onehot, b_list[f])
                    A = S1[:, T][:, :, T][:, None] + n_children[f][None, :, None, None] * Sf[:, S][:, :, S][:, None]
                    v = (np.einsum("nab,nsb->nsa", Sf[:, S, :], childsum)
                         - np.einsum("nab,nsb->nsa", S1[:, T, :], b_list[0] - mu[:, None, :]))
                    ns = len(S)
                    cs_ = gaussian_draw(A, v, z[:, zi: zi + J1 * ns].reshape(Ch, J1, ns))
                    zi += J1 * ns
                    b_list[0][:, :, T] += cs_
                    b_list[f][:, :, S] -= cs_[:, par, :]
        # ---- residual variance
        if rss is None:
            theta = _theta_cells(level, vidx, q, b_list, alpha, pidx, p)
            rss = rr[None] - 2.0 * np.einsum("nca,ca->nc", theta, h) + np.einsum("nca,cab,ncb->nc", theta, G, theta)
            rss = rss.sum(axis=1)
        rss = np.maximum(rss, 0.0)
        sigma2[:] = (sigma_b + 0.5 * rss) / g[:, gi]
        for f in range(K):
            b[:, b_off[f]: b_off[f + 1]] = b_list[f].reshape(Ch, -1)
        if store and (t + 1) % thin == 0:
            kk = out_start + (t + 1) // thin - 1
            out_b[:, kk] = b
            out_alpha[:, kk] = alpha
            out_mu[:, kk] = mu
            for f in range(K):
                k = int(q[f])
                out_Sigma[:, kk, f, :k, :k] = np.linalg.inv(Sinv[:, f, :k, :k])
            out_sigma2[:, kk] = sigma2
    return 0


# ---------------------------------------------------------------------------------------------
# running


def crossed_initial_state(problem: CrossedProblem, init_gens, chains: int):
    """Dispersed start values: mu, Sigma_f^{-1} (diagonal), lambda, sigma^2; b and alpha start at 0."""
    s = problem.stats
    K = len(problem.J)
    qmax = problem.vidx.shape[1]
    q1 = int(problem.q[0])
    resid_var = max(float(s.rr.sum() / max(s.n.sum(), 1.0)), 1e-300)
    mu = np.empty((chains, q1))
    Sinv = np.zeros((chains, K, qmax, qmax))
    lam = np.ones((chains, K, qmax))
    sigma2 = np.empty(chains)
    for c, g in enumerate(init_gens):
        for f in range(K):
            k = int(problem.q[f])
            tau2 = resid_var * np.exp(g.standard_normal(k))
            Sinv[c, f, np.arange(k), np.arange(k)] = 1.0 / tau2
            if f == 0:
                mu[c] = g.standard_normal(k) * np.sqrt(tau2)
        sigma2[c] = resid_var * math.exp(g.standard_normal())
    for f in range(K):
        if problem.tau_kind[f] == TAU_HALFCAUCHY:
            k = int(problem.q[f])
            lam[:, f, :k] = 1.0 / np.maximum(problem.hc_inv_scale2[f, :k], 1e-300)
    b = np.zeros((chains, int(problem.b_off[-1])))
    alpha = np.zeros((chains, len(problem.pidx)))
    return b, alpha, mu, Sinv, lam, sigma2


def run_crossed(problem: CrossedProblem, streams, *, draws, warmup, thin, backend, progress):
    """Sample; returns the scaled-coordinate draws (b, alpha, mu, Sigma, sigma2) and the RunInfo."""
    chains = len(streams.normal)
    K = len(problem.J)
    qmax = problem.vidx.shape[1]
    state = crossed_initial_state(problem, streams.init, chains)
    nb = int(problem.b_off[-1])
    r = len(problem.pidx)
    out = dict(b=np.empty((chains, draws, nb)), alpha=np.empty((chains, draws, r)),
               mu=np.empty((chains, draws, int(problem.q[0]))), Sigma=np.empty((chains, draws, K, qmax, qmax)),
               sigma2=np.empty((chains, draws)))
    order = ("b", "alpha", "mu", "Sigma", "sigma2")

    def load_kernel():
        from .kernels.crossed import crossed_gibbs

        return crossed_gibbs

    run_chunk = chunk_runner(backend, load_kernel, crossed_gibbs_reference, problem.kernel_args(), state, streams,
                             out, order, thin, "a conditional precision matrix lost positive definiteness; "
                             "rescale the data or the prior")
    cells = problem.stats.G.shape[0]
    cap = None if backend == "numba" else max(1, MAX_CHUNK_ELEMENTS // (chains * (nb + 4 * cells * G_width(problem)) + 1))
    info = drive(run_chunk, draws=draws, warmup=warmup, thin=thin, progress=progress, max_chunk_iters=cap)
    return {k: v[:, : info.draws_done] for k, v in out.items()}, info


def G_width(problem) -> int:
    return int(problem.stats.G.shape[1])


def _column_list(spec, names, fname):
    idx = []
    for item in spec:
        if isinstance(item, (int, np.integer)):
            if not 0 <= item < len(names):
                raise ValueError(f"Factor {fname!r}: column index {item} is out of range for coefficients {names}")
            idx.append(int(item))
        else:
            if item not in names:
                raise ValueError(f"Factor {fname!r}: varying column {item!r} is not a coefficient; "
                                 f"coefficients are {names}")
            idx.append(names.index(item))
    if len(set(idx)) != len(idx):
        raise ValueError(f"Factor {fname!r}: varying lists a column twice: {spec}")
    return sorted(idx)


class CrossedRegression:
    """Linear regression with several grouping factors (crossed or nested random effects), by Gibbs.

    ``factors``: a list of :class:`Factor`; the first one's effects are centred at the
    population means mu, the others' at zero (lme4's identification).  ``prior``: a
    :class:`CrossedPrior` for the population coefficients and sigma^2.  ``sampler``:
    ``"asis"`` (default: ``"blocked"`` plus an interweaving step, Yu & Meng 2011, that redraws
    every diagonal factor scale tau_f in the non-centred parameterisation b_f = m_f + tau_f eta_f;
    it fixes the slow mixing of a factor variance near zero; inverse-Wishart factors are not
    interwoven), ``"blocked"`` ((mu, alpha) drawn with the first factor's effects integrated out,
    then those effects, so (mu, alpha, b_1) form one exact block; plus, for every later
    factor, an exact draw along its mean direction that the likelihood cannot see) or
    ``"plain"`` (block Gibbs: one block per factor, then alpha, then mu).
    For a nested design ``(1 | a/b)`` pass factors ``a`` and ``a:b`` with labels from
    :func:`interaction_labels`.
    """

    SAMPLERS = ("asis", "blocked", "plain")

    def __init__(self, factors, prior: CrossedPrior | None = None, intercept: bool = True, sampler: str = "asis"):
        if isinstance(factors, Factor):
            factors = [factors]
        factors = list(factors or [])
        if not factors:
            raise ValueError("CrossedRegression needs at least one Factor")
        for f in factors:
            if not isinstance(f, Factor):
                raise ValueError(f"factors must be Factor objects, got {type(f).__name__}")
        names = [f.name for f in factors]
        if len(set(names)) != len(names):
            raise ValueError(f"factor names must be unique, got {names}")
        if sampler not in self.SAMPLERS:
            raise ValueError(f"sampler must be one of {self.SAMPLERS}, got {sampler!r}")
        if prior is None:
            prior = CrossedPrior()
        if not isinstance(prior, CrossedPrior):
            raise ValueError(f"CrossedRegression: prior must be a CrossedPrior, got {type(prior).__name__}")
        self.factors = factors
        self.prior = prior
        self.intercept = bool(intercept)
        self.sampler = sampler

    def prepare(self, X, y, groups):
        """Validate and reduce the data to cell statistics; returns (problem, design, prior, levels, vidx, pidx)."""
        design = as_design(X, y, self.intercept)
        vidx = [_column_list(f.varying, design.names, f.name) for f in self.factors]
        pidx = [i for i in range(design.p) if i not in vidx[0]]
        codes, levels = factor_columns(groups, self.factors, design.n)
        flat = sufficient_stats(design)
        prior = resolve_crossed_prior(self.prior, self.factors, flat, design.names, vidx)
        flat_cols = np.flatnonzero(~np.isfinite(prior.fixed_scale))
        if len(flat_cols):
            Gs = flat.G[np.ix_(flat_cols, flat_cols)]
            eig = np.linalg.eigvalsh(Gs)
            if not eig[0] > 1e-10 * max(eig[-1], 1e-300):
                raise ValueError("the population-level design is singular in the columns with a flat prior "
                                 f"{[design.names[i] for i in flat_cols]}: the posterior is improper; give them "
                                 "a finite fixed_scale or drop collinear columns")
        J = [len(lv) for lv in levels]
        cs = cell_stats(design, codes, J, flat.transform.beta_ref)
        problem = crossed_problem(cs, prior, vidx, pidx, J, blocked=self.sampler in ("asis", "blocked"),
                                  interweave=self.sampler == "asis")
        return problem, design, prior, levels, vidx, pidx

    def sample(self, X, y, groups, *, chains: int = 4, draws: int = 1000, warmup: int = 1000, thin: int = 1,
               seed=None, backend: str = "numba", progress: bool = True) -> Posterior:
        """Gibbs sampling; returns ``b_<factor>`` (chains, draws, J_f, q_f), ``tau2_<factor>`` (q_f) or
        ``Sigma_<factor>`` (q_f, q_f), ``mu`` (q_1), ``alpha`` (r) when some columns do not vary in the
        first factor, and ``sigma2`` (chains, draws).  ``groups``: {factor name: labels} or a DataFrame."""
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        t0 = time.perf_counter()
        problem, design, prior, levels, vidx, pidx = self.prepare(X, y, groups)
        streams = chain_streams(seed, chains)
        setup = time.perf_counter() - t0
        with no_huge_pages():
            out, info = run_crossed(problem, streams, draws=draws, warmup=warmup, thin=thin, backend=backend,
                                    progress=progress)
        D, ref = problem.stats.scale, problem.stats.ref
        draws_out, dims = {}, {}
        coords = {}
        Ch, Dn = out["sigma2"].shape
        for f, fac in enumerate(self.factors):
            v = np.asarray(vidx[f])
            k, Jf = len(v), len(levels[f])
            b = out["b"][:, :, problem.b_off[f]: problem.b_off[f + 1]].reshape(Ch, Dn, Jf, k) / D[v]
            if f == 0:
                b += ref[v]
            draws_out[f"b_{fac.name}"] = b
            dims[f"b_{fac.name}"] = [f"{fac.name}_level", f"{fac.name}_coef"]
            coords[f"{fac.name}_level"] = levels[f].tolist()
            coords[f"{fac.name}_coef"] = [design.names[i] for i in v]
            coords[f"{fac.name}_coef_"] = [design.names[i] for i in v]
            Sig = out["Sigma"][:, :, f, :k, :k] / np.outer(D[v], D[v])
            if prior.factors[f]["tau_kind"] == "InvWishart":
                draws_out[f"Sigma_{fac.name}"] = Sig
                dims[f"Sigma_{fac.name}"] = [f"{fac.name}_coef", f"{fac.name}_coef_"]
            else:
                draws_out[f"tau2_{fac.name}"] = np.diagonal(Sig, axis1=2, axis2=3).copy()
                dims[f"tau2_{fac.name}"] = [f"{fac.name}_coef"]
        v1 = np.asarray(vidx[0])
        draws_out["mu"] = out["mu"] / D[v1] + ref[v1]
        dims["mu"] = ["coef"]
        coords["coef"] = [design.names[i] for i in v1]
        if pidx:
            pa = np.asarray(pidx)
            draws_out["alpha"] = out["alpha"] / D[pa] + ref[pa]
            dims["alpha"] = ["pooled_coef"]
            coords["pooled_coef"] = [design.names[i] for i in pidx]
        draws_out["sigma2"] = out["sigma2"]
        dims["sigma2"] = []
        kinds = ", ".join(f"{f['name']}: {f['tau_kind']}" for f in prior.factors)
        attrs = {
            "model": f"CrossedRegression ({kinds}; {self.sampler} Gibbs)",
            "model_kind": "crossed", "sampler": self.sampler, "prior": prior, "backend": backend,
            "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
            "chains": chains, "draws": draws, "warmup": warmup, "thin": thin,
            "n": design.n, "p": design.p, "intercept": self.intercept, "names": design.names,
            "factors": [f.name for f in self.factors],
            "group_dims": [f"{f.name}_level" for f in self.factors],  # collapsed in printed summaries
            "varying_index": [list(map(int, v)) for v in vidx],
            "pooled_index": [int(i) for i in pidx], "levels": [len(lv) for lv in levels],
            "cells": int(problem.stats.G.shape[0]),
            "setup_seconds": setup, "warmup_seconds": info.warmup_seconds,
            "sampling_seconds": info.sampling_seconds, "interrupted": info.interrupted,
        }
        post = Posterior(draws_out, dims=dims, coords=coords, attrs=attrs)
        codes, _ = factor_columns(groups, self.factors, design.n)
        post.data = FittedData(design.X, design.y, codes)  # codes (n, F): a reference, for the log-likelihood
        return post


# ---------------------------------------------------------------------------------------------
# prediction and plotting helpers


def predict_crossed(post, full: np.ndarray, groups, rng):
    """Regression-function draws (chains, draws, m) and sigma^2 per row for rows ``full`` (m, p).

    A seen level uses its b_f,j; a level not seen in fitting shares one draw per (chain, draw)
    from N(mu, Sigma_1) (first factor) or N(0, Sigma_f) (later factors).
    """
    attrs = post.attrs
    m = full.shape[0]
    if groups is None:
        raise ValueError("prediction with several factors needs groups={factor name: labels} (one label per row)")
    keys = list(groups.columns) if hasattr(groups, "columns") else list(groups)
    C, Dn = post.nchains, post.ndraws
    vidx, pidx = attrs["varying_index"], attrs["pooled_index"]
    line = np.zeros((C, Dn, m))
    if pidx:
        line += np.einsum("cdr,mr->cdm", post["alpha"], full[:, pidx])
    for f, name in enumerate(attrs["factors"]):
        if name not in keys:
            raise ValueError(f"groups has no labels for factor {name!r}")
        col = groups[name]
        g = col.tolist() if hasattr(col, "tolist") else list(col)
        if len(g) != m:
            raise ValueError(f"groups[{name!r}] has {len(g)} labels; expected one per row ({m})")
        b = post[f"b_{name}"]
        lookup = {lab: j for j, lab in enumerate(post.coords[f"{name}_level"])}
        Xv = full[:, vidx[f]]
        new = {}
        for i, lab in enumerate(g):
            if lab in lookup:
                bj = b[:, :, lookup[lab]]
            else:
                if lab not in new:
                    z = rng.standard_normal((C, Dn, len(vidx[f])))
                    if f"Sigma_{name}" in post:
                        dev = np.einsum("cdab,cdb->cda", np.linalg.cholesky(post[f"Sigma_{name}"]), z)
                    else:
                        dev = np.sqrt(post[f"tau2_{name}"]) * z
                    new[lab] = dev + (post["mu"] if f == 0 else 0.0)
                bj = new[lab]
            line[..., i] += bj @ Xv[i]
    return line, np.broadcast_to(post["sigma2"][..., None], (C, Dn, m))


def plot_forest_factors(post, factors=None, **kwargs):
    """One forest plot per factor (list of Figures): every level's effects, one panel per coefficient;
    the first factor's panels carry the posterior mean of mu.  kwargs go to plots.plot_forest."""
    from .plots import plot_forest

    names = post.attrs.get("factors") if factors is None else ([factors] if isinstance(factors, str) else factors)
    if not names:
        raise ValueError("plot_forest_factors needs a CrossedRegression posterior")
    figs = []
    for i, name in enumerate(names):
        draws = {"beta": post[f"b_{name}"]}
        coords = {"group": post.coords[f"{name}_level"], "coef": post.coords[f"{name}_coef"]}
        if name == post.attrs["factors"][0]:
            draws["mu"] = post["mu"]
        view = Posterior(draws, dims={"beta": ["group", "coef"], "mu": ["coef"]}, coords=coords, attrs={})
        fig = plot_forest(view, var_names=["beta"], **kwargs)
        for ax in fig.axes:  # the generic plot names its rows "group": say which factor
            ax.set_title(ax.get_title().replace("beta[group", f"b_{name}[{name}"), fontsize=9)
            if ax.get_ylabel().startswith("group"):
                ax.set_ylabel(name + ax.get_ylabel()[len("group"):])
        fig.suptitle(f"Factor {name!r}: {len(coords['group'])} levels "
                     + ("(centred at mu)" if "mu" in draws else "(deviations, centred at 0)"), fontsize=10)
        figs.append(fig)
    return figs
