"""The wide model (kind "wide"): LinearRegression under a Horseshoe or BayesianLasso prior, any shape up to
p >> n.  ``LinearRegression(prior=Horseshoe()).sample(X, y)`` arrives here (the prior's sample_regression)."""

from __future__ import annotations

import math
import time

import numpy as np

from ...data import as_design
from ...io.api import remembered_rows
from ...posterior import Posterior
from ...runner import ChainSpec, copy_draws, new_state, run_chains, run_options
from ...runstate import fingerprint as make_fingerprint
from ...sampling import chain_streams, check_draws_dtype, check_sampling_args
from ...kernels.wide.blas import potrf_address, syrk_address
from ...kernels.wide.shapes import BHATTACHARYA, CHOLESKY, HORSESHOE, LASSO, REG_HORSESHOE
from . import reference
from .resolved import ResolvedShrinkage, resolve
from .problem import WideData, check_memory, choose_method, constant_columns, memory_needed, prepare

KEEP_LOCAL_MAX_P = 1000  # by default the local scales (p per draw) are stored up to this many coefficients
METHOD_NAMES = {CHOLESKY: "cholesky", BHATTACHARYA: "bhattacharya"}


def unpenalised_columns(names: list, intercept: bool, X: np.ndarray, named: list, who: str) -> list[int]:
    """Indices (among the coefficients) left unpenalised: the intercept, else a constant column, and ``named``."""
    idx = [0] if intercept else constant_columns(X)[:1]
    for name in named:
        if name not in names:
            raise ValueError(f"{who}: unpenalized names {name!r}, which is not a coefficient ({len(names)} "
                             f"coefficients: {names[:5]}{' ...' if len(names) > 5 else ''})")
        idx.append(names.index(name))
    return sorted(set(idx))


def kept_variables(prior: ResolvedShrinkage, p: int) -> list[str]:
    every = ["beta", "sigma2", prior.global_name, prior.local_name]
    if prior.kind == "RegularizedHorseshoe":
        every.append("c2")
    if prior.keep is None:
        return every if p <= KEEP_LOCAL_MAX_P else [k for k in every if k != prior.local_name]
    unknown = [k for k in prior.keep if k not in every]
    if unknown:
        raise ValueError(f"{prior.kind}: keep names {unknown}, not among the variables {every}")
    return [k for k in every if k in prior.keep]


def wide_spec(data: WideData, prior: ResolvedShrinkage, n: int, intercept: bool, seed=None, init_superchains=None,
              dtype=np.float64) -> ChainSpec:
    """The wide model under the run driver: state (gamma, sigma^2, local scales and their auxiliaries, global
    scale and its auxiliary), the kernel and its twin, outputs named as the prior names them."""
    p, m = data.p, data.m
    names = prior.names
    kind = {"Horseshoe": HORSESHOE, "BayesianLasso": LASSO, "RegularizedHorseshoe": REG_HORSESHOE}[prior.kind]
    keep = kept_variables(prior, p)
    gname, lname = prior.global_name, prior.local_name
    sigma_shape = prior.sigma_a + 0.5 * m  # sigma^2 is drawn with beta integrated out (kernels/wide/sweep.py)

    def init_state(streams):
        C = len(streams.normal)
        base = data.rr / m if data.rr > 0 else 1.0
        sigma2 = np.array([base * math.exp(g.standard_normal()) for g in streams.init])
        if kind != LASSO:
            glob = np.array([prior.global_scale ** 2 * math.exp(g.standard_normal()) for g in streams.init])
        else:
            glob = np.full(C, prior.lasso_shape / prior.lasso_rate)
        return {"gamma": np.zeros((C, p)), "sigma2": sigma2, "local": np.ones((C, p)), "aux": np.ones((C, p)),
                "glob": glob, "aux_glob": np.ones(C), "slab": np.full(C, prior.slab_scale ** 2)}

    def map_draws(src, dest):
        for k in dest:
            copy_draws(src[k], dest[k])

    def load_kernel():
        from ...kernels.wide import wide_gibbs

        return wide_gibbs

    all_vars = {"beta": ((len(names),), ["coef"]), "sigma2": ((), []), gname: ((), []),
                lname: ((p,), ["penalized_coef"]), "c2": ((), [])}
    variables = {k: all_vars[k] for k in keep}
    outputs = {k: (all_vars[k][0], k in keep) for k in ("beta", "sigma2", gname, lname, "c2")}
    pen_names = [names[j] for j in data.pen_idx]
    method = METHOD_NAMES[data.method]
    fp = make_fingerprint(
        {"kind": "wide", "names": list(names), "intercept": bool(intercept), "method": method, "keep": keep},
        {"h": data.h, "rr": data.rr, "n": float(n), "col_scale": data.col_scale, "R": data.R, "c1": data.c1,
         "X1": data.X1, "Xrow": (data.Xt.sum(axis=1) if data.method == BHATTACHARYA else np.diag(data.G))},
        prior.to_dict())
    attrs = {
        "model": f"LinearRegression ({prior.kind}, Gibbs, {method} beta draw)", "prior": prior,
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else None, "n": int(n), "p": len(names),
        "model_kind": "wide", "intercept": bool(intercept), "names": list(names), "beta_draw": method,
        "group_dims": ["coef", "penalized_coef"], "col_scale": data.col_scale.tolist(), "m": int(m),
        "penalized_index": data.pen_idx.tolist(),
    }
    config = {"model": "LinearRegression", "intercept": bool(intercept), "init_superchains": init_superchains,
              "dtype": np.dtype(dtype).name, "wide": True}
    kernel_args = (np.uint64(syrk_address()), np.uint64(potrf_address()), int(prior.sigma_scaled), data.method, kind,
                   data.Xt, data.ys, data.G, data.h, data.rr, data.R,
                   data.c1, data.X1, data.col_scale, data.pen_idx, data.unpen_idx, sigma_shape, prior.sigma_b,
                   1.0 / prior.global_scale ** 2, prior.lasso_shape + p, prior.lasso_rate, 0.5 * prior.slab_df,
                   0.5 * prior.slab_df * prior.slab_scale ** 2, data.block)
    per_iter = p * p if data.method == CHOLESKY else m * m * p
    return ChainSpec(
        kind="wide", load_kernel=load_kernel, reference_fn=reference.wide_gibbs, kernel_args=kernel_args,
        state_names=("gamma", "sigma2", "local", "aux", "glob", "aux_glob", "slab"), outputs=outputs,
        variables=variables, map_draws=map_draws, init_state=init_state, fingerprint=fp, config=config,
        coords={"coef": list(names), "penalized_coef": pen_names}, attrs=attrs,
        failure_message="the beta draw's matrix lost positive definiteness (scales under- or overflowed); "
                        "rescale the data or the prior",
        numpy_iter_values=max(p + m, 1), numpy_max_elements=1 << 22, draws_dtype=np.dtype(dtype),
        direct_outputs=True, first_chunk=int(max(1, min(64, 4e7 / max(per_iter, 1)))))


