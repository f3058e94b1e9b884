r"""Convergence studies: how R-hat, nested R-hat and ESS depend on the number of chains and draws.

:func:`convergence_study` makes ONE sampling call with ``max(chains)`` chains of ``max(draws)``
draws (all chains in one kernel launch, started from dispersed initial values), then
for every pair (K chains, N draws) takes the first K chains and their first N kept draws and
reports, as the worst case over every scalar parameter:

* ``rhat``: rank-normalised split R-hat, :func:`gibbsreg.diagnostics.rhat` (max);
* ``split_rhat``: classic split R-hat, :func:`gibbsreg.diagnostics.split_rhat` (max);
* ``nested_rhat``: nested R-hat (Margossian et al. 2024), :func:`gibbsreg.diagnostics.nested_rhat`,
  with ``superchains`` superchains of K / ``superchains`` chains each (max); NaN when
  ``superchains`` does not divide K;
* ``ess_bulk``: bulk effective sample size, :func:`gibbsreg.diagnostics.ess_bulk` (min).

Because chain k's draws do not depend on how many chains run, the first K chains of the big run
are exactly what a K-chain run would give, and the first N draws exactly an N-draw run with the
same warm-up.

Thresholds used in the printed flags: R-hat (each kind) < 1.01 is "converged", > 1.05 is
"not converged" (marked "!"; Vehtari et al. 2021 recommend 1.01); between the two is
"borderline" (marked "?").  Rank R-hat splits each chain, so it also catches a common drift
that every chain shares; nested R-hat does not split chains and catches disagreement between
superchains, and with many chains per superchain it can pass chains too short for split R-hat.

Superchains and initialisation.  Nested R-hat needs the chains of a superchain to start at the
same point (Margossian et al. 2024): while they still remember their start they agree with each
other and disagree with the other superchains, and nested R-hat is large; once they have forgotten
it, a superchain of M chains behaves like one chain of M times the draws, so nested R-hat
approaches sqrt(1 + 1/(M ESS_chain)) and can certify many short chains that split R-hat (which
needs each chain to be long) cannot.  Chain k belongs to superchain k mod ``superchains``
(interleaved), so the first K chains hold every superchain with K / ``superchains`` chains, and
the chains per superchain grow with K.  With ``shared_init=True`` (default) chain k takes its
dispersed initial values from the initial-value stream of chain k mod ``superchains`` (its own
normal and gamma streams are unchanged, so the superchains' first chains are exactly those of
a plain run with the same seed): there are ``superchains`` distinct, dispersed starting points.
With ``shared_init=False`` every chain starts at its own point, as in a plain run; nested R-hat
then loses most of its power to flag non-stationarity (the chains' disagreement inflates its
denominator too) and is reported only for reference.

Shared starts use the samplers' ``init_superchains`` argument: chain k takes the initial-value
stream of chain k mod ``superchains`` and keeps its own normal and gamma streams.
"""

from __future__ import annotations

import time

import numpy as np

from .diagnostics.rhats import _grid_stats
from .posterior import Posterior

CONVERGED = 1.01
FLAGGED = 1.05


