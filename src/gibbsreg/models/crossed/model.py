"""Several grouping factors: the model, its initial state and the sampling run."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ...data import column_indices
from ...io.api import in_memory, model_stats, remembered_rows
from ...io.groups import encode_factors
from ...posterior import Posterior
from ...sampling import chain_streams, check_sampling_args
from .priors import MAX_CHUNK_ELEMENTS, TAU_HALFCAUCHY, CrossedPrior, Factor, resolve_crossed_prior
from .problem import CrossedProblem, crossed_problem
from .reference import crossed_gibbs_reference


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
        if problem.tau_kind[f] == TAU_HALFCAUCHY or problem.tau_a[f, 0] > 0.0 and problem.hc_inv_scale2[f, 0] > 0.0:
            k = int(problem.q[f])  # half-t's lambda or Huang-Wand's a: start at the prior's scale
            lam[:, f, :k] = 1.0 / np.maximum(problem.hc_inv_scale2[f, :k], 1e-300)
    b = np.zeros((chains, int(problem.b_off[-1])))
    alpha = np.zeros((chains, len(problem.pidx)))
    return b, alpha, mu, Sinv, lam, sigma2


def G_width(problem) -> int:
    return int(problem.stats.G.shape[1])


def _column_list(spec, names, fname):
    return column_indices(list(spec), names, f"Factor {fname!r}: ")


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
    :func:`interaction_labels`.  ``joint``: when a later factor is nested in the first (each of its
    levels inside one level of the first), draw (mu, alpha, b_1, b_nested) as one exact block and move
    the two factors' diagonal variances by Metropolis steps with both factors' effects integrated out
    (docs/maths.md §14); None (default): with ``"asis"`` when the nested factor has at most 5 levels
    per level of the first on average (where it was measured to help), off with ``"blocked"``; ignored
    by ``"plain"`` and for designs without such a factor.
    """

    SAMPLERS = ("asis", "blocked", "plain")

    def __init__(self, factors, prior: CrossedPrior | None = None, intercept: bool = True, sampler: str = "asis",
                 joint: bool | None = None):
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
        if joint is not None and not isinstance(joint, bool):
            raise ValueError(f"joint must be True, False or None (automatic), got {joint!r}")
        self.joint = joint

    def _groups(self, groups):
        """The model's factors' label columns, in the factors' order: a dict {name: labels} (or a DataFrame's
        selection of those columns, pandas or Dask)."""
        if groups is None:
            raise ValueError("groups is None; pass a dict (or DataFrame) {factor name: labels}, or stats=")
        if isinstance(groups, dict):
            keys = list(groups.keys())
        elif hasattr(groups, "columns") and getattr(groups, "ndim", 2) == 2:
            keys = list(groups.columns)
        else:
            raise ValueError(f"groups must be a dict or a DataFrame of label columns, got {type(groups).__name__}")
        names = [f.name for f in self.factors]
        for name in names:
            if name not in keys:
                raise ValueError(f"groups has no labels for factor {name!r}; it has {keys}")
        if isinstance(groups, dict):
            return {name: groups[name] for name in names}
        return groups[names]

    def prepare(self, X=None, y=None, groups=None, *, stats=None, who: str = "CrossedRegression.sample"):
        """Validate and reduce the data (X, y, groups; or ``stats=``) to cell statistics through gibbsreg.io;
        returns (problem, design, prior, levels, vidx, pidx, rows): ``design`` the coefficient names, n and
        the intercept, ``levels`` each factor's level labels, ``rows`` the in-memory rows with their (n, F)
        level codes (None for Dask collections and statistics)."""
        names = [f.name for f in self.factors]
        if stats is None:
            groups = self._groups(groups)
        source = model_stats(X, y, groups, stats=stats, intercept=self.intercept, grouped=True, factors=names,
                             who=who)
        codes = levels = None
        if stats is None and in_memory(X, y, groups):
            # the rows' level codes (for the log-likelihood); a Categorical keeps its category order
            _, codes, levels = encode_factors(groups, source.n_rows)
        design = CrossedDesign(list(source.names), int(source.n_rows), self.intercept)
        vidx = [_column_list(f.varying, design.names, f.name) for f in self.factors]
        pidx = [i for i in range(design.p) if i not in vidx[0]]
        flat = source.pooled.to_sufficient()
        prior = resolve_crossed_prior(self.prior, self.factors, flat, design.names, vidx)
        flat_cols = np.flatnonzero(~np.isfinite(prior.fixed_scale))
        if len(flat_cols):
            Gs = flat.G[np.ix_(flat_cols, flat_cols)]
            eig = np.linalg.eigvalsh(Gs)
            if not eig[0] > 1e-10 * max(eig[-1], 1e-300):
                raise ValueError("the population-level design is singular in the columns with a flat prior "
                                 f"{[design.names[i] for i in flat_cols]}: the posterior is improper; give them "
                                 "a finite fixed_scale or drop collinear columns")
        cs = source.to_cell_stats(flat.transform.beta_ref, factors=names, levels=levels)
        J = [len(lv) for lv in cs.levels]
        problem = crossed_problem(cs, prior, vidx, pidx, J, blocked=self.sampler in ("asis", "blocked"),
                                  interweave=self.sampler == "asis", joint=self._joint())
        rows = remembered_rows(X, y, codes=codes) if codes is not None else None
        return problem, design, prior, cs.levels, vidx, pidx, rows

    def sample(self, X=None, y=None, groups=None, *, stats=None, chains: int = 4, draws: int = 1000,
               warmup: int = 1000, thin: int = 1, seed=None, backend: str = "numba", progress: bool = True,
               until=None, checkpoint=None, checkpoint_every: float = 60.0, store=None) -> Posterior:
        """Gibbs sampling; returns ``b_<factor>`` (chains, draws, J_f, q_f), ``tau2_<factor>`` (q_f) or
        ``Sigma_<factor>`` (q_f, q_f), ``mu`` (q_1), ``alpha`` (r) when some columns do not vary in the
        first factor, and ``sigma2`` (chains, draws).  ``groups``: {factor name: labels} or a DataFrame
        (NumPy, pandas or Dask).  ``stats=`` (a GroupedStats of the factors: :func:`gibbsreg.sufficient_stats`
        with ``groups={name: labels, ...}``, :func:`gibbsreg.read_stats` with ``groups=[column, ...]`` or
        :func:`gibbsreg.load_stats`) replaces X, y and groups.
        ``until``, ``checkpoint``, ``checkpoint_every`` and ``store`` as in LinearRegression.sample;
        ``model.resume(post, X, y, groups, draws=N)`` continues the run exactly."""
        from ...runner import new_state, run_chains, run_options

        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        options = run_options(until, checkpoint, checkpoint_every, store, progress)
        t0 = time.perf_counter()
        spec, rows = self._spec(X, y, groups, stats, seed, "CrossedRegression.sample")
        streams = chain_streams(seed, chains)
        state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed,
                          backend=backend)
        post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
        post.data = rows  # X, y and codes (n, F) by reference, for the log-likelihood (None from stats / Dask)
        return post

    def resume(self, post: Posterior, X=None, y=None, groups=None, *, stats=None, draws: int | None = None,
               until=None, checkpoint=None, checkpoint_every: float = 60.0, store=None, backend: str | None = None,
               progress: bool = True) -> Posterior:
        """Continue the run that made ``post`` (same data or statistics, factors and prior); see
        LinearRegression.resume."""
        from ...runner import resume_run

        t0 = time.perf_counter()
        spec, rows = self._spec(X, y, groups, stats, None, "CrossedRegression.resume")
        resumed = resume_run(post, spec, draws=draws, until=until, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                             setup_seconds=time.perf_counter() - t0)
        resumed.data = rows
        return resumed

    def _joint(self):
        """Whether a factor nested in the first is drawn jointly with it (models/crossed/nested.py): True, False,
        or "auto" (the default with the "asis" sampler: when the nested factor has few levels per parent)."""
        if self.joint is None:
            return "auto" if self.sampler == "asis" else False
        return self.joint and self.sampler != "plain"

    def _spec(self, X, y, groups, stats, seed, who):
        problem, design, prior, levels, vidx, pidx, rows = self.prepare(X, y, groups, stats=stats, who=who)
        return crossed_spec(problem, design, prior, levels, vidx, pidx, self.factors, self.sampler,
                            self.intercept, seed), rows


