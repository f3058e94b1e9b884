"""Leave-one-out cross-validation and model comparison.

:func:`loo` is PSIS-LOO (ArviZ's ``az.loo``) on the pointwise log-likelihood of a Posterior;
:func:`compare` ranks several posteriors as ``az.compare`` does and adds the Pareto k
diagnostics; :func:`exact_loo` gives the conjugate model's leave-one-out predictive
densities in closed form (Student t, docs/maths.md section 11), the reference PSIS-LOO
is checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .inference import to_inference_data
from .loglik import rows_of

VAR = {"obs": "y", "group": "y_group", "group_conditional": "y_group_conditional"}


def _check_by(by):
    if by not in VAR:
        raise ValueError("by must be 'obs' (leave one observation out), 'group' (leave one group out) or "
                         f"'group_conditional', got {by!r}")
    return VAR[by]


def _loglik_idata(post, X, y, groups, by, backend, max_bytes):
    return to_inference_data(post, X, y, groups, log_likelihood=by == "obs", posterior_predictive=False, prior=False,
                             group_log_likelihood=by != "obs", backend=backend, max_bytes=max_bytes)


def loo(post, X=None, y=None, groups=None, *, by: str = "obs", reff=None, backend: str = "numba", max_bytes=None):
    """PSIS-LOO of a Posterior: ``az.loo`` on its pointwise log-likelihood (an arviz ELPDData).

    ``elpd_loo``, ``se``, ``p_loo``, ``loo_i`` (n,) and ``pareto_k`` (n,); ``by="group"`` leaves
    out one group at a time (hierarchical models), on the group's likelihood with its coefficients
    beta_j integrated out (``y_group``; ``by="group_conditional"``: given beta_j, usually high k).  The rows are the data the Posterior was
    sampled from unless ``X, y, groups`` are given.
    """
    import arviz as az

    if type(post).__name__ == "ConjugatePosterior":
        raise ValueError("loo needs draws: use exact_loo(fit) for the closed form, or loo(fit.sample(...))")
    var = _check_by(by)
    idata = _loglik_idata(post, X, y, groups, by, backend, max_bytes)
    return az.loo(idata, pointwise=True, var_name=var, reff=reff)


@dataclass
class ExactLOO:
    """Exact leave-one-out predictive log densities of the conjugate model.

    ``pointwise`` (n,) log p(y_i | y_-i); ``elpd_loo`` their sum; ``se`` = sqrt(n var(pointwise)),
    the standard error ArviZ reports for PSIS-LOO.
    """

    pointwise: np.ndarray
    elpd_loo: float
    se: float

    def __str__(self) -> str:
        return f"exact LOO: elpd_loo = {self.elpd_loo:.3f} (se {self.se:.3f}), n = {self.pointwise.size}"


def exact_loo(fit, X=None, y=None) -> ExactLOO:
    """Closed-form log p(y_i | y_-i) of a ConjugatePosterior, by rank-one downdates of the NIG posterior.

    With h_i = x_i' A^{-1} x_i (A = V0^{-1} + X'X) and e_i = y_i - x_i' m_n:
    y_i | y_-i ~ t_{2a_n - 1}(y_i - e_i/(1 - h_i), (b_-i / a_-i) / (1 - h_i)),
    a_-i = a_n - 1/2, b_-i = b_n - e_i^2 / (2 (1 - h_i))  (docs/maths.md, section 11).
    ``X, y`` default to the data the posterior was fitted to.
    """
    if X is None and y is None:
        data = fit._data
        if data is None:
            raise ValueError("this fit does not hold its rows (fitted from statistics, Dask data or updated): "
                             "pass X= and y=")
        Xa, ya = data.X, data.y
    else:
        from ..data import as_design

        design = as_design(X, y, fit._transform.intercept)
        if design.names != list(fit.names):
            raise ValueError(f"X gives coefficients {design.names}; the posterior was fitted with {fit.names}")
        Xa, ya = design.X, design.y
    tr = fit._transform
    a_loo = fit.a_n - 0.5
    if a_loo <= 0:
        raise ValueError("leaving a row out makes the posterior of sigma^2 improper (a_n <= 1/2)")
    n = ya.shape[0]
    out = np.empty(n)
    nu = 2.0 * a_loo
    const = special.gammaln(0.5 * (nu + 1)) - special.gammaln(0.5 * nu) - 0.5 * math.log(nu * math.pi)
    step = max(1, (1 << 20) // max(len(fit.names), 1))
    for start in range(0, n, step):
        sl = slice(start, min(n, start + step))
        Xb = np.asarray(Xa[sl], dtype=np.float64)
        Z = tr.z_rows(Xb)
        full = np.hstack([np.ones((Xb.shape[0], 1)), Xb]) if tr.intercept else Xb
        e = ya[sl] - (full @ tr.beta_ref + Z @ fit._mn_gamma)
        h = np.einsum("ij,jk,ik->i", Z, fit._Vn_gamma, Z)
        one_minus_h = 1.0 - h
        b_loo = fit.b_n - 0.5 * e**2 / one_minus_h
        bad = (one_minus_h <= 1e-12) | (b_loo <= 0)
        if bad.any():
            i = start + int(np.argmax(bad))
            raise ValueError(f"row {i} has leverage h = {h[i - start]:.6g}: without it the posterior is improper "
                             "(a flat-prior coefficient identified by this row alone)")
        scale2 = (b_loo / a_loo) / one_minus_h
        # (e/(1-h))^2 / (nu scale2) = e^2 / (2 b_loo (1 - h))
        out[sl] = const - 0.5 * np.log(scale2) - 0.5 * (nu + 1) * np.log1p(e**2 / (2.0 * b_loo * one_minus_h))
    return ExactLOO(out, float(out.sum()), float(math.sqrt(n * out.var())))


def _elpd_of(name, model, X, y, groups, ic, by, scale, backend, max_bytes):
    import arviz as az

    var = _check_by(by)
    if isinstance(model, az.InferenceData):
        func = az.loo if ic == "loo" else az.waic
        return func(model, pointwise=True, scale=scale, var_name=var if var in model.log_likelihood else None), None
    if type(model).__name__ == "ELPDData":
        return model, None
    if type(model).__name__ == "ConjugatePosterior":
        raise ValueError(f"model {name!r} is a closed-form ConjugatePosterior: compare its draws (fit.sample(...))")
    if not hasattr(model, "attrs"):
        raise ValueError(f"model {name!r} must be a Posterior, an arviz InferenceData or an ELPDData, "
                         f"got {type(model).__name__}")
    rows = rows_of(model, X, y, groups)
    idata = _loglik_idata(model, X, y, groups, by, backend, max_bytes)
    func = az.loo if ic == "loo" else az.waic
    return func(idata, pointwise=True, scale=scale, var_name=var), rows.y


def compare(models: dict, X=None, y=None, groups=None, *, ic: str = "loo", by: str = "obs",
            method: str = "stacking", scale: str = "log", backend: str = "numba", max_bytes=None):
    """Rank models by expected log predictive density, as ``az.compare`` does (a pandas DataFrame).

    ``models``: {name: Posterior | InferenceData | ELPDData}.  Posteriors use ``X, y, groups``
    when given (the same rows for every model; ``groups`` is ignored by flat models) and
    otherwise the data each was sampled from; their observed y must be identical.
    Columns: rank, elpd_loo, p_loo, elpd_diff (to the best), weight, se, dse (the se of
    elpd_diff), warning, scale, and for LOO the Pareto k diagnostics ``pareto_k_max``,
    ``n_high_k`` (the number of observations with k above ArviZ's threshold
    min(1 - 1/log10(S), 0.7), whose PSIS estimate is unreliable) and ``worst_obs`` (the
    observation with the largest k).  ``by="group"``: leave one group out.
    """
    import arviz as az

    if not isinstance(models, dict) or len(models) < 2:
        raise ValueError("compare needs a dict {name: posterior} of at least two models")
    ic = str(ic).lower()
    if ic not in ("loo", "waic"):
        raise ValueError(f"ic must be 'loo' or 'waic', got {ic!r}")
    elpds, y_seen = {}, None
    for name, model in models.items():
        elpd, y_obs = _elpd_of(name, model, X, y, groups, ic, by, scale, backend, max_bytes)
        if y_obs is not None:
            if y_seen is None:
                y_seen = (name, y_obs)
            elif y_obs.shape != y_seen[1].shape or not np.array_equal(y_obs, y_seen[1]):
                raise ValueError(f"models {y_seen[0]!r} and {name!r} were fitted to different y: LOO compares "
                                 "models of the same observations")
        elpds[name] = elpd
    sizes = {name: e[f"{ic}_i"].size for name, e in elpds.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"the models have different numbers of pointwise terms {sizes}")
    table = az.compare(elpds, ic=ic, method=method, scale=scale)
    if ic == "loo":
        kmax, nhigh, worst = {}, {}, {}
        for name, e in elpds.items():
            k = np.asarray(e["pareto_k"]).ravel()
            thresh = float(e.get("good_k", 0.7))
            kmax[name] = float(np.nanmax(k))
            nhigh[name] = int(np.sum(k > thresh))
            coord = e["pareto_k"]
            idx = int(np.nanargmax(k))
            worst[name] = coord[coord.dims[0]].values[idx].item() if getattr(coord, "dims", None) else idx
        table["pareto_k_max"] = [kmax[i] for i in table.index]
        table["n_high_k"] = [nhigh[i] for i in table.index]
        table["worst_obs"] = [worst[i] for i in table.index]
    table.attrs["elpd"] = elpds
    return table