class ConvergenceStudy:
    """Worst-case diagnostics over parameters for each (chains, draws) pair.

    ``chains`` and ``draws`` are the lists studied; ``rhat``, ``split_rhat``, ``nested_rhat`` (max
    over parameters) and ``ess_bulk`` (min over parameters) are arrays indexed
    ``[i_chains, i_draws]``; ``worst`` holds the label of the parameter with the largest rank
    R-hat in each cell.  ``parameters`` lists the scalar parameters checked, ``posterior`` is the
    single big run, ``superchains`` / ``shared_init`` / ``warmup`` the settings,
    ``sampling_seconds`` and ``diagnostics_seconds`` the costs.  ``to_pandas()`` gives one row
    per pair, ``grid(stat)`` a chains x draws text grid, ``converged()`` a boolean grid.
    """

    STATS = ("rhat", "split_rhat", "nested_rhat", "ess_bulk")

    def __init__(self, chains, draws, rhat, split_rhat, nested_rhat, ess_bulk, worst=None, *, parameters=(),
                 superchains=4, shared_init=None, warmup=None, posterior=None, sampling_seconds=float("nan"),
                 diagnostics_seconds=float("nan"), header=""):
        self.chains = [int(k) for k in chains]
        self.draws = [int(n) for n in draws]
        self.rhat = np.asarray(rhat, dtype=float)
        self.split_rhat = np.asarray(split_rhat, dtype=float)
        self.nested_rhat = np.asarray(nested_rhat, dtype=float)
        self.ess_bulk = np.asarray(ess_bulk, dtype=float)
        shape = (len(self.chains), len(self.draws))
        self.worst = np.full(shape, "", dtype=object) if worst is None else np.asarray(worst, dtype=object)
        self.parameters = list(parameters)
        self.superchains = int(superchains)
        self.shared_init = shared_init
        self.warmup = warmup
        self.posterior = posterior
        self.sampling_seconds = sampling_seconds
        self.diagnostics_seconds = diagnostics_seconds
        self.header = header

    def converged(self, threshold: float = CONVERGED, which: str = "rhat") -> np.ndarray:
        """Boolean [i_chains, i_draws]: the chosen R-hat (``"rhat"``, ``"split_rhat"``, ``"nested_rhat"``) < threshold."""
        if which not in ("rhat", "split_rhat", "nested_rhat"):
            raise ValueError(f"which must be 'rhat', 'split_rhat' or 'nested_rhat', got {which!r}")
        with np.errstate(invalid="ignore"):
            return getattr(self, which) < threshold

    def to_pandas(self):
        import pandas as pd

        rows = []
        for i, k in enumerate(self.chains):
            for j, n in enumerate(self.draws):
                rows.append({"chains": k, "draws": n, "rhat": self.rhat[i, j], "split_rhat": self.split_rhat[i, j],
                             "nested_rhat": self.nested_rhat[i, j], "ess_bulk": self.ess_bulk[i, j],
                             "worst": self.worst[i, j]})
        return pd.DataFrame(rows)

    def grid(self, stat: str = "rhat") -> str:
        """A chains x draws text grid of one statistic."""
        if stat not in self.STATS:
            raise ValueError(f"stat must be one of {self.STATS}, got {stat!r}")
        a = getattr(self, stat)
        f = (lambda v: f"{v:.0f}") if stat == "ess_bulk" else (lambda v: f"{v:.3f}")
        cells = [[f(v) if np.isfinite(v) else "nan" for v in row] for row in a]
        w = max([len(s) for r in cells for s in r] + [len(str(n)) for n in self.draws] + [6])
        lines = [f"{stat} (rows: chains, columns: draws)",
                 "chains".rjust(7) + "".join(str(n).rjust(w + 2) for n in self.draws)]
        for k, r in zip(self.chains, cells):
            lines.append(str(k).rjust(7) + "".join(s.rjust(w + 2) for s in r))
        return "\n".join(lines)

    def __str__(self) -> str:
        def r(v):
            if not np.isfinite(v):
                return "nan "
            flag = " " if v < CONVERGED else ("!" if v > FLAGGED else "?")
            return f"{v:.3f}{flag}"

        cols = ["chains", "draws", "rhat", "split_rhat", "nested_rhat", "ess_bulk", "worst"]
        rows = []
        for i, k in enumerate(self.chains):
            for j, n in enumerate(self.draws):
                ess = self.ess_bulk[i, j]
                rows.append([str(k), str(n), r(self.rhat[i, j]), r(self.split_rhat[i, j]), r(self.nested_rhat[i, j]),
                             f"{ess:.0f}" if np.isfinite(ess) else "nan", str(self.worst[i, j])])
        widths = [max(len(c), *(len(row[m]) for row in rows)) if rows else len(c) for m, c in enumerate(cols)]

        def line(cells):
            return "  ".join(c.rjust(w) if m < 6 else c.ljust(w) for m, (c, w) in enumerate(zip(cells, widths))).rstrip()

        lines = [self.header] if self.header else []
        lines.append(line(cols))
        lines += [line(row) for row in rows]
        starts = {True: "shared within each superchain", False: "independent per chain", None: "as given"}[self.shared_init]
        lines.append(f"  R-hat flags: '!' > {FLAGGED} (not converged), '?' between {CONVERGED} and {FLAGGED}, "
                     f"unmarked < {CONVERGED} (converged)")
        lines.append("  rhat: rank-normalised split R-hat; split_rhat: classic split R-hat (max over parameters; "
                     "'worst' names the parameter with the largest rhat); ess_bulk: min over parameters")
        lines.append(f"  nested_rhat: {self.superchains} superchains (chain k in superchain k mod {self.superchains}), "
                     f"starting points {starts}")
        return "\n".join(lines)

    __repr__ = __str__


