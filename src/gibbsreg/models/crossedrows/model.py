"""The row-weighted crossed models' shared run: validation, the factors' codes and columns, the problem, the
ChainSpec (the Gaussian crossed model's variables and maps, with this kind's kernel, state and fingerprint)
and sample / resume.  The families (binary.py, student.py) give the rows, the prior and the family's pieces."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ...io.dask import has_dask
from ...io.groups import encode_factors
from ...posterior import Posterior
from ...sampling import chain_streams, check_sampling_args
from ..crossed.model import CrossedDesign, CrossedRegression, _column_list, crossed_spec
from ..crossed.priors import CrossedPrior, Factor
from .problem import rows_problem
from .reference import crossed_rows_reference

MAX_CHUNK_ELEMENTS = 1 << 22  # NumPy twin: bound on chains * iterations * rows per chunk


class RowsCrossedModel:
    """Base of CrossedBinaryRegression and CrossedStudentTRegression: ``factors`` (Factor list, the first one's
    effects centred at mu), ``prior`` (a CrossedPrior), ``intercept``, ``sampler`` ("asis", "blocked" or
    "plain": the Gaussian crossed model's samplers, run given the latents)."""

    KIND = ""
    TITLE = ""

    def __init__(self, factors, prior: CrossedPrior | None = None, intercept: bool = True, sampler: str = "asis"):
        if prior is not None and not isinstance(prior, CrossedPrior):
            raise ValueError(f"{type(self).__name__}: prior must be a CrossedPrior, got {type(prior).__name__}")
        # the Gaussian crossed model checks the factors, the sampler and (later) the groups' columns
        self._layout = CrossedRegression(factors, prior, intercept, sampler)
        if prior is not None and prior.fixed_scale is not None and not np.isfinite(prior.fixed_scale).all():
            raise ValueError(f"{type(self).__name__}: fixed_scale must be finite (a flat prior on a population "
                             "coefficient is not available for this model)")
        self.factors, self.prior = self._layout.factors, self._layout.prior
        self.intercept, self.sampler = self._layout.intercept, sampler

    # the family's part -------------------------------------------------------------------------
    def _family_rows(self, X, y, trials):
        """The validated rows as a dict: F (n, p) the full design, names, family (code and name), ref, y, trials,
        u, w (rows_problem's), nu (learned?, shape, rate), nu_start(streams), fixed (state kept fixed)."""
        raise NotImplementedError

    def _resolve(self, rows, vidx):
        """The resolved prior (the record) and its ResolvedCrossedPrior (the sampler's)."""
        raise NotImplementedError

    def _finish(self, spec, problem, prior, seed):
        """The family's changes to the ChainSpec (variables, state, attrs)."""
        raise NotImplementedError

    def _remember(self, fam, codes):
        """The rows the Posterior keeps for its log-likelihood (post.data)."""
        raise NotImplementedError

    # the shared run ---------------------------------------------------------------------------
    def _spec(self, X, y, groups, trials, seed, who):
        if X is None or y is None:
            raise ValueError(f"{who}: pass X, y and groups (this model reads every row in every sweep; "
                             "statistics are not enough)")
        if any(has_dask(v) for v in (X, y, groups)):
            raise ValueError(f"{who}: this model keeps the rows in memory; compute the Dask collections first")
        fam = self._family_rows(X, y, trials)
        F, names = fam["F"], fam["names"]
        _, codes, levels = encode_factors(self._layout._groups(groups), F.shape[0])
        vidx = [_column_list(f.varying, names, f.name) for f in self.factors]
        pidx = [i for i in range(len(names)) if i not in vidx[0]]
        record, crossed_prior = self._resolve(fam, vidx)
        problem = rows_problem(F, codes, levels, crossed_prior, vidx, pidx, family=fam["family"], ref=fam["ref"],
                               y=fam["y"], trials=fam["trials"], u=fam["u"], w=fam["w"], sampler=self.sampler,
                               nu=fam.get("nu", (False, 0.0, 0.0)))
        design = CrossedDesign(list(names), int(F.shape[0]), self.intercept)
        base = crossed_spec(problem.crossed, design, crossed_prior, levels, vidx, pidx, self.factors, self.sampler,
                            self.intercept, seed)
        spec = rows_spec(base, problem, record, self.KIND, fam)
        return self._finish(spec, problem, record, seed), self._remember(fam, codes)

    def _sample(self, X, y, groups, trials, *, chains, draws, warmup, thin, seed, backend, progress, until,
                checkpoint, checkpoint_every, store, who) -> Posterior:
        from ...runner import new_state, run_chains, run_options

        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        options = run_options(until, checkpoint, checkpoint_every, store, progress)
        t0 = time.perf_counter()
        spec, data = self._spec(X, y, groups, trials, seed, who)
        streams = chain_streams(seed, chains)
        state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed,
                          backend=backend)
        post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
        post.data = data
        return post

    def _resume(self, post, X, y, groups, trials, *, draws, until, checkpoint, checkpoint_every, store, backend,
                progress, who) -> Posterior:
        from ...runner import resume_run

        t0 = time.perf_counter()
        spec, data = self._spec(X, y, groups, trials, None, who)
        resumed = resume_run(post, spec, draws=draws, until=until, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                             setup_seconds=time.perf_counter() - t0)
        resumed.data = data
        return resumed