@dataclass
class CrossedDesign:
    """What the run needs of the data besides the cell statistics: coefficient names (intercept first), rows."""

    names: list
    n: int
    intercept: bool

    @property
    def p(self) -> int:
        return len(self.names)


def crossed_spec(problem: CrossedProblem, design, prior, levels, vidx, pidx, factors, sampler, intercept, seed=None):
    """The crossed model under the run driver: kernel, state, outputs and the element-wise map from the
    scaled coordinates (theta' = D (theta - ref)) to the posterior's."""
    from ...runner import ChainSpec, copy_draws
    from ...runstate import fingerprint as make_fingerprint

    D, ref = problem.stats.scale, problem.stats.ref
    K = len(problem.J)
    qmax = problem.vidx.shape[1]
    nb = int(problem.b_off[-1])
    r = len(pidx)
    q1 = int(problem.q[0])
    variables, coords = {}, {}
    for f, fac in enumerate(factors):
        v = list(vidx[f])
        variables[f"b_{fac.name}"] = ((len(levels[f]), len(v)), [f"{fac.name}_level", f"{fac.name}_coef"])
        coords[f"{fac.name}_level"] = levels[f].tolist()
        coords[f"{fac.name}_coef"] = [design.names[i] for i in v]
        coords[f"{fac.name}_coef_"] = [design.names[i] for i in v]
        if prior.factors[f]["tau_kind"] in ("InvWishart", "HuangWand"):
            variables[f"Sigma_{fac.name}"] = ((len(v), len(v)), [f"{fac.name}_coef", f"{fac.name}_coef_"])
        else:
            variables[f"tau2_{fac.name}"] = ((len(v),), [f"{fac.name}_coef"])
    v1 = np.asarray(vidx[0])
    variables["mu"] = ((q1,), ["coef"])
    coords["coef"] = [design.names[i] for i in v1]
    if pidx:
        variables["alpha"] = ((r,), ["pooled_coef"])
        coords["pooled_coef"] = [design.names[i] for i in pidx]
    variables["sigma2"] = ((), [])

    def map_draws(src, dest):
        C, n = src["sigma2"].shape[:2]
        for f, fac in enumerate(factors):
            v = np.asarray(vidx[f])
            k, Jf = len(v), len(levels[f])
            b = src["b"][:, :, problem.b_off[f]: problem.b_off[f + 1]].reshape(C, n, Jf, k)
            out = dest[f"b_{fac.name}"]
            np.divide(b, D[v], out=out)
            if f == 0:
                np.add(out, ref[v], out=out)
            Sig = src["Sigma"][:, :, f, :k, :k]
            if f"Sigma_{fac.name}" in dest:
                np.divide(Sig, np.outer(D[v], D[v]), out=dest[f"Sigma_{fac.name}"])
            else:
                np.divide(np.diagonal(Sig, axis1=2, axis2=3), D[v] * D[v], out=dest[f"tau2_{fac.name}"])
        np.divide(src["mu"], D[v1], out=dest["mu"])
        np.add(dest["mu"], ref[v1], out=dest["mu"])
        if pidx:
            pa = np.asarray(pidx)
            np.divide(src["alpha"], D[pa], out=dest["alpha"])
            np.add(dest["alpha"], ref[pa], out=dest["alpha"])
        copy_draws(src["sigma2"], dest["sigma2"])

    def init_state(streams):
        b, alpha, mu, Sinv, lam, sigma2 = crossed_initial_state(problem, streams.init, len(streams.normal))
        return {"b": b, "alpha": alpha, "mu": mu, "Sinv": Sinv, "lam": lam, "sigma2": sigma2}

    def load_kernel():
        from ...kernels.crossed import crossed_gibbs

        return crossed_gibbs

    settings = {"kind": "crossed", "names": list(design.names), "intercept": bool(intercept), "sampler": sampler,
                "factors": [[f.name, [int(i) for i in v]] for f, v in zip(factors, vidx)],
                "levels": [[str(x) for x in lv.tolist()] for lv in levels]}
    joint = problem.joint >= 0
    if joint:  # only then: the other runs' fingerprints stay as they were
        settings["joint"] = factors[problem.joint].name
    method = f"{sampler} Gibbs" + (f", {factors[problem.joint].name} joint with {factors[0].name}" if joint else "")
    s = problem.stats
    fp = make_fingerprint(settings, {"G": s.G, "h": s.h, "rr": s.rr, "n": s.n, "scale": s.scale, "ref": s.ref},
                          prior.to_dict())
    kinds = ", ".join(f"{f['name']}: {f['tau_kind']}" for f in prior.factors)
    attrs = {
        "model": f"CrossedRegression ({kinds}; {method})",
        "model_kind": "crossed", "sampler": sampler, "prior": prior,
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
        "n": design.n, "p": design.p, "intercept": bool(intercept), "names": design.names,
        "factors": [f.name for f in factors],
        "group_dims": [f"{f.name}_level" for f in factors],  # collapsed in printed summaries
        "varying_index": [list(map(int, v)) for v in vidx],
        "pooled_index": [int(i) for i in pidx], "levels": [len(lv) for lv in levels],
        "cells": int(s.G.shape[0]),
    }
    config = {"model": "CrossedRegression", "intercept": bool(intercept), "sampler": sampler}
    cells = s.G.shape[0]
    return ChainSpec(
        kind="crossed", load_kernel=load_kernel, reference_fn=crossed_gibbs_reference,
        kernel_args=problem.kernel_args(), state_names=("b", "alpha", "mu", "Sinv", "lam", "sigma2"),
        outputs={"b": ((nb,), True), "alpha": ((r,), True), "mu": ((q1,), True), "Sigma": ((K, qmax, qmax), True),
                 "sigma2": ((), True)},
        variables=variables, map_draws=map_draws, init_state=init_state, fingerprint=fp, config=config,
        coords=coords, attrs=attrs,
        failure_message="a conditional precision matrix lost positive definiteness; rescale the data or the prior",
        numpy_iter_values=nb + 4 * cells * G_width(problem), numpy_max_elements=MAX_CHUNK_ELEMENTS)


def resume_crossed(post, X=None, y=None, groups=None, *, stats=None, model=None, **options) -> Posterior:
    """The crossed kind's ``resume`` hook (the factors are not saved with the run: pass the model)."""
    if model is None:
        raise ValueError("resuming a CrossedRegression run needs its model: resume(source, X, y, groups, "
                         "model=CrossedRegression([...factors...])) or resume(source, stats=..., model=...)")
    return model.resume(post, X, y, groups, stats=stats, **options)