def _int_list(values, name: str) -> list[int]:
    items = [values] if isinstance(values, (int, np.integer)) else list(values)
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be positive integers, got {v!r}")
        out.append(int(v))
    if not out:
        raise ValueError(f"{name} is empty")
    return sorted(set(out))


def _check_superchains(superchains) -> int:
    if isinstance(superchains, bool) or not isinstance(superchains, (int, np.integer)) or superchains < 2:
        raise ValueError(f"superchains must be an integer >= 2, got {superchains!r}")
    return int(superchains)


def _blocks(post: Posterior, var_names) -> tuple[list[np.ndarray], list[str]]:
    """Each variable's draws as a (chain, draw, P) view (no copy of the posterior) and the labels."""
    names = post.names if var_names is None else ([var_names] if isinstance(var_names, str) else list(var_names))
    blocks, labels = [], []
    for v in names:
        x = post[v]
        if v == "Sigma":  # symmetric: keep the upper triangle (diagonal included)
            q = x.shape[-1]
            iu = np.triu_indices(q)
            blocks.append(x[..., iu[0], iu[1]])
            labels += list(np.array(post.labels(v)).reshape(q, q)[iu])
            continue
        blocks.append(x.reshape(x.shape[0], x.shape[1], -1))
        labels += post.labels(v)
    return blocks, labels


def _nanmax(a) -> float:
    a = np.asarray(a, dtype=float)
    return float(np.nanmax(a)) if np.isfinite(a).any() else float("nan")


def _nanmin(a) -> float:
    a = np.asarray(a, dtype=float)
    return float(np.nanmin(a)) if np.isfinite(a).any() else float("nan")


def convergence_grid(posterior: Posterior, *, chains=None, draws=None, superchains: int = 4, var_names=None,
                     shared_init=None, header: str = "") -> ConvergenceStudy:
    """The diagnostics of :func:`convergence_study` for an existing Posterior (no sampling).

    ``chains`` / ``draws``: the numbers of leading chains / draws to study (default: all of them).
    Nested R-hat groups chain k into superchain k mod ``superchains``; for it to mean what
    Margossian et al. intend, the chains of a superchain must have started at the same point
    (``shared_init`` only records whether they did, for the printout).
    """
    blocks, labels = _blocks(posterior, var_names)
    n_chain, n_draw = blocks[0].shape[:2]
    chains = [n_chain] if chains is None else _int_list(chains, "chains")
    draws = [n_draw] if draws is None else _int_list(draws, "draws")
    if chains[-1] > n_chain or draws[-1] > n_draw:
        raise ValueError(f"the posterior has {n_chain} chains x {n_draw} draws; asked for up to "
                         f"{chains[-1]} chains x {draws[-1]} draws")
    S = _check_superchains(superchains)
    shape = (len(chains), len(draws))
    out = {s: np.full(shape, np.nan) for s in ConvergenceStudy.STATS}
    worst = np.full(shape, "", dtype=object)
    t0 = time.perf_counter()
    for i, K in enumerate(chains):
        for j, N in enumerate(draws):
            nested_ok = K % S == 0 and (K > S or N > 1)
            # one pass per variable over the first K chains' first N draws (views, not copies)
            parts = [_grid_stats(x[:K, :N], S if nested_ok else None) for x in blocks]
            r, split, bulk, nested = (np.concatenate(col) for col in zip(*parts))
            if np.isfinite(r).any():
                m = int(np.nanargmax(r))
                out["rhat"][i, j] = r[m]
                worst[i, j] = labels[m]
            out["split_rhat"][i, j] = _nanmax(split)
            out["ess_bulk"][i, j] = _nanmin(bulk)
            if nested_ok:
                out["nested_rhat"][i, j] = _nanmax(nested)
    seconds = time.perf_counter() - t0
    return ConvergenceStudy(chains, draws, out["rhat"], out["split_rhat"], out["nested_rhat"], out["ess_bulk"],
                            worst, parameters=labels, superchains=S, shared_init=shared_init,
                            warmup=posterior.attrs.get("warmup"), posterior=posterior,
                            sampling_seconds=posterior.attrs.get("sampling_seconds", float("nan")),
                            diagnostics_seconds=seconds, header=header)


