"""One-factor hierarchical binary regression (probit or logistic): HierarchicalBinaryRegression.

y_i ~ Binomial(n_i, F(x_vi' beta_j[i] + x_pi' alpha)), beta_j ~ N(mu, Sigma), mu ~ N(mu_mean, diag(mu_scale^2)),
alpha ~ N(pooled_mean, diag(pooled_scale^2)), Sigma = diag(tau^2) with an InvGamma prior on tau^2 or a half-Cauchy,
half-t, half-normal or exponential prior on tau, or Sigma ~ InvWishart(df, Psi) (the hierarchical Gaussian model's
tau priors but its Huang-Wand one).  The kernel is kernels/binary/hier.py; the NumPy twin
reference.binary_hier_gibbs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ...data import column_indices
from ...io.groups import encode_groups
from ...posterior import Posterior
from ...priors import (SCALE_PRIORS, HalfCauchy, InvGamma, InvWishart, _vec, resolve_group_scale,
                      scale_prior_text)
from ...runner import ChainSpec, map_diagonal_draws, new_state, run_chains, run_options
from ...rowhier import tau_args
from ...runstate import fingerprint as make_fingerprint
from ...sampling import chain_streams, check_sampling_args
from .analysis import predict_proba
from .data import BinaryData, binary_data
from .model import LINKS
from .priors import DEFAULT_SCALE
from ...reference import TAU_INVWISHART
from .reference import LOGIT, binary_hier_gibbs


class HierarchicalBinaryPrior:
    """Priors of the hierarchical binary model; None is a default scaled to the predictors: mu and alpha
    N(0, 2.5^2) on an intercept and N(0, (2.5 / sd(x_k))^2) on slopes; tau_k ~ half-Cauchy(1) on the
    intercept and half-Cauchy(1 / sd(x_k)) on slopes.  ``tau``: InvGamma (on tau^2), HalfCauchy, HalfStudentT,
    HalfNormal or Exponential (on tau; a missing scale is the default above, a missing rate its inverse), or
    InvWishart."""

    def __init__(self, mu_mean=None, mu_scale=None, tau=None, pooled_mean=None, pooled_scale=None):
        if tau is not None and not isinstance(tau, (InvGamma, HalfCauchy, InvWishart) + SCALE_PRIORS):
            raise ValueError("HierarchicalBinaryPrior: tau must be InvGamma, HalfCauchy, HalfStudentT, HalfNormal, "
                             f"Exponential or InvWishart, got {type(tau).__name__}")
        for name, v in (("mu_scale", mu_scale), ("pooled_scale", pooled_scale)):
            if v is not None and not (np.isfinite(np.asarray(v, dtype=float)).all() and (np.asarray(v) > 0).all()):
                raise ValueError(f"HierarchicalBinaryPrior: {name} must be positive and finite, got {v!r}")
        for name, v in (("mu_mean", mu_mean), ("pooled_mean", pooled_mean)):
            if v is not None and not np.isfinite(np.asarray(v, dtype=float)).all():
                raise ValueError(f"HierarchicalBinaryPrior: {name} must be finite, got {v!r}")
        self.mu_mean, self.mu_scale, self.tau = mu_mean, mu_scale, tau
        self.pooled_mean, self.pooled_scale = pooled_mean, pooled_scale


@dataclass
class ResolvedBinaryHierPrior:
    """Every number of the hierarchical binary prior."""

    varying: list
    pooled: list
    mu_mean: np.ndarray
    mu_scale: np.ndarray
    pooled_mean: np.ndarray
    pooled_scale: np.ndarray
    tau_kind: str
    tau_a: np.ndarray | None = None
    tau_b: np.ndarray | None = None
    tau_scale: np.ndarray | None = None
    tau_nu: np.ndarray | None = None
    tau_rate: np.ndarray | None = None
    iw_df: float | None = None
    iw_scale: np.ndarray | None = None
    defaults: list = field(default_factory=list)

    kind = "HierarchicalBinaryPrior"
    ARRAYS = ("mu_mean", "mu_scale", "pooled_mean", "pooled_scale", "tau_a", "tau_b", "tau_scale", "tau_nu",
              "tau_rate", "iw_scale")

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedBinaryHierPrior":
        return cls(**{k: (np.asarray(v, dtype=float) if k in cls.ARRAYS and v is not None else v)
                      for k, v in d.items()})

    def __str__(self) -> str:
        lines = ["Prior: HierarchicalBinaryPrior" + (f" (defaults scaled to the data: {', '.join(self.defaults)})"
                                                    if self.defaults else "")]
        lines += [f"  mu[{n}] ~ N({self.mu_mean[k]:.4g}, {self.mu_scale[k]:.4g}^2)" for k, n in enumerate(self.varying)]
        if self.tau_kind == "InvGamma":
            lines += [f"  tau2[{n}] ~ IG({self.tau_a[k]:.4g}, {self.tau_b[k]:.4g})" for k, n in enumerate(self.varying)]
        elif self.tau_kind == "HalfCauchy":
            lines += [f"  tau[{n}] ~ half-Cauchy(0, {self.tau_scale[k]:.4g})" for k, n in enumerate(self.varying)]
        elif self.tau_kind == "InvWishart":
            lines.append(f"  Sigma ~ IW({self.iw_df:.4g}, Psi), diag(Psi) = {np.diag(self.iw_scale)}")
        else:
            lines += [f"  tau[{n}] ~ {scale_prior_text(self.tau_kind, k, self.__dict__)}"
                      for k, n in enumerate(self.varying)]
        lines += [f"  alpha[{n}] ~ N({self.pooled_mean[k]:.4g}, {self.pooled_scale[k]:.4g}^2)"
                  for k, n in enumerate(self.pooled)]
        return "\n".join(lines)


def resolve(prior: HierarchicalBinaryPrior, data: BinaryData, vi: list, pi: list) -> ResolvedBinaryHierPrior:
    k = int(data.intercept)
    sd = data.full[:, k:].std(axis=0) if data.n > 1 else np.ones(data.full.shape[1] - k)
    sd = np.where(sd > 0, sd, 1.0)
    scale = np.concatenate([[DEFAULT_SCALE]] * k + [DEFAULT_SCALE / sd])
    tau_default = np.concatenate([[1.0]] * k + [1.0 / sd])
    defaults = []

    def pick(value, default, idx, label):
        if value is None:
            defaults.append(label)
            return np.asarray(default, dtype=float)[idx].copy()
        return _vec(value, len(idx), label)

    out = dict(varying=[data.names[i] for i in vi], pooled=[data.names[i] for i in pi],
               mu_mean=pick(prior.mu_mean, np.zeros(len(scale)), vi, "mu_mean"),
               mu_scale=pick(prior.mu_scale, scale, vi, "mu_scale"),
               pooled_mean=pick(prior.pooled_mean, np.zeros(len(scale)), pi, "pooled_mean"),
               pooled_scale=pick(prior.pooled_scale, scale, pi, "pooled_scale"))
    if prior.tau is None:
        defaults.append("tau")
    fields = resolve_group_scale(prior.tau, len(vi), tau_default[vi])
    return ResolvedBinaryHierPrior(defaults=defaults, **out, **fields)


@dataclass
class GroupedRows:
    """The rows sorted by group: ``data`` (sorted), ``start`` (J + 1,) offsets, ``labels`` (J,), ``codes`` (n,)
    each original row's group, ``order`` the sort (sorted row k is original row order[k])."""

    data: BinaryData
    start: np.ndarray
    labels: np.ndarray
    codes: np.ndarray
    order: np.ndarray
    original: BinaryData


