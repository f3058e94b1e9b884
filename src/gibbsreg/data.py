"""Input validation and sufficient statistics.

Everything a sampler needs is computed here once, in chunks over rows, so that
a 10^7 x 50 design is never copied whole.  The samplers work in shifted and
scaled coordinates

    gamma = T (beta - beta_ref),    Z = X T^{-1},    r0 = y - X beta_ref,

where T centres and scales the non-intercept columns and beta_ref is (close
to) the least-squares solution.  Then RSS(beta) = r0'r0 - 2 gamma'Z'r0 +
gamma'Z'Z gamma exactly, with gamma small, so no digits are lost when the
residuals are tiny next to y (docs/maths.md, "Sufficient statistics and
numerics").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROW_CHUNK_ELEMENTS = 1 << 21  # ~16 MB of float64 per chunk of rows


def _column_names(X, p: int) -> list[str] | None:
    columns = getattr(X, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    name = getattr(X, "name", None)
    if name is not None and p == 1:
        return [str(name)]
    return None


def as_float_matrix(X, what: str = "X") -> tuple[np.ndarray, list[str] | None]:
    """Return X as a 2-D float64 array (no copy when already float64) and its column names."""
    if X is None:
        raise ValueError(f"{what} is None; expected a 2-D array of shape (n, p)")
    names = None
    if hasattr(X, "to_numpy"):  # pandas DataFrame or Series
        is_series = getattr(X, "ndim", 2) == 1
        names = _column_names(X, 1 if is_series else X.shape[1])
        try:
            arr = X.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{what} has non-numeric columns and cannot be converted to float: {err}") from None
        if is_series:
            arr = arr.reshape(-1, 1)
    else:
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{what} cannot be converted to a float array: {err}") from None
    if arr.ndim != 2:
        raise ValueError(
            f"{what} must be 2-D with shape (n, p); got an array with shape {arr.shape}"
            + (" (use X.reshape(-1, 1) for a single predictor)" if arr.ndim == 1 else "")
        )
    if names is not None and len(names) != arr.shape[1]:
        names = None
    return arr, names


def as_float_vector(y, n: int | None = None, what: str = "y") -> np.ndarray:
    """Return y as a 1-D float64 array of length n."""
    if y is None:
        raise ValueError(f"{what} is None; expected a 1-D array of length n")
    if hasattr(y, "to_numpy"):
        try:
            arr = y.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{what} cannot be converted to float: {err}") from None
    else:
        try:
            arr = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{what} cannot be converted to a float array: {err}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D with shape (n,); got an array with shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{what} has {arr.shape[0]} rows but X has {n} rows; they must match")
    return arr


def row_chunks(n: int, p: int):
    """Yield slices of rows holding about ROW_CHUNK_ELEMENTS values each."""
    step = max(1, ROW_CHUNK_ELEMENTS // max(p, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def _check_finite(block: np.ndarray, start: int, what: str, names) -> None:
    if np.isfinite(block).all():
        return
    bad = np.argwhere(~np.isfinite(block))[0]
    row = start + int(bad[0])
    value = block[tuple(bad)]
    kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    if block.ndim == 1:
        raise ValueError(f"{what} contains {kind} at row {row}")
    col = int(bad[1])
    label = f"column {col}" + (f" ({names[col]!r})" if names is not None else "")
    raise ValueError(f"{what} contains {kind} at row {row}, {label}")


def check_labels(g: np.ndarray, what: str = "groups", where: str = "") -> None:
    """A ValueError naming the first missing label (NaN / inf / None) of a 1-D label array."""
    at = f" of {where}" if where else ""
    if g.dtype.kind == "f":
        bad = ~np.isfinite(g)
        if bad.any():
            raise ValueError(f"{what} has a NaN/inf label at row {int(np.argmax(bad))}{at}")
    elif g.dtype.kind == "O":
        for i, v in enumerate(g):
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                raise ValueError(f"{what} has a missing (None/NaN) label at row {i}{at}")


@dataclass
class Design:
    """A validated regression problem: X (n, p_x) without the intercept column, y (n,)."""

    X: np.ndarray
    y: np.ndarray
    intercept: bool
    names: list[str]  # p coefficient names, "intercept" first when intercept=True

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def p(self) -> int:
        return self.X.shape[1] + int(self.intercept)

    def full_matrix(self, rows=slice(None)) -> np.ndarray:
        """Rows of the design with the intercept column prepended (a copy)."""
        block = self.X[rows]
        if not self.intercept:
            return np.array(block, dtype=np.float64)
        return np.hstack([np.ones((block.shape[0], 1)), block])


def as_design(X, y, intercept: bool = True, check_finite: bool = True) -> Design:
    """Validate (X, y): 2-D X, 1-D y of matching length, finite values, n >= 1, p >= 1.

    ``check_finite=False`` leaves the finite check to a caller whose own pass over the rows finds a NaN or
    inf anyway (the statistics pass) and then calls :func:`check_finite_rows` for the message."""
    Xa, names = as_float_matrix(X, "X")
    n, px = Xa.shape
    ya = as_float_vector(y, n, "y")
    if n < 1:
        raise ValueError("X and y have no rows; at least one observation is needed")
    if px + int(bool(intercept)) < 1:
        raise ValueError("X has no columns and intercept=False: the model has no coefficients (p = 0)")
    if names is None:
        names = [f"x{k}" for k in range(px)]
    if intercept and "intercept" in names:
        raise ValueError("X already has a column named 'intercept'; pass intercept=False or rename it")
    if check_finite:
        check_finite_rows(Xa, ya, names)
    full_names = (["intercept"] if intercept else []) + list(names)
    return Design(Xa, ya, bool(intercept), full_names)


def check_finite_rows(X, y, names) -> None:
    """A ValueError naming the row and column of the first NaN or inf of X (n, p_x) or y (n,)."""
    for rows in row_chunks(X.shape[0], X.shape[1]):
        _check_finite(X[rows], rows.start, "X", names)
    _check_finite(y, 0, "y", None)


@dataclass
class Transform:
    """The affine map between beta and the sampler's coordinates gamma = T (beta - beta_ref).

    With an intercept, T = [[1, shift'], [0, diag(scale)]]; without, T = diag(scale).
    """

    intercept: bool
    shift: np.ndarray  # (p_x,) column centres (zeros without intercept)
    scale: np.ndarray  # (p_x,) column scales
    beta_ref: np.ndarray  # (p,)
    gamma_ref: np.ndarray | None = None  # T beta_ref, kept exactly as solved (beta_ref may be huge)

    def __post_init__(self):
        if self.gamma_ref is None:
            self.gamma_ref = self.T() @ self.beta_ref

    @property
    def p(self) -> int:
        return self.shift.shape[0] + int(self.intercept)

    def T(self) -> np.ndarray:
        p = self.p
        T = np.zeros((p, p))
        k = int(self.intercept)
        if self.intercept:
            T[0, 0] = 1.0
            T[0, 1:] = self.shift
        T[np.arange(k, p), np.arange(k, p)] = self.scale
        return T

    def T_inv(self) -> np.ndarray:
        p = self.p
        Ti = np.zeros((p, p))
        k = int(self.intercept)
        if self.intercept:
            Ti[0, 0] = 1.0
            Ti[0, 1:] = -self.shift / self.scale
        Ti[np.arange(k, p), np.arange(k, p)] = 1.0 / self.scale
        return Ti

    def z_rows(self, X_block: np.ndarray) -> np.ndarray:
        """Rows of Z = X T^{-1} for raw rows X_block (n_b, p_x)."""
        Zc = (X_block - self.shift) / self.scale
        if self.intercept:
            Zc = np.hstack([np.ones((Zc.shape[0], 1)), Zc])
        return Zc

    def to_beta(self, gamma: np.ndarray) -> np.ndarray:
        """beta = beta_ref + T^{-1} gamma, for gamma (..., p)."""
        return self.beta_ref + gamma @ self.T_inv().T

    def to_gamma(self, beta: np.ndarray) -> np.ndarray:
        """gamma = T beta - T beta_ref (accurate for moderate beta even when beta_ref is huge)."""
        return beta @ self.T().T - self.gamma_ref

    def precision_to_gamma(self, precision_beta: np.ndarray) -> np.ndarray:
        """A precision matrix on beta expressed on gamma: T^{-T} P T^{-1}."""
        Ti = self.T_inv()
        P = Ti.T @ precision_beta @ Ti
        return 0.5 * (P + P.T)

    def cov_to_beta(self, cov_gamma: np.ndarray) -> np.ndarray:
        Ti = self.T_inv()
        C = Ti @ cov_gamma @ Ti.T
        return 0.5 * (C + C.T)


@dataclass
class SufficientStats:
    """Sufficient statistics of a flat regression, in the sampler's coordinates.

    G = Z'Z (p, p), h = Z'r0 (p,), rr = r0'r0, n; plus the data summaries the
    default priors are scaled by (mean and variance of y, column means and
    standard deviations of X).  With known observation weights w (precisions) G = Z'WZ, h = Z'Wr0,
    rr = r0'Wr0 and the summaries are weighted; n stays the row count (sigma^2's shape), ``w_sum`` is
    sum w and ``log_w`` sum log w (the likelihood's constant 1/2 sum log w).
    """

    G: np.ndarray
    h: np.ndarray
    rr: float
    n: int
    transform: Transform
    y_mean: float
    y_var: float
    x_mean: np.ndarray
    x_sd: np.ndarray
    w_sum: float | None = None  # sum of the weights (None: no weights, i.e. n)
    log_w: float = 0.0

    @property
    def p(self) -> int:
        return self.G.shape[0]

    def rss(self, gamma: np.ndarray) -> np.ndarray:
        """RSS at gamma (..., p), accurate for gamma near zero."""
        quad = np.einsum("...i,ij,...j->...", gamma, self.G, gamma)
        return np.maximum(self.rr - 2.0 * gamma @ self.h + quad, 0.0)


def _solve_reference(G: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares point from normal equations, robust to rank deficiency."""
    d = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    sol, *_ = np.linalg.lstsq(G / d[:, None] / d[None, :], b / d, rcond=1e-12)
    return sol / d


def sampler_scaling(x_mean: np.ndarray, x_var: np.ndarray, intercept: bool, center: bool = True):
    """The column shift and scale of the sampler's coordinates Z = (X - shift) / scale.

    With an intercept (and ``center``) the columns are centred and scaled by their sd; otherwise
    scaled by their root mean square.  A constant column keeps |mean| (or 1) as its scale.
    """
    if intercept and center:
        shift, scale, fallback = x_mean.copy(), np.sqrt(x_var), np.abs(x_mean)
    else:
        shift, scale, fallback = np.zeros_like(x_mean), np.sqrt(x_var + x_mean**2), np.zeros_like(x_mean)
    return shift, np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))


