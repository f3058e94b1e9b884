"""Priors on beta of the binary models and the separation check of improper ones.

``Normal(mean, scale | cov)``: beta ~ N(m0, B0).  Left as None, the default is weakly informative on the
scale of the predictors (rstanarm's for logistic regression): slope k ~ N(0, (2.5 / sd(x_k))^2) and the
intercept at the centred predictors, beta_0 + sum_k mean(x_k) beta_k, ~ N(0, 2.5^2).  ``np.inf`` in
``scale`` gives that coefficient a flat prior; ``Flat()`` gives every coefficient one.

A flat coefficient makes the posterior improper when the data are completely or quasi-completely separated
along it (some direction d of the flat coefficients with (2 y_i - 1) x_i' d >= 0 on every row, > 0 on one)
or when the flat columns are collinear; :func:`check_separation` refuses both before sampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...priors import validate_cov

DEFAULT_SCALE = 2.5


class Normal:
    """Gaussian prior beta ~ N(mean, diag(scale^2)) or N(mean, cov) (None: the data-scaled default above)."""

    def __init__(self, mean=None, scale=None, cov=None):
        self.mean = _vector(mean, "mean")
        if self.mean is not None and not np.isfinite(self.mean).all():
            raise ValueError("Normal: mean must be finite")
        self.scale = _vector(scale, "scale")
        if self.scale is not None and not (self.scale > 0).all():
            raise ValueError(f"Normal: scale must be positive (np.inf gives a flat prior), got {scale!r}")
        if scale is not None and cov is not None:
            raise ValueError("Normal: give either scale or cov, not both")
        self.cov = None if cov is None else validate_cov(cov, None, "cov", "Normal")

    def __repr__(self):
        parts = [f"{k}={np.array2string(np.asarray(v), precision=4)}" for k, v in
                 (("mean", self.mean), ("scale", self.scale), ("cov", self.cov)) if v is not None]
        return f"Normal({', '.join(parts)})"

    def resolve(self, full: np.ndarray, names: list, intercept: bool) -> "ResolvedBinaryPrior":
        """Every number of the prior for the design ``full`` (n, p) (intercept column first when present)."""
        p = len(names)
        defaults = []
        if self.mean is None:
            mean = np.zeros(p)
            defaults.append("mean")
        else:
            mean = _broadcast(self.mean, p, "mean")
        if self.cov is not None:
            cov = validate_cov(self.cov, p, "cov", "Normal")
            precision = np.linalg.inv(cov)
            flat = np.zeros(p, dtype=bool)
        elif self.scale is not None:
            scale = _broadcast(self.scale, p, "scale")
            flat = ~np.isfinite(scale)
            precision = np.diag(np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, scale) ** 2))
        else:
            defaults.append("scale")
            flat = np.zeros(p, dtype=bool)
            k = int(intercept)
            xs = full[:, k:]
            sd = xs.std(axis=0) if xs.shape[0] > 1 else np.ones(xs.shape[1])
            sd = np.where(sd > 0, sd, 1.0)
            sd_centred = DEFAULT_SCALE / sd
            C = np.eye(p)
            if intercept:
                sd_centred = np.concatenate([[DEFAULT_SCALE], sd_centred])
                C[0, 1:] = xs.mean(axis=0)
            precision = C.T @ np.diag(1.0 / sd_centred**2) @ C
        precision = 0.5 * (precision + precision.T)
        return ResolvedBinaryPrior("Normal", list(names), mean, precision, flat, defaults)


class Flat(Normal):
    """The flat (improper) prior on every coefficient: proper posterior only without separation."""

    def __init__(self):
        super().__init__(scale=np.inf)

    def __repr__(self):
        return "Flat()"

    def resolve(self, full, names, intercept):
        out = super().resolve(full, names, intercept)
        out.kind = "Flat"
        return out


def _vector(value, name):
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"Normal: {name} must be numeric, got {value!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"Normal: {name} must be a scalar or a 1-D array, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"Normal: {name} contains NaN")
    return arr


def _broadcast(arr, p, name):
    if arr.ndim == 0:
        return np.full(p, float(arr))
    if arr.shape[0] != p:
        raise ValueError(f"Normal: {name} has {arr.shape[0]} entries but the model has p = {p} coefficients")
    return arr.astype(np.float64, copy=True)


@dataclass
class ResolvedBinaryPrior:
    """beta ~ N(mean, precision^{-1}) with zero precision (a flat prior) on the coefficients ``flat``."""

    kind: str
    names: list
    mean: np.ndarray
    precision: np.ndarray
    flat: np.ndarray
    defaults: list = field(default_factory=list)

    @property
    def p(self) -> int:
        return len(self.names)

    @property
    def proper(self) -> bool:
        return not bool(self.flat.any())

    def to_dict(self) -> dict:
        return {"kind": self.kind, "names": list(self.names), "mean": self.mean.tolist(),
                "precision": self.precision.tolist(), "flat": self.flat.tolist(), "defaults": list(self.defaults)}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedBinaryPrior":
        return cls(d["kind"], list(d["names"]), np.asarray(d["mean"], dtype=float),
                   np.asarray(d["precision"], dtype=float), np.asarray(d["flat"], dtype=bool),
                   list(d.get("defaults", [])))

    def __str__(self) -> str:
        lines = [f"Prior: {self.kind}" + (" (defaults scaled to the data: " + ", ".join(self.defaults) + ")"
                                          if self.defaults else "")]
        keep = ~self.flat
        sd = np.full(self.p, np.inf)
        if keep.any():
            sd[keep] = np.sqrt(np.diag(np.linalg.inv(self.precision[np.ix_(keep, keep)])))
        width = max(len(n) for n in self.names)
        for k, name in enumerate(self.names):
            lines.append(f"  {name:<{width}} ~ flat (improper)" if self.flat[k]
                         else f"  {name:<{width}} ~ N({self.mean[k]:.4g}, {sd[k]:.4g}^2)")
        return "\n".join(lines)


def check_separation(full: np.ndarray, y: np.ndarray, trials: np.ndarray, prior: ResolvedBinaryPrior) -> None:
    """Refuse (ValueError) an improper posterior under the flat coefficients: collinear flat columns, or a
    direction d of them that separates the data (linear programme, scipy.optimize.linprog):
    max sum_i s_i x_i'd subject to s_i x_i'd >= 0 (s_i = +1 for all-success rows, -1 for all-failure rows),
    x_i'd = 0 on rows with both outcomes, |d_k| <= 1; a positive maximum is a separating direction."""
    if prior.proper:
        return
    from scipy.optimize import linprog

    idx = np.flatnonzero(prior.flat)
    names = [prior.names[k] for k in idx]
    Z = full[:, idx]
    norm = np.abs(Z).max(axis=0)
    norm = np.where(norm > 0, norm, 1.0)
    Z = Z / norm
    sv = np.linalg.svd(Z, compute_uv=False) if Z.shape[0] >= Z.shape[1] else np.zeros(1)
    if Z.shape[0] < Z.shape[1] or sv[-1] <= 1e-10 * max(sv[0], 1e-300):
        raise ValueError(f"the flat prior on {names} leaves the posterior improper: these columns of X are "
                         "collinear (or there are fewer rows than coefficients); give them a proper prior "
                         "(binary.Normal) or remove the collinear columns")
    s = np.where(y >= trials, 1.0, np.where(y <= 0, -1.0, 0.0))
    one_sided = s != 0
    S = s[one_sided, None] * Z[one_sided]
    mixed = Z[~one_sided]
    res = linprog(-S.sum(axis=0), A_ub=-S if S.shape[0] else None, b_ub=np.zeros(S.shape[0]) if S.shape[0] else None,
                  A_eq=mixed if mixed.shape[0] else None, b_eq=np.zeros(mixed.shape[0]) if mixed.shape[0] else None,
                  bounds=[(-1.0, 1.0)] * Z.shape[1], method="highs")
    if res.status != 0:
        raise ValueError(f"the separation check (scipy.optimize.linprog) failed: {res.message}")
    scale = math.sqrt(Z.shape[1]) * max(1.0, float(np.abs(S).sum(axis=1).max(initial=0.0)))
    if -res.fun > 1e-7 * scale:
        d = res.x
        margins = S @ d
        kind = "complete" if S.shape[0] == full.shape[0] and (margins > 1e-9).all() else "quasi-complete"
        raise ValueError(f"the data are {kind}ly separated along the flat coefficients {names} (a linear "
                         "combination of them predicts the outcome of "
                         f"{int((margins > 1e-9).sum())} of {full.shape[0]} rows perfectly and none wrongly), "
                         "so the posterior under the flat prior is improper; use a proper prior "
                         "(binary.Normal(scale=...)) or drop the separating predictors")
