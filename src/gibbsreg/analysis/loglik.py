"""Pointwise log-likelihood log p(y_i | theta^(s)) and posterior predictive draws from stored draws.

Every model of the package has a Gaussian likelihood: row i (of group j) has mean
mu_i = x_v,i' beta_j + x_p,i' alpha and variance sigma2 (or sigma2_j), so

    log p(y_i | theta) = -1/2 log(2 pi sigma2) - (y_i - mu_i)^2 / (2 sigma2).

With known observation weights w_i (precisions: variance sigma2 / w_i) the density gains 1/2 log w_i
and the square is weighted; it is the unweighted density of the rows scaled by sqrt(w_i) (x, y and
so the mean) plus 1/2 log w_i, which is how the one kernel computes it (``Rows.weighted_blocks``).

The sufficient statistics do not give it: it needs the rows again.  They come from the data
the Posterior remembers (``post.data``, set by the models' ``sample``) or from explicit
``X, y, groups``.  The (chains, draws, n) array is computed in blocks of rows by the Numba
kernel ``gibbsreg.kernels.loglik`` (or the NumPy reference :func:`loglik_reference`, which
shares the arguments and differs only in the loop), only on request and after its size
has been checked against the memory available.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .. import registry
from ..data import as_design
from ..io.dask import is_dask
from ..io.groups import encode_groups
from ..sampling import no_huge_pages

ROW_BLOCK_ELEMENTS = 1 << 21  # draws x rows per block: ~16 MB of float64 for the kernel's buffers
AUTO_BYTES = 256_000_000  # to_arviz() builds arrays up to this size unasked; beyond, it needs log_likelihood=True


class TooLargeError(ValueError, MemoryError):
    """An array that would not fit in the memory allowed (a ValueError and a MemoryError)."""


@dataclass
class Rows:
    """The rows a likelihood is evaluated on, as the kernel wants them (no copy of X: blocks are built lazily).

    X (n, p_x) raw predictors, y (n,), codes (n,) group index (zeros for flat models),
    vi / pi the varying and pooled columns of the full design (intercept first when present),
    ``grouped``: the coefficients are per group (beta (J, q)) rather than one vector.
    Every model kind's ``rows`` hook returns an object with this interface (n, X, y, intercept,
    ``labels``, ``loglik``, ``replicate``, ``group_loglik``); the flat and hierarchical models share this one.
    """

    X: np.ndarray
    y: np.ndarray
    codes: np.ndarray
    intercept: bool
    vi: list
    pi: list
    grouped: bool
    w: np.ndarray | None = None  # (n,) known observation weights (precisions); None: all 1

    @property
    def n(self) -> int:
        return self.y.shape[0]

    def full(self, rows) -> np.ndarray:
        block = np.asarray(self.X[rows], dtype=np.float64)
        return np.hstack([np.ones((block.shape[0], 1)), block]) if self.intercept else block

    def blocks(self, rows):
        """(Xv, Xp, y, codes) of a slice of rows, contiguous, ready for the kernel."""
        full = self.full(rows)
        Xv = np.ascontiguousarray(full[:, self.vi])
        Xp = np.ascontiguousarray(full[:, self.pi]) if self.pi else np.zeros((full.shape[0], 0))
        return Xv, Xp, np.ascontiguousarray(self.y[rows]), np.ascontiguousarray(self.codes[rows])

    def weighted_blocks(self, rows):
        """(Xv, Xp, y, codes, half_log_w) of a slice of rows for the likelihood: with weights, x and y are
        scaled by sqrt(w) (so the kernel's Gaussian density is the weighted one less 1/2 log w, returned to be
        added); half_log_w is None without weights."""
        Xv, Xp, yb, cb = self.blocks(rows)
        if self.w is None:
            return Xv, Xp, yb, cb, None
        w = self.w[rows]
        s = np.sqrt(w)
        return Xv * s[:, None], Xp * s[:, None], yb * s, cb, 0.5 * np.log(w)

    def noise_scale(self, rows):
        """1 / sqrt(w) of a slice of rows (the noise sd's factor), or None without weights."""
        return None if self.w is None else 1.0 / np.sqrt(self.w[rows])

    def labels(self, post) -> dict:
        """The grouping label of each row, for the export's constant data: {name: (n,) labels}."""
        return {"group_label": np.asarray(post.coords["group"])[self.codes]} if self.grouped else {}

    def loglik(self, post, *, by="obs", backend="numba", max_bytes=None):
        return _kernel_loglik(post, self, by, backend, max_bytes)

    def replicate(self, post, *, seed=None, backend="numba", max_bytes=None):
        return _kernel_replicate(post, self, seed, backend, max_bytes)

    def group_loglik(self, post, *, max_bytes=None):
        if not self.grouped:
            raise ValueError("the marginal group log-likelihood needs a hierarchical posterior")
        return _marginal_group_loglik(post, self, max_bytes)


def rows_of(post, X=None, y=None, groups=None, weights=None):
    """The rows of ``post`` as its model kind reads them (explicit X, y, groups, or the remembered data);
    ``weights`` (n,) replace the rows' weights (explicit rows default to weight 1)."""
    rows = registry.of_posterior(post).rows(post, X, y, groups)
    if weights is None:
        return rows
    from dataclasses import replace

    from ..data import as_weights

    if not isinstance(rows, Rows):
        raise ValueError("weights= is supported for the Gaussian flat and hierarchical models only")
    return replace(rows, w=as_weights(np.asarray(weights.compute() if hasattr(weights, "compute") else weights),
                                      rows.n))


def fitted_codes(post, labels_in, n: int) -> np.ndarray:
    """Each row's index into the fitted groups (``post.coords["group"]``); unknown labels are refused."""
    codes0, labels = encode_groups(labels_in, n)
    lookup = {lab: j for j, lab in enumerate(post.coords["group"])}
    unknown = [lab for lab in labels.tolist() if lab not in lookup]
    if unknown:
        raise ValueError(f"group label(s) {unknown[:5]} were not in the fitted data; the pointwise "
                         "log-likelihood is defined for the fitted groups only")
    return np.array([lookup[lab] for lab in labels.tolist()], dtype=np.int64)[codes0]


def design_rows(post, X=None, y=None, groups=None, *, grouped: bool = False) -> Rows:
    """Rows for a model with one coefficient vector (``grouped=False``) or one per group of one factor."""
    attrs = post.attrs
    if "names" not in attrs or "intercept" not in attrs:
        raise ValueError("this Posterior does not record its design (names/intercept), so its likelihood "
                         "cannot be evaluated")
    p = len(attrs["names"])
    vi = list(attrs["varying_index"]) if grouped else list(range(p))
    pi = list(attrs["pooled_index"]) if grouped else []
    if X is None and y is None:
        data = getattr(post, "data", None)
        if data is None:
            raise ValueError("this Posterior does not hold the data it was sampled from (it was loaded from disk, "
                             "or built by hand): pass X=, y=" + (" and groups=" if grouped else ""))
        codes = data.codes if grouped else np.zeros(data.y.shape[0], dtype=np.int64)
        return Rows(data.X, data.y, np.asarray(codes, dtype=np.int64), bool(attrs["intercept"]), vi, pi, grouped,
                    getattr(data, "w", None))
    if X is None or y is None:
        raise ValueError("pass both X= and y= (or neither, to use the data the Posterior was sampled from)")
    if grouped and groups is None:
        raise ValueError("the hierarchical model's likelihood needs groups= (one label per row)")
    if is_dask(X) or is_dask(y) or (groups is not None and is_dask(groups)):
        return _dask_rows(post, X, y, groups if grouped else None, grouped, vi, pi, p)
    design = as_design(X, y, attrs["intercept"])
    if len(design.names) != p:
        raise ValueError(f"X gives {len(design.names)} coefficients {design.names}; the posterior was fitted "
                         f"with {p}: {attrs['names']}")
    codes = fitted_codes(post, groups, design.n) if grouped else np.zeros(design.n, dtype=np.int64)
    return Rows(design.X, design.y, codes, design.intercept, vi, pi, grouped)


def _dask_rows(post, X, y, groups, grouped, vi, pi, p) -> Rows:
    """Rows on Dask: X stays lazy (each block of rows is computed when the kernel reaches it, a pass
    over the data); y and the group labels (n values each, smaller than the log-likelihood) are read."""
    import dask.array as da

    attrs = post.attrs
    if hasattr(X, "to_dask_array"):  # a Dask DataFrame: its columns, with known partition sizes
        X = X.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):
        X = da.from_array(np.asarray(X, dtype=np.float64))
    if X.ndim != 2 or X.shape[1] + int(attrs["intercept"]) != p:
        raise ValueError(f"X has shape {X.shape}; the posterior was fitted with {p} coefficients {attrs['names']}")
    y = np.asarray(y.compute() if hasattr(y, "compute") else y, dtype=np.float64).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} rows but X has {X.shape[0]}")
    codes = np.zeros(y.shape[0], dtype=np.int64)
    if grouped:
        labels_in = groups.compute() if hasattr(groups, "compute") else groups
        codes = fitted_codes(post, labels_in, y.shape[0])
    return Rows(X.astype(np.float64), y, codes, bool(attrs["intercept"]), vi, pi, grouped)