def column_indices(items, names: list, who: str = "") -> list[int]:
    """Sorted indices into ``names`` of the coefficients ``items`` names or indexes (varying columns); the
    messages start with ``who`` (e.g. "Factor 'g': ")."""
    idx = []
    for item in items:
        if isinstance(item, (int, np.integer)):
            if not 0 <= item < len(names):
                raise ValueError(f"{who}varying column index {item} is out of range for {len(names)} coefficients "
                                 f"{names}")
            idx.append(int(item))
        else:
            if item not in names:
                raise ValueError(f"{who}varying column {item!r} is not a coefficient; coefficients are {names}")
            idx.append(names.index(item))
    if len(set(idx)) != len(idx):
        raise ValueError(f"{who}varying lists a column twice: {list(items)}")
    return sorted(idx)


def as_weights(weights, n: int, what: str = "weights", where: str = "") -> np.ndarray:
    """Known observation weights (precisions: y_i ~ N(x_i'beta, sigma^2 / w_i)) as a float64 (n,) array;
    a ValueError names the first weight that is not finite and positive (docs/weights.md)."""
    w = as_float_vector(weights, None, what)
    if w.shape[0] != n:
        raise ValueError(f"{what} has {w.shape[0]} values but X has {n} rows; they must match")
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        i = int(np.argmax(bad))
        at = f" in {where}" if where else ""
        raise ValueError(f"{what} must be finite and positive (precisions); row {i}{at} has {float(w[i])!r}")
    return w


def new_rows(X_new, p_x: int, names: list[str] | None = None) -> np.ndarray:
    """Validate rows for prediction: (m, p_x) finite floats, same columns as the fitted X."""
    arr, _ = as_float_matrix(X_new, "X_new")
    if arr.shape[1] != p_x:
        raise ValueError(f"X_new has {arr.shape[1]} columns but the model was fitted with {p_x}"
                         + (f" ({names})" if names else ""))
    _check_finite(arr, 0, "X_new", names)
    return arr