def grouped_rows(data: BinaryData, groups, vi, pi) -> GroupedRows:
    codes, labels = encode_groups(groups, data.n)
    order = np.argsort(codes, kind="stable")
    cols = list(vi) + list(pi)
    full = np.ascontiguousarray(data.full[order][:, cols])
    sorted_data = BinaryData(full, data.X[order], data.y[order], data.trials[order], [data.names[i] for i in cols],
                             data.intercept, data.bernoulli)
    start = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(labels)))]).astype(np.int64)
    return GroupedRows(sorted_data, start, labels, np.asarray(codes, dtype=np.int64), order, data)


def hier_spec(rows: GroupedRows, prior: ResolvedBinaryHierPrior, link: int, vi, pi, sampler: str = "asis",
              seed=None, init_superchains=None) -> ChainSpec:
    d = rows.data
    X, y, t, start = d.full, d.y, d.trials, rows.start
    q, r, J, p = len(vi), len(pi), len(rows.labels), d.full.shape[1]
    if link == LOGIT:
        Gfix = np.zeros((J, p, p))
        hfix = np.stack([X[a:b].T @ (y[a:b] - 0.5 * t[a:b]) for a, b in zip(start[:-1], start[1:])])
    else:
        Gfix = np.stack([X[a:b].T @ (t[a:b, None] * X[a:b]) for a, b in zip(start[:-1], start[1:])])
        hfix = np.zeros((J, p))
    S0inv = np.diag(1.0 / prior.mu_scale**2)
    Sainv = np.diag(1.0 / prior.pooled_scale**2) if r else np.zeros((0, 0))
    kind, tau_a, tau_b, hc, iw_df, iw_Psi = tau_args(prior, q)
    args = (X, np.ascontiguousarray(y, dtype=np.int64), np.ascontiguousarray(t, dtype=np.int64), start, link, q,
            np.ascontiguousarray(Gfix), np.ascontiguousarray(hfix), S0inv, S0inv @ prior.mu_mean, Sainv,
            Sainv @ prior.pooled_mean if r else np.zeros(0), kind, tau_a, tau_b, hc, iw_df, iw_Psi, sampler == "asis")

    def init_state(streams):
        chains = len(streams.normal)
        state = {"beta": np.zeros((chains, J, q)), "alpha": np.zeros((chains, r)), "mu": np.zeros((chains, q)),
                 "Sinv": np.zeros((chains, q, q)), "lam": np.zeros((chains, q))}
        for c, g in enumerate(streams.init):
            tau2 = np.exp(g.standard_normal(q)) * (prior.mu_scale / DEFAULT_SCALE) ** 2
            state["mu"][c] = prior.mu_mean + np.sqrt(tau2) * g.standard_normal(q)
            state["beta"][c] = state["mu"][c]
            state["alpha"][c] = prior.pooled_mean + 0.1 * prior.pooled_scale * g.standard_normal(r)
            state["Sinv"][c] = np.diag(1.0 / tau2)
            state["lam"][c] = 1.0 / hc
        return state

    iw = kind == TAU_INVWISHART

    def load_kernel():
        from ...kernels.binary.hier import binary_hier_gibbs as kernel

        return kernel

    link_name = "logit" if link == LOGIT else "probit"
    family = "bernoulli" if d.bernoulli else "binomial"
    variables = {"beta": ((J, q), ["group", "coef"]), "mu": ((q,), ["coef"])}
    variables.update({"Sigma": ((q, q), ["coef", "coef_"])} if iw else {"tau2": ((q,), ["coef"])})
    if r:
        variables["alpha"] = ((r,), ["pooled_coef"])
    coords = {"group": rows.labels.tolist(), "coef": prior.varying, "coef_": prior.varying,
              "pooled_coef": prior.pooled}
    names = list(rows.original.names)
    fp = make_fingerprint(
        {"kind": "binary_hier", "link": link_name, "names": names, "intercept": d.intercept, "varying": list(vi),
         "sampler": sampler, "labels": [str(v) for v in rows.labels.tolist()]},
        {"XtX": X.T @ X, "Xty": X.T @ y.astype(float), "Xtn": X.T @ t.astype(float), "start": start.astype(float)},
        prior.to_dict())
    title = f"HierarchicalBinaryRegression ({family}, {link_name}, {prior.tau_kind}, {sampler} Gibbs)"
    attrs = {"model": title, "sampler": sampler, "prior": prior, "model_kind": "binary_hier",
             "seed": int(seed) if isinstance(seed, (int, np.integer)) else None,
             "n": int(d.n), "p": p, "J": J, "intercept": d.intercept, "names": names, "link": link_name,
             "family": family, "varying_index": list(vi), "pooled_index": list(pi), "group_dims": ["group"]}
    config = {"model": "HierarchicalBinaryRegression", "link": link_name, "intercept": d.intercept,
              "varying": list(vi), "sampler": sampler, "init_superchains": init_superchains}
    return ChainSpec(
        kind="binary_hier", load_kernel=load_kernel, reference_fn=binary_hier_gibbs, kernel_args=args,
        state_names=("beta", "alpha", "mu", "Sinv", "lam"),
        outputs={"beta": ((J, q), True), "alpha": ((r,), True), "mu": ((q,), True), "Sigma": ((q, q), True)},
        variables=variables, map_draws=map_diagonal_draws, init_state=init_state, fingerprint=fp, config=config,
        coords=coords, attrs=attrs,
        failure_message="a conditional precision matrix lost positive definiteness; rescale the predictors or the "
                        "prior",
        numpy_iter_values=64 * (d.n + J * q), numpy_max_elements=1 << 22)