def _build(X, y, prior, intercept: bool, chains: int, draws: int, thin_store: bool, dtype, who: str):
    """Validated design, resolved prior and kernel data (memory checked before the big allocations)."""
    if X is None or y is None:
        raise ValueError(f"{who}: the shrinkage priors need the rows: pass X and y (stats= is not supported)")
    design = as_design(X, y, intercept)
    names = design.names
    if isinstance(prior, ResolvedShrinkage):
        resolved = prior
        if list(resolved.names) != list(names):
            raise ValueError(f"{who}: X gives coefficients {names[:5]}...; the run had {resolved.names[:5]}...")
        unpen = [k for k, pen in enumerate(resolved.penalized) if not pen]
    else:
        unpen = unpenalised_columns(names, intercept, design.X, prior.unpenalized, who)
        y = design.y
        y_sd = float(np.std(y)) if unpen else float(np.sqrt(np.mean(y * y)))
        resolved = resolve(prior, names, unpen, design.n - len(unpen), y_sd if y_sd > 0 else 1.0)
    n, p_all = design.n, len(names)
    p, m = p_all - len(unpen), design.n - len(unpen)
    method = choose_method(resolved.beta_draw, p, m)
    block = int(max(1, min(p, (8 << 20) // (8 * max(m, 1)))))
    values = sum(int(np.prod(s)) if s else 1 for s in
                 [(p_all,) if k == "beta" else (p,) if k == resolved.local_name else ()
                  for k in kept_variables(resolved, p)])
    draws_bytes = 0 if thin_store else np.dtype(dtype).itemsize * chains * draws * values
    check_memory(memory_needed(method, n, p, m, chains, block), draws_bytes)
    full = design.full_matrix() if intercept else design.X
    data = prepare(full, design.y, unpen, resolved.beta_draw, resolved.standardize)
    return design, resolved, data


def sample_wide(X, y, prior, *, intercept: bool = True, stats=None, chains: int = 4, draws: int = 1000,
                warmup: int = 1000, thin: int = 1, seed=None, backend: str = "numba", progress: bool = True,
                init_superchains=None, until=None, checkpoint=None, checkpoint_every: float = 60.0, store=None,
                dtype=np.float64) -> Posterior:
    """Run ``chains`` Gibbs chains of y = X beta + e under a Horseshoe or BayesianLasso prior; the Posterior
    holds beta (chains, draws, p) in the original coordinates, sigma2, the global scale (tau2 / lambda2) and,
    when kept, the local scales (chains, draws, p_penalised).  ``attrs["beta_draw"]`` says which beta draw
    ran ("cholesky" when p <= n - r, else "bhattacharya")."""
    chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
    options = run_options(until, checkpoint, checkpoint_every, store, progress)
    dtype = check_draws_dtype(dtype)
    if stats is not None:
        raise ValueError(f"{type(prior).__name__}: the shrinkage priors need the rows: pass X and y, not stats=")
    t0 = time.perf_counter()
    design, resolved, data = _build(X, y, prior, intercept, chains, draws, store is not None, dtype,
                                    "LinearRegression.sample")
    spec = wide_spec(data, resolved, design.n, intercept, seed, init_superchains, dtype)
    streams = chain_streams(seed, chains, init_superchains)
    state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed, backend=backend)
    post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
    post.data = remembered_rows(X, y)
    return post


def resume_wide(post, X=None, y=None, groups=None, *, stats=None, model=None, **options) -> Posterior:
    """The wide kind's ``resume`` hook: continue ``post`` on the same rows (checked by fingerprint)."""
    from ...runner import resume_run

    prior = post.attrs["prior"]
    if model is not None and getattr(model.prior, "kind", None) != prior.kind:
        raise ValueError(f"this run used a {prior.kind} prior; the model given has {type(model.prior).__name__}")
    if stats is not None:
        raise ValueError("resume: the shrinkage priors need the rows: pass X and y, not stats=")
    cfg = post.state.config
    intercept = bool(cfg.get("intercept", True))
    t0 = time.perf_counter()
    design, resolved, data = _build(X, y, prior, intercept, post.nchains, 0, True, np.float64, "resume")
    spec = wide_spec(data, resolved, design.n, intercept, None, cfg.get("init_superchains"),
                     cfg.get("dtype", "float64"))
    resumed = resume_run(post, spec, setup_seconds=time.perf_counter() - t0, **options)
    resumed.data = remembered_rows(X, y)
    return resumed
