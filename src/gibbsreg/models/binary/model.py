"""Binary and binomial regression by data augmentation: BinaryRegression (probit by Albert & Chib, logistic by
Polya-Gamma), on the one run driver.

The sweep reads every row (a latent variable per row changes each sweep), so the model keeps the rows
(the full design, intercept column first) rather than fixed statistics; the run state is beta alone (the
latents are redrawn first in each sweep), so checkpoints and resume need no per-row state.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.special import ndtr

from ...posterior import Posterior
from ...runner import ChainSpec, copy_draws, new_state, run_chains, run_options
from ...runstate import fingerprint as make_fingerprint
from ...sampling import chain_streams, check_sampling_args
from .analysis import predict_proba
from .boost import D0_SCALE, D0_SHAPE, boost_settings
from .boost import boost_gibbs as boost_reference
from .data import BinaryData, binary_data, saved_trials, trials_record
from .priors import Flat, Normal, ResolvedBinaryPrior, check_separation
from .reference import LOGIT, PROBIT, binary_gibbs

LINKS = {"logit": LOGIT, "probit": PROBIT}
MAX_CHUNK_ELEMENTS = 1 << 22
INIT_SPREAD = 1.5  # start values: the mode plus this many Laplace standard deviations of noise
LAPLACE_DF = 8.0  # the independence proposal's degrees of freedom (tails heavier than the posterior's)


def _link_moments(eta, y, trials, link):
    """Score weights and Fisher weights of the binomial likelihood at eta (for the start values)."""
    if link == LOGIT:
        mu = 1.0 / (1.0 + np.exp(-eta))
        return y - trials * mu, trials * mu * (1.0 - mu)
    Phi = np.clip(ndtr(eta), 1e-300, 1.0 - 1e-16)
    phi = np.exp(-0.5 * eta * eta) / math.sqrt(2.0 * math.pi)
    v = Phi * (1.0 - Phi)
    return (y - trials * Phi) * phi / v, trials * phi * phi / v


def posterior_mode(data: BinaryData, prior: ResolvedBinaryPrior, link: int, iterations: int = 50):
    """The posterior mode by Fisher scoring and the precision there (X' W X + B0^{-1}); start values."""
    p = data.full.shape[1]
    P = prior.precision
    beta = np.where(prior.flat, 0.0, prior.mean)
    X = data.full
    H = P + np.eye(p)
    for _ in range(iterations):
        eta = np.clip(X @ beta, -30.0, 30.0)
        score, w = _link_moments(eta, data.y, data.trials, link)
        H = X.T @ (w[:, None] * X) + P + 1e-10 * np.eye(p)
        step = np.linalg.solve(H, X.T @ score - P @ (beta - prior.mean))
        beta = beta + step
        if not np.isfinite(beta).all():
            beta = np.where(prior.flat, 0.0, prior.mean)
            break
        if np.abs(step).max() < 1e-10 * (1.0 + np.abs(beta).max()):
            break
    return beta, 0.5 * (H + H.T)


def binary_spec(data: BinaryData, prior: ResolvedBinaryPrior, link: int, seed=None,
                init_superchains=None, boost: bool = False, laplace_mh: bool = False) -> ChainSpec:
    """The flat binary model under the run driver: rows and prior as kernel arguments, beta as the state
    (``boost``: the marginal-data-augmentation sweep, gibbsreg.kernels.binary.boost; ``laplace_mh``: an
    independence Metropolis-Hastings step after each sweep, gibbsreg.kernels.binary.mh)."""
    X, p = data.full, data.full.shape[1]
    y = np.ascontiguousarray(data.y, dtype=np.int64)
    trials = np.ascontiguousarray(data.trials, dtype=np.int64)
    Pm = prior.precision @ np.where(prior.flat, 0.0, prior.mean)
    if link == LOGIT:
        A0 = prior.precision.copy()
        b0 = Pm + X.T @ (y - 0.5 * trials)
    else:
        A0 = prior.precision + X.T @ (trials[:, None] * X)
        b0 = Pm
    A0 = np.ascontiguousarray(0.5 * (A0 + A0.T))
    b0 = np.ascontiguousarray(b0)

    def init_state(streams):
        mode, H = posterior_mode(data, prior, link)
        L = np.linalg.cholesky(H)
        starts = [mode + INIT_SPREAD * np.linalg.solve(L.T, g.standard_normal(p)) for g in streams.init]
        return {"beta": np.array(starts, dtype=np.float64).reshape(len(streams.normal), p)}

    def map_draws(src, dest):
        copy_draws(src["beta"], dest["beta"])

    def load_kernel():
        if boost:
            from ...kernels.binary.boost import boost_gibbs as kernel
        else:
            from ...kernels.binary.flat import binary_gibbs as kernel

        return kernel

    P = np.ascontiguousarray(prior.precision, dtype=np.float64)
    if laplace_mh:
        mode, H = posterior_mode(data, prior, link)
        mh = (P, np.ascontiguousarray(P @ np.where(prior.flat, 0.0, prior.mean)), np.ascontiguousarray(mode),
              np.ascontiguousarray(np.linalg.cholesky(H)), LAPLACE_DF)
    else:
        mh = (P, np.zeros(p), np.zeros(p), np.eye(p), 0.0)
    kernel_args, reference_fn = (X, y, trials, link, A0, b0) + mh, binary_gibbs
    if boost:
        Pt, Pcol, G0 = boost_settings(prior, data)
        kernel_args, reference_fn = (X, y, link, Pt, Pcol, G0, D0_SHAPE, D0_SCALE), boost_reference

    link_name = "logit" if link == LOGIT else "probit"
    family = "bernoulli" if data.bernoulli else "binomial"
    fp = make_fingerprint(
        {"kind": "binary", "link": link_name, "names": list(data.names), "intercept": data.intercept},
        {"XtX": X.T @ X, "Xty": X.T @ y.astype(float), "Xtn": X.T @ trials.astype(float), "n": float(data.n)},
        prior.to_dict())
    sampler = "boosted Gibbs" if boost else "Gibbs with Laplace-proposal Metropolis" if laplace_mh else "Gibbs"
    attrs = {"model": f"BinaryRegression ({family}, {link_name}, {prior.kind} prior, {sampler})", "prior": prior,
             "seed": int(seed) if isinstance(seed, (int, np.integer)) else None, "n": int(data.n), "p": p,
             "model_kind": "binary", "intercept": data.intercept, "names": list(data.names), "link": link_name,
             "family": family}
    config = {"model": "BinaryRegression", "link": link_name, "intercept": data.intercept,
              "init_superchains": init_superchains, "trials": trials_record(data), "boost": bool(boost),
              "laplace_mh": bool(laplace_mh)}
    return ChainSpec(
        kind="binary", load_kernel=load_kernel, reference_fn=reference_fn,
        kernel_args=kernel_args, state_names=("beta",), outputs={"beta": ((p,), True)},
        variables={"beta": ((p,), ["coef"])}, map_draws=map_draws, init_state=init_state, fingerprint=fp,
        config=config, coords={"coef": list(data.names)}, attrs=attrs,
        failure_message="the conditional precision of beta lost positive definiteness; rescale the predictors",
        numpy_iter_values=64 * (data.n + p), numpy_max_elements=MAX_CHUNK_ELEMENTS)


class BinaryRegression:
    """Bayesian binary (Bernoulli) or binomial regression P(y_i = 1) = F(x_i' beta), sampled by Gibbs with data
    augmentation: ``link="logit"`` (F the logistic function; Polya-Gamma latents) or ``"probit"`` (F = Phi;
    truncated-normal latents).  ``prior``: :class:`Normal` (default: weakly informative, scaled to the
    predictors) or :class:`Flat` (improper; refused under separation).  ``boost=True``: the latent utilities'
    marginal data augmentation (Zens, Fruehwirth-Schnatter & Wagner 2023), for imbalanced 0/1 data (a zero
    prior mean and an intercept; docs/binary-boost.md).  ``laplace_mh=True``: after each Gibbs sweep an exact
    independence Metropolis-Hastings step whose proposal is a t_8 at the posterior mode with the mode's
    curvature (kernels/binary/mh.py), near-independent draws when n is large against p.  docs/binary.md has the
    maths.
    """

    def __init__(self, link: str = "logit", prior=None, intercept: bool = True, boost: bool = False,
                 laplace_mh: bool = False):
        if link not in LINKS:
            raise ValueError(f"BinaryRegression: link must be 'logit' or 'probit', got {link!r}")
        if prior is None:
            prior = Normal()
        if not isinstance(prior, Normal):
            raise ValueError("BinaryRegression: prior must be gibbsreg.models.binary.Normal or Flat, got "
                             f"{type(prior).__name__}")
        for name, flag in (("boost", boost), ("laplace_mh", laplace_mh)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"BinaryRegression: {name} must be True or False, got {flag!r}")
        if boost and laplace_mh:
            raise ValueError("BinaryRegression: choose boost=True or laplace_mh=True, not both")
        self.link = link
        self.prior = prior
        self.intercept = bool(intercept)
        self.boost = bool(boost)
        self.laplace_mh = bool(laplace_mh)

    def _entry(self, X, y, trials):
        data = binary_data(X, y, trials, self.intercept)
        prior = self.prior.resolve(data.full, data.names, data.intercept)
        check_separation(data.full, data.y, data.trials, prior)
        if self.boost:
            boost_settings(prior, data)  # its checks, before any sampling
        return data, prior

    def sample(self, X, y, trials=None, *, chains: int = 4, draws: int = 1000, warmup: int = 1000, thin: int = 1,
               seed=None, backend: str = "numba", progress: bool = True, init_superchains: int | None = None,
               until=None, checkpoint=None, checkpoint_every: float = 60.0, store=None) -> Posterior:
        """Run ``chains`` Gibbs chains; returns a Posterior with beta (chains, draws, p).

        ``trials`` (n,) makes y the success counts of a binomial model (None: y holds 0/1 labels).  Chains start
        from the posterior mode plus Laplace-scaled noise.  ``until``, ``checkpoint``, ``store`` and resume
        work as for :class:`gibbsreg.LinearRegression`; ``model.resume(post, X, y, trials, draws=N)``
        continues every chain exactly.
        """
        chains, draws, warmup, thin, backend = check_sampling_args(chains, draws, warmup, thin, backend)
        options = run_options(until, checkpoint, checkpoint_every, store, progress)
        t0 = time.perf_counter()
        data, prior = self._entry(X, y, trials)
        spec = binary_spec(data, prior, LINKS[self.link], seed, init_superchains, self.boost, self.laplace_mh)
        streams = chain_streams(seed, chains, init_superchains)
        state = new_state(spec, streams, chains=chains, warmup=warmup, draws=draws, thin=thin, seed=seed,
                          backend=backend)
        post = run_chains(spec, state, streams, options, draws_more=draws, setup_seconds=time.perf_counter() - t0)
        post.data = data
        return post

    def resume(self, post: Posterior, X, y, trials=None, *, draws: int | None = None, until=None, checkpoint=None,
               checkpoint_every: float = 60.0, store=None, backend: str | None = None,
               progress: bool = True) -> Posterior:
        """Continue the run that made ``post`` with the same rows; equals one uninterrupted run bit for bit.
        ``trials`` None: those the run recorded (a binomial run keeps them in its state)."""
        from ...runner import resume_run

        t0 = time.perf_counter()
        data, prior = self._entry(X, y, saved_trials(post, trials, y))
        cfg = post.state.config if post.state is not None else {}
        spec = binary_spec(data, prior, LINKS[self.link], None, cfg.get("init_superchains"), self.boost,
                           self.laplace_mh)
        resumed = resume_run(post, spec, draws=draws, until=until, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, store=store, backend=backend, progress=progress,
                             setup_seconds=time.perf_counter() - t0)
        resumed.data = data
        return resumed

    def predict_proba(self, post: Posterior, X_new, trials=None, seed=None, prob: float = 0.95):
        """Predicted probabilities at new rows (see :func:`gibbsreg.models.binary.analysis.predict_proba`)."""
        return predict_proba(post, X_new, trials=trials, seed=seed, prob=prob)


class _SavedPrior(Normal):
    """A resolved prior handed back to BinaryRegression when resuming from a saved run."""

    def __init__(self, resolved: ResolvedBinaryPrior):
        super().__init__()
        self.resolved = resolved

    def resolve(self, full, names, intercept):
        if list(names) != list(self.resolved.names):
            raise ValueError(f"the data give coefficients {list(names)}; the run had {self.resolved.names}")
        return self.resolved


def resume_binary(post, X=None, y=None, groups=None, *, stats=None, model=None, trials=None,
                  **options) -> Posterior:
    """The binary kind's ``resume`` hook.  The trials of a binomial run: ``trials=``, else the positional third
    column (``groups``, the generic ``gibbsreg.resume(source, X, y, groups)``'s slot), else those the run
    recorded."""
    if groups is not None and trials is not None:
        raise ValueError("a flat binary run takes no groups: pass the trials once (trials=)")
    trials = groups if trials is None else trials
    if stats is not None:
        raise ValueError("the binary models read the rows every sweep: resume them with X, y (and trials), "
                         "not stats=")
    if model is None:
        cfg = post.state.config
        model = BinaryRegression(cfg["link"], _SavedPrior(post.attrs["prior"]), bool(cfg.get("intercept", True)),
                                 bool(cfg.get("boost", False)), bool(cfg.get("laplace_mh", False)))
    return model.resume(post, X, y, trials, **options)


__all__ = ["BinaryRegression", "BinaryData", "Flat", "Normal", "binary_data", "binary_spec", "posterior_mode",
           "resume_binary"]