# ---- shared starting points within superchains -----------------------------------------------


def convergence_study(model, X, y, groups=None, *, chains=(4, 16, 64, 256, 1024), draws=(10, 30, 100, 300, 1000),
                      warmup: int = 500, superchains: int = 4, shared_init: bool = True, seed=0,
                      backend: str = "numba", var_names=None, progress: bool = False, client=None,
                      chains_per_task: int | None = None) -> ConvergenceStudy:
    """Run ``model`` once with max(chains) chains x max(draws) draws and tabulate, for every (K, N) pair,
    rank R-hat, split R-hat and nested R-hat (max over parameters) and bulk ESS (min over parameters)
    of the first K chains' first N draws.

    ``model``: a :class:`LinearRegression` or :class:`HierarchicalRegression` (then ``groups`` is
    required).  ``warmup`` iterations are discarded first (``warmup=0`` shows the chains leaving
    their dispersed starting points).  ``superchains`` (default 4, must divide each K for nested
    R-hat, else NaN): chain k belongs to superchain k mod ``superchains``; with ``shared_init``
    (default) the chains of a superchain share their dispersed starting point (see the module
    docstring).  ``var_names``: the variables to check (default: all that the model reports; for
    hierarchical models the group-level ``beta`` is left out, and not even stored, unless named,
    which keeps 1,000+ chains x 1,000 draws cheap).  Thresholds: R-hat < 1.01 converged, > 1.05
    not converged.  ``client``: a distributed.Client; the chains are then sampled in blocks of
    ``chains_per_task`` (default: max(chains) / (4 x workers)), one task per block on its workers.
    Chain k keeps the streams (and shared starting point) it has in the one-process run, so the
    draws, hence the study, are identical.
    """
    from .models.hierarchical import HierarchicalRegression

    chains = _int_list(chains, "chains")
    draws = _int_list(draws, "draws")
    S = _check_superchains(superchains)
    if not hasattr(model, "sample"):
        raise ValueError(f"model must be a LinearRegression or HierarchicalRegression, got {type(model).__name__}")
    if isinstance(var_names, str):
        var_names = [var_names]
    kwargs = dict(chains=chains[-1], draws=draws[-1], warmup=warmup, seed=seed, backend=backend, progress=progress,
                  init_superchains=S if shared_init else None)
    if isinstance(model, HierarchicalRegression):
        if groups is None:
            raise ValueError("a hierarchical model needs groups (one label per row)")
        store_beta = var_names is not None and "beta" in var_names
        if client is None:
            post = model.sample(X, y, groups, store_beta=store_beta, **kwargs)
    else:
        if groups is not None:
            raise ValueError(f"groups was given but {type(model).__name__} is not hierarchical")
        store_beta = None
        if client is None:
            post = model.sample(X, y, **kwargs)
    if client is not None:
        post = _sample_on_cluster(client, model, X, y, groups, store_beta, kwargs, chains_per_task, progress)
    post.attrs["seed"] = int(seed) if isinstance(seed, (int, np.integer)) else None
    post.attrs["init"] = (f"shared within {S} superchains (chain k starts where chain k mod {S} starts)"
                          if shared_init else "independent dispersed starts")
    if var_names is not None:
        missing = [v for v in var_names if v not in post]
        if missing:
            raise ValueError(f"var_names {missing} are not in the posterior, which has {post.names}")
    header = (f"Convergence study: {post.attrs.get('model', type(model).__name__)}; one run of {chains[-1]} chains x "
              f"{draws[-1]} draws after {warmup} warm-up iterations (seed {seed}, {backend})")
    return convergence_grid(post, chains=chains, draws=draws, superchains=S, var_names=var_names,
                            shared_init=bool(shared_init), header=header)