@dataclass
class Params:
    """The draws flattened to S = chains * draws, in the kernel's layout."""

    beta: np.ndarray  # (S, J, q)
    alpha: np.ndarray  # (S, r)
    sigma2: np.ndarray  # (S, Js)
    chains: int
    draws: int

    def __post_init__(self):
        self.log_sigma2 = np.log(self.sigma2)

    def args(self):
        return self.beta, self.alpha, self.sigma2, self.log_sigma2


def params_of(post, rows: Rows) -> Params:
    C, D = post.nchains, post.ndraws
    S = C * D
    if rows.grouped:
        if "beta" not in post:
            raise ValueError("the posterior was sampled with store_beta=False; the pointwise log-likelihood "
                             "needs the group coefficients beta")
        beta = post["beta"].reshape(S, *post["beta"].shape[2:])
        alpha = post["alpha"].reshape(S, -1) if "alpha" in post else np.zeros((S, 0))
        s2 = post["sigma2"]
        sigma2 = s2.reshape(S, -1) if s2.ndim == 3 else s2.reshape(S, 1)
    else:
        beta = post["beta"].reshape(S, 1, -1)
        alpha = np.zeros((S, 0))
        sigma2 = post["sigma2"].reshape(S, 1)
    c = np.ascontiguousarray
    return Params(c(beta, dtype=np.float64), c(alpha, dtype=np.float64), c(sigma2, dtype=np.float64), C, D)