class HierarchicalBinaryRegression:
    """Hierarchical probit or logistic regression with one grouping factor, by Gibbs with data augmentation.

    ``varying`` names (or indexes) the coefficients that vary by group (None: all, the intercept included);
    the others are pooled (alpha).  ``sampler="asis"`` (default) adds the hierarchical Gaussian model's
    interweaving steps for mu and tau given the latents (Yu & Meng 2011); ``"centered"`` is plain Gibbs.
    ``sample(X, y, groups, trials=None, ...)`` returns beta (chains, draws, J, q), mu (q,), tau2 (q,) (InvGamma
    and HalfCauchy priors) or Sigma (q, q) (InvWishart), and alpha (r,) when some columns are pooled.
    """

    SAMPLERS = ("asis", "centered")

    def __init__(self, link: str = "logit", prior: HierarchicalBinaryPrior | None = None, varying=None,
                 intercept: bool = True, sampler: str = "asis"):
        if sampler not in self.SAMPLERS:
            raise ValueError(f"sampler must be one of {self.SAMPLERS}, got {sampler!r}")
        self.sampler = sampler
        if link not in LINKS:
            raise ValueError(f"HierarchicalBinaryRegression: link must be 'logit' or 'probit', got {link!r}")
        prior = HierarchicalBinaryPrior() if prior is None else prior
        if not isinstance(prior, HierarchicalBinaryPrior):
            raise ValueError("HierarchicalBinaryRegression: prior must be a HierarchicalBinaryPrior, got "
                             f"{type(prior).__name__}")
        self.link, self.prior, self.varying, self.intercept = link, prior, varying, bool(intercept)

    def _entry(self, X, y, groups, trials):
        if groups is None:
            raise ValueError("HierarchicalBinaryRegression needs groups= (one label per row)")
        data = binary_data(X, y, trials, self.intercept)
        if self.varying is None:
            vi = list(range(len(data.names)))
        else:
            spec = self.varying
            vi = column_indices([spec] if isinstance(spec, (str, int, np.integer)) else list(spec), data.names)
            if not vi:
                raise ValueError("varying is empty: at least one coefficient must vary by group")
        pi = [i for i in range(len(data.names)) if i not in vi]
        rows = grouped_rows(data, groups, vi, pi)
        prior = self.prior.resolved if isinstance(self.prior, _SavedHierPrior) else resolve(self.prior, data, vi, pi)
        return rows, prior, vi, pi

    def sample(self, X, y, groups, trials=None, *, chains: int = 4, draws: int = 1000, warmup: int = 1000,
               thin: int = 1, seed=None, backend: str = "numba", progress: bool = True,
               init_superchains: int | None = None, until=None, checkpoint=None, checkpoint_every: float = 60.0,
               store=None) -> Posterior:
        """Gibbs sampling (the class docstring); resume with ``model.resume(post, X, y, groups, trials)``."""
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        options = run_options(until, checkpoint, checkpoint_every, store, progress)
        t0 = time.perf_counter()
        rows, prior, vi, pi = self._entry(X, y, groups, trials)
        spec = hier_spec(rows, prior, LINKS[self.link], vi, pi, self.sampler, seed, init_superchains)
        streams = chain_streams(seed, chains, init_superchains)
        state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed,
                          backend=backend)
        post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
        post.data = rows
        return post

    def resume(self, post: Posterior, X, y, groups, trials=None, *, draws: int | None = None, until=None,
               checkpoint=None, checkpoint_every: float = 60.0, store=None, backend: str | None = None,
               progress: bool = True) -> Posterior:
        """Continue the run that made ``post``; equals one uninterrupted run bit for bit."""
        from ...runner import resume_run

        t0 = time.perf_counter()
        rows, prior, vi, pi = self._entry(X, y, groups, trials)
        cfg = post.state.config if post.state is not None else {}
        spec = hier_spec(rows, prior, LINKS[self.link], vi, pi, self.sampler, None, cfg.get("init_superchains"))
        resumed = resume_run(post, spec, draws=draws, until=until, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                             setup_seconds=time.perf_counter() - t0)
        resumed.data = rows
        return resumed


    def predict_proba(self, post: Posterior, X_new, groups, trials=None, seed=None, prob: float = 0.95):
        """Predicted probabilities at new rows of fitted or new groups (:func:`analysis.predict_proba`)."""
        return predict_proba(post, X_new, groups, trials=trials, seed=seed, prob=prob)


class _SavedHierPrior(HierarchicalBinaryPrior):
    def __init__(self, resolved: ResolvedBinaryHierPrior):
        super().__init__()
        self.resolved = resolved


def resume_binary_hier(post, X=None, y=None, groups=None, *, stats=None, model=None, trials=None,
                       **options) -> Posterior:
    """The hierarchical binary kind's ``resume`` hook (``trials=`` for a binomial run)."""
    if stats is not None:
        raise ValueError("the binary models read the rows every sweep: resume them with X, y, groups, not stats=")
    if model is None:
        cfg = post.state.config
        model = HierarchicalBinaryRegression(cfg["link"], _SavedHierPrior(post.attrs["prior"]), cfg.get("varying"),
                                             bool(cfg.get("intercept", True)), cfg.get("sampler", "asis"))
    return model.resume(post, X, y, groups, trials, **options)