# ---- chains in blocks on a Dask cluster ---------------------------------------------------------


class _BlockSeed(np.random.SeedSequence):
    """A seed for a run of chains k0..k1-1 of a ``chains``-chain run of ``SeedSequence(entropy)``:
    chain_streams spawns from it exactly the streams those chains have in the big run (normal and
    gamma of chain k; start values of chain k mod S when the big run shares starts in S superchains)."""

    def __init__(self, entropy, k0, k1, superchains):
        kids = np.random.SeedSequence(entropy).spawn(k1)
        self._kids = []
        for k in range(k0, k1):
            a, b, _ = kids[k].spawn(3)
            owner = k if superchains is None else k % superchains
            c = np.random.SeedSequence(entropy, spawn_key=kids[owner].spawn_key).spawn(3)[2]
            self._kids.append(_Triple((a, b, c)))

    def spawn(self, n):
        return self._kids[:n]


class _Triple(np.random.SeedSequence):
    def __init__(self, triple):
        self._triple = triple

    def spawn(self, n):
        return list(self._triple[:n])


def _run_block(job):
    model, X, y, groups, store_beta, kwargs, entropy, k0, k1, superchains = job
    kw = dict(kwargs, chains=k1 - k0, seed=_BlockSeed(entropy, k0, k1, superchains), init_superchains=None,
              progress=False)
    if groups is not None:
        return model.sample(X, y, groups, store_beta=store_beta, **kw)
    return model.sample(X, y, **kw)


def _sample_on_cluster(client, model, X, y, groups, store_beta, kwargs, chains_per_task, progress):
    from .parallel import run_map

    total = kwargs["chains"]
    superchains = kwargs["init_superchains"]
    root = kwargs["seed"] if isinstance(kwargs["seed"], np.random.SeedSequence) else np.random.SeedSequence(kwargs["seed"])
    if root.spawn_key or root.n_children_spawned:
        raise ValueError("with client=, seed must be an int, None or a fresh SeedSequence")
    if chains_per_task is None:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        chains_per_task = max(1, -(-total // (4 * workers)))
    bounds = list(range(0, total, int(chains_per_task))) + [total]
    jobs = [(model, X, y, groups, store_beta, kwargs, root.entropy, a, b, superchains)
            for a, b in zip(bounds[:-1], bounds[1:])]
    parts = run_map(_run_block, jobs, client=client, progress=progress, label="chains")
    first = parts[0]
    draws = {v: np.concatenate([p[v] for p in parts], axis=0) for v in first.names}
    attrs = dict(first.attrs)
    attrs["chains"] = total
    for key in ("setup_seconds", "warmup_seconds", "sampling_seconds"):
        if key in attrs:
            attrs[key] = float(sum(p.attrs.get(key, 0.0) for p in parts))  # summed over tasks
    return Posterior(draws, dims=first.dims, coords=first.coords, attrs=attrs)