def loglik_reference(Xv, Xp, y, codes, beta, alpha, sigma2, log_sigma2, mode, out) -> None:
    """The kernel's computation in NumPy (same arguments, same output): the reference for tests."""
    mean = np.einsum("mq,smq->sm", Xv, beta[:, codes, :]) + alpha @ Xp.T
    if mode == 2:
        out[:] = mean
        return
    cols = codes if sigma2.shape[1] > 1 else np.zeros_like(codes)
    s2, log_s2 = sigma2[:, cols], log_sigma2[:, cols]
    v = -0.5 * (math.log(2 * math.pi) + log_s2) - 0.5 * (y - mean) ** 2 / s2
    if mode == 0:
        out[:] = v
    else:
        for j in np.unique(codes):
            out[:, j] += v[:, codes == j].sum(axis=1)


def _kernel(backend: str):
    if backend == "numpy":
        return loglik_reference
    if backend != "numba":
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    from ..kernels.loglik import loglik_rows

    return loglik_rows


def block_rows(S: int, n: int) -> int:
    return max(1, min(n, ROW_BLOCK_ELEMENTS // max(S, 1)))


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def human_bytes(nbytes: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000


def size_message(what: str, chains: int, draws: int, n: int) -> str:
    values = chains * draws * n
    return f"{what}: {chains} chains x {draws} draws x {n:,} {'rows' if what != 'group log-likelihood' else 'groups'} " \
           f"= {values:,} values, {human_bytes(8.0 * values)} as float64"


def check_size(what: str, chains: int, draws: int, n: int, max_bytes=None) -> None:
    """Refuse (TooLargeError) an array beyond ``max_bytes`` (default: the memory available now)."""
    nbytes = 8 * chains * draws * n
    limit = available_memory() if max_bytes is None else int(max_bytes)
    if nbytes > limit:
        source = "max_bytes" if max_bytes is not None else "the memory available"
        raise TooLargeError(f"{size_message(what, chains, draws, n)}, more than {source} "
                            f"({human_bytes(limit)}); thin the draws (post subset) or evaluate a subset of rows")


def want(flag, what: str, chains: int, draws: int, n: int, max_bytes=None) -> bool:
    """Resolve a to_arviz flag: True (check the size, then build), False, or None (build if small, else say so)."""
    if flag is None:
        if 8 * chains * draws * n <= AUTO_BYTES:
            return True
        warnings.warn(f"{size_message(what, chains, draws, n)}: not built unasked (more than "
                      f"{human_bytes(AUTO_BYTES)}); pass {what.replace(' ', '_').replace('-', '_')}=True to build it",
                      stacklevel=4)
        return False
    if flag:
        check_size(what, chains, draws, n, max_bytes)
        return True
    return False


def pointwise_loglik(post, X=None, y=None, groups=None, *, by: str = "obs", backend: str = "numba",
                     max_bytes=None, weights=None) -> np.ndarray:
    """log p(y_i | theta^(c,d)) shaped (chains, draws, n); ``by="group"``: summed per group, (chains, draws, J).

    The size is checked first (against ``max_bytes``, default the memory available) and a
    TooLargeError names it; the rows are visited in blocks by the Numba kernel.  The rows' weights are
    the fit's (remembered) unless ``weights`` is given; explicit rows without weights have weight 1.
    """
    if by not in ("obs", "group"):
        raise ValueError(f"by must be 'obs' or 'group', got {by!r}")
    return rows_of(post, X, y, groups, weights).loglik(post, by=by, backend=backend, max_bytes=max_bytes)


def _kernel_loglik(post, rows: Rows, by, backend, max_bytes) -> np.ndarray:
    """pointwise_loglik on kernel rows (one coefficient vector, or one per group)."""
    if by == "group" and not rows.grouped:
        raise ValueError("by='group' (leave-one-group-out) needs a hierarchical posterior")
    prm = params_of(post, rows)
    S = prm.beta.shape[0]
    if by == "group":
        J = prm.beta.shape[1]
        check_size("group log-likelihood", prm.chains, prm.draws, J, max_bytes)
        out = np.zeros((S, J))
        kernel = _kernel(backend)
        step = block_rows(S, rows.n)
        for start in range(0, rows.n, step):
            Xv, Xp, yb, cb, half_log_w = rows.weighted_blocks(slice(start, min(rows.n, start + step)))
            kernel(Xv, Xp, yb, cb, *prm.args(), 1, out)
            if half_log_w is not None:
                out += np.bincount(cb, weights=half_log_w, minlength=J)[None, :]
        return out.reshape(prm.chains, prm.draws, J)
    check_size("log-likelihood", prm.chains, prm.draws, rows.n, max_bytes)
    with no_huge_pages():  # first touch of huge pages may stall on compaction (gibbsreg.sampling)
        out = np.empty((S, rows.n))
    kernel = _kernel(backend)
    step = block_rows(S, rows.n)
    for start in range(0, rows.n, step):
        sl = slice(start, min(rows.n, start + step))
        Xv, Xp, yb, cb, half_log_w = rows.weighted_blocks(sl)
        kernel(Xv, Xp, yb, cb, *prm.args(), 0, out[:, sl])  # written in place: a strided view, no copy
        if half_log_w is not None:
            out[:, sl] += half_log_w[None, :]
    return out.reshape(prm.chains, prm.draws, rows.n)


def posterior_predictive_draws(post, X=None, y=None, groups=None, *, seed=None, backend: str = "numba",
                               max_bytes=None, weights=None) -> np.ndarray:
    """Replicated data y_rep (chains, draws, n) at the fitted rows: mu_i + sigma z / sqrt(w_i) per draw (w the
    rows' weights, as in :func:`pointwise_loglik`).

    Chain c's noise comes from its own generator (SeedSequence(seed).spawn(chains)[c]), in
    blocks of rows whose size depends on the number of draws only, so chain c's replicates do
    not depend on the number of chains.
    """
    return rows_of(post, X, y, groups, weights).replicate(post, seed=seed, backend=backend, max_bytes=max_bytes)


def _kernel_replicate(post, rows: Rows, seed, backend, max_bytes) -> np.ndarray:
    prm = params_of(post, rows)
    C, D = prm.chains, prm.draws
    check_size("posterior predictive", C, D, rows.n, max_bytes)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    gens = [np.random.default_rng(s) for s in ss.spawn(C)]
    with no_huge_pages():
        out = np.empty((C * D, rows.n))
    kernel = _kernel(backend)
    step = block_rows(D, rows.n)
    shared = prm.sigma2.shape[1] == 1
    for start in range(0, rows.n, step):
        sl = slice(start, min(rows.n, start + step))
        Xv, Xp, yb, cb = rows.blocks(sl)
        mean = np.empty((C * D, sl.stop - sl.start))
        kernel(Xv, Xp, yb, cb, *prm.args(), 2, mean)
        sd = np.sqrt(prm.sigma2[:, :1] if shared else prm.sigma2[:, cb])
        factor = rows.noise_scale(sl)
        if factor is not None:
            sd = sd * factor[None, :]
        for c, g in enumerate(gens):
            d = slice(c * D, (c + 1) * D)
            out[d, sl] = mean[d] + sd[d] * g.standard_normal((D, sl.stop - sl.start))
    return out.reshape(C, D, rows.n)


def marginal_group_loglik(post, X=None, y=None, groups=None, *, max_bytes=None, weights=None) -> np.ndarray:
    """log p(y_(j) | mu, Sigma_beta, alpha, sigma2) with the group's coefficients beta_j integrated out,
    shaped (chains, draws, J): y_(j) ~ N(X_vj mu + X_pj alpha, sigma_j^2 I + X_vj Sigma_beta X_vj').

    With Sigma_beta = L L' and B = I_q + L' X_vj'X_vj L / sigma^2 (Woodbury and the determinant lemma):
    log|.| = n_j log sigma^2 + log|B| and the quadratic form is r'r / sigma^2 - u'B^{-1}u with
    u = L' X_vj'r / sigma^2, r = y_(j) - X_vj mu - X_pj alpha.  Only per-group cross-products of
    (X_v, X_p, y) are needed, taken about the posterior mean of (mu, alpha) so that r'r keeps its
    digits.  The importance ratios of leave-one-group-out then depend on the hyperparameters only,
    which PSIS handles far better than the conditional sum over the group's rows (docs/maths.md 11.4).
    """
    return rows_of(post, X, y, groups, weights).group_loglik(post, max_bytes=max_bytes)


def _marginal_group_loglik(post, rows: Rows, max_bytes) -> np.ndarray:
    C, D = post.nchains, post.ndraws
    S = C * D
    q = len(rows.vi)
    mu = post["mu"].reshape(S, q)
    alpha = post["alpha"].reshape(S, -1) if "alpha" in post else np.zeros((S, 0))
    theta = np.concatenate([mu, alpha], axis=1)
    p = theta.shape[1]
    J = len(post.coords["group"])
    check_size("group log-likelihood", C, D, J, max_bytes)
    ref = theta.mean(axis=0)
    # per-group cross-products of w = (x_v, x_p) and r0 = y - w'ref
    # with weights: the rows scaled by sqrt(w) (then sigma_j^2 I, as without) and 1/2 sum log w added
    M, h, rr, nj = np.zeros((J, p, p)), np.zeros((J, p)), np.zeros(J), np.zeros(J)
    half_log_w = np.zeros(J)
    step = block_rows(p * p, rows.n)
    for start in range(0, rows.n, step):
        Xv, Xp, yb, cb, hlw = rows.weighted_blocks(slice(start, min(rows.n, start + step)))
        if hlw is not None:
            np.add.at(half_log_w, cb, hlw)
        W = np.concatenate([Xv, Xp], axis=1)
        r0 = yb - W @ ref
        np.add.at(M, cb, W[:, :, None] * W[:, None, :])
        np.add.at(h, cb, W * r0[:, None])
        np.add.at(rr, cb, r0 * r0)
        np.add.at(nj, cb, 1.0)
    if "Sigma" in post:
        L = np.linalg.cholesky(post["Sigma"].reshape(S, q, q))
    else:
        L = np.sqrt(post["tau2"].reshape(S, q))[:, :, None] * np.eye(q)
    s2_all = post["sigma2"].reshape(S, -1)
    delta = theta - ref
    out = np.empty((S, J))
    jstep = max(1, (1 << 21) // max(S * q * q, 1))
    eye = np.eye(q)
    for j0 in range(0, J, jstep):
        js = slice(j0, min(J, j0 + jstep))
        Mj, hj = M[js], h[js]
        s2 = s2_all[:, js] if s2_all.shape[1] > 1 else np.broadcast_to(s2_all, (S, js.stop - js.start))
        r_r = rr[js] - 2.0 * delta @ hj.T + np.einsum("sa,jab,sb->sj", delta, Mj, delta)
        xr = hj[None, :, :q] - np.einsum("jab,sb->sja", Mj[:, :q, :], delta)  # X_v'r, (S, Jc, q)
        B = eye + np.einsum("sba,jbc,scd->sjad", L, Mj[:, :q, :q], L) / s2[..., None, None]
        u = np.einsum("sba,sjb->sja", L, xr) / s2[..., None]
        cB = np.linalg.cholesky(B)
        v = np.linalg.solve(cB, u[..., None])[..., 0]
        logdet_B = 2.0 * np.log(np.diagonal(cB, axis1=2, axis2=3)).sum(axis=-1)
        n_g = nj[js]
        out[:, js] = -0.5 * (n_g * (math.log(2 * math.pi) + np.log(s2)) + logdet_B
                             + r_r / s2 - (v * v).sum(axis=-1)) + half_log_w[js]
    return out.reshape(C, D, J)