def method_text(problem, factors, sampler: str) -> str:
    """The sampler as the run's title names it: "asis Gibbs", with ", b joint with a" when a factor nested in the
    first is drawn jointly with it."""
    j = int(problem.crossed.joint)
    return f"{sampler} Gibbs" + (f", {factors[j].name} joint with {factors[0].name}" if j >= 0 else "")


def rows_spec(base, problem, record, kind: str, fam: dict):
    """The Gaussian crossed ChainSpec ``base`` turned into this kind's: the row-weighted kernel and its twin,
    nu in the state (and in the outputs when learned), a fingerprint of the rows."""
    from ...runstate import fingerprint as make_fingerprint

    learn = bool(problem.learn_nu)

    def load_kernel():
        from ...kernels.crossedrows import crossed_rows_gibbs

        return crossed_rows_gibbs

    def map_draws(src, dest):
        mine = {k: v for k, v in dest.items() if k != "nu"}
        if "sigma2" not in dest:  # the binary families: sigma^2 = 1 is not a variable
            mine["sigma2"] = np.empty(src["sigma2"].shape)
        base.map_draws(src, mine)
        if learn:
            dest["nu"][...] = src["nu"]

    def init_state(streams):
        state = base.init_state(streams)
        state["nu"] = fam["nu_start"](streams)
        if "sigma2" in fam.get("fixed", ()):
            state["sigma2"][:] = 1.0
        return state

    r = problem
    factors = base.attrs["factors"]
    settings = {"kind": kind, "names": list(base.attrs["names"]), "intercept": base.config["intercept"],
                "sampler": base.config["sampler"], "factors": factors, "family": fam["name"],
                "levels": [[str(x) for x in base.coords[f"{f}_level"]] for f in factors]}
    fp = make_fingerprint(settings, {"Z": r.Z, "r0": r.r0, "y": r.y.astype(float), "trials": r.trials.astype(float),
                                     "start": r.rows.start.astype(float), "level": r.crossed.stats.level.astype(float)},
                          record.to_dict())
    outputs = dict(base.outputs)
    outputs["nu"] = ((), learn)
    attrs = dict(base.attrs, model_kind=kind, prior=record)
    config = dict(base.config, model=kind)
    n = r.Z.shape[0]
    return replace(base, kind=kind, load_kernel=load_kernel, reference_fn=crossed_rows_reference,
                   kernel_args=r.kernel_args(), state_names=base.state_names + ("nu",), outputs=outputs,
                   map_draws=map_draws, init_state=init_state, fingerprint=fp, config=config, attrs=attrs,
                   numpy_iter_values=max(n, 1) * 4, numpy_max_elements=MAX_CHUNK_ELEMENTS)


__all__ = ["Factor", "CrossedPrior", "RowsCrossedModel", "method_text", "rows_spec"]
